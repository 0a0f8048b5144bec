//! CT-K8S-003 pod-cannot-read-secret.

use crate::graph::derive::{restart_command, secret_failure};
use crate::model::{Kind, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct PodSecretFailure;
pub static RULE: PodSecretFailure = PodSecretFailure;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-003",
    name: "pod-cannot-read-secret",
    severity: Severity::Error,
    covers: &["FM-12", "FM-13", "FM-14"],
    summary: "a Pod cannot start because a Secret or a key it reads is missing",
    docs: "## What it checks\n\
Pods in `CreateContainerConfigError`, or with kubelet events `Error: secret \"x\" not found` (older kubelets: \
`secrets \"x\" not found`), `couldn't find key K in Secret ns/x`, `MountVolume.SetUp failed ... secret \"x\" not found`, \
`references non-existent secret key: K`, or `FailedToRetrieveImagePullSecret`.\n\n\
## Why it matters\n\
The container never starts. This is the symptom; the diagnosis follows the reference to the Secret and to \
whatever should have produced it.\n\n\
## Example\n\
`Warning Failed 2s (x5 over 54s) kubelet Error: couldn't find key VALUE in Secret default/app-secret`\n\n\
## How to fix\n\
Make the Secret (or the key) exist: fix its producer (ExternalSecret target name, data keys), then restart the \
workload.",
};

impl Rule for PodSecretFailure {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if snap.pods.is_empty() {
            sink.skip("no Pods in the bundle");
            return;
        }
        for pod in &snap.pods {
            let Some(f) = secret_failure(snap, pod) else {
                continue;
            };
            let ns = pod.meta.namespace.as_deref();
            let what = match (&f.secret, &f.key) {
                (Some(s), Some(k)) => format!("key {k} of Secret {s} is missing"),
                (Some(s), None) => format!("Secret {s} is missing"),
                (None, Some(k)) => format!("key {k} is missing from a Secret it mounts"),
                _ => "a Secret it reads is missing".to_string(),
            };
            let first_line = f.message.lines().next().unwrap_or("").trim();
            let detail = if first_line.is_empty() {
                String::new()
            } else {
                format!(" ({first_line})")
            };
            let subject = ObjRef::new(Kind::Pod, ns, &pod.meta.name);
            let mut finding = sink.finding(
                subject.clone(),
                format!(
                    "Pod {}/{} cannot start: {what}{detail}",
                    ns.unwrap_or("-"),
                    pod.meta.name
                ),
            );
            finding.evidence = f.evidence.clone();
            finding.since = f.since;
            if let Some(t) = f.since {
                finding
                    .events
                    .push((t, subject, format!("Pod fails to start: {what}")));
            }
            if let Some(s) = &f.secret {
                finding.related.push(ObjRef::new(Kind::Secret, ns, s));
            }
            finding.remediation.push(restart_command(snap, pod));
            sink.report(finding);
        }
    }
}
