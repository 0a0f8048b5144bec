//! CT-K8S-007 pod-runs-on-old-secret.

use crate::graph::derive::{last_write, restart_command, WriteSource};
use crate::model::time::fmt_time;
use crate::model::{Kind, Loc, Name, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct StaleEnv;
pub static RULE: StaleEnv = StaleEnv;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-007",
    name: "pod-runs-on-old-secret",
    severity: Severity::Warning,
    covers: &["FM-27"],
    summary: "a running Pod still uses the value a Secret had before it was last written",
    docs: "## What it checks\n\
Running Pods that read a Secret through `env` (`secretKeyRef`), `envFrom`, or a volume mounted with `subPath`, \
whose start time (`status.startTime`, or the container's `startedAt`) is earlier than the Secret's last write \
(the `managedFields` time). Plain secret volumes are not flagged: kubelet updates them in place. \
`imagePullSecrets` are not flagged either: they are read only when an image is pulled.\n\n\
## Why it matters\n\
Environment variables and `subPath` files are fixed when the container starts. After a rotation the Pod keeps \
the old credential until it restarts; the application then fails with authentication errors while everything \
in Kubernetes looks green.\n\n\
## Example\n\
Pod started 2026-03-01; Secret `db-creds` rewritten by ESO on 2026-03-15; the Pod reads it through `envFrom`.\n\n\
## How to fix\n\
Restart the workload (`kubectl rollout restart`), and consider a reloader or mounting the Secret as a volume.",
};

impl Rule for StaleEnv {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        for pod in &snap.pods {
            let Some(ns) = pod.meta.namespace.as_deref() else {
                continue;
            };
            if pod.phase.as_deref().is_some_and(|p| p != "Running") {
                continue;
            }
            // (secret, how, where)
            let mut uses: Vec<(Name, &'static str, Loc, Option<crate::model::Time>)> = Vec::new();
            for c in pod.containers.iter().filter(|c| !c.init) {
                let started = pod
                    .statuses
                    .iter()
                    .find(|s| s.name == c.name)
                    .and_then(|s| s.started_at)
                    .or(pod.start_time);
                for r in &c.env_secret_refs {
                    uses.push((r.secret.clone(), "env", r.loc.clone(), started));
                }
                for r in &c.env_from_secrets {
                    uses.push((r.secret.clone(), "envFrom", r.loc.clone(), started));
                }
                for m in c.mounts.iter().filter(|m| m.sub_path.is_some()) {
                    if let Some(v) = pod.volumes.iter().find(|v| v.name == m.volume) {
                        for s in &v.secrets {
                            uses.push((
                                s.secret.clone(),
                                "a subPath volume mount",
                                s.loc.clone(),
                                started,
                            ));
                        }
                    }
                }
            }
            let mut seen: Vec<Name> = Vec::new();
            for (secret, how, loc, started) in uses {
                let Some(started) = started else { continue };
                if seen.contains(&secret) {
                    continue;
                }
                let Some(s) = snap.secret(ns, &secret) else {
                    continue;
                };
                let Some((written, wloc, source)) = last_write(s, cap) else {
                    continue;
                };
                if source == WriteSource::Creation || written <= started {
                    continue;
                }
                seen.push(secret.clone());
                let subject = ObjRef::new(Kind::Pod, Some(ns), &pod.meta.name);
                let mut f = sink.finding(
                    subject.clone(),
                    format!(
                        "Pod {ns}/{} started {} but Secret {secret} was rewritten {}; the Pod reads it through {how}, so it still uses the old value",
                        pod.meta.name,
                        fmt_time(started),
                        fmt_time(written)
                    ),
                );
                f.evidence.push(loc);
                f.evidence.push(wloc.clone());
                f.since = Some(written);
                f.events.push((
                    written,
                    ObjRef::new(Kind::Secret, Some(ns), &secret),
                    "Secret rewritten after the Pod started".into(),
                ));
                f.related.push(ObjRef::new(Kind::Secret, Some(ns), &secret));
                f.remediation.push(restart_command(snap, pod));
                sink.report(f);
            }
        }
    }
}
