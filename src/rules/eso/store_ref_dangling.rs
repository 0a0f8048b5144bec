//! CT-ESO-004 store-reference-dangling.

use crate::model::{is_cluster_store, store_kind, Presence, Source};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct StoreRefDangling;
pub static RULE: StoreRefDangling = StoreRefDangling;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-004",
    name: "store-reference-dangling",
    severity: Severity::Error,
    covers: &["FM-20"],
    summary: "an ExternalSecret refers to a store that does not exist (often the wrong kind)",
    docs: "## What it checks\n\
Each ExternalSecret's `secretStoreRef`, with the kind defaulted as ESO does (`SecretStore` when `kind` is \
omitted), resolved in the ExternalSecret's namespace (or cluster-wide for `ClusterSecretStore`). When that kind \
and namespace were collected and the store is not there, the reference dangles; if a store of the other kind \
has that name, the finding says so. ESO's own event (`could not get SecretStore \"x\", ... not found`) counts too.\n\n\
## Why it matters\n\
The Secret is never created; every Pod that needs it fails with `secret not found`.\n\n\
## Example\n\
`secretStoreRef: {name: vault-backend}` (kind omitted) while `vault-backend` is a ClusterSecretStore.\n\n\
## How to fix\n\
Set `secretStoreRef.kind: ClusterSecretStore`, or create the SecretStore in the ExternalSecret's namespace.",
};

impl Rule for StoreRefDangling {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        for es in &snap.external_secrets {
            // an injected Pod and a SecretProviderClass are their own store; VSO's default
            // VaultAuth lives in the operator's namespace, which the reference does not name
            if es.store.name.is_empty()
                || es.store.any_namespace
                || matches!(es.source, Source::Agent | Source::Csi)
            {
                continue;
            }
            let ns = es.meta.namespace.as_deref();
            let cluster = is_cluster_store(&es.store.kind);
            let kind = store_kind(&es.store.kind);
            let store_ns = if cluster {
                None
            } else {
                es.store.namespace.as_deref().or(ns)
            };
            let presence = snap.presence(kind, store_ns, &es.store.name);
            let event = snap
                .events_for(es.kind().as_str(), ns, &es.meta.name)
                .into_iter()
                .find(|e| {
                    e.message.contains(&format!(
                        "could not get {} \"{}\"",
                        kind.as_str(),
                        es.store.name
                    )) || e.message.contains("InvalidStoreRef")
                });
            if presence != Presence::Missing && event.is_none() {
                continue;
            }
            if presence == Presence::Present {
                continue;
            }
            let other = snap.stores.iter().find(|s| {
                es.source.is_eso()
                    && s.meta.name == es.store.name
                    && (if cluster {
                        s.kind == "SecretStore"
                    } else {
                        s.kind == "ClusterSecretStore"
                    })
            });
            let hint = match other {
                Some(o) if o.kind == "ClusterSecretStore" => format!("; a ClusterSecretStore named {} exists: set secretStoreRef.kind: ClusterSecretStore", o.meta.name),
                Some(o) => format!("; a SecretStore {} exists in namespace {}", o.meta.name, o.meta.namespace.as_deref().unwrap_or("-")),
                None => String::new(),
            };
            let mut f = sink.finding(
                es.obj(),
                format!(
                    "{} uses {} {}, which does not exist{}{hint}",
                    es.describe(),
                    kind.as_str(),
                    es.store.name,
                    if cluster { "" } else { " in its namespace" }
                ),
            );
            f.evidence.push(es.store.loc.clone());
            if let Some(e) = event {
                f.evidence.push(e.loc.clone());
            }
            if let Some(o) = other {
                f.evidence.push(o.meta.loc.clone());
                if o.kind == "ClusterSecretStore" {
                    f.remediation.push(format!(
                        "kubectl -n {} patch externalsecret {} --type merge -p '{{\"spec\":{{\"secretStoreRef\":{{\"kind\":\"ClusterSecretStore\"}}}}}}'",
                        ns.unwrap_or("default"),
                        es.meta.name
                    ));
                }
            }
            if f.remediation.is_empty() {
                f.remediation.push(format!(
                    "create {} {} or point secretStoreRef at an existing store",
                    kind.as_str(),
                    es.store.name
                ));
            }
            sink.report(f);
        }
    }
}
