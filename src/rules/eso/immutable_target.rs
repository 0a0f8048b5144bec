//! CT-ESO-008 immutable-target-blocks-rotation.

use crate::graph::derive::{credential_ttl, vault_paths};
use crate::model::time::human;
use crate::model::{DataFrom, Kind, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct ImmutableTarget;
pub static RULE: ImmutableTarget = ImmutableTarget;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-008",
    name: "immutable-target-blocks-rotation",
    severity: Severity::Warning,
    covers: &["FM-25"],
    summary: "an immutable target Secret cannot follow a source that rotates",
    docs: "## What it checks\n\
ExternalSecrets with `target.immutable: true` (or whose Secret has `immutable: true`) whose source rotates: a \
generator (`dataFrom[].sourceRef.generatorRef`) or a credential with a finite TTL. ESO's \
`could not update secret, target is immutable` makes it an error.\n\n\
## Why it matters\n\
ESO cannot write the new value into an immutable Secret; once the old credential expires, consumers fail while \
the ExternalSecret keeps erroring.\n\n\
## Example\n\
`target.immutable: true` with a VaultDynamicSecret generator issuing 1h database credentials.\n\n\
## How to fix\n\
Drop `immutable` from the target (delete and recreate the Secret, immutability cannot be undone), or source a \
value that does not rotate.",
};

impl Rule for ImmutableTarget {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        for es in snap.external_secrets.iter().filter(|e| e.source.is_eso()) {
            let Some(ns) = es.meta.namespace.as_deref() else {
                continue;
            };
            let secret = snap.target_of(es);
            let immutable = es.immutable || secret.is_some_and(|s| s.immutable);
            let refused = es.conditions.iter().find(|c| {
                c.message
                    .as_deref()
                    .is_some_and(|m| m.contains("target is immutable"))
            });
            if !immutable && refused.is_none() {
                continue;
            }
            let generator = es.data_from.iter().find_map(|d| match d {
                DataFrom::Generator { kind, name, .. } => Some(format!("generator {kind} {name}")),
                _ => None,
            });
            let path = snap
                .store_for(es)
                .and_then(|s| vault_paths(s, es).into_iter().next())
                .map(|p| p.0);
            let ttl = credential_ttl(snap, path.as_deref(), secret)
                .map(|(d, why, _)| format!("a credential that lives {} ({why})", human(d)));
            let source = generator.or(ttl);
            if source.is_none() && refused.is_none() {
                continue;
            }
            let mut f = sink.finding(
                ObjRef::new(Kind::ExternalSecret, Some(ns), &es.meta.name),
                format!(
                    "ExternalSecret {ns}/{} writes an immutable Secret {} from {}, so it cannot rotate",
                    es.meta.name,
                    es.target_name,
                    source.unwrap_or_else(|| "a source that changed".into())
                ),
            );
            if let Some(c) = refused {
                f.evidence.push(c.loc.clone());
            } else {
                f.severity = Severity::Warning;
            }
            if refused.is_some() {
                f.severity = Severity::Error;
            }
            f.evidence.push(es.loc_spec.clone());
            if let Some(s) = secret {
                f.evidence.push(s.meta.loc.clone());
            }
            f.remediation.push(format!(
                "remove spec.target.immutable, then delete the Secret so ESO recreates it: kubectl -n {ns} delete secret {}",
                es.target_name
            ));
            sink.report(f);
        }
    }
}
