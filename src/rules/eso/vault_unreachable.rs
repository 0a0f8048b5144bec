//! CT-ESO-006 vault-unreachable.

use crate::graph::derive::{es_sync, network_failure, store_error};
use crate::model::{Kind, Name, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct VaultUnreachable;
pub static RULE: VaultUnreachable = VaultUnreachable;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-006",
    name: "vault-unreachable",
    severity: Severity::Error,
    covers: &["FM-21"],
    summary: "ESO cannot reach Vault: timeout, DNS, refused connection, TLS, or a proxy answering instead of Vault",
    docs: "## What it checks\n\
Store and ExternalSecret errors that never reached Vault: `context deadline exceeded`, `i/o timeout`, `no such \
host`, `connection refused`, `x509: ...` / `tls: ...`, and `Code: 403. Raw Message: <html>...` (a reply whose body \
is not Vault's JSON, so it came from a proxy, ingress or WAF in front of Vault).\n\n\
## Why it matters\n\
These look like Vault failures but no policy, role or token is involved: blaming a policy for a proxy's 403 sends \
the engineer the wrong way. Every secret served through the path goes stale at once.\n\n\
## Example\n\
`unable to validate store: invalid vault credentials: context deadline exceeded`; \
`Code: 403. Raw Message: <html><head><title>403 Forbidden</title>... nginx`.\n\n\
## How to fix\n\
Check the network path from the ESO controller to the store's `server` (DNS, NetworkPolicy, egress proxy), the \
CA bundle (`caBundle`/`caProvider`) against Vault's certificate, and the proxy's rules.",
};

impl Rule for VaultUnreachable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        for store in &snap.stores {
            let Some((msg, loc, since)) = store_error(snap, store) else {
                continue;
            };
            let Some(class) = network_failure(&msg) else {
                continue;
            };
            let subject = store.obj();
            let server = store
                .vault
                .as_ref()
                .map(|v| format!(" ({})", v.server))
                .unwrap_or_default();
            let deps = snap.users_of(store);
            let mut f = sink.finding(
                subject.clone(),
                format!(
                    "{} {} cannot reach Vault{server}: {class}; {} behind it cannot sync",
                    store.kind,
                    store.meta.name,
                    crate::rules::count_of(&deps)
                ),
            );
            f.evidence.push(loc);
            f.since = since;
            if let Some(t) = since {
                f.events.push((
                    t,
                    subject.clone(),
                    format!("store cannot reach Vault: {class}"),
                ));
            }
            for es in &deps {
                f.related.push(es.obj());
            }
            let eso = deps.iter().all(|e| e.source.is_eso());
            f.remediation.push(if !eso {
                format!(
                    "test the path to {} from the Pod of the {} (DNS, NetworkPolicy, egress proxy, CA bundle)",
                    store.vault.as_ref().map(|v| v.server.trim_end_matches('/')).unwrap_or("Vault"),
                    deps.first().map(|e| e.source.controller()).unwrap_or("controller")
                )
            } else { format!(
                "test the path from the ESO controller: kubectl -n external-secrets exec deploy/external-secrets -- wget -qO- {}/v1/sys/health",
                store.vault.as_ref().map(|v| v.server.trim_end_matches('/').to_string()).unwrap_or_else(|| "https://VAULT:8200".into())
            )});
            sink.report(f);
        }
        // stores known only from their events (`kubectl describe clustersecretstore ... | grep -A Events`)
        let mut seen: Vec<(Name, Option<Name>, Name)> = Vec::new();
        for e in snap.events.iter().filter(|e| {
            e.type_ == "Warning"
                && matches!(e.object_kind.as_str(), "SecretStore" | "ClusterSecretStore")
        }) {
            let key = (
                e.object_kind.clone(),
                e.namespace.clone(),
                e.object_name.clone(),
            );
            let known = snap
                .stores
                .iter()
                .any(|s| s.kind == e.object_kind && s.meta.name == e.object_name);
            if known || seen.contains(&key) {
                continue;
            }
            let Some(class) = network_failure(&e.message) else {
                continue;
            };
            seen.push(key);
            let kind = if e.object_kind == "ClusterSecretStore" {
                Kind::ClusterSecretStore
            } else {
                Kind::SecretStore
            };
            let ns = if kind == Kind::ClusterSecretStore {
                None
            } else {
                e.namespace.as_deref()
            };
            // a pasted Events table may have lost the object's name
            let name = if e.object_name.is_empty() {
                "(name not in the bundle)"
            } else {
                e.object_name.as_str()
            };
            let mut f = sink.finding(
                ObjRef::new(kind, ns, name),
                format!("{} {name} cannot reach Vault: {class}", e.object_kind),
            );
            f.evidence.push(e.loc.clone());
            f.since = e.first.map(|w| w.resolve(snap.captured_at));
            f.remediation.push(
                "check DNS, NetworkPolicy, egress proxy and the CA bundle between the ESO controller and the store's Vault server".into(),
            );
            sink.report(f);
        }
        // an ExternalSecret whose own reads never reach Vault, behind a store that looks fine
        for es in &snap.external_secrets {
            let store_down = snap
                .store_for(es)
                .and_then(|s| store_error(snap, s))
                .is_some_and(|(m, _, _)| network_failure(&m).is_some());
            if store_down {
                continue;
            }
            let st = es_sync(snap, es);
            if st.failing != Some(true) {
                continue;
            }
            let Some(class) = st.detail.as_deref().and_then(network_failure) else {
                continue;
            };
            let mut f = sink.finding(
                es.obj(),
                format!(
                    "{} cannot reach Vault when it reads its data: {class}",
                    es.describe()
                ),
            );
            f.evidence = st.evidence.clone();
            f.since = st.since.as_ref().map(|x| x.0);
            f.remediation.push(
                format!("check DNS, NetworkPolicy, egress proxy and the CA bundle between the {} and the Vault address in the error", es.source.controller()),
            );
            sink.report(f);
        }
    }
}
