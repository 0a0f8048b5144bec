//! CT-K8S-004 secret-not-produced.

use crate::graph::derive::secret_failure;
use crate::model::{Kind, Loc, ObjRef, Presence};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};
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
        let snap = ctx.snap;
        // (namespace, secret) -> (pods, evidence)
        let mut refs: BTreeMap<(String, String), (Vec<String>, Vec<Loc>)> = BTreeMap::new();
        // (namespace, secret) kubelet said is not found
        let mut kubelet_missing: std::collections::BTreeSet<(String, String)> =
            std::collections::BTreeSet::new();
        for pod in &snap.pods {
            let Some(ns) = pod.meta.namespace.clone() else {
                continue;
            };
            let failed = secret_failure(snap, pod);
            let mut add = |name: &str, loc: &Loc| {
                let e = refs.entry((ns.clone(), name.to_string())).or_default();
                if !e.0.contains(&pod.meta.name) {
                    e.0.push(pod.meta.name.clone());
                }
                e.1.push(loc.clone());
            };
            for (s, l) in &pod.image_pull_secrets {
                add(s, l);
            }
            for c in &pod.containers {
                for r in c.env_secret_refs.iter().filter(|r| !r.optional) {
                    add(&r.secret, &r.loc);
                }
                for r in c.env_from_secrets.iter().filter(|r| !r.optional) {
                    add(&r.secret, &r.loc);
                }
            }
            for v in &pod.volumes {
                for s in v.secrets.iter().filter(|s| !s.optional) {
                    add(&s.secret, &s.loc);
                }
            }
            if let Some(f) = failed {
                if let (Some(s), None) = (&f.secret, &f.key) {
                    kubelet_missing.insert((ns.clone(), s.clone()));
                    let e = refs.entry((ns.clone(), s.clone())).or_default();
                    if !e.0.contains(&pod.meta.name) {
                        e.0.push(pod.meta.name.clone());
                    }
                    e.1.extend(f.evidence.iter().cloned());
                }
            }
        }
        for ((ns, name), (pods, mut evidence)) in refs {
            let presence = snap.presence(Kind::Secret, Some(&ns), &name);
            let kubelet_says_missing = kubelet_missing.contains(&(ns.clone(), name.clone()));
            if presence == Presence::Present
                || (presence == Presence::Unknown && !kubelet_says_missing)
            {
                continue;
            }
            if !snap.producers_of(&ns, &name).is_empty() {
                continue; // produced, but failing: the ExternalSecret's own finding explains it
            }
            if !snap.coverage.is_collected(Kind::ExternalSecret, Some(&ns)) {
                continue; // ExternalSecrets were not collected: a producer may exist
            }
            // hints: an ExternalSecret whose name resembles the Secret, or one in another namespace
            let similar: Vec<String> = snap
                .external_secrets
                .iter()
                .filter(|es| es.has_target())
                .filter(|es| {
                    let same_ns = es.meta.namespace.as_deref() == Some(ns.as_str());
                    (same_ns && (es.target_name.contains(&name) || name.contains(&es.target_name)))
                        || (!same_ns && es.target_name == name)
                })
                .map(|es| format!("{} writes Secret {}", es.describe(), es.target_name))
                .collect();
            let hint = if similar.is_empty() {
                String::new()
            } else {
                format!("; {}", similar.join("; "))
            };
            let subject = ObjRef::new(Kind::Secret, Some(&ns), &name);
            let mut f = sink.finding(
                subject,
                format!(
                    "Secret {ns}/{name} does not exist and no ExternalSecret produces it, but Pod(s) {} read it{hint}",
                    pods.join(", ")
                ),
            );
            evidence.dedup();
            f.evidence = evidence;
            for p in &pods {
                f.related.push(ObjRef::new(Kind::Pod, Some(&ns), p));
            }
            f.remediation.push(format!(
                "point an ExternalSecret at this name: kubectl -n {ns} patch externalsecret NAME --type merge -p '{{\"spec\":{{\"target\":{{\"name\":\"{name}\"}}}}}}'"
            ));
            sink.report(f);
        }
    }
}
