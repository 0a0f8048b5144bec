//! CT-CERT-002 issuer-not-ready.

use crate::rules::eso::store_not_ready::check_stores;
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct IssuerNotReady;
pub static RULE: IssuerNotReady = IssuerNotReady;

fn is_issuer(kind: &str) -> bool {
    kind == "Issuer" || kind == "ClusterIssuer"
}

static META: RuleMeta = RuleMeta {
    id: "CT-CERT-002",
    name: "issuer-not-ready",
    severity: Severity::Error,
    covers: &["FM-05", "FM-06"],
    summary: "a cert-manager Issuer or ClusterIssuer is not ready, so no Certificate it issues can renew",
    docs: "## What it checks\n\
cert-manager Issuers and ClusterIssuers whose `Ready` condition is `False` (with a Vault issuer: `Failed to \
initialize Vault client`, a refused Kubernetes login, a bad CA bundle), with the Certificates that name them \
in `issuerRef`.\n\n\
## Why it matters\n\
Certificates stay valid until `notAfter`; renewals fail silently until then, and every Certificate of the issuer \
expires on its own date.\n\n\
## Example\n\
`ClusterIssuer vault-issuer is not ready: Failed to initialize Vault client: error reading Kubernetes service \
account token`.\n\n\
## How to fix\n\
Fix what the condition names (the role's bound ServiceAccount, the `auth.kubernetes.mountPath`, the sign path's \
policy, `caBundle`), then check it: `kubectl get clusterissuer NAME`.",
};

impl Rule for IssuerNotReady {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        if !ctx.snap.stores.iter().any(|s| is_issuer(&s.kind)) {
            // a delivery path the cluster does not use: nothing to check, nothing to report
            return;
        }
        check_stores(ctx, sink, &|s| is_issuer(&s.kind));
    }
}
