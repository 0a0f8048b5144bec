//! CT-ESO-003 store-not-ready.

use crate::graph::derive::{network_failure, store_error, store_ready};
use crate::model::time::fmt_time;
use crate::model::{SecretStore, VaultError};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};
use std::collections::BTreeSet;

pub struct StoreNotReady;
pub static RULE: StoreNotReady = StoreNotReady;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-003",
    name: "store-not-ready",
    severity: Severity::Error,
    covers: &["FM-18", "FM-05", "FM-17"],
    summary: "a SecretStore or ClusterSecretStore is not ready, so every ExternalSecret behind it is gated",
    docs: "## What it checks\n\
Stores whose `Ready` condition is `False` (`InvalidProviderConfig`, `ValidationFailed`, `InvalidStoreConfiguration`), \
with the detail from their Warning events (the Vault error of the login or of `auth/token/lookup-self`), and the \
ExternalSecrets that use them. Stores that fail because Vault cannot be reached are reported by \
`vault-unreachable` instead.\n\n\
## Why it matters\n\
ESO does not even try to sync an ExternalSecret whose store is not ready (`SecretStore \"x\" is not ready`). One \
store failure shows up as dozens of failing ExternalSecrets across namespaces; it is one incident, not forty.\n\n\
## Example\n\
`ClusterSecretStore vault-backend: InvalidProviderConfig: unable to create client` with the event \
`... URL: PUT https://vault/v1/auth/kubernetes/login Code: 400. Errors: * invalid role name \"eso\"`.\n\n\
## How to fix\n\
Fix what the store's error names (role, token, mount), then check the store becomes Valid: \
`kubectl get clustersecretstore NAME`.",
};

impl Rule for StoreNotReady {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        if ctx.snap.stores.is_empty() {
            sink.skip("no SecretStores or ClusterSecretStores in the bundle");
            return;
        }
        check_stores(ctx, sink, &|s| {
            s.kind == "SecretStore" || s.kind == "ClusterSecretStore"
        });
    }
}

/// Reports the stores `accept` admits whose `Ready` condition is `False`, with their Vault
/// error and the sync objects they gate. Shared with the other delivery paths' store rules.
pub(crate) fn check_stores(ctx: &Ctx, sink: &mut Sink, accept: &dyn Fn(&SecretStore) -> bool) {
    let snap = ctx.snap;
    for store in snap.stores.iter().filter(|s| accept(s)) {
        let Some((false, status, sloc)) = store_ready(store) else {
            continue;
        };
        let err = store_error(snap, store);
        if err
            .as_ref()
            .is_some_and(|(m, _, _)| network_failure(m).is_some())
        {
            continue; // vault-unreachable owns it
        }
        let deps = snap.users_of(store);
        let namespaces: BTreeSet<&str> = deps
            .iter()
            .filter_map(|e| e.meta.namespace.as_deref())
            .collect();
        let detail = err
            .as_ref()
            .map(|(m, _, _)| match VaultError::parse(m) {
                Some(v) => format!("Vault answered {}", v.summary()),
                None => m.lines().next().unwrap_or("").to_string(),
            })
            .unwrap_or(status.clone());
        let subject = store.obj();
        let gated = if deps.is_empty() {
            String::new()
        } else {
            format!(
                "; {} in {} namespace(s) depend on it",
                crate::rules::count_of(&deps),
                namespaces.len()
            )
        };
        let mut f = sink.finding(
            subject.clone(),
            format!(
                "{} {} is not ready: {detail}{gated}",
                store.kind, store.meta.name
            ),
        );
        f.evidence.push(sloc);
        if let Some((_, l, t)) = &err {
            f.evidence.push(l.clone());
            f.since = *t;
        }
        if f.since.is_none() {
            f.since = store
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .and_then(|c| c.last_transition);
        }
        if let Some(t) = f.since {
            f.events.push((
                t,
                subject.clone(),
                format!("store not ready since {}", fmt_time(t)),
            ));
        }
        for es in deps.iter().take(50) {
            f.related.push(es.obj());
        }
        let kind = store.kind.to_ascii_lowercase();
        let nsflag = store
            .meta
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        // a refused login whose role the bundle lacks: say where to look
        let login_refused = err
            .as_ref()
            .and_then(|(m, _, _)| VaultError::parse(m))
            .filter(|e| {
                e.code == Some(403)
                    && e.path
                        .as_deref()
                        .is_some_and(|p| p.starts_with("auth/") && p.ends_with("/login"))
            });
        if let (Some(_), Some((mount, role, None))) =
            (login_refused, crate::graph::access::store_role(snap, store))
        {
            let who = crate::graph::access::logins(snap, store)
                .ok()
                .and_then(|l| {
                    l.first()
                        .map(|l| format!(" include {}/{}", l.namespace, l.sa))
                })
                .unwrap_or_default();
            f.remediation.push(format!(
                "Vault refused the login and the role is not in the bundle: check that `vault read auth/{mount}/role/{role}` exists and its bound_service_account_names/namespaces{who}"
            ));
        }
        f.remediation.push(format!(
            "after fixing the cause, check it is ready again: kubectl get {kind} {}{nsflag}",
            store.meta.name
        ));
        sink.report(f);
    }
}
