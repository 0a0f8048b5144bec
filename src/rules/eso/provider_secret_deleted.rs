//! CT-ESO-012 provider-secret-deleted.

use crate::graph::derive::{es_sync, vault_paths};
use crate::model::time::fmt_time;
use crate::model::{Kind, ObjRef};
use crate::rules::{force_sync, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct ProviderSecretDeleted;
pub static RULE: ProviderSecretDeleted = ProviderSecretDeleted;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-012",
    name: "provider-secret-deleted",
    severity: Severity::Error,
    covers: &["FM-12"],
    summary: "the Vault secret an ExternalSecret reads was deleted or destroyed",
    docs: "## What it checks\n\
ExternalSecrets whose sync fails with ESO's `Secret does not exist` / `secret does not exist at provider ...` \
(or that were told `secret deleted due to DeletionPolicy=Delete`), joined with Vault evidence: the audit log's \
`delete` or `destroy` on the resolved `data/`/`metadata/` path (who and when), or a `vault list` of the parent \
that lacks the key.\n\n\
## Why it matters\n\
With `deletionPolicy: Retain` (the default) the Secret keeps its last value and the sync errors; with `Delete` \
the Secret disappears and Pods fail with `secret not found`.\n\n\
## Example\n\
`error processing spec.data[0] (key: app/db), err: Secret does not exist`; audit: `delete secret/metadata/app/db \
by oidc-ops`.\n\n\
## How to fix\n\
Restore the secret in Vault (`vault kv undelete -versions=N PATH` for a soft delete, or write it again), then \
force a resync.",
};

impl Rule for ProviderSecretDeleted {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        for es in snap.external_secrets.iter().filter(|e| e.source.is_eso()) {
            let Some(ns) = es.meta.namespace.as_deref() else {
                continue;
            };
            let st = es_sync(snap, es);
            let events = snap.events_for("ExternalSecret", Some(ns), &es.meta.name);
            let said = events.iter().find(|e| {
                let m = e.message.to_ascii_lowercase();
                m.contains("secret does not exist")
                    || m.contains("secret deleted due to deletionpolicy=delete")
            });
            let detail_says = st
                .detail
                .as_deref()
                .is_some_and(|d| d.to_ascii_lowercase().contains("secret does not exist"));
            let paths = snap
                .store_for(es)
                .map(|s| vault_paths(s, es))
                .unwrap_or_default();
            // audit deletes on the data or metadata path
            let deletes: Vec<&crate::model::AuditEvent> = snap
                .vault
                .audit
                .iter()
                .filter(|a| {
                    matches!(a.operation.as_str(), "delete" | "update" | "create")
                        && a.error.is_none()
                })
                .filter(|a| {
                    paths.iter().any(|(p, _)| {
                        let meta = p.replacen("/data/", "/metadata/", 1);
                        let destroy = p.replacen("/data/", "/destroy/", 1);
                        (a.operation == "delete" && (a.path == *p || a.path == meta))
                            || a.path == destroy
                    })
                })
                .collect();
            // the parent listing lacks the key
            let unlisted = paths.iter().find(|(p, _)| {
                let list_path = p.replacen("/data/", "/metadata/", 1);
                let (parent, leaf) = match list_path.rsplit_once('/') {
                    Some(x) => x,
                    None => return false,
                };
                snap.vault.lists.iter().any(|l| {
                    (l.path == parent || l.path == p.rsplit_once('/').map(|x| x.0).unwrap_or(""))
                        && !l.keys.iter().any(|k| k.trim_end_matches('/') == leaf)
                })
            });
            let eso_says = said.is_some() || detail_says;
            let vault_says =
                st.failing == Some(true) && (!deletes.is_empty() || unlisted.is_some());
            if !eso_says && !vault_says {
                continue;
            }
            let path = paths
                .first()
                .map(|p| p.0.clone())
                .unwrap_or_else(|| es.data.first().map(|d| d.key.clone()).unwrap_or_default());
            let who = deletes.first().map(|d| {
                format!(
                    " (deleted {}{})",
                    d.time.map(fmt_time).unwrap_or_default(),
                    d.display_name
                        .as_deref()
                        .map(|n| format!(" by {n}"))
                        .unwrap_or_default()
                )
            });
            let subject = ObjRef::new(Kind::VaultPath, None, &path);
            let mut f = sink.finding(
                subject.clone(),
                format!(
                    "Vault secret {path} that ExternalSecret {ns}/{} reads no longer exists{}; with deletionPolicy {} the Secret {}",
                    es.meta.name,
                    who.unwrap_or_default(),
                    es.deletion_policy,
                    if es.deletion_policy == "Delete" { "is removed" } else { "keeps its last value" }
                ),
            );
            if let Some(e) = said {
                f.evidence.push(e.loc.clone());
            }
            f.evidence.extend(st.evidence.iter().cloned());
            for d in &deletes {
                f.evidence.push(d.loc.clone());
                if let Some(t) = d.time {
                    f.since = Some(f.since.map_or(t, |s: crate::model::Time| s.min(t)));
                    f.events.push((
                        t,
                        subject.clone(),
                        format!(
                            "Vault secret {} deleted{}",
                            d.path,
                            d.display_name
                                .as_deref()
                                .map(|n| format!(" by {n}"))
                                .unwrap_or_default()
                        ),
                    ));
                }
            }
            if let Some((_, l)) = unlisted {
                f.evidence.push(l.clone());
            }
            if f.since.is_none() {
                f.since = st.since.as_ref().map(|x| x.0);
            }
            f.related
                .push(ObjRef::new(Kind::ExternalSecret, Some(ns), &es.meta.name));
            let kv_path = path.replacen("/data/", "/", 1);
            f.remediation.push(format!(
                "find the deleted version with vault kv metadata get {kv_path}, then restore it: vault kv undelete -versions=N {kv_path} (or vault kv put it again if it was destroyed)"
            ));
            f.remediation.push(force_sync(Some(ns), &es.meta.name));
            sink.report(f);
        }
    }
}
