//! CT-ESO-009 refresh-slower-than-credential.

use crate::graph::derive::{credential_ttl, es_sync, last_write, vault_paths};
use crate::model::time::{fmt_time, human};
use crate::model::{Kind, ObjRef};
use crate::rules::{force_sync, Ctx, Rule, RuleMeta, Severity, Sink};
use chrono::Duration;

pub struct RefreshSlower;
pub static RULE: RefreshSlower = RefreshSlower;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-009",
    name: "refresh-slower-than-credential",
    severity: Severity::Warning,
    covers: &["FM-26"],
    summary: "an ExternalSecret refreshes less often than its credential expires, or never",
    docs: "## What it checks\n\
ExternalSecrets that sync fine but whose refresh cannot keep up with the credential they copy: \
`refreshInterval: 0s` or `refreshPolicy: CreatedOnce|OnChange` (never refreshed), or a `refreshInterval` longer \
than the credential's TTL (the least of the lease, the dynamic mount's default/max lease TTL, a JWT's `exp`). \
The finding predicts when the credential in the Secret expires (last write + TTL).\n\n\
## Why it matters\n\
The ExternalSecret stays green (`Ready=True`) while the value inside the Secret has expired; consumers fail with \
authentication errors and nothing in ESO says why.\n\n\
## Example\n\
`refreshInterval: 24h` on a database credential with a 1h TTL.\n\n\
## How to fix\n\
Set `refreshInterval` well below the TTL (half of it is a good rule), and force a resync now.",
};

impl Rule for RefreshSlower {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        for es in snap.external_secrets.iter().filter(|e| e.source.is_eso()) {
            let Some(ns) = es.meta.namespace.as_deref() else {
                continue;
            };
            if es_sync(snap, es).failing == Some(true) {
                continue; // a failing sync is its own finding
            }
            let secret = snap.target_of(es);
            let path = snap
                .store_for(es)
                .and_then(|s| vault_paths(s, es).into_iter().next())
                .map(|p| p.0);
            let Some((ttl, why, tlocs)) = credential_ttl(snap, path.as_deref(), secret) else {
                continue;
            };
            let never = es.refresh_interval.is_some_and(|d| d.is_zero())
                || matches!(
                    es.refresh_policy.as_deref(),
                    Some("CreatedOnce") | Some("OnChange")
                );
            let interval = es.refresh_interval.unwrap_or(Duration::hours(1));
            if !never && interval <= ttl {
                continue;
            }
            let base = secret
                .and_then(|s| last_write(s, cap))
                .map(|x| x.0)
                .or(es.refresh_time);
            let expiry = base.map(|b| b + ttl);
            let how = if never {
                "never refreshes it".to_string()
            } else {
                format!("refreshes every {}", human(interval))
            };
            let when = match expiry {
                Some(t) if t <= cap => format!(
                    "; the copy in Secret {} expired {}",
                    es.target_name,
                    fmt_time(t)
                ),
                Some(t) => format!(
                    "; the copy in Secret {} expires {}",
                    es.target_name,
                    fmt_time(t)
                ),
                None => String::new(),
            };
            let subject = ObjRef::new(Kind::ExternalSecret, Some(ns), &es.meta.name);
            let mut f = sink.finding(
                subject.clone(),
                format!("ExternalSecret {ns}/{} copies a credential that lives {} ({why}) but {how}{when}", es.meta.name, human(ttl)),
            );
            if expiry.is_some_and(|t| t <= cap) {
                f.severity = Severity::Error;
                f.since = expiry;
            } else {
                f.predicted = expiry;
            }
            f.evidence.push(es.loc_spec.clone());
            f.evidence.extend(tlocs);
            if let Some(t) = expiry {
                f.events.push((
                    t,
                    ObjRef::new(Kind::Secret, Some(ns), &es.target_name),
                    "credential in the Secret expires".into(),
                ));
            }
            let half = Duration::seconds((ttl.num_seconds() / 2).max(60));
            f.remediation.push(format!(
                "kubectl -n {ns} patch externalsecret {} --type merge -p '{{\"spec\":{{\"refreshInterval\":\"{}\",\"refreshPolicy\":\"Periodic\"}}}}'",
                es.meta.name,
                go_duration(half)
            ));
            f.remediation.push(force_sync(Some(ns), &es.meta.name));
            sink.report(f);
        }
    }
}

/// `1h30m0s`-style durations for manifests.
fn go_duration(d: Duration) -> String {
    let s = d.num_seconds();
    format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60)
}
