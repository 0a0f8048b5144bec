//! CT-ESO-011 serviceaccount-token-unavailable.

use crate::graph::derive::store_error;
use crate::model::{Kind, ObjRef, Presence, VaultAuth};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct SaToken;
pub static RULE: SaToken = SaToken;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-011",
    name: "serviceaccount-token-unavailable",
    severity: Severity::Error,
    covers: &["FM-29"],
    summary: "ESO cannot get a token for the ServiceAccount a store authenticates as",
    docs: "## What it checks\n\
Stores using Kubernetes auth with a `serviceAccountRef`: the ServiceAccount must exist in the namespace ESO \
resolves (the ref's namespace, the store's namespace, or, for a ClusterSecretStore without one, each \
ExternalSecret's namespace), when ServiceAccounts of that namespace were collected. ESO's own errors count too: \
`cannot request Kubernetes service account token for service account \"x\": serviceaccounts \"x\" not found` and \
`... is forbidden: ... cannot create resource \"serviceaccounts/token\"` (missing RBAC).\n\n\
## Why it matters\n\
No token, no login: every ExternalSecret on the store fails.\n\n\
## Example\n\
`serviceAccountRef: {name: vault-auth}` and no `vault-auth` in the namespace.\n\n\
## How to fix\n\
Create the ServiceAccount (`kubectl create serviceaccount NAME -n NS`), or grant the ESO controller `create` on \
`serviceaccounts/token`.",
};

impl Rule for SaToken {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        for store in snap
            .stores
            .iter()
            .filter(|s| s.kind == "SecretStore" || s.kind == "ClusterSecretStore")
        {
            let Some(v) = &store.vault else { continue };
            let VaultAuth::Kubernetes {
                service_account: Some((sa, sa_ns)),
                loc,
                ..
            } = &v.auth
            else {
                continue;
            };
            let kind = if store.kind == "ClusterSecretStore" {
                Kind::ClusterSecretStore
            } else {
                Kind::SecretStore
            };
            let subject = ObjRef::new(kind, store.meta.namespace.as_deref(), &store.meta.name);
            // the namespaces ESO resolves the ServiceAccount in
            let mut namespaces: Vec<String> = match (sa_ns, &store.meta.namespace) {
                (Some(n), _) => vec![n.clone()],
                (None, Some(n)) => vec![n.to_string()],
                (None, None) => snap
                    .users_of(store)
                    .iter()
                    .filter_map(|e| e.meta.namespace.as_deref().map(str::to_string))
                    .collect(),
            };
            namespaces.sort();
            namespaces.dedup();
            let missing: Vec<&String> = namespaces
                .iter()
                .filter(|n| snap.presence(Kind::ServiceAccount, Some(n), sa) == Presence::Missing)
                .collect();
            let err = store_error(snap, store).filter(|(m, _, _)| {
                m.contains("service account token") || m.contains("serviceaccounts/token")
            });
            if missing.is_empty() && err.is_none() {
                continue;
            }
            let forbidden = err
                .as_ref()
                .is_some_and(|(m, _, _)| m.contains("forbidden"));
            let msg = if forbidden {
                format!("{} {} cannot get a token for ServiceAccount {sa}: the ESO controller may not create serviceaccounts/token", store.kind, store.meta.name)
            } else if missing.is_empty() {
                format!(
                    "{} {} cannot get a token for ServiceAccount {sa}",
                    store.kind, store.meta.name
                )
            } else {
                format!(
                    "{} {} authenticates as ServiceAccount {sa}, which does not exist in namespace(s) {}",
                    store.kind,
                    store.meta.name,
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            };
            let mut f = sink.finding(subject, msg);
            f.evidence.push(loc.clone());
            if let Some((_, l, t)) = &err {
                f.evidence.push(l.clone());
                f.since = *t;
            }
            if forbidden {
                f.remediation.push("grant the ESO controller's ServiceAccount `create` on `serviceaccounts/token` (its ClusterRole)".into());
            }
            for n in &missing {
                f.remediation
                    .push(format!("kubectl create serviceaccount {sa} -n {n}"));
            }
            if f.remediation.is_empty() {
                f.remediation.push(format!(
                    "check ServiceAccount {sa} exists where the store resolves it"
                ));
            }
            sink.report(f);
        }
    }
}
