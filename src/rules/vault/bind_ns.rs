//! CT-VAULT-007 role-does-not-bind-namespace.

use crate::graph::access::Binding;
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct BindsNamespace;
pub static RULE: BindsNamespace = BindsNamespace;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-007",
    name: "role-does-not-bind-namespace",
    severity: Severity::Error,
    covers: &["FM-07"],
    summary: "a Vault auth role does not bind the namespace of the ServiceAccount a store logs in with",
    docs: "## What it checks\n\
For every store with Kubernetes auth, the namespace of the ServiceAccount ESO logs in with against the role's `bound_service_account_namespaces` (glob matching). A ClusterSecretStore whose `serviceAccountRef` has no namespace is referent: ESO uses each ExternalSecret's namespace, so the check runs per consuming namespace. A role with a namespace selector is not judged (labels decide).\n\n\
## Why it matters\n\
Vault refuses the login with `403 namespace not authorized`; with a referent ClusterSecretStore only the ExternalSecrets of some namespaces fail, which looks like an application problem.\n\n\
## Example\n\
Role `bound_service_account_namespaces [team-a]`, a referent ClusterSecretStore used by ExternalSecrets in `team-a` and `team-b`: only `team-b` fails.\n\n\
## How to fix\n\
Add the namespaces (`vault write auth/MOUNT/role/ROLE bound_service_account_namespaces=...`) or use a namespace selector, then force the ExternalSecrets to resync.",
};

impl Rule for BindsNamespace {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        super::unbound_sa::check(ctx, sink, Binding::NamespaceNotBound);
    }
}
