//! CT-ESO-007 target-ownership-conflict.

use crate::model::{Condition, ExternalSecret, FastMap, Kind, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct TargetConflict;
pub static RULE: TargetConflict = TargetConflict;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-007",
    name: "target-ownership-conflict",
    severity: Severity::Error,
    covers: &["FM-24"],
    summary: "ExternalSecrets fight over one target Secret, or a Merge target does not exist",
    docs: "## What it checks\n\
ExternalSecrets grouped by (namespace, `target.name`): more than one with `creationPolicy: Owner` (the default) \
on the same target; `creationPolicy: Merge` on a Secret that does not exist (ESO waits: `SecretMissing / secret \
will not be created due to CreationPolicy=Merge`); and ESO's messages `target is owned by another \
ExternalSecret` and `failed to take ownership of target secret`.\n\n\
## Why it matters\n\
Two owners overwrite each other (the Secret flips between values) or one is refused; a Merge into nothing never \
creates the Secret.\n\n\
## Example\n\
`app-db` and `app-db-v2` both write Secret `app-db` with the default Owner policy.\n\n\
## How to fix\n\
Give each ExternalSecret its own `target.name`, or make all but one `creationPolicy: Merge`; create the Secret a \
Merge target expects.",
};

impl Rule for TargetConflict {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        // (namespace, target) -> writers, borrowed: a key per ExternalSecret on a fleet,
        // hashed; only the groups with something to report are put in order
        let mut groups: FastMap<(&str, &str), Vec<&ExternalSecret>> = FastMap::default();
        for es in snap.external_secrets.iter().filter(|e| e.has_target()) {
            if let Some(ns) = &es.meta.namespace {
                groups.entry((ns, &es.target_name)).or_default().push(es);
            }
        }
        let mut groups: Vec<_> = (groups.into_iter())
            .filter(|(_, ess)| {
                owners(ess) > 1 || conflict_msg(ess).is_some() || ess.iter().any(|e| merges(e))
            })
            .collect();
        groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for ((ns, target), ess) in groups {
            let conflict_msg = conflict_msg(&ess);
            if owners(&ess) > 1 || conflict_msg.is_some() {
                let names: Vec<&str> = ess.iter().map(|e| e.meta.name.as_str()).collect();
                let mixed = ess.iter().any(|e| !e.source.is_eso());
                let writers = if mixed {
                    let all: Vec<String> = ess
                        .iter()
                        .map(|e| format!("{} {}", e.kind().as_str(), e.meta.name))
                        .collect();
                    format!(
                        "{} objects of different controllers ({})",
                        ess.len(),
                        all.join(", ")
                    )
                } else {
                    format!("{} ExternalSecrets ({})", ess.len(), names.join(", "))
                };
                let mut f = sink.finding(
                    ObjRef::new(Kind::Secret, Some(ns), target),
                    format!(
                        "{writers} write Secret {ns}/{target}{}",
                        if owners(&ess) > 1 {
                            " and more than one claims to own it"
                        } else {
                            "; ESO refuses to let one take ownership"
                        }
                    ),
                );
                for e in &ess {
                    f.evidence.push(e.meta.loc.clone());
                }
                if let Some(c) = conflict_msg {
                    f.evidence.push(c.loc.clone());
                }
                for e in ess.iter().skip(1) {
                    f.related.push(e.obj());
                }
                f.remediation.push(format!(
                    "give each ExternalSecret its own spec.target.name, or set creationPolicy: Merge on all but one (kubectl -n {ns} edit externalsecret {})",
                    names.last().unwrap_or(&"NAME")
                ));
                sink.report(f);
                continue;
            }
            for e in ess.iter().filter(|e| merges(e)) {
                let waiting = e
                    .conditions
                    .iter()
                    .any(|c| c.reason.as_deref() == Some("SecretMissing"));
                if snap.secret(ns, target).is_none()
                    && (waiting || snap.coverage.is_collected(Kind::Secret, Some(ns)))
                {
                    let mut f = sink.finding(
                        ObjRef::new(Kind::ExternalSecret, Some(ns), &e.meta.name),
                        format!("ExternalSecret {ns}/{} merges into Secret {target}, which does not exist, so ESO never creates it", e.meta.name),
                    );
                    f.evidence.push(e.meta.loc.clone());
                    f.evidence.extend(
                        e.conditions
                            .iter()
                            .filter(|c| c.reason.as_deref() == Some("SecretMissing"))
                            .map(|c| c.loc.clone()),
                    );
                    f.remediation.push(format!(
                        "create the Secret first, or let ESO own it: kubectl -n {ns} patch externalsecret {} --type merge -p '{{\"spec\":{{\"target\":{{\"creationPolicy\":\"Owner\"}}}}}}'",
                        e.meta.name
                    ));
                    sink.report(f);
                }
            }
        }
    }
}

/// How many of a target's writers claim to own it.
fn owners(ess: &[&ExternalSecret]) -> usize {
    ess.iter().filter(|e| e.creation_policy == "Owner").count()
}

/// A writer's condition saying ESO refused it ownership.
fn conflict_msg<'e>(ess: &[&'e ExternalSecret]) -> Option<&'e Condition> {
    ess.iter().find_map(|e| {
        e.conditions.iter().find(|c| {
            c.message.as_deref().is_some_and(|m| {
                m.contains("owned by another ExternalSecret")
                    || m.contains("failed to take ownership")
            })
        })
    })
}

/// An ESO ExternalSecret merging into its target (which it never creates).
fn merges(e: &ExternalSecret) -> bool {
    e.source.is_eso() && e.creation_policy == "Merge"
}
