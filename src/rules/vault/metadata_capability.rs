//! CT-VAULT-015 policy-lacks-metadata-capability.

use crate::acl::explain::{Denial, RuleRef};
use crate::rules::vault::support::{report_policy_groups, PolicyGroup};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct MetadataCapability;
pub static RULE: MetadataCapability = MetadataCapability;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-015",
    name: "policy-lacks-metadata-capability",
    severity: Severity::Error,
    covers: &["FM-30"],
    summary: "a policy grants the KV v2 data path but not the metadata path that find or metadataPolicy Fetch needs",
    docs: "## What it checks\n\
ExternalSecrets using `dataFrom[].find` list `MOUNT/metadata/PATH` and `remoteRef.metadataPolicy: Fetch` reads `MOUNT/metadata/KEY`. Both are evaluated against the role's existing policies plus `default`; when the data path is granted but the metadata path is not, the finding names the policy and its data grant (file:line).\n\n\
## Why it matters\n\
A policy written for plain reads (`MOUNT/data/...` with `read`) looks complete; only the ExternalSecrets that list or fetch metadata fail, with `403` on a `LIST` or `GET` of `MOUNT/metadata/...`.\n\n\
## Example\n\
`path \"secret/data/team/*\" { capabilities = [\"read\"] }` and an ExternalSecret with `dataFrom: [{find: {path: team}}]`: ESO lists `secret/metadata/team`.\n\n\
## How to fix\n\
Add `path \"secret/metadata/team/*\" { capabilities = [\"list\", \"read\"] }` to the policy, `vault policy write NAME NAME.hcl`, and force the ExternalSecrets to resync.",
};

impl Rule for MetadataCapability {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        fn blame(d: &Denial) -> Option<&RuleRef> {
            match d {
                Denial::MetadataNotGranted { data_grant, .. } => Some(data_grant),
                _ => None,
            }
        }
        report_policy_groups(ctx, sink, blame, |g: &mut PolicyGroup| {
            let (policy, first) = (&g.policy, g.first);
            if let (Denial::MetadataNotGranted { data_grant, .. }, Some(mount)) =
                (&first.denial, first.request.kv2_mount.as_deref())
            {
                let p = data_grant.pattern.trim().trim_start_matches('/');
                let fixed = match p.strip_prefix(&format!("{mount}/data")) {
                    Some(rest) => format!("{mount}/metadata{rest}"),
                    None => format!("{}/*", first.request.path),
                };
                g.finding.remediation.push(format!(
                    "grant the metadata path in policy {policy}: add path \"{fixed}\" {{ capabilities = [\"{}\"] }} to it and run vault policy write {policy} {policy}.hcl",
                    first.request.capability
                ));
            }
        });
    }
}
