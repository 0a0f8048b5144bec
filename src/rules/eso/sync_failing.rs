//! CT-ESO-001 externalsecret-sync-failing.

use crate::graph::derive::{es_sync, network_failure, store_is_ready};
use crate::model::time::fmt_time;
use crate::model::{ExternalSecret, Source};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

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
        if ctx.snap.external_secrets.is_empty() {
            sink.skip("no ExternalSecrets in the bundle");
            return;
        }
        check_syncs(ctx, sink, &|e| e.source.is_eso());
    }
}

/// What a failing sync object does not do, for its message.
fn failure_verb(source: &Source) -> &'static str {
    match source {
        Source::Eso | Source::VsoStatic { .. } | Source::VsoDynamic | Source::VsoPki => {
            "has not synced"
        }
        Source::Csi => "cannot be mounted",
        Source::Agent => "is stuck: its Vault agent has not rendered its secrets",
        Source::Certificate => "cannot be issued or renewed",
    }
}

/// Reports the sync objects `accept` admits that fail, with the most specific error the
/// bundle holds. Shared by the sync-failing rules of every delivery path.
pub(crate) fn check_syncs(ctx: &Ctx, sink: &mut Sink, accept: &dyn Fn(&ExternalSecret) -> bool) {
    let snap = ctx.snap;
    for es in snap.external_secrets.iter().filter(|e| accept(e)) {
        let st = es_sync(snap, es);
        if st.failing != Some(true) {
            continue;
        }
        let subject = es.obj();
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
            (None, None, Some(m)) if es.source.is_eso() && m.starts_with("could not get secret data from provider") => {
                format!("{m} (the provider's error is only in the UpdateFailed events, which the bundle does not hold)")
            }
            (None, None, Some(m)) => m.lines().next().unwrap_or("").to_string(),
            _ => st.reason.clone().unwrap_or_else(|| "status says it is not ready".into()),
        };
        let mut msg = format!(
            "{} {}{since}: {cause}",
            es.describe(),
            failure_verb(&es.source)
        );
        if let (Some((e, _)), Some(store), true) =
            (&st.vault_error, snap.store_for(es), es.source.is_eso())
        {
            if e.is_permission_denied() && store_is_ready(store) == Some(true) {
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
        // a 403 on a data path whose role the bundle lacks: say what to look at next
        if let (Some((e, _)), Some(store)) = (&st.vault_error, snap.store_for(es)) {
            let role = crate::graph::access::store_role(snap, store);
            if let (true, Some((mount, role, None)), Some(path)) =
                (e.is_permission_denied(), role, e.path.as_deref())
            {
                if !path.starts_with("auth/") {
                    f.remediation.push(format!(
                        "the role's policies are not in the bundle: read them with `vault read auth/{mount}/role/{role}` and `vault policy read NAME`, and grant {} on {path}",
                        if e.method.as_deref().is_some_and(|m| m != "GET") { "update" } else { "read" }
                    ));
                }
            }
        }
        f.remediation.push(resync_command(snap, es));
        sink.report(f);
    }
}
