//! CT-ESO-001 externalsecret-sync-failing.

use crate::graph::derive::{es_sync, network_failure, store_ready};
use crate::model::time::fmt_time;
use crate::model::{Kind, ObjRef};
use crate::rules::{force_sync, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct SyncFailing;
pub static RULE: SyncFailing = SyncFailing;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-001",
    name: "externalsecret-sync-failing",
    severity: Severity::Error,
    covers: &["FM-01", "FM-18"],
    summary: "an ExternalSecret cannot sync its Secret from the provider",
    docs: "## What it checks\n\
ExternalSecrets whose `Ready` condition is `False` (or whose `kubectl get` row says `SecretSyncedError`), joined \
with their `UpdateFailed` events. ESO's condition message is generic (`could not get secret data from provider`); \
the Vault error (code, path, `permission denied`) is only in the event, so both are read together.\n\n\
## Why it matters\n\
While the sync fails, the target Secret keeps its last value (deletionPolicy `Retain`). Nothing breaks until that \
value expires or is rotated upstream; then every consumer fails at once.\n\n\
## Example\n\
`Ready False SecretSyncedError could not get secret data from provider` with the event \
`error processing spec.data[0] (key: creds/app), err: cannot read secret data from Vault: ... Code: 403. Errors: * permission denied`.\n\n\
## How to fix\n\
Fix the cause the Vault error points to (a policy, a role, a path), then force a resync: \
`kubectl annotate externalsecret NAME -n NS force-sync=$(date +%s) --overwrite`.",
};

impl Rule for SyncFailing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if snap.external_secrets.is_empty() {
            sink.skip("no ExternalSecrets in the bundle");
            return;
        }
        for es in &snap.external_secrets {
            let st = es_sync(snap, es);
            if st.failing != Some(true) {
                continue;
            }
            let ns = es.meta.namespace.as_deref();
            let subject = ObjRef::new(Kind::ExternalSecret, ns, &es.meta.name);
            let since = st
                .since
                .as_ref()
                .map(|(t, _)| format!(" since {}", fmt_time(*t)))
                .unwrap_or_default();
            let network = st
                .detail
                .as_deref()
                .or(st.message.as_deref())
                .and_then(network_failure);
            let cause = match (&st.vault_error, &st.detail, &st.message) {
                (Some((e, _)), _, _) if e.raw_message => format!(
                    "a proxy or load balancer in front of Vault answered {} on {} (the reply is not from Vault, so no policy is involved)",
                    e.code.map(|c| c.to_string()).unwrap_or_default(),
                    e.path.as_deref().unwrap_or("the request")
                ),
                _ if network.is_some() => format!("{} (the request never got a Vault answer, so no policy is involved)", network.unwrap_or_default()),
                (Some((e, _)), _, _) => format!("Vault answered {}", e.summary()),
                (None, Some(d), _) => d.lines().next().unwrap_or("").to_string(),
                (None, None, Some(m)) if m.starts_with("could not get secret data from provider") => {
                    format!("{m} (the provider's error is only in the UpdateFailed events, which the bundle does not hold)")
                }
                (None, None, Some(m)) => m.clone(),
                _ => st.reason.clone().unwrap_or_else(|| "status says it is not ready".into()),
            };
            let mut msg = format!(
                "ExternalSecret {}/{} has not synced{since}: {cause}",
                ns.unwrap_or("-"),
                es.meta.name
            );
            if let (Some((e, _)), Some(store)) = (&st.vault_error, snap.store_for(es)) {
                if e.is_permission_denied() && store_ready(store).is_some_and(|r| r.0) {
                    msg.push_str(&format!(
                        "; its store {} is still Valid because validation only calls lookup-self, so the ACL policy is at fault, not the login",
                        store.meta.name
                    ));
                }
            }
            let mut f = sink.finding(subject.clone(), msg);
            f.evidence = st.evidence.clone();
            f.since = st.since.as_ref().map(|x| x.0);
            if let Some((t, _)) = &st.last_success {
                f.events
                    .push((*t, subject.clone(), "last successful sync".into()));
            }
            if let Some((t, _)) = &st.since {
                f.events
                    .push((*t, subject.clone(), format!("sync starts failing: {cause}")));
            }
            f.remediation.push(force_sync(ns, &es.meta.name));
            sink.report(f);
        }
    }
}
