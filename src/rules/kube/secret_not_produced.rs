//! CT-K8S-004 secret-not-produced.

use crate::graph::derive::secret_failure;
use crate::model::FastMap;
use crate::model::{Kind, Loc, ObjRef, Presence};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub struct SecretNotProduced;
pub static RULE: SecretNotProduced = SecretNotProduced;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-004",
    name: "secret-not-produced",
    severity: Severity::Error,
    covers: &["FM-14"],
    summary: "a Pod references a Secret that does not exist and that nothing produces",
    docs: "## What it checks\n\
Every Secret a Pod reads (imagePullSecrets, env `secretKeyRef`, `envFrom`, secret and projected volumes), when it \
is not `optional`: the Secret is absent although Secrets of that namespace were collected (or kubelet says \
`secret \"x\" not found`), and no ExternalSecret in the namespace targets that name (`spec.target.name`, which \
defaults to the ExternalSecret's own name).\n\n\
## Why it matters\n\
Nothing will ever create the Secret, so waiting or resyncing does not help. The usual cause is a naming \
mismatch: `target.name` left unset, or the ExternalSecret living in another namespace.\n\n\
## Example\n\
Pod reads `regcred`; the ExternalSecret is named `regcred-es` without `target.name`, so it writes `regcred-es`.\n\n\
## How to fix\n\
Set `spec.target.name` on the ExternalSecret to the name the Pod uses (or change the Pod), in the Pod's \
namespace.",
};

impl Rule for SecretNotProduced {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        check(ctx.snap, sink);
    }
}

/// The Pods that read a Secret, and where.
type Readers<'s> = (Vec<&'s str>, Vec<Loc>);

fn check<'s>(snap: &'s crate::model::Snapshot, sink: &mut Sink) {
    // (namespace, secret) -> (pods, evidence), borrowed from the snapshot (a Secret
    // kubelet names is parsed from its message, so that name may be owned)
    let mut refs: BTreeMap<(&'s str, Cow<'s, str>), Readers<'s>> = BTreeMap::new();
    // (namespace, secret) kubelet said is not found
    let mut kubelet_missing: std::collections::BTreeSet<(&str, String)> =
        std::collections::BTreeSet::new();
    for pod in &snap.pods {
        let Some(ns) = pod.meta.namespace.as_deref() else {
            continue;
        };
        let failed = secret_failure(snap, pod);
        let pod_name = pod.meta.name.as_str();
        let mut add = |name: Cow<'s, str>, evidence: &mut dyn Iterator<Item = Loc>| {
            // a Secret that is there is never reported: its readers are not kept (on a
            // fleet, every reference of every Pod), and their evidence is copied only here
            if snap.presence(Kind::Secret, Some(ns), &name) == Presence::Present {
                return;
            }
            let e = refs.entry((ns, name)).or_default();
            if !e.0.contains(&pod_name) {
                e.0.push(pod_name);
            }
            e.1.extend(evidence);
        };
        for (s, l) in &pod.image_pull_secrets {
            add(Cow::Borrowed(s), &mut std::iter::once(l).cloned());
        }
        for c in &pod.containers {
            for r in c.env_secret_refs.iter().filter(|r| !r.optional) {
                add(
                    Cow::Borrowed(&r.secret),
                    &mut std::iter::once(&r.loc).cloned(),
                );
            }
            for r in c.env_from_secrets.iter().filter(|r| !r.optional) {
                add(
                    Cow::Borrowed(&r.secret),
                    &mut std::iter::once(&r.loc).cloned(),
                );
            }
        }
        for v in &pod.volumes {
            for s in v.secrets.iter().filter(|s| !s.optional) {
                add(
                    Cow::Borrowed(&s.secret),
                    &mut std::iter::once(&s.loc).cloned(),
                );
            }
        }
        if let Some(f) = failed {
            if let (Some(s), None) = (f.secret, &f.key) {
                kubelet_missing.insert((ns, s.clone()));
                add(Cow::Owned(s), &mut f.evidence.into_iter());
            }
        }
    }
    // the sync objects with a target, by namespace and by target name: the hints below
    // look at these instead of every object for every finding
    let mut by_ns: FastMap<&str, Vec<usize>> = FastMap::default();
    let mut by_target: FastMap<&str, Vec<usize>> = FastMap::default();
    if !refs.is_empty() {
        for (i, es) in snap.external_secrets.iter().enumerate() {
            if !es.has_target() {
                continue;
            }
            if let Some(n) = es.meta.namespace.as_deref() {
                by_ns.entry(n).or_default().push(i);
            }
            by_target.entry(&es.target_name).or_default().push(i);
        }
    }
    for ((ns, name), (pods, evidence)) in &mut refs {
        let (ns, name): (&str, &str) = (ns, name);
        let presence = snap.presence(Kind::Secret, Some(ns), name);
        if presence == Presence::Present
            || (presence == Presence::Unknown && !kubelet_missing.contains(&(ns, name.to_string())))
        {
            continue;
        }
        if !snap.producers_of(ns, name).is_empty() {
            continue; // produced, but failing: the ExternalSecret's own finding explains it
        }
        if !snap.coverage.is_collected(Kind::ExternalSecret, Some(ns)) {
            continue; // ExternalSecrets were not collected: a producer may exist
        }
        // hints: an ExternalSecret whose name resembles the Secret, or one in another
        // namespace (in snapshot order)
        let mut cands: Vec<usize> = by_ns
            .get(ns)
            .into_iter()
            .chain(by_target.get(name))
            .flatten()
            .copied()
            .collect();
        cands.sort_unstable();
        cands.dedup();
        let similar: Vec<String> = cands
            .into_iter()
            .map(|i| &snap.external_secrets[i])
            .filter(|es| {
                let same_ns = es.meta.namespace.as_deref() == Some(ns);
                (same_ns
                    && (es.target_name.contains(name) || name.contains(es.target_name.as_str())))
                    || (!same_ns && es.target_name == name)
            })
            .map(|es| format!("{} writes Secret {}", es.describe(), es.target_name))
            .collect();
        let hint = if similar.is_empty() {
            String::new()
        } else {
            format!("; {}", similar.join("; "))
        };
        let subject = ObjRef::new(Kind::Secret, Some(ns), name);
        let mut f = sink.finding(
                subject,
                format!(
                    "Secret {ns}/{name} does not exist and no ExternalSecret produces it, but Pod(s) {} read it{hint}",
                    pods.join(", ")
                ),
            );
        evidence.dedup();
        f.evidence = std::mem::take(evidence);
        for p in pods.iter() {
            f.related.push(ObjRef::new(Kind::Pod, Some(ns), p));
        }
        f.remediation.push(format!(
                "point an ExternalSecret at this name: kubectl -n {ns} patch externalsecret NAME --type merge -p '{{\"spec\":{{\"target\":{{\"name\":\"{name}\"}}}}}}'"
            ));
        sink.report(f);
    }
}
