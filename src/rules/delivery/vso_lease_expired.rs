//! CT-VSO-003 vso-dynamic-lease-expired.

use crate::graph::derive::{consumers, es_sync, restart_command};
use crate::model::time::{fmt_time, human};
use crate::model::Source;
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct VsoLeaseExpired;
pub static RULE: VsoLeaseExpired = VsoLeaseExpired;

static META: RuleMeta = RuleMeta {
    id: "CT-VSO-003",
    name: "vso-dynamic-lease-expired",
    severity: Severity::Error,
    covers: &["FM-16", "FM-19"],
    summary: "a VaultDynamicSecret's lease ran out (or will) because VSO cannot renew it, so its Secret holds dead credentials",
    docs: "## What it checks\n\
VaultDynamicSecrets with a lease (`status.secretLease.duration`) and a last renewal (`status.lastRenewalTime`): \
the credentials in the destination Secret stop working at last renewal + lease duration. Past that time at \
capture, the Secret holds expired credentials (error). Before it, while the VaultDynamicSecret fails to sync \
(`SecretLeaseRenewalError`, a 403), it is a latent risk with the expiry as its predicted time.\n\n\
## Why it matters\n\
VSO renews at `renewalPercent` of the lease; when renewal and re-issue both fail, nothing changes in the cluster \
until the database or cloud rejects the credentials, and every Pod using them fails at once.\n\n\
## Example\n\
`lastRenewalTime` 2026-03-01T10:00:00Z, `secretLease.duration` 3600, capture 2026-03-01T12:00:00Z, events \
`SecretLeaseRenewalError ... Code: 403`: the credentials expired at 11:00.\n\n\
## How to fix\n\
Fix why VSO cannot renew or re-read (the Vault error of its events: a policy without `update` on \
`sys/leases/renew`, or without `read` on the creds path), then restart the operator so it issues new \
credentials, and restart the workloads that read the Secret.",
};

impl Rule for VsoLeaseExpired {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        for es in snap
            .external_secrets
            .iter()
            .filter(|e| e.source == Source::VsoDynamic)
        {
            let (Some((lease, lease_loc)), Some(renewed)) = (es.lease.as_deref(), es.refresh_time)
            else {
                continue;
            };
            let expiry = renewed + *lease;
            let st = es_sync(snap, es);
            let failing = st.failing == Some(true);
            let expired = expiry <= cap;
            if !expired && !failing {
                continue;
            }
            let why = match (&st.vault_error, &st.detail) {
                (Some((e, _)), _) => {
                    format!("; VSO cannot renew it: Vault answered {}", e.summary())
                }
                (None, Some(d)) => {
                    format!("; VSO cannot renew it: {}", d.lines().next().unwrap_or(""))
                }
                _ => String::new(),
            };
            let target = if es.has_target() {
                format!("Secret {}", es.target_name)
            } else {
                "its Secret".into()
            };
            let msg = if expired {
                format!(
                    "{} wrote {target} with credentials whose lease of {} expired at {} ({} before the capture), last renewed {}{why}",
                    es.describe(),
                    human(*lease),
                    fmt_time(expiry),
                    human(cap - expiry),
                    fmt_time(renewed)
                )
            } else {
                format!(
                    "{} holds credentials in {target} that expire at {} (in {}){why}",
                    es.describe(),
                    fmt_time(expiry),
                    human(expiry - cap)
                )
            };
            let subject = es.obj();
            let mut f = sink.finding(subject.clone(), msg);
            if expired {
                f.since = Some(expiry);
            } else {
                f.severity = Severity::Warning;
                f.predicted = Some(expiry);
            }
            f.evidence.push(lease_loc.clone());
            f.evidence.extend(st.evidence.iter().cloned());
            f.events
                .push((renewed, subject.clone(), "lease last renewed".into()));
            f.events
                .push((expiry, subject.clone(), "lease expires".into()));
            f.remediation.push(resync_command(snap, es));
            if let Some(ns) = es.meta.namespace.as_deref() {
                for p in consumers(snap, ns, &es.target_name).iter().take(3) {
                    f.remediation.push(restart_command(snap, p));
                }
            }
            sink.report(f);
        }
    }
}
