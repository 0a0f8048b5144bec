//! CT-VAULT-004 policy-grant-shadowed.

use crate::acl::explain::Denial;
use crate::model::{Kind, ObjRef};
use crate::rules::vault::support::{add_audit_change, add_failures, refusals, Refusal};
use crate::rules::{force_sync, Ctx, Rule, RuleMeta, Severity, Sink};
use std::collections::BTreeMap;

pub struct GrantShadowed;
pub static RULE: GrantShadowed = GrantShadowed;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-004",
    name: "policy-grant-shadowed",
    severity: Severity::Error,
    covers: &["FM-04"],
    summary: "a deny or a higher-priority policy rule shadows the grant an ExternalSecret relies on",
    docs: "## What it checks\n\
For every ExternalSecret read through a Kubernetes-auth role, the requested path is evaluated with Vault's own ACL rules over the role's existing policies plus `default`: only the highest-priority matching pattern applies, the same pattern in several policies is merged, and `deny` always wins. When the deciding rule refuses while another rule grants the capability, the finding names the shadowing policy and path block (file:line) and the grant it hides.\n\n\
## Why it matters\n\
Adding a policy to a role can take access away: a narrower `deny`, or a narrower rule with only `list`, outranks a broad `read`. Vault reports only `permission denied` and never says which rule decided.\n\n\
## Example\n\
Role policies `app-read` (`path \"kv/data/team/*\" { capabilities = [\"read\"] }`) and `guard` (`path \"kv/data/team/prod/*\" { capabilities = [\"deny\"] }`): a read of `kv/data/team/prod/db` is denied by `guard`.\n\n\
## How to fix\n\
Remove or narrow the shadowing rule (or add the missing capability to it), write the policy with `vault policy write NAME NAME.hcl`, and force the ExternalSecrets to resync.",
};

impl Rule for GrantShadowed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let all = match refusals(snap) {
            Ok(r) => r,
            Err(missing) => {
                sink.skip(missing);
                return;
            }
        };
        let mut groups: BTreeMap<(String, String), Vec<&Refusal>> = BTreeMap::new();
        for r in &all {
            if let Denial::Shadowed { by, .. } = &r.denial {
                groups
                    .entry((by.policy.clone(), by.pattern.clone()))
                    .or_default()
                    .push(r);
            }
        }
        for ((policy, pattern), rs) in groups {
            let subject = ObjRef::new(Kind::VaultPolicy, None, &policy);
            let first = rs[0];
            let current = rs.iter().any(|r| r.current);
            let mut ess: Vec<_> = rs.iter().map(|r| r.es).collect();
            ess.sort_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
            ess.dedup_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
            let why = first
                .denial
                .describe(&first.request.path, first.request.capability);
            let effect = if current {
                "gets 403 permission denied"
            } else {
                "would be refused"
            };
            let names = crate::rules::vault::support::names(&ess);
            let msg = format!(
                "ExternalSecret {names} {effect} on {} {}: {why}",
                first.request.purpose.describe(),
                first.request.path
            );
            let mut f = sink.finding(subject.clone(), msg);
            if !current {
                f.severity = Severity::Warning;
            }
            if let Denial::Shadowed { by, grant, .. } = &first.denial {
                f.evidence.push(by.loc.clone());
                f.evidence.push(grant.loc.clone());
            }
            for r in &rs {
                f.evidence.push(r.request.loc.clone());
            }
            add_failures(snap, &mut f, &ess);
            add_audit_change(
                &mut f,
                snap,
                &["create", "update"],
                &format!("sys/policies/acl/{policy}"),
                &subject,
                &format!("policy {policy} written"),
            );
            f.related
                .push(ObjRef::new(Kind::VaultRole, None, &first.role));
            if let Denial::Shadowed { by, deny, .. } = &first.denial {
                let cap = first.request.capability;
                f.remediation.push(if *deny {
                    format!(
                        "remove the deny of path \"{}\" from policy {policy} (or narrow it so it does not cover {}), then run vault policy write {policy} {policy}.hcl",
                        by.pattern, first.request.path
                    )
                } else {
                    format!(
                        "add \"{cap}\" to path \"{}\" in policy {policy} (the higher-priority rule decides alone), then run vault policy write {policy} {policy}.hcl",
                        by.pattern
                    )
                });
            }
            for es in &ess {
                f.remediation
                    .push(force_sync(es.meta.namespace.as_deref(), &es.meta.name));
            }
            let _ = &pattern;
            sink.report(f);
        }
    }
}
