//! CT-VSO-004 vso-rollout-target-missing.

use crate::model::{Kind, ObjRef, Source};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct VsoRolloutTargetMissing;
pub static RULE: VsoRolloutTargetMissing = VsoRolloutTargetMissing;

static META: RuleMeta = RuleMeta {
    id: "CT-VSO-004",
    name: "vso-rollout-target-missing",
    severity: Severity::Warning,
    covers: &["FM-27"],
    summary: "a VSO secret names a workload in rolloutRestartTargets that does not exist, so no Pod is restarted after a rotation",
    docs: "## What it checks\n\
VaultStaticSecrets, VaultDynamicSecrets and VaultPKISecrets whose `spec.rolloutRestartTargets` name a Deployment, \
StatefulSet or DaemonSet that is not in the bundle although that kind was collected in the namespace (a renamed \
workload, a typo), with the operator's `RolloutRestartFailed` events when the bundle has them.\n\n\
## Why it matters\n\
VSO restarts the targets after it writes new values, because Pods read a Secret's env values only at start. A \
target that does not exist is skipped: the Secret rotates and the Pods keep running on the old credential until \
something else restarts them.\n\n\
## Example\n\
`rolloutRestartTargets: [{kind: Deployment, name: payments-api}]` while the Deployment is `payments-api-v2`.\n\n\
## How to fix\n\
Point the target at the workload that reads the Secret: `kubectl -n NS edit vaultstaticsecret NAME` \
(`spec.rolloutRestartTargets`), then restart that workload once by hand.",
};

fn workload_kind(kind: &str) -> Option<Kind> {
    match kind {
        "Deployment" => Some(Kind::Deployment),
        "StatefulSet" => Some(Kind::StatefulSet),
        "DaemonSet" => Some(Kind::DaemonSet),
        _ => None,
    }
}

impl Rule for VsoRolloutTargetMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        for es in snap.external_secrets.iter().filter(|e| {
            matches!(
                e.source,
                Source::VsoStatic { .. } | Source::VsoDynamic | Source::VsoPki
            )
        }) {
            let Some(ns) = es.meta.namespace.as_deref() else {
                continue;
            };
            for (kind, name, loc) in &es.rollout_targets {
                let Some(k) = workload_kind(kind) else {
                    continue;
                };
                let exists = snap.workloads.iter().any(|w| {
                    w.kind == *kind
                        && w.meta.name == *name
                        && w.meta.namespace.as_deref() == Some(ns)
                });
                if exists || !snap.coverage.is_collected(k, Some(ns)) {
                    continue; // present, or not collected: nothing can be said
                }
                let failed: Vec<_> = snap
                    .events_for(es.kind().as_str(), Some(ns), &es.meta.name)
                    .into_iter()
                    .filter(|e| e.reason == "RolloutRestartFailed")
                    .collect();
                let mut f = sink.finding(
                    es.obj(),
                    format!(
                        "{} names {kind} {name} in rolloutRestartTargets, which does not exist in namespace {ns}: after a rotation no Pod is restarted and they keep the old values",
                        es.describe()
                    ),
                );
                f.evidence.push(loc.clone());
                f.evidence
                    .extend(failed.iter().take(2).map(|e| e.loc.clone()));
                f.related.push(ObjRef::new(k, Some(ns), name));
                f.remediation.push(format!(
                    "point spec.rolloutRestartTargets at the workload that reads Secret {}: kubectl -n {ns} edit {} {}",
                    es.target_name,
                    es.kind().as_str().to_ascii_lowercase(),
                    es.meta.name
                ));
                sink.report(f);
            }
        }
    }
}
