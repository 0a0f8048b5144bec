//! CT-VAULT-004 policy-grant-shadowed.

use crate::acl::explain::{Denial, RuleRef};
use crate::rules::vault::support::{report_policy_groups, PolicyGroup};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

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
        fn blame(d: &Denial) -> Option<&RuleRef> {
            match d {
                Denial::Shadowed { by, .. } => Some(by),
                _ => None,
            }
        }
        report_policy_groups(ctx, sink, blame, |g: &mut PolicyGroup| {
            let (policy, first) = (&g.policy, g.first);
            if let Denial::Shadowed {
                by, deny, grant, ..
            } = &first.denial
            {
                g.finding.evidence.insert(1, grant.loc.clone());
                let cap = first.request.capability;
                g.finding.remediation.push(if *deny {
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
        });
    }
}
