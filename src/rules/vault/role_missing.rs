//! CT-VAULT-005 auth-role-missing.

use crate::graph::access::{self, audit_clause, store_errors, store_role, users};
use crate::model::{Kind, ObjRef};
use crate::rules::vault::support::{
    add_failures, names, store_failing_since, store_kubectl, store_name, store_ref,
};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct RoleMissing;
pub static RULE: RoleMissing = RoleMissing;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-005",
    name: "auth-role-missing",
    severity: Severity::Error,
    covers: &["FM-05"],
    summary: "a store logs in with a Vault auth role that does not exist",
    docs: "## What it checks\n\
For every store with Kubernetes auth, its `role` against the role list of its auth mount (`vault list \
auth/MOUNT/role`), or a login answered `invalid role name`. A role on an auth mount that is not enabled at all is \
left to `auth-mount-not-enabled`. The audit log's `delete` of `auth/MOUNT/role/ROLE` says who removed it and when.\n\n\
## Why it matters\n\
ESO logs in while it builds the Vault client, so every ExternalSecret behind the store fails \
(`InvalidProviderConfig` / `unable to log in to auth method`) and no Secret is created or refreshed.\n\n\
## Example\n\
Store `role: eso-reader`, `vault list auth/kubernetes/role` shows `eso-read` only; the login answers \
`Code: 400. Errors: * invalid role name \"eso-reader\"`.\n\n\
## How to fix\n\
Recreate the role (`vault write auth/MOUNT/role/ROLE bound_service_account_names=SA \
bound_service_account_namespaces=NS token_policies=POLICIES`) or point the store at the existing role, then force \
the ExternalSecrets to resync.",
};

impl Rule for RoleMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let mut checked = 0;
        let mut missing_evidence: Vec<String> = Vec::new();
        for store in &snap.stores {
            let Some((mount, role, known)) = store_role(snap, store) else {
                continue;
            };
            if known.is_some()
                || (snap.vault.auth_mounts_listed
                    && !snap.vault.mounts.contains_key(&(true, mount.to_string())))
                || access::namespace_mismatch(snap, store).is_some()
            {
                checked += 1;
                continue;
            }
            let list = snap
                .vault
                .lists
                .iter()
                .find(|l| l.path == format!("auth/{mount}/role"));
            let login = format!("auth/{mount}/login");
            let refused = store_errors(snap, store).into_iter().find(|e| {
                e.error.path.as_deref() == Some(login.as_str())
                    && e.error
                        .errors
                        .iter()
                        .any(|x| x.contains("invalid role name"))
            });
            let absent = match list {
                Some(l) => !l.keys.iter().any(|k| k == role),
                None => refused.is_some(),
            };
            if list.is_none() && refused.is_none() {
                missing_evidence.push(format!("`vault list auth/{mount}/role`"));
                continue;
            }
            checked += 1;
            if !absent {
                continue;
            }
            let role_name = format!("{mount}/{role}");
            let subject = ObjRef::new(Kind::VaultRole, None, &role_name);
            let deleted = access::audit_on(snap, &["delete"], &format!("auth/{mount}/role/{role}"));
            let ess = users(snap, store);
            let mut msg = format!(
                "{} logs in with role {role} on auth/{mount}, which does not exist",
                store_name(store)
            );
            if let Some(d) = deleted.last() {
                msg.push_str(&format!(" (deleted {})", audit_clause(d)));
            }
            if let Some(l) = list {
                let mut keys = l.keys.clone();
                keys.sort();
                msg.push_str(&format!("; the mount has roles {}", keys.join(", ")));
            }
            if !ess.is_empty() {
                msg.push_str(&format!("; nothing behind it can sync: {}", names(&ess)));
            }
            let mut f = sink.finding(subject.clone(), msg);
            if let Some(d) = deleted.last() {
                f.evidence.push(d.loc.clone());
                f.since = d.time;
                if let Some(t) = d.time {
                    f.events
                        .push((t, subject.clone(), format!("role {role_name} deleted")));
                }
            }
            if let Some(crate::model::VaultAuth::Kubernetes { loc, .. }) =
                store.vault.as_ref().map(|v| &v.auth)
            {
                f.evidence.push(loc.clone());
            }
            if let Some(l) = list {
                f.evidence.push(l.loc.clone());
            }
            if let Some(e) = &refused {
                f.evidence.push(e.loc.clone());
                if f.since.is_none() {
                    f.since = e.first;
                }
            }
            if f.since.is_none() {
                f.since = store_failing_since(store).map(|x| x.0);
            }
            add_failures(snap, &mut f, &ess);
            f.related.push(store_ref(store));
            let (sa, ns) = access::logins(snap, store)
                .ok()
                .and_then(|l| l.first().map(|l| (l.sa.clone(), l.namespace.clone())))
                .unwrap_or_else(|| ("SERVICE_ACCOUNT".into(), "NAMESPACE".into()));
            f.remediation.push(format!(
                "recreate the role: vault write auth/{mount}/role/{role} bound_service_account_names={sa} bound_service_account_namespaces={ns} token_policies=POLICIES"
            ));
            if let Some(l) = list.filter(|l| l.keys.len() == 1) {
                f.remediation.push(format!(
                    "or point the store at the existing role: kubectl patch {} --type merge -p '{{\"spec\":{{\"provider\":{{\"vault\":{{\"auth\":{{\"kubernetes\":{{\"role\":\"{}\"}}}}}}}}}}}}'",
                    store_kubectl(store),
                    l.keys[0]
                ));
            }
            for es in &ess {
                f.remediation.push(resync_command(snap, es));
            }
            sink.report(f);
        }
        if checked == 0 && !missing_evidence.is_empty() {
            missing_evidence.dedup();
            sink.skip(format!("no role list: {}", missing_evidence.join(", ")));
        }
    }
}
