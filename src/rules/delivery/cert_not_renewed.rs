//! CT-CERT-001 certificate-not-renewed.

use crate::acl::explain::{Denial, RuleRef};
use crate::graph::access;
use crate::graph::derive::{consumers, es_sync, restart_command};
use crate::model::time::{fmt_time, human};
use crate::model::{Source, VaultError};
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
            // with the role's policies in the bundle, the ACL says which policy refuses the
            // sign request and why (a rule on the sign path without `update`)
            // with the role's policies in the bundle, the ACL says which policy refuses the
            // request and why; a rule that matches it without the capability is fixed here
            // (shadowing and malformed paths have Vault rules of their own)
            let mut refused: Vec<String> = Vec::new();
            let mut fixes: Vec<(RuleRef, &str)> = Vec::new();
            if access::acl_can_explain(snap, es) {
                for v in access::verdicts(snap, es)
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                {
                    let Some(d) = &v.denial else { continue };
                    if d.policy().is_none() {
                        continue;
                    }
                    refused.push(d.describe(&v.request.path, v.request.capability));
                    if let Denial::NotGranted {
                        decided_by: Some(r),
                    } = d
                    {
                        fixes.push((r.clone(), v.request.capability));
                    }
                }
            }
            let cause = match refused.first() {
                Some(why) => format!("{cause}: {why}"),
                None => cause,
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
            // an expired certificate is served now by every Pod that mounts its Secret
            let pods = es
                .meta
                .namespace
                .as_deref()
                .map(|ns| consumers(snap, ns, &es.target_name))
                .unwrap_or_default();
            let validity = if expired.is_some() && !pods.is_empty() {
                let mut names: Vec<&str> = pods.iter().map(|p| p.meta.name.as_str()).collect();
                names.sort_unstable();
                let more = names.len().saturating_sub(3);
                names.truncate(3);
                format!(
                    "{validity}, and Secret {} is mounted by {} Pod(s): {}{}",
                    es.target_name,
                    pods.len(),
                    names.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            } else {
                validity
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
            for (r, cap) in &fixes {
                if r.loc.is_known() && !f.evidence.contains(&r.loc) {
                    f.evidence.push(r.loc.clone());
                }
                let p = &r.policy;
                let fix = format!(
                    "grant {cap} in policy {p}: vault policy read {p} > {p}.hcl, add \"{cap}\" to the capabilities of path \"{}\", then vault policy write {p} {p}.hcl",
                    r.pattern
                );
                if !f.remediation.contains(&fix) {
                    f.remediation.push(fix);
                }
            }
            if let Some((e, _)) = &st.vault_error {
                if let Some(fix) = pki_role_fix(e) {
                    f.remediation.push(fix);
                }
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

/// A PKI role that refuses what the Certificate asks for (`common name X not allowed by this
/// role`, a TTL or key type it does not allow): the fix is on the role behind `MOUNT/sign/ROLE`.
fn pki_role_fix(e: &VaultError) -> Option<String> {
    if e.code != Some(400) {
        return None;
    }
    let path = e.path.as_deref()?;
    let (mount, role) = path
        .rsplit_once("/sign/")
        .or_else(|| path.rsplit_once("/issue/"))?;
    let what = e.errors.iter().find(|x| x.contains("not allowed"))?;
    Some(format!(
        "the PKI role refuses the request ({what}): check it with vault read {mount}/roles/{role}, then allow the names (allowed_domains, allow_subdomains) or key type with vault write {mount}/roles/{role} ..., or change the Certificate's dnsNames/commonName"
    ))
}
