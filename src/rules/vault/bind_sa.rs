//! CT-VAULT-006 role-does-not-bind-service-account.

use crate::graph::access::Binding;
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct BindsServiceAccount;
pub static RULE: BindsServiceAccount = BindsServiceAccount;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-006",
    name: "role-does-not-bind-service-account",
    severity: Severity::Error,
    covers: &["FM-06"],
    summary: "a Vault auth role does not bind the ServiceAccount a store logs in with",
    docs: "## What it checks\n\
For every store with Kubernetes auth, the ServiceAccount ESO logs in with (`serviceAccountRef`, else the ESO controller's own ServiceAccount) against the role's `bound_service_account_names`, with Vault's glob matching (`*` anywhere).\n\n\
## Why it matters\n\
Vault refuses the login with `403 service account name not authorized`; ESO reports `unable to log in to auth method` and no ExternalSecret behind the store syncs. A renamed ServiceAccount or a new Helm release name is enough.\n\n\
## Example\n\
Role `bound_service_account_names [eso-*]`, store `serviceAccountRef.name: vault-reader`.\n\n\
## How to fix\n\
Add the ServiceAccount to the role (`vault write auth/MOUNT/role/ROLE bound_service_account_names=...`) or log in as a bound one, then force the ExternalSecrets to resync.",
};

impl Rule for BindsServiceAccount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        super::unbound_sa::check(ctx, sink, Binding::NameNotBound);
    }
}
