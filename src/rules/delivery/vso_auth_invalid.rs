//! CT-VSO-002 vso-vaultauth-invalid.

use crate::rules::eso::store_not_ready::check_stores;
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct VsoAuthInvalid;
pub static RULE: VsoAuthInvalid = VsoAuthInvalid;

static META: RuleMeta = RuleMeta {
    id: "CT-VSO-002",
    name: "vso-vaultauth-invalid",
    severity: Severity::Error,
    covers: &["FM-05", "FM-06", "FM-18"],
    summary: "a Vault Secrets Operator VaultAuth (or its VaultConnection) is not valid, so every secret using it is gated",
    docs: "## What it checks\n\
VaultAuths whose `status.valid` is `false` (with `status.error`), whose `Ready` condition is `False`, or whose \
VaultConnection (named by `vaultConnectionRef`, else the operator's `default`) is not valid, with the secrets \
that use them through `vaultAuthRef`.\n\n\
## Why it matters\n\
Every VaultStaticSecret and VaultDynamicSecret behind an invalid VaultAuth fails the same way; it is one \
incident, not one per secret.\n\n\
## Example\n\
`VaultAuth app/default: valid: false, error: ... auth/kubernetes/login Code: 403 ... permission denied`.\n\n\
## How to fix\n\
Fix what the error names (the role, its bound ServiceAccounts, the auth mount, the connection address or CA), \
then check it: `kubectl get vaultauth NAME -n NS -o jsonpath='{.status}'`.",
};

impl Rule for VsoAuthInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        if !ctx.snap.stores.iter().any(|s| s.kind == "VaultAuth") {
            // a delivery path the cluster does not use: nothing to check, nothing to report
            return;
        }
        check_stores(ctx, sink, &|s| s.kind == "VaultAuth");
    }
}
