//! CT-K8S-009 tls-certificate-expiring.

use crate::graph::derive::{consumers, last_write, restart_command};
use crate::model::time::{fmt_time, human};
use crate::model::{CaptureSource, CertInfo, Kind, ObjRef, Secret, Time};
use crate::rules::{force_sync, Ctx, Finding, Rule, RuleMeta, Severity, Sink};
use chrono::Duration;

pub struct TlsExpiring;
pub static RULE: TlsExpiring = TlsExpiring;

/// A certificate that nothing is known to renew is flagged this long before it expires.
pub const EXPIRY_WINDOW_DAYS: i64 = 14;

/// A certificate whose validity starts this long after the capture is not valid yet; less
/// is taken for the spread of a collection (objects are read over minutes, and issuers such as
/// Let's Encrypt backdate the start by an hour).
pub const NOT_YET_VALID_MARGIN_MINUTES: i64 = 60;

/// cert-manager renews a certificate when this fraction of its lifetime is left (its
/// default when a Certificate sets no `renewBefore`).
pub const CERT_MANAGER_RENEW_FRACTION: i32 = 3;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-009",
    name: "tls-certificate-expiring",
    severity: Severity::Error,
    covers: &[],
    summary: "a Secret's TLS certificate (or an intermediate of its chain) has expired, is not valid yet, or will expire before anything renews it",
    docs: "## What it checks\n\
Every Secret with a `tls.crt` (type `kubernetes.io/tls` or any other): its PEM chain is decoded and each \
certificate's validity is compared with the capture time. An error when the leaf (the first certificate) or an \
intermediate of the chain has expired, or when one of them is not valid yet (its validity starts more than an \
hour after the capture: an issuer whose clock runs ahead, a start date set by hand). A warning when the leaf expires soon: for a Secret managed by \
cert-manager (annotation `cert-manager.io/certificate-name` or an owner `Certificate`), when it is past the point \
where cert-manager renews by default (one third of its lifetime before expiry) and still not renewed; for any \
other Secret, when it expires within 14 days. A warning too when an intermediate expires before the leaf, since \
the chain breaks on the intermediate's date. A `tls.crt` that cannot be decoded is an ingest note, not a finding.\n\n\
## Why it matters\n\
Nothing in Kubernetes looks at a certificate's dates: the Secret exists, the Pods run, and clients start failing \
the TLS handshake (`x509: certificate has expired or is not yet valid`) the second it expires. A cert-manager \
certificate that is still the old one after its renewal point means renewal is failing (an issuer that cannot \
sign, a solver that cannot answer its challenge) while there is still time to fix it. Servers that read the \
certificate at start keep serving the old one after the Secret changes until they restart.\n\n\
## Example\n\
`shop/shop-tls` holds `CN=shop.example.com`, valid until 2026-03-01T00:00:00Z; the bundle was captured \
2026-03-19: the certificate expired 18d before the capture, and Deployment `shop-frontend` mounts it.\n\n\
## How to fix\n\
Renew the certificate: `cmctl renew NAME -n NS` when cert-manager manages it (and `kubectl describe certificate \
NAME -n NS` for why it did not renew by itself), else replace the Secret with `kubectl create secret tls NAME -n NS \
--cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl apply -f -` (or renew at the source and force a \
resync when an ExternalSecret writes it). For an intermediate, re-issue from a CA whose certificate outlives the \
leaf. For a certificate not valid yet, re-issue it with a start date in the past and set the issuing CA's clock \
right. Then restart the workloads that mount the Secret (`kubectl rollout restart`).",
};

/// The cert-manager Certificate that writes `s`, if any.
fn cert_manager_certificate(s: &Secret) -> Option<&str> {
    s.meta
        .annotations
        .get("cert-manager.io/certificate-name")
        .map(String::as_str)
        .filter(|n| !n.is_empty())
        .or_else(|| {
            s.meta
                .owners
                .iter()
                .find(|o| o.kind == "Certificate")
                .map(|o| o.name.as_str())
        })
}

/// When cert-manager renews a certificate by default: a third of its lifetime before expiry.
fn cert_manager_renewal(c: &CertInfo) -> Time {
    c.not_after - (c.not_after - c.not_before) / CERT_MANAGER_RENEW_FRACTION
}

/// What is wrong with one chain, worst first.
enum Problem<'c> {
    LeafExpired,
    /// The leaf, or an intermediate, starts its validity after the capture.
    NotYetValid(&'c CertInfo),
    IntermediateExpired(&'c CertInfo),
    /// The leaf expires soon; for cert-manager, when renewal was due.
    LeafSoon(Option<Time>),
    IntermediateBeforeLeaf(&'c CertInfo),
}

fn problem<'c>(certs: &'c [CertInfo], cap: Time, managed: bool) -> Option<Problem<'c>> {
    let leaf = certs.first()?;
    // a root in the chain is not used by clients (they have their own copy)
    let intermediates: Vec<&CertInfo> = certs[1..]
        .iter()
        .filter(|c| !c.self_signed() && c.not_after < leaf.not_after)
        .collect();
    let first_intermediate = intermediates.iter().min_by_key(|c| c.not_after).copied();
    if leaf.not_after <= cap {
        return Some(Problem::LeafExpired);
    }
    let margin = Duration::minutes(NOT_YET_VALID_MARGIN_MINUTES);
    if let Some(c) = std::iter::once(leaf)
        .chain(certs[1..].iter().filter(|c| !c.self_signed()))
        .find(|c| c.not_before > cap + margin)
    {
        return Some(Problem::NotYetValid(c));
    }
    if let Some(i) = first_intermediate.filter(|i| i.not_after <= cap) {
        return Some(Problem::IntermediateExpired(i));
    }
    let soon = if managed {
        let renew = cert_manager_renewal(leaf);
        (renew <= cap).then_some(Problem::LeafSoon(Some(renew)))
    } else {
        (leaf.not_after - cap <= Duration::days(EXPIRY_WINDOW_DAYS))
            .then_some(Problem::LeafSoon(None))
    };
    // an intermediate that ends before the leaf breaks the chain first
    match first_intermediate {
        Some(i) => Some(Problem::IntermediateBeforeLeaf(i)),
        None => soon,
    }
}

impl Rule for TlsExpiring {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        if snap.capture_source == CaptureSource::None
            && snap.secrets.iter().any(|s| !s.certs.is_empty())
        {
            sink.skip("no capture time in the bundle to compare certificate expiry with");
            return;
        }
        // a tls.crt was read somewhere (dated or not): otherwise say what is missing
        if !snap
            .secrets
            .iter()
            .any(|s| !s.certs.is_empty() || s.cert_error.is_some())
        {
            if snap
                .secrets
                .iter()
                .any(|s| s.type_.as_deref() == Some("kubernetes.io/tls") && !s.has_data)
            {
                sink.skip("Secrets of type kubernetes.io/tls without their data (`kubectl get secret NAME -n NS -o yaml`)");
            }
            return;
        }
        for s in &snap.secrets {
            let Some(leaf) = s.certs.first() else {
                continue;
            };
            let ns = s.meta.namespace.as_deref();
            let managed_by = cert_manager_certificate(s);
            let Some(p) = problem(&s.certs, cap, managed_by.is_some()) else {
                continue;
            };
            let subject = ObjRef::new(Kind::Secret, ns, &s.meta.name);
            let who = format!(
                "Secret {}{}",
                ns.map(|n| format!("{n}/")).unwrap_or_default(),
                s.meta.name
            );
            let lbl = leaf.label();
            let mut f = match &p {
                Problem::LeafExpired => {
                    let mut f = sink.finding(
                        subject.clone(),
                        format!(
                            "{who} holds a TLS certificate for {lbl} that expired on {}, {} before the capture",
                            fmt_time(leaf.not_after),
                            human(cap - leaf.not_after)
                        ),
                    );
                    f.since = Some(leaf.not_after);
                    f
                }
                Problem::NotYetValid(c) => {
                    let which = if std::ptr::eq(*c, leaf) {
                        String::new()
                    } else {
                        format!(" whose intermediate {}", c.label())
                    };
                    let mut f = sink.finding(
                        subject.clone(),
                        format!(
                            "{who} holds a TLS certificate for {lbl}{which} that is not valid until {}, {} after the capture: clients reject it until then",
                            fmt_time(c.not_before),
                            human(c.not_before - cap)
                        ),
                    );
                    f.since = last_write(s, cap).map(|(t, ..)| t);
                    f
                }
                Problem::IntermediateExpired(i) => {
                    let mut f = sink.finding(
                        subject.clone(),
                        format!(
                            "{who} holds a TLS certificate for {lbl} whose intermediate {} expired on {}, {} before the capture: clients reject the chain",
                            i.label(),
                            fmt_time(i.not_after),
                            human(cap - i.not_after)
                        ),
                    );
                    f.since = Some(i.not_after);
                    f
                }
                Problem::LeafSoon(renew) => {
                    let why = match (renew, managed_by) {
                        (Some(r), Some(c)) => format!(
                            "; cert-manager (Certificate {c}) should have renewed it on {} (a third of its {} lifetime before expiry) and has not",
                            fmt_time(*r),
                            human(leaf.not_after - leaf.not_before)
                        ),
                        _ => format!(
                            ", within {EXPIRY_WINDOW_DAYS} days, and nothing in the bundle renews it"
                        ),
                    };
                    let mut f = sink.finding(
                        subject.clone(),
                        format!(
                            "{who} holds a TLS certificate for {lbl} that expires on {} (in {}){why}",
                            fmt_time(leaf.not_after),
                            human(leaf.not_after - cap)
                        ),
                    );
                    f.severity = Severity::Warning;
                    f.predicted = Some(leaf.not_after);
                    f
                }
                Problem::IntermediateBeforeLeaf(i) => {
                    let mut f = sink.finding(
                        subject.clone(),
                        format!(
                            "{who} holds a TLS certificate for {lbl} whose intermediate {} expires on {} (in {}), before the certificate itself ({}): the chain breaks then",
                            i.label(),
                            fmt_time(i.not_after),
                            human(i.not_after - cap),
                            fmt_time(leaf.not_after)
                        ),
                    );
                    f.severity = Severity::Warning;
                    f.predicted = Some(i.not_after);
                    f
                }
            };
            f.evidence.push(leaf.loc.clone());
            f.evidence.push(s.meta.loc.clone());
            events(&mut f, leaf, &p, &subject, managed_by.is_some());
            remediation(ctx, &mut f, s, &p, managed_by);
            sink.report(f);
        }
    }
}

/// The leaf's validity (and cert-manager's renewal point), and the intermediate at fault, for
/// the timeline.
fn events(f: &mut Finding, leaf: &CertInfo, p: &Problem, subject: &ObjRef, managed: bool) {
    let lbl = leaf.label();
    let mut push = |at: Time, what: String| f.events.push((at, subject.clone(), what));
    push(
        leaf.not_before,
        format!("TLS certificate {lbl} becomes valid"),
    );
    push(leaf.not_after, format!("TLS certificate {lbl} expires"));
    if managed {
        push(
            cert_manager_renewal(leaf),
            format!("cert-manager renewal of {lbl} due"),
        );
    }
    if let Problem::NotYetValid(c) = p {
        if !std::ptr::eq(*c, leaf) {
            push(
                c.not_before,
                format!("intermediate certificate {} becomes valid", c.label()),
            );
        }
    }
    if let Problem::IntermediateExpired(i) | Problem::IntermediateBeforeLeaf(i) = p {
        push(
            i.not_after,
            format!("intermediate certificate {} expires", i.label()),
        );
    }
}

fn remediation(ctx: &Ctx, f: &mut Finding, s: &Secret, p: &Problem, managed_by: Option<&str>) {
    let snap = ctx.snap;
    let ns_name = s.meta.namespace.as_deref().unwrap_or("default");
    let name = &s.meta.name;
    if let Problem::NotYetValid(c) = p {
        f.remediation.push(format!(
            "re-issue {} with a start date in the past: check the clock of the issuing CA ({}) against `date -u`",
            c.label(),
            c.issuer_label()
        ));
    }
    if let Problem::IntermediateExpired(i) | Problem::IntermediateBeforeLeaf(i) = p {
        f.remediation.push(format!(
            "renew the issuing CA {} (issued by {}) or move the issuer to a CA that outlives the certificate, then re-issue it",
            i.label(),
            i.issuer_label()
        ));
    }
    let producers = snap.producers_of(ns_name, name);
    if let Some(cert) = managed_by {
        f.remediation.push(format!(
            "see why cert-manager did not renew it: kubectl describe certificate {cert} -n {ns_name}"
        ));
        f.remediation
            .push(format!("cmctl renew {cert} -n {ns_name}"));
    } else if !producers.is_empty() {
        for es in producers {
            f.remediation.push(format!(
                "renew the certificate where ExternalSecret {} reads it, then resync: {}",
                es.meta.name,
                force_sync(es.meta.namespace.as_deref(), &es.meta.name)
            ));
        }
    } else {
        f.remediation.push(format!(
            "replace it with the renewed certificate and its key: kubectl create secret tls {name} -n {ns_name} --cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl apply -f -"
        ));
    }
    for pod in consumers(snap, ns_name, name) {
        let r = restart_command(snap, pod);
        if !f.remediation.contains(&r) {
            f.remediation.push(r);
        }
        f.related.push(ObjRef::new(
            Kind::Pod,
            pod.meta.namespace.as_deref(),
            &pod.meta.name,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Loc;

    fn t(s: &str) -> Time {
        crate::model::time::parse_rfc3339(s).unwrap()
    }

    fn cert(pos: usize, cn: &str, issuer: &str, from: &str, to: &str) -> CertInfo {
        CertInfo {
            position: pos,
            subject: format!("CN={cn}"),
            subject_cn: Some(cn.into()),
            issuer: format!("CN={issuer}"),
            issuer_cn: Some(issuer.into()),
            serial: "01".into(),
            not_before: t(from),
            not_after: t(to),
            dns_names: vec![],
            is_ca: pos > 0,
            loc: Loc::default(),
        }
    }

    #[test]
    fn cert_manager_renews_at_two_thirds() {
        let c = cert(0, "a", "ca", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z");
        assert_eq!(cert_manager_renewal(&c), t("2026-03-02T00:00:00Z"));
    }

    #[test]
    fn worst_problem_first() {
        let leaf = cert(0, "a", "i", "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z");
        let short = cert(1, "i", "r", "2025-01-01T00:00:00Z", "2026-06-30T00:00:00Z");
        let root = cert(2, "r", "r", "2024-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
        let cap = t("2026-03-19T00:00:00Z");
        // a root in the chain that expired does not matter to clients
        assert!(problem(&[leaf.clone(), root.clone()], cap, false).is_none());
        assert!(matches!(
            problem(&[leaf.clone(), short.clone(), root], cap, false),
            Some(Problem::IntermediateBeforeLeaf(_))
        ));
        assert!(matches!(
            problem(
                &[leaf.clone(), short.clone()],
                t("2026-07-01T00:00:00Z"),
                false
            ),
            Some(Problem::IntermediateExpired(_))
        ));
        // an intermediate that outlives the leaf is no problem
        let long_inter = cert(1, "i", "r", "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
        assert!(matches!(
            problem(
                &[leaf.clone(), long_inter],
                t("2026-12-20T00:00:00Z"),
                false
            ),
            Some(Problem::LeafSoon(None))
        ));
        assert!(matches!(
            problem(std::slice::from_ref(&leaf), t("2027-01-01T00:00:00Z"), true),
            Some(Problem::LeafExpired)
        ));
        // managed: quiet 15 days before expiry when renewal is not due yet (a 3-week cert)
        let short_leaf = cert(0, "a", "i", "2026-03-01T00:00:00Z", "2026-03-22T00:00:00Z");
        assert!(problem(
            std::slice::from_ref(&short_leaf),
            t("2026-03-10T00:00:00Z"),
            true
        )
        .is_none());
        assert!(matches!(
            problem(&[short_leaf], t("2026-03-10T00:00:00Z"), false),
            Some(Problem::LeafSoon(None))
        ));
    }

    #[test]
    fn not_valid_yet_beyond_the_collection_margin() {
        let cap = t("2026-03-19T00:00:00Z");
        let future = cert(0, "a", "i", "2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z");
        assert!(matches!(
            problem(std::slice::from_ref(&future), cap, false),
            Some(Problem::NotYetValid(c)) if c.position == 0
        ));
        // issued during the collection: within the margin, not flagged
        let fresh = cert(0, "a", "i", "2026-03-19T00:30:00Z", "2026-12-01T00:00:00Z");
        assert!(problem(std::slice::from_ref(&fresh), cap, false).is_none());
        // an intermediate not valid yet breaks the chain; a root does not matter
        let leaf = cert(0, "a", "i", "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z");
        let inter = cert(1, "i", "r", "2026-05-01T00:00:00Z", "2030-01-01T00:00:00Z");
        let root = cert(2, "r", "r", "2026-05-01T00:00:00Z", "2036-01-01T00:00:00Z");
        assert!(problem(&[leaf.clone(), root], cap, false).is_none());
        assert!(matches!(
            problem(&[leaf, inter], cap, false),
            Some(Problem::NotYetValid(c)) if c.position == 1
        ));
    }
}
