//! CT-VSO-001 vso-secret-sync-failing.

use crate::model::Source;
use crate::rules::eso::sync_failing::check_syncs;
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct VsoSyncFailing;
pub static RULE: VsoSyncFailing = VsoSyncFailing;

fn is_vso(s: &Source) -> bool {
    matches!(
        s,
        Source::VsoStatic { .. } | Source::VsoDynamic | Source::VsoPki
    )
}

static META: RuleMeta = RuleMeta {
    id: "CT-VSO-001",
    name: "vso-secret-sync-failing",
    severity: Severity::Error,
    covers: &["FM-01", "FM-18"],
    summary: "a Vault Secrets Operator VaultStaticSecret, VaultDynamicSecret or VaultPKISecret cannot sync its Secret",
    docs: "## What it checks\n\
VaultStaticSecrets, VaultDynamicSecrets and VaultPKISecrets (`secrets.hashicorp.com/v1beta1`) whose `Ready`, \
`SecretSynced` or `Healthy` condition is `False`, or that have Warning events with a failure reason \
(`VaultClientError`, `VaultClientConfigError`, `SecretSyncError`, `SecretLeaseRenewalError`, \
`InvalidResourceRef`, ...), read from the objects, from `kubectl get events`, or from the operator's log \
(`Failed to read Vault secret: Error making API request. ... Code: 403`). The Vault error names the path; the \
Vault rules then trace it through the VaultAuth's role to the policy, exactly as for ESO.\n\n\
## Why it matters\n\
While VSO cannot read Vault, the destination Secret keeps its last value; a dynamic secret whose lease cannot be \
renewed expires at the end of its lease and every consumer fails at once.\n\n\
## Example\n\
`Failed to read Vault secret: Error making API request. URL: GET https://vault:8200/v1/kv-v2/data/ns/app \
Code: 403. Errors: * permission denied` with reason `VaultClientError` on VaultStaticSecret `ns/app`.\n\n\
## How to fix\n\
Fix what the Vault error names (the policy of the VaultAuth's role, the role's bindings, the mount), then let \
VSO retry, or restart the operator to retry now.",
};

impl Rule for VsoSyncFailing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        if !ctx.snap.external_secrets.iter().any(|e| is_vso(&e.source)) {
            // a delivery path the cluster does not use: nothing to check, nothing to report
            return;
        }
        check_syncs(ctx, sink, &|e| is_vso(&e.source));
    }
}
