//! CT-VAULT-011 secrets-mount-missing.

use super::kv_version::{groups, patch};
use crate::graph::access::{audit_clause, audit_on};
use crate::model::{Kind, ObjRef};
use crate::rules::vault::support::{add_failures, names, store_name, store_ref};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct MountMissing;
pub static RULE: MountMissing = MountMissing;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-011",
    name: "secrets-mount-missing",
    severity: Severity::Error,
    covers: &["FM-11"],
    summary: "an ExternalSecret reads a path on a Vault secrets mount that does not exist",
    docs: "## What it checks\n\
For every path an ExternalSecret requests (store `path` + key, resolved as ESO does), whether a secrets mount \
of `vault secrets list` holds it. The audit log's `delete` of `sys/mounts/MOUNT` or a `sys/remount` says when a \
mount went away or moved.\n\n\
## Why it matters\n\
A typo in the store's `path`, or a mount that was disabled or moved, makes every read fail with `403` or \
`404 no handler for route`; a 403 here sends people to the policies, which are not at fault.\n\n\
## Example\n\
Store `path: kv`, the secrets live on `secret/`; `vault secrets list` has no `kv/`.\n\n\
## How to fix\n\
Point the store at the existing mount (`kubectl patch secretstore NAME --type merge -p \
'{\"spec\":{\"provider\":{\"vault\":{\"path\":\"secret\"}}}}'`), or enable the mount \
(`vault secrets enable -path=MOUNT -version=2 kv`), then force the ExternalSecrets to resync.",
};

impl Rule for MountMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if !snap.vault.mounts_listed {
            if snap.stores.iter().any(|s| s.vault.is_some()) {
                sink.skip("no `vault secrets list` output in the bundle");
            }
            return;
        }
        let mut kv: Vec<&str> = snap
            .vault
            .mounts
            .values()
            .filter(|m| !m.auth && (m.kv_version.is_some() || m.type_.as_deref() == Some("kv")))
            .map(|m| m.path.as_str())
            .collect();
        kv.sort();
        for ((si, mount), (ess, _, locs)) in groups(ctx, true) {
            let store = &snap.stores[*si];
            let subject = ObjRef::new(Kind::VaultMount, None, mount);
            let gone = audit_on(snap, &["delete"], &format!("sys/mounts/{mount}"));
            let mut msg = format!(
                "{} reads from mount {mount}/, which `vault secrets list` does not have",
                store_name(store)
            );
            if let Some(d) = gone.last() {
                msg.push_str(&format!(" (disabled {})", audit_clause(d)));
            }
            if !kv.is_empty() {
                msg.push_str(&format!(
                    "; KV mounts: {}",
                    kv.iter()
                        .map(|m| format!("{m}/"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            msg.push_str(&format!("; {}", names(ess)));
            let mut f = sink.finding(subject.clone(), msg);
            if let Some(d) = gone.last() {
                f.evidence.push(d.loc.clone());
                f.since = d.time;
                if let Some(t) = d.time {
                    f.events
                        .push((t, subject.clone(), format!("mount {mount} disabled")));
                }
            }
            if let Some(v) = &store.vault {
                f.evidence.push(v.loc.clone());
            }
            f.evidence.extend(locs.iter().cloned());
            if let Some(m) = snap.vault.mounts.values().find(|m| !m.auth) {
                f.evidence.push(m.loc.clone());
            }
            add_failures(snap, &mut f, ess);
            f.related.push(store_ref(store));
            if ess
                .iter()
                .all(|e| crate::graph::derive::es_sync(snap, e).failing != Some(true))
            {
                f.severity = Severity::Warning;
            }
            if let [only] = kv.as_slice() {
                f.remediation.push(format!(
                    "point the store at the existing mount: {}",
                    patch(store, "path", only)
                ));
            }
            f.remediation.push(format!(
                "or enable the mount the store expects: vault secrets enable -path={mount} -version={} kv",
                if store.vault.as_ref().is_some_and(|v| v.version.trim() == "v1") { 1 } else { 2 }
            ));
            for es in ess {
                f.remediation.push(resync_command(snap, es));
            }
            sink.report(f);
        }
    }
}
