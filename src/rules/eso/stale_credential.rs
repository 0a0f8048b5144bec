//! CT-ESO-002 credential-outlived-ttl.

use crate::graph::derive::{
    consumers, credential_ttl, es_sync, last_write, leases_for, restart_command, vault_paths,
    WriteSource,
};
use crate::model::time::{fmt_time, human};
use crate::model::{Kind, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct StaleCredential;
pub static RULE: StaleCredential = StaleCredential;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-002",
    name: "credential-outlived-ttl",
    severity: Severity::Error,
    covers: &["FM-16", "FM-26"],
    summary: "a Secret holds a Vault-issued credential older than its TTL while its sync is broken",
    docs: "## What it checks\n\
For every Secret written by an ExternalSecret whose sync is failing: the time of its last write (the ESO \
manager's `managedFields` time; `creationTimestamp` is not a refresh, ESO updates Secrets in place) plus the \
credential's effective TTL (the least of the Vault mount's `default_lease_ttl`/`max_lease_ttl` and a JWT's \
`exp`) against the capture time. Past it, the credential has expired; before it, the finding is a latent risk \
with its predicted expiry.\n\n\
## Why it matters\n\
The Secret still exists and looks fine, so Kubernetes-side checks pass; the registry or database rejects the \
credential (`401 Unauthorized`). This is the reference incident's pivot.\n\n\
## Example\n\
`regcred-order-service` last written 2026-01-31, mount `registry-creds` `default_lease_ttl 720h`: expired \
2026-03-02 while its ExternalSecret got `403 permission denied`.\n\n\
## How to fix\n\
Repair the sync (see the ExternalSecret's root cause), force a resync, then restart the workloads that read the \
Secret at start (env vars, image pulls).",
};

impl Rule for StaleCredential {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        if snap.external_secrets.is_empty() {
            sink.skip("no ExternalSecrets in the bundle");
            return;
        }
        let mut ttl_known = false;
        for es in snap.external_secrets.iter().filter(|e| e.source.is_eso()) {
            let st = es_sync(snap, es);
            if st.failing != Some(true) {
                continue;
            }
            let Some(ns) = es.meta.namespace.as_deref() else {
                continue;
            };
            let Some(secret) = snap.target_of(es) else {
                continue;
            };
            let Some((written, wloc, source)) = last_write(secret, cap) else {
                continue;
            };
            let paths = snap
                .store_for(es)
                .map(|s| vault_paths(s, es))
                .unwrap_or_default();
            let path = paths.first().map(|p| p.0.clone());
            let Some((ttl, why, tlocs)) = credential_ttl(snap, path.as_deref(), Some(secret))
            else {
                continue;
            };
            ttl_known = true;
            let expiry = written + ttl;
            let subject = ObjRef::new(Kind::Secret, Some(ns), &secret.meta.name);
            let weak = if source == WriteSource::Creation {
                " (only its creation time is known, so this is an upper bound on its age)"
            } else {
                ""
            };
            let mut f = if expiry <= cap {
                sink.finding(
                    subject.clone(),
                    format!(
                        "Secret {ns}/{} was last written {} ago ({}){weak} and its credential lives {} ({why}): it expired {} while ExternalSecret {} cannot sync",
                        secret.meta.name,
                        human(cap - written),
                        fmt_time(written),
                        human(ttl),
                        fmt_time(expiry),
                        es.meta.name
                    ),
                )
            } else {
                let mut f = sink.finding(
                    subject.clone(),
                    format!(
                        "Secret {ns}/{} holds a credential that expires {} (in {}), and ExternalSecret {} cannot refresh it",
                        secret.meta.name,
                        fmt_time(expiry),
                        human(expiry - cap),
                        es.meta.name
                    ),
                );
                f.severity = Severity::Warning;
                f.predicted = Some(expiry);
                f
            };
            f.evidence.push(wloc.clone());
            f.evidence.extend(tlocs);
            if let Some(p) = &path {
                for l in leases_for(snap, p) {
                    if let Some((d, loc)) = &l.duration {
                        if d.num_seconds() == 0 {
                            f.evidence.push(loc.clone());
                        }
                    }
                }
            }
            f.evidence.extend(st.evidence.iter().take(1).cloned());
            f.since = (expiry <= cap).then_some(expiry);
            f.events.push((
                written,
                subject.clone(),
                format!(
                    "Secret last written (credential issued, TTL {})",
                    human(ttl)
                ),
            ));
            f.events
                .push((expiry, subject.clone(), "credential TTL expires".into()));
            f.related
                .push(ObjRef::new(Kind::ExternalSecret, Some(ns), &es.meta.name));
            for p in consumers(snap, ns, &secret.meta.name) {
                let r = restart_command(snap, p);
                if !f.remediation.contains(&r) {
                    f.remediation.push(r);
                }
            }
            sink.report(f);
        }
        if !ttl_known
            && snap
                .vault
                .mounts
                .values()
                .all(|m| m.default_lease_ttl.is_none())
        {
            sink.skip("no credential TTL in the bundle (`vault read sys/mounts/M/tune` or `vault secrets list -detailed`)");
        }
    }
}
