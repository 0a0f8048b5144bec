//! CT-VAULT-009 auth-mount-not-enabled.

use crate::graph::access::{audit_clause, audit_on, store_role, users};
use crate::model::{Kind, ObjRef, VaultAuth};
use crate::rules::vault::support::{
    add_failures, names, store_failing_since, store_kubectl, store_name, store_ref,
};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct AuthMountMissing;
pub static RULE: AuthMountMissing = AuthMountMissing;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-009",
    name: "auth-mount-not-enabled",
    severity: Severity::Error,
    covers: &["FM-09"],
    summary: "a store logs in on a Vault auth mount path that is not enabled",
    docs: "## What it checks\n\
For every store with Kubernetes auth, its `mountPath` (default `kubernetes`) against the Path column of \
`vault auth list`. The audit log's `delete` of `sys/auth/MOUNT` says when a mount was disabled.\n\n\
## Why it matters\n\
Auth mounts are often named per cluster (`k8s-prod`, `kubernetes-eu`). A store copied from another cluster \
keeps the old `mountPath`; its login goes to a path with no handler and nothing behind the store syncs.\n\n\
## Example\n\
Store `mountPath: kubernetes`, `vault auth list` shows `k8s-prod/` and `token/` only.\n\n\
## How to fix\n\
Point the store at the right mount (`kubectl patch secretstore NAME --type merge -p \
'{\"spec\":{\"provider\":{\"vault\":{\"auth\":{\"kubernetes\":{\"mountPath\":\"k8s-prod\"}}}}}}'`), or enable the \
mount (`vault auth enable -path=MOUNT kubernetes`), then force the ExternalSecrets to resync.",
};

impl Rule for AuthMountMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let k8s: Vec<_> = snap
            .stores
            .iter()
            .filter_map(|s| store_role(snap, s).map(|r| (s, r)))
            .collect();
        if k8s.is_empty() {
            return;
        }
        if !snap.vault.auth_mounts_listed {
            sink.skip("no `vault auth list` output in the bundle");
            return;
        }
        let mut kube_mounts: Vec<&str> = snap
            .vault
            .mounts
            .values()
            .filter(|m| m.auth && m.type_.as_deref().is_none_or(|t| t == "kubernetes"))
            .map(|m| m.path.as_str())
            .collect();
        kube_mounts.sort();
        for (store, (mount, _, _)) in k8s {
            if snap.vault.mounts.contains_key(&(true, mount.to_string())) {
                continue;
            }
            let subject = ObjRef::new(Kind::VaultMount, None, &format!("auth/{mount}"));
            let ess = users(snap, store);
            let disabled = audit_on(snap, &["delete"], &format!("sys/auth/{mount}"));
            let mut msg = format!(
                "{} logs in on auth mount {mount}/, which `vault auth list` does not have",
                store_name(store)
            );
            if let Some(d) = disabled.last() {
                msg.push_str(&format!(" (disabled {})", audit_clause(d)));
            }
            msg.push_str(&if kube_mounts.is_empty() {
                "; no Kubernetes auth mount is enabled".to_string()
            } else {
                format!(
                    "; Kubernetes auth is mounted at {}",
                    kube_mounts
                        .iter()
                        .map(|m| format!("{m}/"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            if !ess.is_empty() {
                msg.push_str(&format!("; nothing behind it can sync: {}", names(&ess)));
            }
            let mut f = sink.finding(subject.clone(), msg);
            if let Some(d) = disabled.last() {
                f.evidence.push(d.loc.clone());
                f.since = d.time;
                if let Some(t) = d.time {
                    f.events
                        .push((t, subject.clone(), format!("auth mount {mount} disabled")));
                }
            }
            if let Some(VaultAuth::Kubernetes { loc, .. }) = store.vault.as_ref().map(|v| &v.auth) {
                f.evidence.push(loc.clone());
            }
            if let Some(m) = snap.vault.mounts.values().find(|m| m.auth) {
                f.evidence.push(m.loc.clone());
            }
            if f.since.is_none() {
                f.since = store_failing_since(store).map(|x| x.0);
            }
            add_failures(snap, &mut f, &ess);
            f.related.push(store_ref(store));
            if let [only] = kube_mounts.as_slice() {
                f.remediation.push(format!(
                    "point the store at the enabled mount: kubectl patch {} --type merge -p '{{\"spec\":{{\"provider\":{{\"vault\":{{\"auth\":{{\"kubernetes\":{{\"mountPath\":\"{only}\"}}}}}}}}}}}}'",
                    store_kubectl(store)
                ));
            }
            f.remediation.push(format!(
                "or enable and configure the mount: vault auth enable -path={mount} kubernetes && vault write auth/{mount}/config kubernetes_host=https://KUBERNETES_API:443"
            ));
            for es in &ess {
                f.remediation.push(resync_command(snap, es));
            }
            sink.report(f);
        }
    }
}
