//! CT-VAULT-003 malformed-policy-path.

use crate::acl::explain::{meant_pattern, Denial};
use crate::acl::{lint_path, PathProblem};
use crate::model::{Kind, ObjRef};
use crate::rules::vault::support::{add_failures, names, Refusal};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct MalformedPath;
pub static RULE: MalformedPath = MalformedPath;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-003",
    name: "malformed-policy-path",
    severity: Severity::Error,
    covers: &["FM-03"],
    summary: "a policy path that Vault accepts but matches literally, so it never grants what it says",
    docs: "## What it checks\n\
Every `path \"...\"` block of every policy in the bundle: a `*` that is not the last character (Vault matches \
it literally; `+` is the one-segment wildcard), whitespace inside the quotes (kept and matched literally), more \
than one leading `/` (Vault strips exactly one, so the rule never matches) and empty paths. A single leading `/` \
is harmless (Vault strips it) and is not reported. When such a rule, written as meant, would grant a path an \
ExternalSecret requests through its role, the finding is an error naming the ExternalSecrets.\n\n\
## Why it matters\n\
Vault does not reject these paths: `vault policy write` succeeds, `vault policy read` shows what looks like a \
grant, and every request gets `403 permission denied`.\n\n\
## Example\n\
`path \"secret/data/*/db\" { capabilities = [\"read\"] }` does not match `secret/data/app/db`; \
`path \"secret/data/app/* \"` (a space before the quote) matches nothing ESO asks for.\n\n\
## How to fix\n\
Rewrite the path as meant (`secret/data/+/db`, no surrounding spaces, one or no leading slash), \
`vault policy write NAME NAME.hcl`, and force the affected ExternalSecrets to resync.",
};

impl Rule for MalformedPath {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if snap.vault.policies.is_empty() {
            sink.skip("no policy text (`vault policy read NAME`) in the bundle");
            return;
        }
        let refused: &[Refusal] = ctx.refusals().as_deref().unwrap_or_default();
        for policy in snap.vault.policies.values() {
            for rule in &policy.rules {
                let problems: Vec<PathProblem> = lint_path(&rule.path);
                if problems.is_empty() {
                    continue;
                }
                let subject = ObjRef::new(Kind::VaultPolicy, None, &policy.name);
                let hits: Vec<&Refusal> = refused
                    .iter()
                    .filter(|r| {
                        matches!(&r.denial, Denial::Malformed { rule: m, .. }
                            if m.policy == policy.name && m.pattern == rule.path && m.loc == rule.loc)
                    })
                    .collect();
                let what: Vec<&str> = problems.iter().map(|p| p.describe()).collect();
                let meant = meant_pattern(&rule.path);
                let mut msg = format!(
                    "policy {} path \"{}\" ({}) does not grant what it says: {}",
                    policy.name,
                    rule.path,
                    rule.loc.cite(),
                    what.join("; ")
                );
                let mut ess: Vec<_> = hits.iter().map(|r| r.es).collect();
                ess.sort_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
                ess.dedup_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
                let current = hits.iter().any(|r| r.current);
                if let Some(first) = hits.first() {
                    msg.push_str(&format!(
                        "; {} {} on {} {}, which \"{}\" would grant",
                        names(&ess),
                        if current {
                            "gets 403 permission denied"
                        } else {
                            "would be refused"
                        },
                        first.request.purpose.describe(),
                        first.request.path,
                        meant.as_deref().unwrap_or(rule.path.trim())
                    ));
                }
                let mut f = sink.finding(subject.clone(), msg);
                if !current {
                    f.severity = Severity::Warning;
                }
                f.evidence.push(rule.loc.clone());
                for r in &hits {
                    f.evidence.push(r.request.loc.clone());
                    f.related.push(ObjRef::new(Kind::VaultRole, None, &r.role));
                }
                add_failures(snap, &mut f, &ess);
                f.remediation.push(match &meant {
                    Some(m) => format!(
                        "rewrite path \"{}\" as \"{m}\" in policy {} and run vault policy write {} {}.hcl",
                        rule.path, policy.name, policy.name, policy.name
                    ),
                    None => format!(
                        "rewrite path \"{}\" in policy {} ('*' only as the last character, '+' for one segment) and run vault policy write {} {}.hcl",
                        rule.path, policy.name, policy.name, policy.name
                    ),
                });
                for es in &ess {
                    f.remediation.push(resync_command(snap, es));
                }
                sink.report(f);
            }
        }
    }
}
