//! Derived facts every rule and the graph need: when a Secret was last written, whether an
//! ExternalSecret syncs (joined with its events, where the Vault error lives), what a pull
//! failure looks like, the effective TTL of a credential. Computed from the snapshot only.

use crate::acl::eso::resolve_read_path;
use crate::model::*;
use chrono::Duration;

/// How a Secret's last write time was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteSource {
    /// The External Secrets Operator's managedFields entry.
    EsoManagedFields,
    /// Another manager's managedFields entry.
    ManagedFields,
    /// Only the creation time is known (a weak signal: ESO updates Secrets in place).
    Creation,
}

/// The last write of a Secret, with where it was read. The citation is lent, not copied:
/// rules ask this of every Secret of a fleet and keep the citation for the few they report
/// (a copy is two shared counts written, each in a line of memory no cache holds).
pub fn last_write(s: &Secret, capture: Time) -> Option<(Time, &Loc, WriteSource)> {
    let newest = |eso: bool| {
        s.meta
            .managed_fields
            .iter()
            .filter(|f| f.eso == eso || !eso)
            .filter_map(|f| f.time.map(|t| (t, &f.loc)))
            .max_by_key(|(t, _)| *t)
    };
    if let Some((t, l)) = newest(true) {
        return Some((t, l, WriteSource::EsoManagedFields));
    }
    if let Some((t, l)) = newest(false) {
        return Some((t, l, WriteSource::ManagedFields));
    }
    (s.meta.created).map(|w| (w.resolve(capture), &s.meta.loc, WriteSource::Creation))
}

/// The sync state of an ExternalSecret.
#[derive(Clone, Debug, Default)]
pub struct SyncState {
    /// `Some(true)` failing, `Some(false)` syncing, `None` unknown (no status in the bundle).
    pub failing: Option<bool>,
    pub since: Option<(Time, Loc)>,
    pub last_success: Option<(Time, Loc)>,
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The Vault error from the UpdateFailed events, when there is one.
    pub vault_error: Option<(VaultError, Loc)>,
    /// The most specific error text (event message, or the condition message).
    pub detail: Option<String>,
    pub evidence: Vec<Loc>,
}

const FAILED_REASONS: &[&str] = &[
    "Deleted",
    "UpdateFailed",
    "SecretSyncedError",
    "ProviderError",
    "InvalidStoreRef",
    "UnavailableStore",
];

/// Vault Secrets Operator event reasons that mean the sync failed (consts/reasons.go).
const VSO_FAILED_REASONS: &[&str] = &[
    "VaultClientError",
    "VaultClientConfigError",
    "VaultStaticSecretError",
    "SecretSyncError",
    "SecretLeaseRenewalError",
    "InvalidConfiguration",
    "InvalidResourceRef",
    "TransformationError",
    "HMACDataError",
    "InexistentDestination",
];

/// The event reasons that mean a sync object of this source failed.
fn failed_reasons(source: &Source) -> &'static [&'static str] {
    match source {
        Source::Eso => FAILED_REASONS,
        Source::VsoStatic { .. } | Source::VsoDynamic | Source::VsoPki => VSO_FAILED_REASONS,
        Source::Csi => &["FailedMount"],
        Source::Agent => &["VaultAgentError"],
        Source::Certificate => &[
            "Failed",
            "ErrInitIssuer",
            "ErrGetKeyPair",
            "ErrIssuerNotReady",
        ],
    }
}

/// The condition that says whether a sync object works. A cert-manager Certificate stays
/// `Ready` while its current certificate is valid, so a failed renewal (`Issuing` False,
/// reason `Failed`) is what tells; VSO writes `SecretSynced`/`Healthy` where it has no `Ready`.
fn sync_condition(es: &ExternalSecret) -> Option<&Condition> {
    let find = |t: &str| es.conditions.iter().find(|c| c.type_ == t);
    match &es.source {
        Source::Certificate => es
            .conditions
            .iter()
            .find(|c| {
                c.type_ == "Issuing" && c.status == "False" && c.reason.as_deref() == Some("Failed")
            })
            .or_else(|| find("Ready")),
        Source::VsoStatic { .. } | Source::VsoDynamic | Source::VsoPki => find("Ready")
            .or_else(|| find("SecretSynced"))
            .or_else(|| find("Healthy")),
        _ => find("Ready"),
    }
}

/// The sync state of a sync object.
///
/// Rules and the graph ask this many times of each ExternalSecret: for those of the
/// snapshot it is computed once for all and kept in the snapshot's index.
/// It is borrowed from that cache (most callers read one field; a clone of every state
/// for every question was most of the cost). The analysis fills the cache on all cores first
/// ([`prepare_sync_states`]); filled here, on first use, it is filled on one: a parallel
/// fill from inside a rayon job could run a stolen job that asks for a state, and wait on
/// itself.
pub fn es_sync<'a>(snap: &'a Snapshot, es: &ExternalSecret) -> std::borrow::Cow<'a, SyncState> {
    let all = &snap.external_secrets;
    match snap.es_position(es) {
        Some(i) => std::borrow::Cow::Borrowed(
            &snap
                .index
                .sync
                .get_or_init(|| all.iter().map(|e| compute_es_sync(snap, e)).collect())[i],
        ),
        None => std::borrow::Cow::Owned(compute_es_sync(snap, es)),
    }
}

/// Works out every sync object's state at once, on all cores, before the graph and the
/// rules ask for them: the first [`es_sync`] would otherwise work them out one by one while
/// every other question about a sync waits for it.
pub fn prepare_sync_states(snap: &Snapshot) {
    use rayon::prelude::*;
    let all = &snap.external_secrets;
    snap.index
        .sync
        .get_or_init(|| all.par_iter().map(|e| compute_es_sync(snap, e)).collect());
}

/// The position of `item` in `all` when it is one of its elements (by address), without a scan.
pub(crate) fn position_in<T>(all: &[T], item: &T) -> Option<usize> {
    (item as *const T as usize)
        .checked_sub(all.as_ptr() as usize)
        .map(|off| off / std::mem::size_of::<T>().max(1))
        .filter(|&i| i < all.len() && std::ptr::eq(&all[i], item))
}

fn compute_es_sync(snap: &Snapshot, es: &ExternalSecret) -> SyncState {
    let mut st = SyncState::default();
    let capture = snap.captured_at;
    if let Some(c) = sync_condition(es) {
        // `SecretDeleted` is Ready=True: ESO deleted the target because the provider secret is gone
        let failing = c.status == "False" || c.reason.as_deref() == Some("SecretDeleted");
        st.failing = Some(failing);
        st.reason = c.reason.as_deref().map(str::to_string);
        st.message.clone_from(&c.message);
        st.evidence.push(c.loc.clone());
        if failing {
            st.since = c.last_transition.map(|t| (t, c.loc.clone()));
            st.last_success = es.refresh_time.map(|t| (t, es.meta.loc.clone()));
        } else {
            st.last_success = es
                .refresh_time
                .or(c.last_transition)
                .map(|t| (t, c.loc.clone()));
        }
    } else if let Some((status, ready, loc)) = es.table_status.as_deref() {
        let failing = ready.as_deref() == Some("False")
            || status.contains("Error")
            || status.starts_with("ERROR");
        st.failing = Some(failing);
        st.reason = Some(status.clone());
        st.evidence.push(loc.clone());
    }
    let reasons = failed_reasons(&es.source);
    let events: Vec<&Event> = snap
        .events_for(
            es.kind().as_str(),
            es.meta.namespace.as_deref(),
            &es.meta.name,
        )
        .into_iter()
        .filter(|e| {
            e.type_ == "Warning" && reasons.contains(&e.reason.as_str())
                || e.reason == "Deleted" && es.source.is_eso()
        })
        .collect();
    if !events.is_empty() {
        if st.failing.is_none() {
            // events alone: failing if the newest is recent relative to the refresh interval
            st.failing = Some(true);
        }
        if st.failing == Some(true) {
            let newest = events
                .iter()
                .max_by_key(|e| e.last.map(|w| w.resolve(capture)));
            if let Some(e) = newest {
                st.detail = Some(e.message.clone());
                st.evidence.push(e.loc.clone());
                if let Some(v) = VaultError::parse(&e.message) {
                    st.vault_error = Some((v, e.loc.clone()));
                }
            }
            if st.since.is_none() {
                st.since = events
                    .iter()
                    .filter_map(|e| e.first.map(|w| (w.resolve(capture), &e.loc)))
                    .min_by_key(|(t, _)| *t)
                    .map(|(t, l)| (t, l.clone()));
            }
        }
    }
    if st.vault_error.is_none() {
        if let Some(m) = &st.message {
            if let Some(v) = VaultError::parse(m) {
                st.vault_error = Some((v, st.evidence[0].clone()));
            }
        }
    }
    st
}

/// Whether a store is ready: `Some((ready, reason/message, loc))`, `None` if unknown.
pub fn store_ready(store: &SecretStore) -> Option<(bool, String, Loc)> {
    let ready = store_is_ready(store)?;
    if let Some(c) = store.conditions.iter().find(|c| c.type_ == "Ready") {
        let text = match (&c.reason, &c.message) {
            (Some(r), Some(m)) => format!("{r}: {m}"),
            (Some(r), None) => r.to_string(),
            (None, Some(m)) => m.clone(),
            _ => c.status.to_string(),
        };
        return Some((ready, text, c.loc.clone()));
    }
    store
        .table_status
        .as_ref()
        .map(|(s, _, l)| (ready, s.clone(), l.clone()))
}

/// Whether a store is ready, as [`store_ready`] tells it, without the words and the citation:
/// asked for every sync object of a fleet's store, where only the answer is used.
pub fn store_is_ready(store: &SecretStore) -> Option<bool> {
    if let Some(c) = store.conditions.iter().find(|c| c.type_ == "Ready") {
        return Some(c.status == "True");
    }
    store.table_status.as_ref().map(|(s, r, _)| {
        r.as_deref() != Some("False") && !s.contains("Invalid") && !s.contains("Failed")
    })
}

/// The Vault paths an ExternalSecret reads, resolved as ESO does, with where each is asked for.
pub fn vault_paths(store: &SecretStore, es: &ExternalSecret) -> Vec<(String, Loc)> {
    let Some(v) = &store.vault else {
        return Vec::new();
    };
    if !es.source.is_eso() {
        return crate::graph::access::requests(store, es)
            .into_iter()
            .map(|r| (r.path, r.loc))
            .collect();
    }
    let mut out: Vec<(String, Loc)> = Vec::new();
    let mut add = |key: &str, loc: &Loc| {
        let p = resolve_read_path(v.path.as_deref(), &v.version, key);
        if !out.iter().any(|(q, _)| *q == p) {
            out.push((p, loc.clone()));
        }
    };
    for d in &es.data {
        add(&d.key, &d.loc);
    }
    for d in &es.data_from {
        if let DataFrom::Extract { key, loc } = d {
            add(key, loc);
        }
    }
    out
}

/// The mount a path lives on (longest matching secrets mount).
pub fn mount_of<'a>(snap: &'a Snapshot, path: &str) -> Option<&'a VaultMount> {
    snap.vault
        .mounts
        .values()
        .filter(|m| !m.auth && !m.path.is_empty())
        .filter(|m| {
            path.strip_prefix(m.path.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .max_by_key(|m| m.path.len())
}

/// Whether a path issues credentials that expire (a dynamic secrets engine) rather than
/// static values (KV): `Some(true)` for a non-KV mount type, a lease read from the path, or
/// a `/creds/` path; `Some(false)` for a KV mount; `None` when the bundle cannot tell.
pub fn is_dynamic(snap: &Snapshot, path: &str) -> Option<bool> {
    let mount = mount_of(snap, path);
    if let Some(m) = mount {
        if m.kv_version.is_some()
            || m.type_
                .as_deref()
                .is_some_and(|t| t == "kv" || t == "generic")
        {
            return Some(false);
        }
        if m.type_.is_some() {
            return Some(true);
        }
    }
    if snap
        .vault
        .leases
        .iter()
        .any(|l| l.path.trim_matches('/') == path && l.lease_id.is_some())
    {
        return Some(true);
    }
    if path
        .split('/')
        .any(|seg| seg == "creds" || seg == "issue" || seg == "sign")
    {
        return Some(true);
    }
    None
}

/// The effective TTL of a credential read from `path` and stored in `secret`: the least of
/// the lease granted for that path, the mount's default/max lease TTL (for dynamic engines
/// only: a KV value does not expire), and a JWT's lifetime.
pub fn credential_ttl(
    snap: &Snapshot,
    path: Option<&str>,
    secret: Option<&Secret>,
) -> Option<(Duration, String, Vec<Loc>)> {
    let mut cands: Vec<(Duration, String, Loc)> = Vec::new();
    if let Some(p) = path {
        if is_dynamic(snap, p) == Some(true) {
            if let Some(m) = mount_of(snap, p) {
                if let Some((d, l)) = &m.default_lease_ttl {
                    cands.push((
                        *d,
                        format!("default_lease_ttl of mount {}", m.path),
                        l.clone(),
                    ));
                }
                if let Some((d, l)) = &m.max_lease_ttl {
                    cands.push((*d, format!("max_lease_ttl of mount {}", m.path), l.clone()));
                }
            }
            for l in leases_for(snap, p) {
                if let (Some((d, loc)), Some(_)) = (&l.duration, &l.lease_id) {
                    cands.push((*d, format!("lease granted on {p}"), loc.clone()));
                }
            }
        }
    }
    if let Some(Some(Ok(auths))) = secret.map(|s| &s.docker) {
        for a in auths {
            if let CredentialShape::Jwt { exp: Some(exp) } = a.password {
                if let Some((w, _, _)) = secret.and_then(|s| last_write(s, snap.captured_at)) {
                    cands.push((
                        exp - w,
                        format!("the JWT for {} expires", a.registry),
                        secret.map(|s| s.meta.loc.clone()).unwrap_or_default(),
                    ));
                }
            }
        }
    }
    cands.retain(|(d, _, _)| *d > Duration::zero());
    let (d, why, loc) = cands.into_iter().min_by_key(|(d, _, _)| *d)?;
    Some((d, why, vec![loc]))
}

/// Vault leases read from a path (the seed's `vault read registry-creds/creds/x`).
pub fn leases_for<'a>(snap: &'a Snapshot, path: &str) -> Vec<&'a VaultLease> {
    snap.vault
        .leases
        .iter()
        .filter(|l| l.path.trim_matches('/') == path)
        .collect()
}

/// A Pod's image pull failure.
#[derive(Clone, Debug, Default)]
pub struct PullFailure {
    /// The registry rejected the credentials (401/403/denied), rather than e.g. a missing tag.
    pub auth: bool,
    pub image: Option<String>,
    pub message: String,
    pub since: Option<Time>,
    pub evidence: Vec<Loc>,
}

const AUTH_MARKERS: &[&str] = &[
    "unauthorized",
    "authentication required",
    "403 forbidden",
    "denied",
    "no basic auth credentials",
    "insufficient_scope",
    "cannot be authenticated",
    "failed to authorize",
];

/// Does a pull error say the registry refused the credentials? Quoted image references are
/// ignored (a digest or tag may contain `401`), and status codes count only as whole words.
pub fn is_auth_failure(message: &str) -> bool {
    let mut m = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            m.push(c.to_ascii_lowercase());
        }
    }
    if AUTH_MARKERS.iter().any(|k| m.contains(k)) {
        return true;
    }
    let b = m.as_bytes();
    m.match_indices("401").any(|(i, _)| {
        let before =
            i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'.' && b[i - 1] != b':';
        let after = i + 3 >= b.len() || !b[i + 3].is_ascii_alphanumeric() && b[i + 3] != b'.';
        before && after
    })
}

pub fn pull_failure(snap: &Snapshot, pod: &Pod) -> Option<PullFailure> {
    let capture = snap.captured_at;
    let mut f = PullFailure::default();
    let mut failing = false;
    for s in &pod.statuses {
        if matches!(
            s.waiting_reason.as_deref(),
            Some("ImagePullBackOff" | "ErrImagePull")
        ) {
            failing = true;
            f.evidence.push(s.loc.clone());
            f.image = f.image.take().or_else(|| s.image.clone());
            if let Some(m) = &s.waiting_message {
                if is_auth_failure(m) {
                    f.auth = true;
                    f.message = m.clone();
                }
            }
        }
    }
    if let Some((st, loc)) = &pod.table_status {
        if st.contains("ImagePullBackOff") || st.contains("ErrImagePull") {
            failing = true;
            f.evidence.push(loc.clone());
        }
    }
    let events = snap.events_for("Pod", pod.meta.namespace.as_deref(), &pod.meta.name);
    let mut first: Option<Time> = None;
    for e in events {
        let pull = e.message.contains("Failed to pull image")
            || e.message.contains("ErrImagePull")
            || e.message.contains("ImagePullBackOff")
            || e.reason == "FailedToRetrieveImagePullSecret";
        if !pull || e.type_ != "Warning" {
            continue;
        }
        failing = true;
        if let Some(t) = e.first.map(|w| w.resolve(capture)) {
            first = Some(first.map_or(t, |f: Time| f.min(t)));
        }
        if is_auth_failure(&e.message) && e.message.contains("Failed to pull image") {
            if !f.auth || f.message.is_empty() {
                f.message = e.message.clone();
            }
            f.auth = true;
            f.evidence.insert(0, e.loc.clone());
        } else if f.evidence.len() < 4 {
            f.evidence.push(e.loc.clone());
        }
        if f.image.is_none() {
            if let Some(p) = e.message.find("image \"") {
                f.image = e.message[p + 7..].split('"').next().map(str::to_string);
            }
        }
    }
    if !failing {
        return None;
    }
    if f.image.is_none() {
        f.image = pod
            .containers
            .iter()
            .find(|c| !c.image.is_empty())
            .map(|c| c.image.clone());
    }
    f.since = first;
    f.evidence.dedup();
    Some(f)
}

/// The registry host of an image reference (`docker.io` when none is given).
pub fn registry_of(image: &str) -> String {
    let first = image.split('/').next().unwrap_or("");
    if image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost") {
        first.to_string()
    } else {
        "docker.io".to_string()
    }
}

/// The Pods in `ns` that read Secret `secret` (pull secret, env, envFrom or volume).
pub fn consumers<'a>(snap: &'a Snapshot, ns: &str, secret: &str) -> Vec<&'a Pod> {
    snap.pods
        .iter()
        .map(|p| &**p)
        .filter(|p| p.meta.namespace.as_deref() == Some(ns))
        .filter(|p| {
            p.image_pull_secrets.iter().any(|(s, _)| s == secret)
                || p.containers.iter().any(|c| {
                    c.env_secret_refs.iter().any(|r| r.secret == secret)
                        || c.env_from_secrets.iter().any(|r| r.secret == secret)
                })
                || p.volumes
                    .iter()
                    .any(|v| v.secrets.iter().any(|s| s.secret == secret))
        })
        .collect()
}

/// The command that makes a Pod start again with fresh credentials: a rollout restart of
/// its Deployment/StatefulSet/DaemonSet, or deleting the Pod when nothing owns it.
pub fn restart_command(snap: &Snapshot, pod: &Pod) -> String {
    let ns = pod.meta.namespace.as_deref().unwrap_or("default");
    let owner = pod.meta.owners.first();
    let target = match owner {
        Some(o) if o.kind == "ReplicaSet" => snap
            .workload("ReplicaSet", Some(ns), &o.name)
            .and_then(|w| {
                w.meta
                    .owners
                    .first()
                    .map(|d| format!("{}/{}", d.kind.to_ascii_lowercase(), d.name))
            })
            .or_else(|| {
                o.name
                    .rsplit_once('-')
                    .map(|(d, _)| format!("deployment/{d}"))
            }),
        Some(o) if matches!(o.kind.as_str(), "StatefulSet" | "DaemonSet") => {
            Some(format!("{}/{}", o.kind.to_ascii_lowercase(), o.name))
        }
        _ => None,
    };
    match target {
        Some(t) => format!("restart the workload so it reads the new credential: kubectl rollout restart {t} -n {ns}"),
        None => format!("recreate the Pod so it reads the new credential: kubectl delete pod {} -n {ns}", pod.meta.name),
    }
}

/// How a Pod fails to read a Secret, from its status and events.
#[derive(Clone, Debug, Default)]
pub struct SecretFailure {
    /// `CreateContainerConfigError`, `FailedMount`, `FailedToRetrieveImagePullSecret`, ...
    pub reason: String,
    pub message: String,
    /// The Secret named in the message, when it names one.
    pub secret: Option<String>,
    /// The key named in the message (`couldn't find key K`).
    pub key: Option<String>,
    pub since: Option<Time>,
    pub evidence: Vec<Loc>,
}

/// `secret "x" not found`, `secrets "x" not found`, `couldn't find key K in Secret ns/x`,
/// `references non-existent secret key: K`, `Unable to retrieve some image pull secrets (x)`.
pub fn parse_secret_error(message: &str) -> Option<(Option<String>, Option<String>)> {
    let quoted = |after: &str| {
        message
            .find(after)
            .and_then(|p| message[p + after.len()..].split('"').next())
            .map(str::to_string)
    };
    if let Some(name) = quoted("secret \"").or_else(|| quoted("secrets \"")) {
        if message.contains("not found") {
            return Some((Some(name), None));
        }
    }
    let lower = message.to_ascii_lowercase();
    if let Some(p) = lower.find("couldn't find key ") {
        let rest = &message[p + 18..];
        let key = rest.split_whitespace().next().map(str::to_string);
        let secret = rest
            .find(" in Secret ")
            .map(|q| rest[q + 11..].split_whitespace().next().unwrap_or(""))
            .map(|s| s.rsplit('/').next().unwrap_or(s).to_string());
        return Some((secret, key));
    }
    if let Some(p) = message.find("references non-existent secret key: ") {
        return Some((
            None,
            message[p + 36..]
                .split_whitespace()
                .next()
                .map(str::to_string),
        ));
    }
    if let Some(p) = message.find("Unable to retrieve some image pull secrets (") {
        let names = message[p + 44..].split(')').next().unwrap_or("");
        return Some((names.split(',').next().map(|s| s.trim().to_string()), None));
    }
    None
}

/// A Pod that cannot start because a Secret (or a key in it) is missing.
pub fn secret_failure(snap: &Snapshot, pod: &Pod) -> Option<SecretFailure> {
    let cap = snap.captured_at;
    let mut f: Option<SecretFailure> = None;
    for e in snap.events_for("Pod", pod.meta.namespace.as_deref(), &pod.meta.name) {
        if e.type_ != "Warning" {
            continue;
        }
        let Some((secret, key)) = parse_secret_error(&e.message) else {
            continue;
        };
        let cur = f.get_or_insert_with(|| SecretFailure {
            reason: e.reason.to_string(),
            message: e.message.clone(),
            secret: secret.clone(),
            key: key.clone(),
            ..Default::default()
        });
        if let Some(t) = e.first.map(|w| w.resolve(cap)) {
            cur.since = Some(cur.since.map_or(t, |s| s.min(t)));
        }
        if cur.evidence.len() < 3 {
            cur.evidence.push(e.loc.clone());
        }
    }
    // a status alone says the container config failed, not why: count it when its message
    // names a Secret, or when a Secret the Pod reads is known to be missing
    let ns = pod.meta.namespace.as_deref();
    let missing_ref = || {
        pod.image_pull_secrets
            .iter()
            .map(|(s, _)| s.as_str())
            .chain(pod.containers.iter().flat_map(|c| {
                c.env_secret_refs
                    .iter()
                    .filter(|r| !r.optional)
                    .map(|r| r.secret.as_str())
                    .chain(
                        c.env_from_secrets
                            .iter()
                            .filter(|r| !r.optional)
                            .map(|r| r.secret.as_str()),
                    )
            }))
            .find(|s| snap.presence(Kind::Secret, ns, s) == Presence::Missing)
            .map(str::to_string)
    };
    let mut statuses: Vec<(String, Option<String>, Loc)> = pod
        .statuses
        .iter()
        .filter(|s| {
            s.waiting_reason
                .as_deref()
                .unwrap_or("")
                .contains("CreateContainerConfigError")
        })
        .map(|s| {
            (
                s.waiting_reason.clone().unwrap_or_default(),
                s.waiting_message.clone(),
                s.loc.clone(),
            )
        })
        .collect();
    if let Some((st, loc)) = &pod.table_status {
        if st.contains("CreateContainerConfigError") {
            statuses.push((st.clone(), None, loc.clone()));
        }
    }
    for (reason, message, loc) in statuses {
        if let Some(cur) = f.as_mut() {
            cur.evidence.push(loc);
            continue;
        }
        let msg = message.unwrap_or_default();
        if msg.to_ascii_lowercase().contains("configmap") {
            continue;
        }
        let (secret, key) = match parse_secret_error(&msg) {
            Some(p) => p,
            None => match missing_ref() {
                Some(s) => (Some(s), None),
                None => continue,
            },
        };
        f = Some(SecretFailure {
            reason,
            message: msg,
            secret,
            key,
            evidence: vec![loc],
            ..Default::default()
        });
    }
    f
}

/// The keys an ExternalSecret writes into its target, or `None` when only the provider
/// knows them (`dataFrom`, templates from files).
pub fn produced_keys(es: &ExternalSecret) -> Option<Vec<&str>> {
    if !es.data_from.is_empty() {
        return None;
    }
    if es.template_type.is_some() || !es.template_keys.is_empty() {
        if es.template_keys.is_empty() {
            return None;
        }
        // a template with data replaces the keys unless mergePolicy says otherwise
        return Some(es.template_keys.iter().map(String::as_str).collect());
    }
    Some(es.data.iter().map(|d| d.secret_key.as_str()).collect())
}

/// Does a dockerconfigjson `auths` key name this registry host?
/// Compared without copies: a fleet's every container is checked against its pull secrets'
/// every entry, and two lower-cased copies per check were most of that rule's allocations.
pub fn registry_matches(auth_key: &str, registry: &str) -> bool {
    fn host(s: &str) -> &str {
        let s = s
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        // `split` always yields a first piece
        s.split('/').next().unwrap_or(s)
    }
    let hub = |h: &str| {
        [
            "index.docker.io",
            "registry-1.docker.io",
            "docker.io",
            "registry.hub.docker.com",
        ]
        .iter()
        .any(|d| h.eq_ignore_ascii_case(d))
    };
    let (a, b) = (host(auth_key), host(registry));
    // Docker Hub's names are one registry; any other host is itself, in any case
    (hub(a) && hub(b)) || a.eq_ignore_ascii_case(b)
}

/// Classifies a provider error that never reached Vault: a timeout, DNS, a refused
/// connection, TLS, or a reply from a proxy.
pub fn network_failure(message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    if m.contains("raw message") {
        Some("a proxy or load balancer in front of Vault answered (the reply is not from Vault)")
    } else if VaultError::parse(message).is_some_and(|e| e.code.is_some() && !e.raw_message) {
        // Vault itself answered with a status code: the network path works
        None
    } else if m.contains("x509") || m.contains("tls:") {
        // Go's TLS errors always carry one of these; a bare "certificate" is what
        // cert-manager requests are about, not a handshake failure
        Some("the TLS handshake with Vault failed (certificate not trusted or for another name)")
    } else if m.contains("context deadline exceeded")
        || m.contains("i/o timeout")
        || m.contains("timeout")
    {
        Some("Vault did not answer in time (network path, NetworkPolicy or DNS)")
    } else if m.contains("no such host") {
        Some("the Vault host name does not resolve")
    } else if m.contains("connection refused")
        || m.contains("connection reset")
        || m.contains("eof") && m.contains("dial")
    {
        Some("the connection to Vault was refused")
    } else {
        None
    }
}

/// The most specific error a store shows: its newest Warning event, else its Ready message.
pub fn store_error(snap: &Snapshot, store: &SecretStore) -> Option<(String, Loc, Option<Time>)> {
    let cap = snap.captured_at;
    // a store that is Ready now has recovered: its old warnings are history
    if store_is_ready(store) == Some(true) {
        return None;
    }
    let ev = snap
        .events_for(
            &store.kind,
            store.meta.namespace.as_deref(),
            &store.meta.name,
        )
        .into_iter()
        .filter(|e| e.type_ == "Warning")
        .max_by_key(|e| e.last.map(|w| w.resolve(cap)));
    if let Some(e) = ev {
        return Some((
            e.message.clone(),
            e.loc.clone(),
            e.first.map(|w| w.resolve(cap)),
        ));
    }
    let c = store
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "False")?;
    Some((
        c.message
            .clone()
            .or(c.reason.as_deref().map(str::to_string))
            .unwrap_or_default(),
        c.loc.clone(),
        c.last_transition,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        assert_eq!(
            registry_of("registry.internal:5000/order-service:v2.14.0"),
            "registry.internal:5000"
        );
        assert_eq!(registry_of("ghcr.io/kastenhq/kubestr:latest"), "ghcr.io");
        assert_eq!(
            registry_of("octarinesec/guardrails-enforcer:20.7"),
            "docker.io"
        );
        assert_eq!(registry_of("nginx"), "docker.io");
    }

    /// The first implementation, kept to check the one without copies against.
    fn registry_matches_by_copies(auth_key: &str, registry: &str) -> bool {
        let norm = |s: &str| {
            let s = s
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let host = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
            match host.as_str() {
                "index.docker.io"
                | "registry-1.docker.io"
                | "docker.io"
                | "registry.hub.docker.com" => "docker.io".to_string(),
                _ => host,
            }
        };
        norm(auth_key) == norm(registry)
    }

    proptest::proptest! {
        #[test]
        fn registries_match_as_the_copies_did(
            a in "(https?://)?(Docker\\.IO|index\\.docker\\.io|registry-1\\.docker\\.io|REGISTRY\\.hub\\.docker\\.com|ghcr\\.io|GHCR\\.io|r\\.example:5000|docker\\.io\\.evil|[a-zA-Zé.:]{0,6})(/[a-z]{0,4})?",
            b in "(https?://)?(Docker\\.IO|index\\.docker\\.io|registry-1\\.docker\\.io|REGISTRY\\.hub\\.docker\\.com|ghcr\\.io|GHCR\\.io|r\\.example:5000|docker\\.io\\.evil|[a-zA-Zé.:]{0,6})(/[a-z]{0,4})?",
        ) {
            proptest::prop_assert_eq!(registry_matches(&a, &b), registry_matches_by_copies(&a, &b));
        }
    }

    #[test]
    fn auth_markers() {
        assert!(is_auth_failure(
            "rpc error: code = Unknown desc = unauthorized: authentication required"
        ));
        assert!(is_auth_failure(
            "pulling from host x failed with status code [manifests v1]: 401 Unauthorized"
        ));
        assert!(!is_auth_failure(
            "manifest for x:v9 not found: manifest unknown"
        ));
    }
}

#[cfg(test)]
mod network_tests {
    use super::network_failure;

    #[test]
    fn a_vault_answer_is_not_a_network_failure() {
        // cert-manager's sign error names a certificate, but Vault answered it
        let signed = "Vault failed to sign certificate: failed to sign certificate by vault: Error making API request.\n\nURL: PUT https://vault.example:8200/v1/pki_int/sign/web\nCode: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n";
        assert_eq!(network_failure(signed), None);
        assert!(network_failure(
            "Vault failed to sign certificate: Put \"https://vault.example:8200/v1/pki_int/sign/web\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
        )
        .is_some());
        assert!(network_failure("Code: 403. Raw Message:\n\n<html>403 Forbidden</html>").is_some());
    }
}
