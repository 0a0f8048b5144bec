//! CT-CERT-001 certificate-not-renewed.

use crate::graph::derive::{consumers, es_sync, restart_command};
use crate::model::time::{fmt_time, human};
use crate::model::Source;
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct CertNotRenewed;
pub static RULE: CertNotRenewed = CertNotRenewed;

static META: RuleMeta = RuleMeta {
    id: "CT-CERT-001",
    name: "certificate-not-renewed",
    severity: Severity::Error,
    covers: &["FM-16", "FM-18"],
    summary: "a cert-manager Certificate cannot be issued or renewed (its Vault issuer refuses), or has expired",
    docs: "## What it checks\n\
cert-manager Certificates whose `Ready` condition is `False`, or whose last issuance failed (`Issuing` False with \
reason `Failed`, while `Ready` stays True on the old certificate), joined with their failed CertificateRequests \
(where the Vault error of the sign call is written) and with `status.notAfter` against the capture time. With a \
Vault issuer the request is an `update` on the issuer's `spec.vault.path` (`pki_int/sign/ROLE`), so the Vault \
rules trace a refusal through the issuer's role to its policy.\n\n\
## Why it matters\n\
cert-manager keeps the old certificate while renewal fails; nothing breaks until `notAfter`, then every client of \
the Secret rejects the certificate at once. An expired certificate is an outage now; a failing renewal is one at \
`notAfter`.\n\n\
## Example\n\
`Issuing False Failed: The certificate request has failed to complete and will be retried: Vault failed to sign \
certificate: ... URL: PUT https://vault/v1/pki_int/sign/web Code: 403 ... permission denied` with notAfter in 3 days.\n\n\
## How to fix\n\
Fix what the error names (the policy must grant `update` on the sign path; the issuer's role must bind its \
ServiceAccount), then renew now: `cmctl renew NAME -n NS`, and restart the workloads that read the Secret.",
};

impl Rule for CertNotRenewed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        let certs: Vec<_> = snap
            .external_secrets
            .iter()
            .filter(|e| e.source == Source::Certificate)
            .collect();
        if certs.is_empty() {
            // a delivery path the cluster does not use: nothing to check, nothing to report
            return;
        }
        for es in certs {
            let st = es_sync(snap, es);
            let not_after = es.cert.as_ref().and_then(|c| c.not_after.clone());
            let expired = not_after.as_ref().filter(|(t, _)| *t <= cap);
            let failing = st.failing == Some(true);
            if !failing && expired.is_none() {
                continue;
            }
            let cause = match (&st.vault_error, &st.detail, &st.message) {
                (Some((e, _)), _, _) => format!("Vault answered {}", e.summary()),
                (None, Some(d), _) => d.lines().next().unwrap_or("").to_string(),
                (None, None, Some(m)) => m.lines().next().unwrap_or("").to_string(),
                _ => st.reason.clone().unwrap_or_else(|| "not ready".into()),
            };
            let validity = match (&not_after, expired) {
                (_, Some((t, _))) => format!(
                    "its certificate expired at {} ({} before the capture)",
                    fmt_time(*t),
                    human(cap - *t)
                ),
                (Some((t, _)), None) => format!(
                    "its current certificate stays valid until {} (in {})",
                    fmt_time(*t),
                    human(*t - cap)
                ),
                (None, None) => "the bundle does not show its notAfter".into(),
            };
            let msg = if failing {
                format!(
                    "{} cannot be issued or renewed{}: {cause}; {validity}",
                    es.describe(),
                    st.since
                        .as_ref()
                        .map(|(t, _)| format!(" since {}", fmt_time(*t)))
                        .unwrap_or_default()
                )
            } else {
                format!("{} has expired: {validity}", es.describe())
            };
            let subject = es.obj();
            let mut f = sink.finding(subject.clone(), msg);
            if failing && expired.is_none() && not_after.is_some() {
                // still valid: an outage to come, at notAfter
                f.severity = Severity::Warning;
                f.predicted = not_after.as_ref().map(|x| x.0);
            }
            f.evidence = st.evidence.clone();
            if let Some((_, l)) = &not_after {
                f.evidence.push(l.clone());
            }
            f.since = expired.map(|x| x.0).or(st.since.as_ref().map(|x| x.0));
            if let Some((t, _)) = &st.since {
                f.events.push((
                    *t,
                    subject.clone(),
                    format!("issuance starts failing: {cause}"),
                ));
            }
            if let Some((t, _)) = &not_after {
                f.events
                    .push((*t, subject.clone(), "certificate notAfter".into()));
            }
            f.remediation.push(resync_command(snap, es));
            if let Some(ns) = es.meta.namespace.as_deref() {
                for p in consumers(snap, ns, &es.target_name).iter().take(3) {
                    let c = restart_command(snap, p);
                    if !f.remediation.contains(&c) {
                        f.remediation.push(c);
                    }
                }
            }
            sink.report(f);
        }
    }
}
