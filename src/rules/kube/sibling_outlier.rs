//! CT-K8S-002 secret-sibling-outlier.

use crate::graph::derive::last_write;
use crate::model::time::{fmt_time, human};
use crate::model::FastMap;
use crate::model::{Kind, Loc, ObjRef, Secret, Time};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};
use chrono::Duration;

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
    loc: &'a Loc,
}

/// What a family's members share: the store their ExternalSecrets read from, or a name
/// prefix or suffix (before the first or after the last `-`) with the Secret type. Borrowed
/// from the snapshot: a string per Secret and family was most of this rule on a fleet.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Family<'s> {
    /// (namespace, store kind, store name)
    Store(&'s str, &'s str, &'s str),
    /// (namespace, type, prefix)
    Prefix(&'s str, &'s str, &'s str),
    /// (namespace, type, suffix)
    Suffix(&'s str, &'s str, &'s str),
}

impl Family<'_> {
    /// The order families are looked at in: a Secret in several families is reported with
    /// the first one's siblings.
    fn order(&self) -> String {
        match self {
            Family::Store(ns, kind, name) => format!("store:{ns}:{kind}:{name}"),
            Family::Prefix(ns, ty, p) => format!("prefix:{ns}:{ty}:{p}"),
            Family::Suffix(ns, ty, p) => format!("suffix:{ns}:{ty}:{p}"),
        }
    }
}

fn families_of<'s>(s: &'s Secret, ctx: &Ctx<'s>, out: &mut Vec<Family<'s>>) {
    let ns = s.meta.namespace.as_deref().unwrap_or_default();
    for es in ctx.snap.producers_of(ns, &s.meta.name) {
        out.push(Family::Store(ns, &es.store.kind, &es.store.name));
    }
    let ty = s.type_.as_deref().unwrap_or_default();
    let name = &s.meta.name;
    if let Some((prefix, _)) = name.split_once('-') {
        out.push(Family::Prefix(ns, ty, prefix));
    }
    if let Some((_, suffix)) = name.rsplit_once('-') {
        out.push(Family::Suffix(ns, ty, suffix));
    }
}

/// Written by the External Secrets Operator (an ExternalSecret targets it, or ESO labels or writes it).
fn is_refreshed(s: &Secret, ctx: &Ctx) -> bool {
    let ns = s.meta.namespace.as_deref().unwrap_or_default();
    !ctx.snap.producers_of(ns, &s.meta.name).is_empty()
        || s.meta
            .labels
            .get("reconcile.external-secrets.io/managed")
            .is_some_and(|v| v == "true")
        || s.meta.managed_fields.iter().any(|f| f.eso)
}

impl Rule for SiblingOutlier {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let cap = ctx.snap.captured_at;
        let mut all: Vec<Member> = Vec::new();
        // members by family, as positions in `all`
        let mut by_family: FastMap<Family, Vec<usize>> = FastMap::default();
        let mut keys = Vec::new();
        for s in &ctx.snap.secrets {
            // only Secrets something refreshes are expected to be young
            if !is_refreshed(s, ctx) {
                continue;
            }
            let Some((at, loc, _)) = last_write(s, cap) else {
                continue;
            };
            keys.clear();
            families_of(s, ctx, &mut keys);
            for k in &keys {
                by_family.entry(*k).or_default().push(all.len());
            }
            all.push(Member { secret: s, at, loc });
        }
        if ctx.snap.secrets.is_empty() {
            sink.skip("no Secrets in the bundle");
            return;
        }
        let mut families: Vec<(String, Vec<&Member>)> = by_family
            .into_iter()
            .filter(|(_, m)| m.len() >= 3)
            .map(|(k, m)| (k.order(), m.into_iter().map(|i| &all[i]).collect()))
            .collect();
        families.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut reported: Vec<ObjRef> = Vec::new();
        for (_, members) in &families {
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
                    .map(|(_, s)| *s)
                    .collect();
                // newest first, then by where they are written: stable under renaming
                siblings.sort_by(|a, b| b.at.cmp(&a.at).then(a.loc.cmp(b.loc)));
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
