//! CT-VAULT-002 policy-path-missing-kv2-prefix.

use crate::acl::explain::{Denial, RuleRef};
use crate::rules::vault::support::{report_policy_groups, PolicyGroup};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct Kv2PrefixMissing;
pub static RULE: Kv2PrefixMissing = Kv2PrefixMissing;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-002",
    name: "policy-path-missing-kv2-prefix",
    severity: Severity::Error,
    covers: &["FM-02"],
    summary: "a policy grants the KV v1 path of a secret that lives on a KV v2 mount",
    docs: "## What it checks\n\
For every ExternalSecret read through a Kubernetes-auth role, the path ESO requests (store `path` + `remoteRef.key`, with `data/` inserted on KV v2) is evaluated against the role's existing policies plus `default`. When Vault would refuse it but a policy grants the same path without the `data/` (or `metadata/`) segment, the policy was written for the KV v1 layout. The finding names the policy, its path block (file:line) and the path ESO really requests.\n\n\
## Why it matters\n\
On a KV v2 mount every read goes to `MOUNT/data/KEY`. A rule for `MOUNT/KEY*` looks right to a human and grants nothing: ESO gets `403 permission denied` while the store stays `Valid`.\n\n\
## Example\n\
`path \"secret/app/*\" { capabilities = [\"read\"] }` with store `path: secret`, `version: v2` and key `app/db`: ESO reads `secret/data/app/db`.\n\n\
## How to fix\n\
Insert the segment: `path \"secret/data/app/*\" { capabilities = [\"read\"] }` (and `secret/metadata/app/*` with `list` for `find`), then `vault policy write NAME NAME.hcl` and force the ExternalSecrets to resync.",
};

impl Rule for Kv2PrefixMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        fn blame(d: &Denial) -> Option<&RuleRef> {
            match d {
                Denial::KvV1Layout { grant, .. } => Some(grant),
                _ => None,
            }
        }
        report_policy_groups(ctx, sink, blame, |g: &mut PolicyGroup| {
            let (policy, first) = (&g.policy, g.first);
            if let (Denial::KvV1Layout { grant, .. }, Some(mount)) =
                (&first.denial, first.request.kv2_mount.as_deref())
            {
                let seg = if first.request.path.starts_with(&format!("{mount}/metadata")) {
                    "metadata"
                } else {
                    "data"
                };
                let p = grant.pattern.trim().trim_start_matches('/');
                let fixed = match p.strip_prefix(mount) {
                    Some(rest) => format!("{mount}/{seg}{rest}"),
                    None => first.request.path.clone(),
                };
                g.finding.remediation.push(format!(
                    "grant the KV v2 path in policy {policy}: add path \"{fixed}\" {{ capabilities = [\"{}\"] }} to it and run vault policy write {policy} {policy}.hcl",
                    first.request.capability
                ));
            }
        });
    }
}
