//! CT-VAULT-008 auth-mount-rejects-every-login.

use crate::graph::access::{self, audit_on, mount_rejects_logins, stores_on_mount, users};
use crate::model::{ExternalSecret, Kind, ObjRef};
use crate::rules::vault::support::{add_audit_change, add_failures, names, store_name, store_ref};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct AuthMountRejects;
pub static RULE: AuthMountRejects = AuthMountRejects;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-008",
    name: "auth-mount-rejects-every-login",
    severity: Severity::Error,
    covers: &["FM-08"],
    summary: "every login on a Kubernetes auth mount fails although the roles bind the ServiceAccounts",
    docs: "## What it checks\n\
For every Kubernetes auth mount the stores log in on: whether every store on it reports a bare `403 permission \
denied` on `auth/MOUNT/login` (not `invalid role name`, not `... not authorized`), no store on it is Ready, and the \
roles of the failing stores do bind the ServiceAccounts they log in with. Then the roles are not at fault: Vault \
cannot validate the Kubernetes JWTs at all.\n\n\
## Why it matters\n\
Blaming each role sends engineers through every role in turn. The cause is one: the mount's `auth/MOUNT/config` \
(an expired or deleted token reviewer JWT, a wrong `kubernetes_host` or CA, an issuer or audience mismatch), so \
TokenReview fails for everyone.\n\n\
## Example\n\
Three stores on `auth/k8s-east` all get `URL: PUT .../v1/auth/k8s-east/login Code: 403. Errors: * permission \
denied`, and their roles bind their ServiceAccounts.\n\n\
## How to fix\n\
Check `vault read auth/MOUNT/config` and rewrite it (`vault write auth/MOUNT/config kubernetes_host=... \
kubernetes_ca_cert=@ca.crt token_reviewer_jwt=@reviewer.jwt`, or without `token_reviewer_jwt` when Vault runs in \
the cluster), then force the ExternalSecrets to resync.",
};

impl Rule for AuthMountRejects {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let mut mounts: Vec<&str> = snap
            .stores
            .iter()
            .filter_map(|s| access::store_role(snap, s).map(|(m, _, _)| m))
            .collect();
        mounts.sort();
        mounts.dedup();
        if mounts.is_empty() {
            return;
        }
        for mount in mounts {
            let Some(failing) = mount_rejects_logins(snap, mount) else {
                continue;
            };
            let total = stores_on_mount(snap, mount).len();
            let subject = ObjRef::new(Kind::VaultMount, None, &format!("auth/{mount}"));
            let stores: Vec<String> = failing.iter().map(|(s, _)| store_name(s)).collect();
            let ess: Vec<&ExternalSecret> =
                failing.iter().flat_map(|(s, _)| users(snap, s)).collect();
            let mut msg = format!(
                "every login on auth/{mount} fails with 403 permission denied ({} of {total} store{} on it: {}), although the roles bind the ServiceAccounts: Vault cannot validate Kubernetes service account tokens with this mount's config (token reviewer JWT, kubernetes_host, CA, issuer or audience)",
                failing.len(),
                if total == 1 { "" } else { "s" },
                stores.join(", ")
            );
            if !ess.is_empty() {
                msg.push_str(&format!("; cannot sync: {}", names(&ess)));
            }
            let mut f = sink.finding(subject.clone(), msg);
            if let Some(m) = snap.vault.mounts.get(&(true, mount.to_string())) {
                f.evidence.push(m.loc.clone());
            }
            let mut first = None;
            for (s, errs) in &failing {
                f.related.push(store_ref(s));
                for e in errs {
                    f.evidence.push(e.loc.clone());
                    if let Some(t) = e.first {
                        first = Some(first.map_or(t, |x: crate::model::Time| x.min(t)));
                    }
                }
            }
            f.since = first;
            add_failures(snap, &mut f, &ess);
            let config = format!("auth/{mount}/config");
            if !audit_on(snap, &["create", "update"], &config).is_empty() {
                add_audit_change(
                    &mut f,
                    snap,
                    &["create", "update"],
                    &config,
                    &subject,
                    &format!("auth/{mount}/config written"),
                );
            }
            f.remediation.push(format!(
                "inspect the mount's config: vault read auth/{mount}/config (token_reviewer_jwt_set, kubernetes_host, issuer)"
            ));
            f.remediation.push(format!(
                "rewrite it with a valid reviewer token and CA: vault write auth/{mount}/config kubernetes_host=https://KUBERNETES_API:443 kubernetes_ca_cert=@ca.crt token_reviewer_jwt=@reviewer.jwt"
            ));
            for es in &ess {
                f.remediation.push(resync_command(snap, es));
            }
            f.severity = Severity::Error;
            sink.report(f);
        }
    }
}
