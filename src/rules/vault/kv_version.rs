//! CT-VAULT-010 kv-version-mismatch. Its walk over every path an ExternalSecret requests is
//! shared with secrets-mount-missing.

use crate::graph::access::{audit_clause, audit_on, mount_problem, requests, MountProblem};
use crate::model::{ExternalSecret, Kind, ObjRef, SecretStore};
use crate::rules::vault::support::{add_failures, names, store_kubectl, store_name, store_ref};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};
use std::collections::BTreeMap;

pub struct KvVersion;
pub static RULE: KvVersion = KvVersion;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-010",
    name: "kv-version-mismatch",
    severity: Severity::Error,
    covers: &["FM-10"],
    summary: "a store reads a KV mount with the other KV version",
    docs: "## What it checks\n\
For every path an ExternalSecret requests, the store's `version` (default `v2`) against the KV version of the \
mount the path lives on: `Options map[version:2]` in `vault secrets list -detailed`, or `options` in \
`vault read sys/mounts/MOUNT/tune` (`map[]` is KV v1).\n\n\
## Why it matters\n\
A v2 store inserts `data/` into every path; on a KV v1 mount that path does not exist (`Secret does not exist`, or \
`403` where policies follow the real layout). A v1 store on a KV v2 mount reads without `data/` and gets a 404 with \
`Invalid path for a versioned K/V secrets engine`. The store stays `Valid` either way.\n\n\
## Example\n\
Store `path: kv`, `version: v2`; `vault secrets list -detailed` shows `kv/ ... map[]`.\n\n\
## How to fix\n\
Set the store's `version` to the mount's (`kubectl patch secretstore NAME --type merge -p \
'{\"spec\":{\"provider\":{\"vault\":{\"version\":\"v1\"}}}}'`), or upgrade the mount \
(`vault kv enable-versioning MOUNT/`), then force the ExternalSecrets to resync.",
};

/// (store index, mount) -> the ExternalSecrets and the problem.
pub(crate) type Groups<'a> = BTreeMap<
    (usize, String),
    (
        Vec<&'a ExternalSecret>,
        MountProblem,
        Vec<crate::model::Loc>,
    ),
>;

/// The sync objects that read a mount `vault secrets list` lacks (`want_missing`), or one of
/// another KV version than their store says, grouped by store and mount.
pub fn groups<'c, 'a>(ctx: &'c Ctx<'a>, want_missing: bool) -> &'c Groups<'a> {
    let (missing, version) = ctx.mount_groups();
    if want_missing {
        missing
    } else {
        version
    }
}

/// Both groupings of [`groups`], from one pass over the sync objects: (missing, version).
pub(crate) fn both_groups(snap: &crate::model::Snapshot) -> (Groups<'_>, Groups<'_>) {
    let mut missing: Groups = BTreeMap::new();
    let mut version: Groups = BTreeMap::new();
    for es in &snap.external_secrets {
        let Some(store) = snap.store_for(es) else {
            continue;
        };
        // the store's position by its address, not a scan of every store per ExternalSecret
        let si = crate::graph::derive::position_in(&snap.stores, store).unwrap_or(0);
        for r in requests(store, es) {
            let Some(p) = mount_problem(snap, store, es, &r.path) else {
                continue;
            };
            let (mount, out) = match &p {
                MountProblem::Missing { mount } => (mount.clone(), &mut missing),
                MountProblem::Version { mount, .. } => (mount.clone(), &mut version),
            };
            let e = out
                .entry((si, mount))
                .or_insert_with(|| (Vec::new(), p, Vec::new()));
            if !e.0.iter().any(|x| std::ptr::eq(*x, &**es)) {
                e.0.push(es);
            }
            e.2.push(r.loc.clone());
        }
    }
    (missing, version)
}

pub fn patch(store: &SecretStore, field: &str, value: &str) -> String {
    format!(
        "kubectl patch {} --type merge -p '{{\"spec\":{{\"provider\":{{\"vault\":{{\"{field}\":\"{value}\"}}}}}}}}'",
        store_kubectl(store)
    )
}

impl Rule for KvVersion {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if !snap
            .vault
            .mounts
            .values()
            .any(|m| !m.auth && m.kv_version.is_some())
        {
            if snap.stores.iter().any(|s| s.vault.is_some()) {
                sink.skip("no KV version of any mount (`vault secrets list -detailed` Options column or `vault read sys/mounts/MOUNT/tune`)");
            }
            return;
        }
        for ((si, mount), (ess, problem, locs)) in groups(ctx, false) {
            let store = &snap.stores[*si];
            let MountProblem::Version {
                store: sv,
                mount_version: mv,
                loc,
                ..
            } = problem
            else {
                continue;
            };
            let subject = ObjRef::new(Kind::VaultMount, None, mount);
            let msg = format!(
                "{} reads mount {mount} as KV v{sv} but the mount is KV v{mv}: it requests {} paths that do not exist there; {}",
                store_name(store),
                if *sv == 2 { "data/" } else { "unversioned" },
                names(ess)
            );
            let mut f = sink.finding(subject.clone(), msg);
            f.evidence.push(loc.clone());
            if let Some(v) = &store.vault {
                f.evidence.push(v.loc.clone());
            }
            f.evidence.extend(locs.iter().cloned());
            let tuned = audit_on(snap, &["create", "update"], &format!("sys/mounts/{mount}"));
            add_failures(snap, &mut f, ess);
            if let Some(a) = tuned.last() {
                f.evidence.push(a.loc.clone());
                if let Some(t) = a.time {
                    f.events.push((
                        t,
                        subject.clone(),
                        format!("mount {mount} enabled or changed {}", audit_clause(a)),
                    ));
                }
            }
            f.related.push(store_ref(store));
            if ess
                .iter()
                .all(|e| crate::graph::derive::es_sync(snap, e).failing != Some(true))
            {
                f.severity = Severity::Warning;
            }
            f.remediation.push(format!(
                "set the store's version to the mount's: {}",
                patch(store, "version", &format!("v{mv}"))
            ));
            if *mv == 1 {
                f.remediation.push(format!(
                    "or upgrade the mount to KV v2 (rewrites storage, check policies after): vault kv enable-versioning {mount}/"
                ));
            }
            for es in ess {
                f.remediation.push(resync_command(snap, es));
            }
            sink.report(f);
        }
    }
}
