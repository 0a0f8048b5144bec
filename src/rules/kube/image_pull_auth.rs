//! CT-K8S-001 image-pull-auth-failed.

use crate::graph::derive::{pull_failure, registry_of, restart_command};
use crate::model::{Kind, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct ImagePullAuth;
pub static RULE: ImagePullAuth = ImagePullAuth;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-001",
    name: "image-pull-auth-failed",
    severity: Severity::Error,
    covers: &["FM-15", "FM-16"],
    summary: "a Pod cannot pull its image because the registry rejects its credentials",
    docs: "## What it checks\n\
Pods whose container status is `ErrImagePull`/`ImagePullBackOff`, or whose events say `Failed to pull image`, \
with a registry answer that means the credentials were refused (`401 Unauthorized`, `unauthorized: authentication required`, \
`denied`, `no basic auth credentials`, `insufficient_scope`).\n\n\
## Why it matters\n\
The Pod never starts. The pull secret exists (otherwise kubelet says `FailedToRetrieveImagePullSecret`), so the \
credential inside it is wrong, expired, or ignored because of its type. The cause is usually upstream: the \
ExternalSecret that writes the pull secret stopped syncing.\n\n\
## Example\n\
`Warning Failed 3m (x3 over 4m) kubelet Failed to pull image \"registry.internal:5000/app:v1\": rpc error: code = Unknown desc = unauthorized: authentication required`\n\n\
## How to fix\n\
Follow the diagnosis to the broken link (sync, policy, credential). Once the pull secret holds a valid credential, \
delete the Pod or restart its workload so kubelet pulls again.",
};

impl Rule for ImagePullAuth {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if snap.pods.is_empty() && !snap.events.iter().any(|e| e.object_kind == "Pod") {
            sink.skip("no Pod objects, pod descriptions or pod events in the bundle");
            return;
        }
        for pod in &snap.pods {
            let Some(f) = pull_failure(snap, pod) else {
                continue;
            };
            if !f.auth {
                continue;
            }
            let ns = pod.meta.namespace.as_deref();
            let image = f.image.clone().unwrap_or_else(|| "its image".into());
            let secrets: Vec<&str> = pod
                .image_pull_secrets
                .iter()
                .map(|(s, _)| s.as_str())
                .collect();
            let with = if secrets.is_empty() && !pod.spec_known {
                String::new()
            } else if secrets.is_empty() {
                " and it has no imagePullSecrets".to_string()
            } else {
                format!(" with pull secret {}", secrets.join(", "))
            };
            let reason = f
                .message
                .rsplit("desc = ")
                .next()
                .unwrap_or(&f.message)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let status = pod
                .statuses
                .iter()
                .find_map(|s| s.waiting_reason.clone())
                .or_else(|| pod.table_status.as_ref().map(|t| t.0.clone()))
                .unwrap_or_else(|| "ErrImagePull".into());
            let mut finding = sink.finding(
                ObjRef::new(Kind::Pod, ns, &pod.meta.name),
                format!(
                    "Pod {}/{} is in {status}: registry {} rejected the credentials for {image}{with} ({reason})",
                    ns.unwrap_or("-"),
                    pod.meta.name,
                    registry_of(&image)
                ),
            );
            finding.evidence = f.evidence.clone();
            finding.since = f.since;
            if let Some(t) = f.since {
                finding.events.push((
                    t,
                    finding.subject.clone(),
                    format!("first image pull failure: {reason}"),
                ));
            }
            for s in &secrets {
                finding.related.push(ObjRef::new(Kind::Secret, ns, s));
            }
            finding.remediation = vec![restart_command(snap, pod)];
            sink.report(finding);
        }
    }
}
