//! CT-K8S-002 secret-sibling-outlier.

use crate::graph::derive::{is_eso_manager, last_write};
use crate::model::time::{fmt_time, human};
use crate::model::{Kind, Loc, ObjRef, Secret, Time};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};
use chrono::Duration;
use std::collections::BTreeMap;

pub struct SiblingOutlier;
pub static RULE: SiblingOutlier = SiblingOutlier;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-002",
    name: "secret-sibling-outlier",
    severity: Severity::Warning,
    covers: &["FM-16"],
    summary: "one Secret of a family was last written far earlier than its siblings",
    docs: "## What it checks\n\
Secrets that belong together (written by ExternalSecrets on the same store, or sharing a name prefix and a type) \
are compared by their last write: the ESO manager's `managedFields` time, not `creationTimestamp`, which ESO never \
changes. A Secret whose last write is far older than all of its siblings' (more than a day, and more than three \
times their typical age) is an outlier.\n\n\
## Why it matters\n\
Siblings refreshed yesterday prove the refresh path works in general; the one that was not refreshed has a \
broken link of its own (its policy, its path, its ExternalSecret). This is how the reference incident was \
cracked: one `regcred-*` Secret 47 days old among siblings refreshed the day before.\n\n\
## Example\n\
`regcred-order-service` last written 47d ago; `regcred-payment-service`, `regcred-inventory-service`, \
`regcred-user-service` written 1d ago.\n\n\
## How to fix\n\
Look at what the outlier does not share with its siblings: its ExternalSecret's status and events, the Vault \
policy that grants its path.",
};

struct Member<'a> {
    secret: &'a Secret,
    at: Time,
    loc: Loc,
}

fn family_key(s: &Secret, ctx: &Ctx) -> Vec<String> {
    let ns = s.meta.namespace.clone().unwrap_or_default();
    let mut keys = Vec::new();
    for es in ctx.snap.producers_of(&ns, &s.meta.name) {
        keys.push(format!("store:{ns}:{}:{}", es.store.kind, es.store.name));
    }
    let ty = s.type_.clone().unwrap_or_default();
    let name = &s.meta.name;
    if let Some((prefix, _)) = name.split_once('-') {
        keys.push(format!("prefix:{ns}:{ty}:{prefix}"));
    }
    if let Some((_, suffix)) = name.rsplit_once('-') {
        keys.push(format!("suffix:{ns}:{ty}:{suffix}"));
    }
    keys
}

/// Written by the External Secrets Operator (an ExternalSecret targets it, or ESO labels or writes it).
fn is_refreshed(s: &Secret, ctx: &Ctx) -> bool {
    let ns = s.meta.namespace.as_deref().unwrap_or_default();
    !ctx.snap.producers_of(ns, &s.meta.name).is_empty()
        || s.meta
            .labels
            .get("reconcile.external-secrets.io/managed")
            .is_some_and(|v| v == "true")
        || s.meta
            .managed_fields
            .iter()
            .any(|f| is_eso_manager(&f.manager))
}

impl Rule for SiblingOutlier {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let cap = ctx.snap.captured_at;
        let mut families: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        for s in &ctx.snap.secrets {
            // only Secrets something refreshes are expected to be young
            if !is_refreshed(s, ctx) {
                continue;
            }
            let Some((at, loc, _)) = last_write(s, cap) else {
                continue;
            };
            for k in family_key(s, ctx) {
                families.entry(k).or_default().push(Member {
                    secret: s,
                    at,
                    loc: loc.clone(),
                });
            }
        }
        if ctx.snap.secrets.is_empty() {
            sink.skip("no Secrets in the bundle");
            return;
        }
        let mut reported: Vec<ObjRef> = Vec::new();
        for members in families.values() {
            if members.len() < 3 {
                continue;
            }
            // the write times, newest first: a member's siblings are these less one
            // occurrence of its own, so the oldest sibling and the median age are read off
            // this list for each member (few members are outliers; only those sort siblings)
            let mut ats: Vec<Time> = members.iter().map(|m| m.at).collect();
            ats.sort_unstable_by(|a, b| b.cmp(a));
            let n = ats.len();
            for (i, m) in members.iter().enumerate() {
                let p = ats.partition_point(|t| *t > m.at);
                let k = (n - 1) / 2;
                let median = cap - if k >= p { ats[k + 1] } else { ats[k] };
                let oldest_sibling = if p == n - 1 { ats[n - 2] } else { ats[n - 1] };
                let age = cap - m.at;
                let gap = oldest_sibling - m.at;
                if gap <= Duration::days(1) || age <= median * 3 {
                    continue;
                }
                let mut siblings: Vec<&Member> = members
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, s)| s)
                    .collect();
                // newest first, then by where they are written: stable under renaming
                siblings.sort_by(|a, b| b.at.cmp(&a.at).then(a.loc.cmp(&b.loc)));
                let subject = ObjRef::new(
                    Kind::Secret,
                    m.secret.meta.namespace.as_deref(),
                    &m.secret.meta.name,
                );
                if reported.contains(&subject) {
                    continue;
                }
                reported.push(subject.clone());
                let names: Vec<&str> = siblings
                    .iter()
                    .map(|s| s.secret.meta.name.as_str())
                    .collect();
                let newest_age = siblings.iter().map(|s| cap - s.at).max().expect("siblings");
                let mut f = sink.finding(
                    subject.clone(),
                    format!(
                        "Secret {} was last written {} ago ({}), while its {} siblings ({}) were all written within the last {}",
                        m.secret.meta.name,
                        human(age),
                        fmt_time(m.at),
                        names.len(),
                        names.join(", "),
                        human(newest_age)
                    ),
                );
                f.evidence.push(m.loc.clone());
                f.evidence
                    .extend(siblings.iter().take(3).map(|s| s.loc.clone()));
                f.since = Some(m.at);
                f.related = siblings
                    .iter()
                    .map(|s| {
                        ObjRef::new(
                            Kind::Secret,
                            s.secret.meta.namespace.as_deref(),
                            &s.secret.meta.name,
                        )
                    })
                    .collect();
                f.events
                    .push((m.at, subject, "last write of the outlier Secret".into()));
                let nsflag = m
                    .secret
                    .meta
                    .namespace
                    .as_deref()
                    .map(|n| format!(" -n {n}"))
                    .unwrap_or_default();
                f.remediation = vec![format!(
                    "compare what the outlier does not share with its siblings: kubectl get externalsecret{nsflag} -o wide; kubectl describe externalsecret{nsflag}"
                )];
                sink.report(f);
            }
        }
    }
}
