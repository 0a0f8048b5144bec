//! Vault access as ESO exercises it: the requests an ExternalSecret makes, the policies the
//! store's login token carries, whether the role binds the ServiceAccount ESO logs in with,
//! the mount a path lives on, and the Vault errors a store and its ExternalSecrets report.
//!
//! The graph and the Vault rules share these joins so that a diagnosis and the finding it
//! names always agree on what broke. Everything here answers "unknown" (an `Err` saying what
//! the bundle lacks) rather than guessing.

use crate::acl::default_policy_rules;
use crate::acl::eso::{resolve_metadata_path, resolve_read_path};
use crate::acl::explain::{explain, Denial, Shape};
use crate::graph::derive::es_sync;
use crate::model::*;

/// What an ExternalSecret asks Vault for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    /// `spec.data[].remoteRef` or `dataFrom[].extract`: a read of the data path.
    Data,
    /// `remoteRef.metadataPolicy: Fetch`: a read of the KV v2 metadata path.
    Metadata,
    /// `dataFrom[].find`: a list of the KV v2 metadata path.
    Find,
}

impl Purpose {
    pub fn describe(self) -> &'static str {
        match self {
            Purpose::Data => "read",
            Purpose::Metadata => "metadata read (metadataPolicy: Fetch)",
            Purpose::Find => "list (dataFrom.find)",
        }
    }
}

/// One Vault request of an ExternalSecret: the API path (without `/v1/`, and without the
/// trailing `/` of a list), the capability it needs, and where the ExternalSecret asks for it.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub capability: &'static str,
    pub purpose: Purpose,
    /// The KV v2 mount the path is on, when the store reads KV v2.
    pub kv2_mount: Option<String>,
    pub loc: Loc,
}

fn is_v2(v: &VaultProvider) -> bool {
    v.version.trim() != "v1"
}

/// The requests `es` makes through `store`, resolved as its controller resolves them.
pub fn requests(store: &SecretStore, es: &ExternalSecret) -> Vec<Request> {
    let Some(v) = &store.vault else {
        return Vec::new();
    };
    if !es.source.is_eso() {
        // other controllers name the API path themselves (resolved at ingest)
        let named_mount = match &es.source {
            Source::VsoStatic {
                mount,
                kv_v1: false,
            } => Some(mount.clone()),
            _ => None,
        };
        let mut out: Vec<Request> = Vec::new();
        for d in &es.data {
            let path = d.key.trim_matches('/').to_string();
            let capability = d.capability.unwrap_or("read");
            if path.is_empty()
                || out
                    .iter()
                    .any(|r| r.path == path && r.capability == capability)
            {
                continue;
            }
            // the CSI provider and the agent are given the API path: on KV v2 it holds the
            // `data/` (or `metadata/`) segment right after the mount
            let kv2_mount = match (&es.source, &named_mount) {
                (_, Some(m)) => Some(m.clone()),
                (Source::Csi | Source::Agent, None) => kv2_mount_in_api_path(&path),
                _ => None,
            };
            out.push(Request {
                path,
                capability,
                purpose: Purpose::Data,
                kv2_mount,
                loc: d.loc.clone(),
            });
        }
        return out;
    }
    let v2 = is_v2(v);
    let mount_of = |path: &str| -> Option<String> {
        if !v2 {
            return None;
        }
        match v.path.as_deref().map(|m| m.trim_matches('/')) {
            Some(m) if !m.is_empty() => Some(m.to_string()),
            _ => path.split('/').next().map(str::to_string),
        }
    };
    let mut out: Vec<Request> = Vec::new();
    let mut add = |path: String, capability: &'static str, purpose: Purpose, loc: &Loc| {
        let path = path.trim_end_matches('/').to_string();
        if !out
            .iter()
            .any(|r| r.path == path && r.capability == capability)
        {
            out.push(Request {
                kv2_mount: mount_of(&path),
                path,
                capability,
                purpose,
                loc: loc.clone(),
            });
        }
    };
    for d in &es.data {
        if d.metadata_policy.as_deref() == Some("Fetch") {
            if let Some(p) = resolve_metadata_path(v.path.as_deref(), &v.version, &d.key) {
                add(p, "read", Purpose::Metadata, &d.loc);
            }
        } else {
            add(
                resolve_read_path(v.path.as_deref(), &v.version, &d.key),
                "read",
                Purpose::Data,
                &d.loc,
            );
        }
    }
    for d in &es.data_from {
        match d {
            DataFrom::Extract { key, loc } => add(
                resolve_read_path(v.path.as_deref(), &v.version, key),
                "read",
                Purpose::Data,
                loc,
            ),
            DataFrom::Find { path, loc } if v2 => {
                let key = path.as_deref().unwrap_or("");
                let p = match v.path.as_deref().map(|m| m.trim_matches('/')) {
                    Some(m) if !m.is_empty() => {
                        resolve_metadata_path(Some(m), &v.version, key).unwrap_or_default()
                    }
                    _ => resolve_metadata_path(None, &v.version, key).unwrap_or_default(),
                };
                if !p.is_empty() {
                    add(p, "list", Purpose::Find, loc);
                }
            }
            _ => {}
        }
    }
    out
}

/// The KV v2 mount of an API path a controller was given as is (`secret/data/app/db` ->
/// `secret`): the segments before the first `data` or `metadata` one.
fn kv2_mount_in_api_path(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('/').collect();
    let i = segs
        .iter()
        .skip(1)
        .position(|s| *s == "data" || *s == "metadata")?
        + 1;
    (i + 1 < segs.len()).then(|| segs[..i].join("/"))
}

/// The Kubernetes-auth login of a store: (mount, role name, the role when the bundle has it).
pub fn store_role<'a>(
    snap: &'a Snapshot,
    store: &'a SecretStore,
) -> Option<(&'a str, &'a str, Option<&'a VaultRole>)> {
    let v = store.vault.as_ref()?;
    match &v.auth {
        VaultAuth::Kubernetes {
            mount_path, role, ..
        } => Some((
            mount_path.as_str(),
            role.as_str(),
            snap.vault.roles.get(&(mount_path.clone(), role.clone())),
        )),
        _ => None,
    }
}

/// The policies a token issued by `role` carries, as Vault builds its ACL: the role's
/// policies that exist, plus `default` unless `token_no_default_policy`. Names that
/// `vault policy list` lacks are skipped (Vault skips them silently).
#[derive(Clone, Debug, Default)]
pub struct TokenPolicies {
    pub policies: Vec<VaultPolicy>,
    /// Names the role lists that do not exist.
    pub skipped: Vec<String>,
    /// `default` came from Vault's built-in text, not from the bundle.
    pub builtin_default: bool,
}

impl TokenPolicies {
    pub fn refs(&self) -> Vec<&VaultPolicy> {
        self.policies.iter().collect()
    }
}

/// Vault's built-in `default` policy, for bundles that do not hold its text.
pub fn builtin_default() -> VaultPolicy {
    VaultPolicy {
        name: "default".into(),
        rules: default_policy_rules()
            .into_iter()
            .map(|(p, c)| PolicyRule {
                path: p.to_string(),
                capabilities: c.iter().map(|x| x.to_string()).collect(),
                loc: Loc::default(),
            })
            .collect(),
        loc: Loc::default(),
    }
}

/// The token policies of `role`; `Err` says which policy text the bundle lacks.
pub fn token_policies(snap: &Snapshot, role: &VaultRole) -> Result<TokenPolicies, String> {
    let mut out = TokenPolicies::default();
    let mut names: Vec<&str> = role.policies.iter().map(|(p, _)| p.as_str()).collect();
    if !role.no_default_policy && !names.contains(&"default") {
        names.push("default");
    }
    for name in names {
        if let Some(p) = snap.vault.policies.get(name) {
            out.policies.push(p.clone());
            continue;
        }
        if name == "root" {
            out.policies.push(VaultPolicy {
                name: "root".into(),
                ..Default::default()
            });
            continue;
        }
        if name == "default" {
            out.policies.push(builtin_default());
            out.builtin_default = true;
            continue;
        }
        match snap.presence(Kind::VaultPolicy, None, name) {
            Presence::Missing => out.skipped.push(name.to_string()),
            _ => {
                return Err(format!(
                    "the text of policy {name} (`vault policy read {name}`)"
                ))
            }
        }
    }
    Ok(out)
}

/// A problem with the secrets mount a path lives on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountProblem {
    /// `vault secrets list` was collected and has no mount for the path.
    Missing { mount: String },
    /// The store reads KV `store` but the mount is KV `mount` (1 or 2).
    Version {
        mount: String,
        store: u8,
        mount_version: u8,
        loc: Loc,
    },
}

/// The mount a store's path should be on: the store's `path`, else the first segment.
pub fn expected_mount(store: &SecretStore, es: &ExternalSecret, path: &str) -> String {
    if let Source::VsoStatic { mount, .. } = &es.source {
        return mount.clone();
    }
    store
        .vault
        .as_ref()
        .filter(|_| es.source.is_eso())
        .and_then(|v| v.path.as_deref())
        .map(|m| m.trim_matches('/'))
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| path.split('/').next().unwrap_or("").to_string())
}

/// The KV version a sync object reads with: its store's for ESO, its own `type` for a VSO
/// VaultStaticSecret, `None` for controllers that name raw API paths.
pub fn kv_version_read(store: &SecretStore, es: &ExternalSecret) -> Option<u8> {
    match &es.source {
        Source::Eso => store.vault.as_ref().map(|v| if is_v2(v) { 2 } else { 1 }),
        Source::VsoStatic { kv_v1, .. } => Some(if *kv_v1 { 1 } else { 2 }),
        _ => None,
    }
}

/// Whether the mount `path` is on exists and has the KV version the sync object expects.
pub fn mount_problem(
    snap: &Snapshot,
    store: &SecretStore,
    es: &ExternalSecret,
    path: &str,
) -> Option<MountProblem> {
    store.vault.as_ref()?;
    match crate::graph::derive::mount_of(snap, path) {
        None if snap.vault.mounts_listed => Some(MountProblem::Missing {
            mount: expected_mount(store, es, path),
        }),
        None => None,
        Some(m) => {
            let kv = m.type_.as_deref().is_none_or(|t| t == "kv") || m.kv_version.is_some();
            let mv = m.kv_version?;
            let sv = kv_version_read(store, es)?;
            (kv && mv != sv).then(|| MountProblem::Version {
                mount: m.path.clone(),
                store: sv,
                mount_version: mv,
                loc: m.loc.clone(),
            })
        }
    }
}

/// Is `access` (a denial of a request) the reason the ExternalSecret fails? Only when Vault
/// answered `permission denied`, or the error is not in the bundle and Vault is not sealed.
pub fn acl_can_explain(snap: &Snapshot, es: &ExternalSecret) -> bool {
    let st = es_sync(snap, es);
    if st.failing != Some(true) || sealed(snap).is_some() {
        return false;
    }
    match &st.vault_error {
        Some((e, _)) => e.is_permission_denied() && !is_login_path(e.path.as_deref()),
        None => true,
    }
}

fn is_login_path(path: Option<&str>) -> bool {
    path.is_some_and(|p| {
        p.starts_with("auth/") && p.ends_with("/login") || p.ends_with("lookup-self")
    })
}

/// The ACL verdict on one request of an ExternalSecret, through its store's role.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub request: Request,
    pub denial: Option<Denial>,
}

/// Evaluates every request of `es` against the token policies of its store's role.
/// `Err` says what the bundle lacks (the role, a policy text); `Ok(None)` when the store
/// does not log in with a Kubernetes role.
pub fn verdicts(snap: &Snapshot, es: &ExternalSecret) -> Result<Option<Vec<Verdict>>, String> {
    let Some(store) = snap.store_for(es) else {
        return Ok(None);
    };
    let Some((mount, role_name, role)) = store_role(snap, store) else {
        return Ok(None);
    };
    let Some(role) = role else {
        return Err(format!(
            "the auth role {role_name} (`vault read auth/{mount}/role/{role_name}`)"
        ));
    };
    let tp = token_policies(snap, role)?;
    let refs = tp.refs();
    Ok(Some(
        requests(store, es)
            .into_iter()
            .map(|r| {
                let denial = explain(
                    &refs,
                    &r.path,
                    r.capability,
                    Shape {
                        kv2_mount: r.kv2_mount.as_deref(),
                    },
                );
                Verdict { request: r, denial }
            })
            .collect(),
    ))
}

/// `vault status` says sealed, or a Vault error says `Vault is sealed`: the evidence.
pub fn sealed(snap: &Snapshot) -> Option<Loc> {
    // asked for every store and failing sync object: the events are scanned once
    snap.index.sealed.get_or_init(|| find_sealed(snap)).clone()
}

fn find_sealed(snap: &Snapshot) -> Option<Loc> {
    if let Some(s) = &snap.vault.status {
        match s.sealed {
            Some(true) => return Some(s.loc.clone()),
            Some(false) => return None,
            None => {}
        }
    }
    snap.events
        .iter()
        .find(|e| e.message.contains("Vault is sealed"))
        .map(|e| e.loc.clone())
        .or_else(|| {
            snap.vault
                .errors
                .iter()
                .find(|(e, _)| e.errors.iter().any(|x| x.contains("Vault is sealed")))
                .map(|(_, l)| l.clone())
        })
}

/// A Vault error a store, or an ExternalSecret using it, reports; with when it was first seen.
#[derive(Clone, Debug)]
pub struct SeenError {
    pub error: VaultError,
    pub loc: Loc,
    pub first: Option<Time>,
}

/// The refusals of a token-auth store's token: Vault answered 403 to its own lookup
/// (`auth/token/lookup-self`) with Vault's own wording.
pub fn token_refusals(snap: &Snapshot, store: &SecretStore) -> Vec<SeenError> {
    store_errors(snap, store)
        .into_iter()
        .filter(|e| {
            e.error.path.as_deref() == Some("auth/token/lookup-self")
                && e.error.code == Some(403)
                && !e.error.raw_message
        })
        .collect()
}

/// Vault errors in the store's conditions and events, and in the events and conditions of
/// the ExternalSecrets that use it.
pub fn store_errors(snap: &Snapshot, store: &SecretStore) -> Vec<SeenError> {
    let cap = snap.captured_at;
    let mut out: Vec<SeenError> = Vec::new();
    let mut push = |text: &str, loc: &Loc, first: Option<Time>| {
        if let Some(e) = VaultError::parse(text) {
            if !out.iter().any(|x| x.error == e && x.loc == *loc) {
                out.push(SeenError {
                    error: e,
                    loc: loc.clone(),
                    first,
                });
            }
        }
    };
    let ns = store.meta.namespace.as_deref();
    for c in store.conditions.iter().filter(|c| c.status == "False") {
        if let Some(m) = &c.message {
            push(m, &c.loc, c.last_transition);
        }
    }
    for e in snap.events_for(&store.kind, ns, &store.meta.name) {
        push(&e.message, &e.loc, e.first.map(|w| w.resolve(cap)));
    }
    for es in snap.users_of(store) {
        for c in es.conditions.iter().filter(|c| c.status == "False") {
            if let Some(m) = &c.message {
                push(m, &c.loc, c.last_transition);
            }
        }
        for e in snap.events_for(
            es.kind().as_str(),
            es.meta.namespace.as_deref(),
            &es.meta.name,
        ) {
            push(&e.message, &e.loc, e.first.map(|w| w.resolve(cap)));
        }
    }
    out.sort_by(|a, b| (a.first, &a.loc).cmp(&(b.first, &b.loc)));
    out
}

/// The ExternalSecrets that use `store`.
pub fn users<'a>(snap: &'a Snapshot, store: &SecretStore) -> Vec<&'a ExternalSecret> {
    snap.users_of(store)
}

/// Vault's glob for bound names (`*` matches any run of characters, anywhere).
pub fn glob_match(pattern: &str, s: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The ServiceAccount a login uses, and the ExternalSecrets whose sync depends on it.
#[derive(Clone, Debug)]
pub struct Login<'a> {
    pub sa: String,
    pub namespace: String,
    /// Where the store (or the controller Pod) names the ServiceAccount.
    pub loc: Loc,
    /// The ExternalSecrets logging in as it (for referent ClusterSecretStores, per namespace),
    /// in snapshot order: the snapshot's own, so their sync states are read without a lookup.
    pub external_secrets: Vec<&'a ExternalSecret>,
    /// The ServiceAccount is ESO's controller's own (no `serviceAccountRef`).
    pub controller: bool,
}

/// The ESO controller's ServiceAccount, from its Pod: (name, namespace, loc).
fn controller_sa(snap: &Snapshot) -> Option<(String, String, Loc)> {
    snap.pods
        .iter()
        .filter(|p| {
            let n = &p.meta.name;
            (n.starts_with("external-secrets")
                || p.meta
                    .labels
                    .get("app.kubernetes.io/name")
                    .is_some_and(|v| v == "external-secrets"))
                && !n.contains("webhook")
                && !n.contains("cert-controller")
        })
        .find_map(|p| {
            Some((
                p.service_account.as_deref()?.to_string(),
                p.meta.namespace.as_deref()?.to_string(),
                p.meta.loc.clone(),
            ))
        })
}

/// The logins a Kubernetes-auth store makes: one per ServiceAccount and namespace.
pub fn logins<'a>(snap: &'a Snapshot, store: &SecretStore) -> Result<Vec<Login<'a>>, String> {
    let Some(VaultAuth::Kubernetes {
        service_account,
        loc,
        ..
    }) = store.vault.as_ref().map(|v| &v.auth)
    else {
        return Ok(Vec::new());
    };
    let es_refs = |filter: &dyn Fn(&ExternalSecret) -> bool| -> Vec<&'a ExternalSecret> {
        users(snap, store)
            .into_iter()
            .filter(|e| filter(e))
            .collect()
    };
    let cluster = is_cluster_store(&store.kind);
    match service_account {
        Some((sa, Some(ns))) => Ok(vec![Login {
            sa: sa.clone(),
            namespace: ns.clone(),
            loc: loc.clone(),
            external_secrets: es_refs(&|_| true),
            controller: false,
        }]),
        Some((sa, None)) if !cluster => Ok(vec![Login {
            sa: sa.clone(),
            namespace: store.meta.namespace.as_deref().unwrap_or_default().to_string(),
            loc: loc.clone(),
            external_secrets: es_refs(&|_| true),
            controller: false,
        }]),
        Some((sa, None)) => {
            // referent: the ServiceAccount is looked up in each ExternalSecret's namespace.
            // The users are grouped by namespace in one pass, in snapshot order within each: a
            // fleet's store has thousands of them over hundreds of namespaces, and all of them
            // were filtered again for each namespace.
            let mut by_ns: std::collections::BTreeMap<&str, Vec<&ExternalSecret>> =
                Default::default();
            for e in users(snap, store) {
                if let Some(ns) = e.meta.namespace.as_deref() {
                    by_ns.entry(ns).or_default().push(e);
                }
            }
            Ok(by_ns
                .into_iter()
                .map(|(ns, external_secrets)| Login {
                    sa: sa.clone(),
                    external_secrets,
                    namespace: ns.to_string(),
                    loc: loc.clone(),
                    controller: false,
                })
                .collect())
        }
        None => match controller_sa(snap) {
            Some((sa, ns, l)) => Ok(vec![Login {
                sa,
                namespace: ns,
                loc: l,
                external_secrets: es_refs(&|_| true),
                controller: true,
            }]),
            None => Err(format!(
                "the ServiceAccount {} {} logs in with: it has no serviceAccountRef and the bundle holds no external-secrets controller Pod",
                store.kind,
                store.meta.name
            )),
        },
    }
}

/// What a role thinks of a login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Bound,
    NameNotBound,
    NamespaceNotBound,
    /// A namespace selector may admit the namespace; labels decide, which Vault evaluates.
    Unknown,
}

pub fn binding(role: &VaultRole, login: &Login) -> Binding {
    if !role.bound_sa_names.iter().any(|p| glob_match(p, &login.sa)) {
        return Binding::NameNotBound;
    }
    if role
        .bound_sa_namespaces
        .iter()
        .any(|p| glob_match(p, &login.namespace))
    {
        return Binding::Bound;
    }
    if role.namespace_selector.is_some() {
        return Binding::Unknown;
    }
    Binding::NamespaceNotBound
}

/// Errors that say Vault refused a Kubernetes login on `auth/MOUNT/login` outright (a bare
/// `permission denied`: the TokenReview failed), as opposed to a role that does not exist or
/// does not bind the ServiceAccount.
pub fn bare_login_denials(snap: &Snapshot, store: &SecretStore, mount: &str) -> Vec<SeenError> {
    let login = format!("auth/{mount}/login");
    store_errors(snap, store)
        .into_iter()
        .filter(|e| {
            e.error.path.as_deref() == Some(login.as_str())
                && e.error.code == Some(403)
                && !e.error.raw_message
                && e.error
                    .errors
                    .iter()
                    .any(|x| x.contains("permission denied"))
                && !e
                    .error
                    .errors
                    .iter()
                    .any(|x| x.contains("not authorized") || x.contains("invalid role"))
        })
        .collect()
}

/// The Kubernetes-auth stores logging in on `mount`.
pub fn stores_on_mount<'a>(snap: &'a Snapshot, mount: &str) -> Vec<&'a SecretStore> {
    snap.stores
        .iter()
        .filter(|s| store_role(snap, s).is_some_and(|(m, _, _)| m == mount))
        .collect()
}

/// Every login on auth mount `mount` fails with a bare `permission denied` although the
/// roles bind the ServiceAccounts: the mount's configuration is at fault (FM-08). Returns the
/// failing stores and their errors; `None` when some login works or a role is to blame.
pub fn mount_rejects_logins<'a>(
    snap: &'a Snapshot,
    mount: &str,
) -> Option<Vec<(&'a SecretStore, Vec<SeenError>)>> {
    if sealed(snap).is_some() {
        return None;
    }
    let stores = stores_on_mount(snap, mount);
    let mut failing = Vec::new();
    for s in &stores {
        let denials = bare_login_denials(snap, s, mount);
        if denials.is_empty() {
            // a store on the mount that is Ready logged in recently: the mount works
            if crate::graph::derive::store_is_ready(s) == Some(true) {
                return None;
            }
            continue;
        }
        let (_, _, role) = store_role(snap, s)?;
        let role = role?;
        let logins = logins(snap, s).ok()?;
        if logins.is_empty() || logins.iter().any(|l| binding(role, l) != Binding::Bound) {
            return None;
        }
        failing.push((*s, denials));
    }
    (!failing.is_empty()).then_some(failing)
}

/// The `vault token lookup` output that describes a token-auth store's token: the only
/// non-root token in the bundle, or the one whose display name names the store or its
/// Secret. `Err` says why it cannot be told.
pub fn store_token<'a>(snap: &'a Snapshot, store: &SecretStore) -> Result<&'a VaultToken, String> {
    let Some(VaultAuth::Token { secret, .. }) = store.vault.as_ref().map(|v| &v.auth) else {
        return Err("not a token-auth store".into());
    };
    let cands: Vec<&VaultToken> = snap
        .vault
        .tokens
        .iter()
        .filter(|t| !(t.policies.len() == 1 && t.policies[0] == "root"))
        .collect();
    if cands.is_empty() {
        return Err(format!(
            "the lookup of the token in Secret {secret} (`vault token lookup -accessor ACCESSOR`)"
        ));
    }
    let named: Vec<&VaultToken> = cands
        .iter()
        .copied()
        .filter(|t| {
            t.display_name.as_deref().is_some_and(|d| {
                d.contains(store.meta.name.as_str()) || d.contains(secret.as_str())
            })
        })
        .collect();
    let token_stores = snap
        .stores
        .iter()
        .filter(|s| {
            matches!(
                s.vault.as_ref().map(|v| &v.auth),
                Some(VaultAuth::Token { .. })
            )
        })
        .count();
    match (named.as_slice(), cands.as_slice()) {
        ([t], _) => Ok(t),
        (_, [t]) if token_stores == 1 => Ok(t),
        _ => Err(format!(
            "which `vault token lookup` output belongs to the token in Secret {secret} (several tokens, none named after the store)"
        )),
    }
}

/// The name of the VaultToken node of a token-auth store: the accessor or display name of
/// its `vault token lookup`, else `NAMESPACE/SECRET` of the Secret holding it.
pub fn token_name(snap: &Snapshot, store: &SecretStore) -> Option<String> {
    let Some(VaultAuth::Token {
        secret, namespace, ..
    }) = store.vault.as_ref().map(|v| &v.auth)
    else {
        return None;
    };
    Some(
        store_token(snap, store)
            .ok()
            .and_then(|t| t.accessor.clone().or_else(|| t.display_name.clone()))
            .unwrap_or_else(|| {
                format!(
                    "{}/{secret}",
                    namespace
                        .as_deref()
                        .or(store.meta.namespace.as_deref())
                        .unwrap_or("-")
                )
            }),
    )
}

/// A Vault Enterprise namespace as a plain name: `team-a/` -> `team-a`; root is `""`.
pub fn vault_ns(ns: Option<&str>) -> String {
    ns.map(|n| n.trim().trim_matches('/'))
        .filter(|n| !n.is_empty() && *n != "root")
        .unwrap_or("")
        .to_string()
}

/// The store talks to one Vault namespace, but the audit log shows its role, its policies or
/// its paths used successfully in another (FM-23): that namespace and the audit entries.
pub fn namespace_mismatch<'a>(
    snap: &'a Snapshot,
    store: &SecretStore,
) -> Option<(String, Vec<&'a AuditEvent>)> {
    let v = store.vault.as_ref()?;
    let store_ns = vault_ns(v.namespace.as_deref());
    // only a success in another namespace can show it: without one, the paths every user of
    // the store reads (thousands on a fleet's store) are not worked out
    let elsewhere_ok =
        |a: &AuditEvent| a.error.is_none() && vault_ns(a.namespace.as_deref()) != store_ns;
    if !snap.vault.audit.iter().any(elsewhere_ok) {
        return None;
    }
    let mut paths: Vec<String> = Vec::new();
    if let Some((mount, role, known)) = store_role(snap, store) {
        paths.push(format!("auth/{mount}/role/{role}"));
        if let Some(r) = known {
            for (p, _) in &r.policies {
                paths.push(format!("sys/policies/acl/{p}"));
                paths.push(format!("sys/policy/{p}"));
            }
        }
    }
    for es in users(snap, store) {
        paths.extend(requests(store, es).into_iter().map(|r| r.path));
    }
    // looked up, not scanned, for each audit entry
    let paths: crate::model::FastSet<&str> = paths.iter().map(String::as_str).collect();
    let read = |a: &AuditEvent| paths.contains(a.path.trim_matches('/'));
    let elsewhere: Vec<&AuditEvent> = (snap.vault.audit.iter())
        .filter(|a| elsewhere_ok(a) && read(a))
        .collect();
    let ns = vault_ns(elsewhere.first()?.namespace.as_deref());
    let here_ok = snap
        .vault
        .audit
        .iter()
        .any(|a| a.error.is_none() && vault_ns(a.namespace.as_deref()) == store_ns && read(a));
    if here_ok {
        return None;
    }
    let evs: Vec<&AuditEvent> = elsewhere
        .into_iter()
        .filter(|a| vault_ns(a.namespace.as_deref()) == ns)
        .collect();
    Some((ns, evs))
}

/// Audit entries with `operation` in `ops` on exactly `path`, oldest first.
pub fn audit_on<'a>(snap: &'a Snapshot, ops: &[&str], path: &str) -> Vec<&'a AuditEvent> {
    let mut v: Vec<&AuditEvent> = snap
        .vault
        .audit
        .iter()
        .filter(|a| {
            a.type_ != "response"
                && ops.contains(&a.operation.as_str())
                && a.path.trim_matches('/') == path
        })
        .collect();
    v.sort_by_key(|a| a.time);
    v
}

/// `at T by WHO` for an audit entry.
pub fn audit_clause(a: &AuditEvent) -> String {
    format!(
        "{}{}",
        a.time
            .map(|t| format!("at {}", crate::model::time::fmt_time(t)))
            .unwrap_or_else(|| "at an unknown time".into()),
        a.display_name
            .as_deref()
            .map(|n| format!(" by {n}"))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, s, want) in [
            ("*", "anything", true),
            ("eso", "eso", true),
            ("eso", "eso-2", false),
            ("eso-*", "eso-prod", true),
            ("eso-*", "eso-", true),
            ("*-reader", "app-reader", true),
            ("team-*-prod", "team-a-prod", true),
            ("team-*-prod", "team-a-dev", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
        ] {
            assert_eq!(glob_match(p, s), want, "{p} vs {s}");
        }
    }

    #[test]
    fn kv2_mounts_of_api_paths() {
        let m = |p: &str| kv2_mount_in_api_path(p);
        assert_eq!(m("secret/data/app/db").as_deref(), Some("secret"));
        assert_eq!(m("team/kv/data/app").as_deref(), Some("team/kv"));
        assert_eq!(m("kv/metadata/app").as_deref(), Some("kv"));
        assert_eq!(m("database/creds/app"), None);
        assert_eq!(m("data/app"), None);
        assert_eq!(m("secret/data"), None);
    }
}
