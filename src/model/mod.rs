//! The model: one [`Snapshot`] of everything the bundle says, plus the capture time.
//!
//! Ingest turns files into [`Fact`]s; [`Snapshot::build`] merges them (the same object seen in
//! a YAML dump and in a table becomes one object, the richer source winning field by field),
//! settles the capture time, and records what the bundle covers so that an absent object can
//! be told apart from an object that was never collected. The model does no I/O.

pub mod build;
pub mod eso;
pub mod kube;
pub mod link;
pub mod prov;
pub mod redact;
pub mod time;
pub mod vault;

pub use eso::*;
pub use kube::*;
pub use prov::Loc;
pub use time::{Time, When};
pub use vault::*;

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The kinds of subject credtrace reports on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    Secret,
    ServiceAccount,
    Namespace,
    ExternalSecret,
    SecretStore,
    ClusterSecretStore,
    VaultMount,
    VaultPath,
    VaultPolicy,
    VaultRole,
    VaultLease,
    VaultToken,
    /// The Vault server a store talks to (its `server` URL).
    VaultServer,
    /// The cluster as a whole (the capture event).
    Cluster,
    /// Vault Secrets Operator (`secrets.hashicorp.com`).
    VaultStaticSecret,
    VaultDynamicSecret,
    VaultPKISecret,
    VaultAuth,
    VaultConnection,
    /// Secrets Store CSI driver (`secrets-store.csi.x-k8s.io`).
    SecretProviderClass,
    /// cert-manager (`cert-manager.io`).
    Certificate,
    Issuer,
    ClusterIssuer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::Secret => "Secret",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Namespace => "Namespace",
            Kind::ExternalSecret => "ExternalSecret",
            Kind::SecretStore => "SecretStore",
            Kind::ClusterSecretStore => "ClusterSecretStore",
            Kind::VaultMount => "VaultMount",
            Kind::VaultPath => "VaultPath",
            Kind::VaultPolicy => "VaultPolicy",
            Kind::VaultRole => "VaultRole",
            Kind::VaultLease => "VaultLease",
            Kind::VaultToken => "VaultToken",
            Kind::VaultServer => "VaultServer",
            Kind::Cluster => "Cluster",
            Kind::VaultStaticSecret => "VaultStaticSecret",
            Kind::VaultDynamicSecret => "VaultDynamicSecret",
            Kind::VaultPKISecret => "VaultPKISecret",
            Kind::VaultAuth => "VaultAuth",
            Kind::VaultConnection => "VaultConnection",
            Kind::SecretProviderClass => "SecretProviderClass",
            Kind::Certificate => "Certificate",
            Kind::Issuer => "Issuer",
            Kind::ClusterIssuer => "ClusterIssuer",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == s)
    }

    pub fn is_vault(self) -> bool {
        matches!(
            self,
            Kind::VaultMount
                | Kind::VaultPath
                | Kind::VaultPolicy
                | Kind::VaultRole
                | Kind::VaultLease
                | Kind::VaultToken
                | Kind::VaultServer
        )
    }

    /// The kinds of sync object (see [`eso::Source`]); an injected Pod is one too, but is
    /// reported as the Pod.
    pub fn is_sync(self) -> bool {
        matches!(
            self,
            Kind::ExternalSecret
                | Kind::VaultStaticSecret
                | Kind::VaultDynamicSecret
                | Kind::VaultPKISecret
                | Kind::SecretProviderClass
                | Kind::Certificate
        )
    }

    /// The domain a subject belongs to, as reported in a diagnosis.
    pub fn domain(self) -> &'static str {
        match self {
            Kind::ExternalSecret | Kind::SecretStore | Kind::ClusterSecretStore => {
                "external-secrets"
            }
            Kind::VaultStaticSecret
            | Kind::VaultDynamicSecret
            | Kind::VaultPKISecret
            | Kind::VaultAuth
            | Kind::VaultConnection => "vault-secrets-operator",
            Kind::SecretProviderClass => "secrets-store-csi",
            Kind::Certificate | Kind::Issuer | Kind::ClusterIssuer => "cert-manager",
            k if k.is_vault() => "vault",
            _ => "kubernetes",
        }
    }
}

pub const ALL_KINDS: &[Kind] = &[
    Kind::Pod,
    Kind::Deployment,
    Kind::ReplicaSet,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::Job,
    Kind::CronJob,
    Kind::Secret,
    Kind::ServiceAccount,
    Kind::Namespace,
    Kind::ExternalSecret,
    Kind::SecretStore,
    Kind::ClusterSecretStore,
    Kind::VaultMount,
    Kind::VaultPath,
    Kind::VaultPolicy,
    Kind::VaultRole,
    Kind::VaultLease,
    Kind::VaultToken,
    Kind::VaultServer,
    Kind::Cluster,
    Kind::VaultStaticSecret,
    Kind::VaultDynamicSecret,
    Kind::VaultPKISecret,
    Kind::VaultAuth,
    Kind::VaultConnection,
    Kind::SecretProviderClass,
    Kind::Certificate,
    Kind::Issuer,
    Kind::ClusterIssuer,
];

/// A subject: kind, namespace (Kubernetes namespace, or Vault Enterprise namespace) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjRef {
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Name>,
    pub name: Name,
}

impl ObjRef {
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> ObjRef {
        ObjRef {
            kind,
            namespace: namespace.map(Name::from),
            name: Name::from(name),
        }
    }

    /// `Kind/ns/name` or `Kind/name`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {}/{}", self.kind.as_str(), ns, self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// A status condition (`Ready`, ...).
#[derive(Clone, Debug, Default)]
pub struct Condition {
    pub type_: Name,
    pub status: Name,
    pub reason: Option<Name>,
    pub message: Option<String>,
    pub last_transition: Option<Time>,
    pub loc: Loc,
}

/// What one file of the bundle contributed.
#[derive(Clone, Debug)]
pub enum Fact {
    Pod(Box<Pod>),
    Secret(Box<Secret>),
    ServiceAccount(Box<ServiceAccount>),
    Namespace(Box<Namespace>),
    Workload(Box<Workload>),
    Event(Box<Event>),
    ExternalSecret(Box<ExternalSecret>),
    SecretStore(Box<SecretStore>),
    VaultConnection(Box<VaultConnection>),
    VaultMount(Box<VaultMount>),
    VaultPolicy(Box<VaultPolicy>),
    PolicyList(Vec<String>, Loc),
    PolicyAbsent(String, Loc),
    VaultRole(Box<VaultRole>),
    VaultLease(Box<VaultLease>),
    VaultTtl(Box<VaultTtl>),
    Generator(Box<Generator>),
    VaultToken(Box<VaultToken>),
    VaultList(Box<VaultList>),
    VaultStatus(Box<VaultStatus>),
    VaultError(Box<(VaultError, Loc)>),
    Audit(Box<AuditEvent>),
    /// A KV secret's metadata and key names (never its values).
    VaultSecret(Box<VaultSecretMeta>),
    /// An auth method's configuration (`vault read auth/M/config`).
    VaultAuthConfig(Box<VaultAuthConfig>),
    /// The mount list (`vault secrets list`, or `vault auth list` when `auth`) was collected.
    MountsListed {
        auth: bool,
    },
    /// Objects of `kind` were collected in `namespace` (`None`: in every namespace).
    Covered {
        kind: Kind,
        namespace: Option<String>,
    },
    /// Objects of `kind` could not be collected in `namespace` (troubleshoot errors, RBAC).
    NotCollected {
        kind: Kind,
        namespace: Option<String>,
        reason: String,
    },
    /// The bundle manifest.
    Manifest {
        captured_at: Option<Time>,
        cluster: Option<String>,
        loc: Loc,
    },
    /// A capture time with weaker authority than the manifest (a troubleshoot archive name).
    CaptureHint(Time, Loc),
}

/// Facts of the larger kinds are boxed, so that a fleet's hundred thousand facts cost a
/// pointer each rather than the size of the largest one; `Fact::from(x)` boxes.
macro_rules! boxed_fact {
    ($($kind:ident),*) => {$(
        impl From<$kind> for Fact {
            fn from(x: $kind) -> Fact {
                Fact::$kind(Box::new(x))
            }
        }
    )*};
}
boxed_fact!(
    ServiceAccount,
    Namespace,
    VaultMount,
    VaultPolicy,
    VaultRole,
    VaultLease,
    VaultTtl,
    VaultToken,
    VaultList,
    VaultStatus
);

/// Whether an object referenced by something else is in the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Present,
    /// Its kind and namespace were collected and it is not there.
    Missing,
    /// Its kind and namespace were not collected: nothing can be said.
    Unknown,
}

/// Which kinds and namespaces the bundle holds, and which it could not collect.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    /// (kind, namespace); a `None` namespace means every namespace.
    pub collected: BTreeSet<(Kind, Option<String>)>,
    pub not_collected: BTreeMap<(Kind, Option<String>), String>,
}

impl Coverage {
    pub fn is_collected(&self, kind: Kind, namespace: Option<&str>) -> bool {
        let ns = namespace.map(str::to_string);
        if self.not_collected.contains_key(&(kind, ns.clone())) {
            return false;
        }
        self.collected.contains(&(kind, None)) || self.collected.contains(&(kind, ns))
    }
}

/// Where the capture time came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    Manifest,
    AsOf,
    ArchiveName,
    /// The newest timestamp in the bundle.
    Inferred,
    /// No timestamp anywhere: the Unix epoch, and every age-based rule is unreliable.
    None,
}

/// Everything the bundle says, merged, with its capture time.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub captured_at: Time,
    pub capture_source: CaptureSource,
    /// Where the capture time was read (the manifest line, or the newest timestamp).
    pub capture_loc: Option<Loc>,
    pub cluster: Option<String>,
    /// The large kinds are kept in the boxes ingest made them in: copied out into one vector
    /// each, a fleet's objects were tens of megabytes of fresh memory the kernel had to fault
    /// in, a fifth of building the snapshot.
    pub pods: Vec<Box<Pod>>,
    pub secrets: Vec<Box<Secret>>,
    pub service_accounts: Vec<ServiceAccount>,
    pub namespaces: Vec<Namespace>,
    pub workloads: Vec<Box<Workload>>,
    pub events: Vec<Event>,
    pub external_secrets: Vec<Box<ExternalSecret>>,
    pub stores: Vec<SecretStore>,
    /// VSO VaultConnections (their address and validity are folded into the VaultAuths).
    pub vault_connections: Vec<VaultConnection>,
    pub generators: Vec<Generator>,
    pub vault: VaultState,
    pub coverage: Coverage,
    /// Conflicts found while merging duplicate objects.
    pub conflicts: Vec<String>,
    pub(crate) index: Index,
}

impl Snapshot {
    pub fn secret(&self, namespace: &str, name: &str) -> Option<&Secret> {
        self.index
            .secrets
            .get(namespace, name)
            .map(|&i| &*self.secrets[i])
    }

    /// The position of `es` among this snapshot's sync objects when it is one of them (the
    /// position it holds, checked by address: the caches kept by position are read without a
    /// lookup, by name or by address, in a table a fleet's caches do not hold).
    pub(crate) fn es_position(&self, es: &ExternalSecret) -> Option<usize> {
        let at = es.position as usize;
        let held = self.external_secrets.get(at)?;
        std::ptr::eq(&**held, es).then_some(at)
    }

    /// The Secret a sync object writes (its target, in its own namespace), if the bundle
    /// has it. Worked out once per sync object of this snapshot: the rules ask for it many
    /// times, and each lookup by name misses the caches on a fleet.
    pub fn target_of(&self, es: &ExternalSecret) -> Option<&Secret> {
        let at = self
            .es_position(es)
            .and_then(|i| self.index.es_target.get(i));
        match at {
            Some(at) => at.map(|i| &*self.secrets[i]),
            None => es
                .meta
                .namespace
                .as_deref()
                .and_then(|ns| self.secret(ns, &es.target_name)),
        }
    }

    /// A workload by kind, namespace and name. The workloads are kept sorted by that key
    /// (see [`Snapshot::build`]): a binary search, not a scan.
    pub fn workload(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Workload> {
        let key = (kind, namespace, name);
        self.workloads
            .binary_search_by(|w| {
                (
                    w.kind.as_str(),
                    w.meta.namespace.as_deref(),
                    w.meta.name.as_str(),
                )
                    .cmp(&key)
            })
            .ok()
            .map(|i| &*self.workloads[i])
    }

    /// An ESO ExternalSecret.
    pub fn external_secret(&self, namespace: &str, name: &str) -> Option<&ExternalSecret> {
        self.sync_object(Kind::ExternalSecret, namespace, name)
    }

    /// A sync object of any source, by its kind.
    pub fn sync_object(&self, kind: Kind, namespace: &str, name: &str) -> Option<&ExternalSecret> {
        self.index
            .ess
            .get(&kind)
            .and_then(|m| m.get(namespace, name))
            .map(|&i| &*self.external_secrets[i])
    }

    /// The store a sync object refers to, resolving the kind as its controller does.
    pub fn store_for(&self, es: &ExternalSecret) -> Option<&SecretStore> {
        // a sync object of this snapshot has its store worked out already (the rules ask for
        // it many times per object, and each lookup hashes and compares names across a
        // fleet-sized table no cache holds); any other is looked up
        let at = self
            .es_position(es)
            .and_then(|i| self.index.es_store.get(i));
        match at {
            Some(at) => at.map(|i| &self.stores[i]),
            None => self.index.store_of(es).map(|i| &self.stores[i]),
        }
    }

    /// The store a subject names (`kind`, namespace, name), by the index.
    pub fn store_by(&self, o: &ObjRef) -> Option<&SecretStore> {
        self.index
            .stores
            .get(o.kind.as_str())?
            .get(o.namespace.as_deref().unwrap_or(""), &o.name)
            .map(|&i| &self.stores[i])
    }

    /// The sync objects that use `store` (through [`Snapshot::store_for`]), in snapshot order.
    pub fn users_of(&self, store: &SecretStore) -> Vec<&ExternalSecret> {
        let at = crate::graph::derive::position_in(&self.stores, store);
        at.and_then(|i| self.index.store_users.get(i))
            .map(|v| v.iter().map(|&i| &*self.external_secrets[i]).collect())
            .unwrap_or_default()
    }

    /// The sync objects (of any source) whose target is this Secret.
    pub fn producers_of(&self, namespace: &str, secret: &str) -> Vec<&ExternalSecret> {
        self.index
            .producers
            .get(namespace, secret)
            .map(|v| v.iter().map(|&i| &*self.external_secrets[i]).collect())
            .unwrap_or_default()
    }

    /// Events about one object, oldest first.
    pub fn events_for(&self, kind: &str, namespace: Option<&str>, name: &str) -> Vec<&Event> {
        self.index
            .events
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
            .and_then(|(_, m)| m.get(name))
            .map(|v| {
                v.iter()
                    .map(|&i| &self.events[i])
                    .filter(|e| {
                        namespace.is_none()
                            || e.namespace.is_none()
                            || e.namespace.as_deref() == namespace
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Present, missing (collected and absent) or unknown (not collected).
    pub fn presence(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Presence {
        let present = match kind {
            Kind::Secret => namespace.and_then(|ns| self.secret(ns, name)).is_some(),
            Kind::ServiceAccount => match namespace {
                Some(ns) => self.index.sas.get(ns, name).is_some(),
                None => self.index.sas_cluster.contains(name),
            },
            Kind::ExternalSecret
            | Kind::VaultStaticSecret
            | Kind::VaultDynamicSecret
            | Kind::VaultPKISecret
            | Kind::Certificate => namespace
                .and_then(|ns| self.sync_object(kind, ns, name))
                .is_some(),
            Kind::SecretStore
            | Kind::ClusterSecretStore
            | Kind::VaultAuth
            | Kind::SecretProviderClass
            | Kind::Issuer
            | Kind::ClusterIssuer => self.stores.iter().any(|s| {
                s.meta.name == name
                    && s.kind == kind.as_str()
                    && (is_cluster_store(kind.as_str()) || s.meta.namespace.as_deref() == namespace)
            }),
            Kind::VaultPolicy => {
                if self.vault.policies.contains_key(name) {
                    true
                } else if self.vault.policies_absent.contains_key(name) {
                    return Presence::Missing;
                } else if let Some((names, _)) = &self.vault.policy_list {
                    names.iter().any(|n| n == name)
                } else {
                    return Presence::Unknown;
                }
            }
            _ => false,
        };
        if present {
            return Presence::Present;
        }
        let collected = match kind {
            Kind::VaultPolicy => self.vault.policy_list.is_some(),
            Kind::ClusterSecretStore | Kind::ClusterIssuer => {
                self.coverage.is_collected(kind, None)
            }
            _ => self.coverage.is_collected(kind, namespace),
        };
        if collected {
            Presence::Missing
        } else {
            Presence::Unknown
        }
    }
}

/// A hash map with a fast hasher, for lookup tables keyed by names (their order is never
/// observed: whatever is reported is sorted or follows snapshot order).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set with a fast hasher, for membership tests (never iterated).
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Lookup tables built once with the snapshot, so that joins are not quadratic on a fleet.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    secrets: Map2<usize>,
    ess: FastMap<Kind, Map2<usize>>,
    producers: Map2<Vec<usize>>,
    /// kind (as the events spell it; matched ignoring case) -> name -> events about it
    events: Vec<(Name, FastMap<Name, Vec<usize>>)>,
    /// ServiceAccounts by namespace and name, and those read without a namespace
    sas: Map2<()>,
    sas_cluster: std::collections::HashSet<String, foldhash::fast::RandomState>,
    /// Each ExternalSecret's sync state (by position), computed on first use.
    pub(crate) sync: std::sync::OnceLock<Vec<crate::graph::derive::SyncState>>,
    /// Whether Vault is sealed (and where that is said), computed on first use.
    pub(crate) sealed: std::sync::OnceLock<Option<Loc>>,
    /// Stores by kind, then namespace (`""` for cluster-scoped kinds) and name.
    stores: FastMap<String, Map2<usize>>,
    /// The sync objects of each store (by store position).
    store_users: Vec<Vec<usize>>,
    /// Each sync object's store (by sync object position, a store position).
    es_store: Vec<Option<usize>>,
    /// Each sync object's target Secret (by sync object position, a Secret position).
    es_target: Vec<Option<usize>>,
}

impl Index {
    /// The position of the store a sync object refers to, resolving the kind as its controller
    /// does: a cluster-scoped kind by name, else in the namespace the reference names or the
    /// object's own; VSO's default VaultAuth in any namespace (the first in snapshot order).
    fn store_of(&self, es: &ExternalSecret) -> Option<usize> {
        let by_kind = self.stores.get(es.store.kind.as_str())?;
        let ns = if is_cluster_store(&es.store.kind) {
            ""
        } else {
            es.store
                .namespace
                .as_deref()
                .or(es.meta.namespace.as_deref())
                .unwrap_or("")
        };
        by_kind.get(ns, &es.store.name).copied().or_else(|| {
            es.store
                .any_namespace
                .then(|| {
                    by_kind
                        .0
                        .values()
                        .filter_map(|m| m.get(es.store.name.as_str()).copied())
                        .min()
                })
                .flatten()
        })
    }

    /// Builds the tables; those that do not depend on each other are built at once. The
    /// sync objects' two tables are built apart (together they were the longest branch, about
    /// 10 ms on a fleet's 20,000 sync objects), and each sync object's store and target are
    /// looked up on both cores.
    pub(crate) fn build(snap: &Snapshot) -> Index {
        use rayon::prelude::*;
        let ((stores, secrets), ((ess, producers), (events, (sas, sas_cluster)))) = rayon::join(
            || rayon::join(|| Index::stores(snap), || Index::secrets(snap)),
            || {
                rayon::join(
                    || rayon::join(|| Index::sync_objects(snap), || Index::producers(snap)),
                    || rayon::join(|| Index::events(snap), || Index::service_accounts(snap)),
                )
            },
        );
        let mut ix = Index {
            secrets,
            ess,
            producers,
            events,
            sas,
            sas_cluster,
            stores,
            ..Index::default()
        };
        ix.store_users = vec![Vec::new(); snap.stores.len()];
        let ix_ref = &ix;
        let (es_store, es_target) = rayon::join(
            || {
                (snap.external_secrets.par_iter())
                    .map(|e| ix_ref.store_of(e))
                    .collect()
            },
            || {
                (snap.external_secrets.par_iter())
                    .map(|e| {
                        let ns = e.meta.namespace.as_deref()?;
                        ix_ref.secrets.get(ns, &e.target_name).copied()
                    })
                    .collect()
            },
        );
        ix.es_store = es_store;
        ix.es_target = es_target;
        for (i, at) in ix.es_store.iter().enumerate() {
            if let Some(at) = *at {
                ix.store_users[at].push(i);
            }
        }
        ix
    }

    fn stores(snap: &Snapshot) -> FastMap<String, Map2<usize>> {
        let mut stores: FastMap<String, Map2<usize>> = FastMap::default();
        for (i, s) in snap.stores.iter().enumerate() {
            let ns = if is_cluster_store(&s.kind) {
                ""
            } else {
                s.meta.namespace.as_deref().unwrap_or("")
            };
            let by_kind = stores.entry(s.kind.clone()).or_default();
            // the first of two stores with one key wins, as a scan in snapshot order would
            if by_kind.get(ns, &s.meta.name).is_none() {
                by_kind.insert(ns, &s.meta.name, i);
            }
        }
        stores
    }

    fn secrets(snap: &Snapshot) -> Map2<usize> {
        let mut secrets = Map2::default();
        for (i, s) in snap.secrets.iter().enumerate() {
            if let Some(ns) = &s.meta.namespace {
                secrets.insert(ns, &s.meta.name, i);
            }
        }
        secrets
    }

    /// Sync objects by kind, namespace and name.
    fn sync_objects(snap: &Snapshot) -> FastMap<Kind, Map2<usize>> {
        let mut ess: FastMap<Kind, Map2<usize>> = FastMap::default();
        for (i, e) in snap.external_secrets.iter().enumerate() {
            if let Some(ns) = &e.meta.namespace {
                ess.entry(e.kind()).or_default().insert(ns, &e.meta.name, i);
            }
        }
        ess
    }

    /// The sync objects writing each target Secret, in snapshot order.
    fn producers(snap: &Snapshot) -> Map2<Vec<usize>> {
        let mut producers: Map2<Vec<usize>> = Map2::default();
        for (i, e) in snap.external_secrets.iter().enumerate() {
            if let Some(ns) = &e.meta.namespace {
                if e.has_target() {
                    producers.entry(ns, &e.target_name).push(i);
                }
            }
        }
        producers
    }

    fn events(snap: &Snapshot) -> Vec<(Name, FastMap<Name, Vec<usize>>)> {
        let mut events: Vec<(Name, FastMap<Name, Vec<usize>>)> = Vec::new();
        for (i, e) in snap.events.iter().enumerate() {
            let at = match events
                .iter()
                .position(|(k, _)| k.eq_ignore_ascii_case(&e.object_kind))
            {
                Some(at) => at,
                None => {
                    events.push((e.object_kind.clone(), Default::default()));
                    events.len() - 1
                }
            };
            events[at]
                .1
                .entry(e.object_name.clone())
                .or_default()
                .push(i);
        }
        events
    }

    fn service_accounts(
        snap: &Snapshot,
    ) -> (
        Map2<()>,
        std::collections::HashSet<String, foldhash::fast::RandomState>,
    ) {
        let mut sas = Map2::default();
        let mut cluster = std::collections::HashSet::default();
        for s in &snap.service_accounts {
            match &s.meta.namespace {
                Some(ns) => sas.insert(ns, &s.meta.name, ()),
                None => {
                    cluster.insert(s.meta.name.to_string());
                }
            }
        }
        (sas, cluster)
    }
}

/// A map keyed by two strings (namespace, name), looked up without building a key.
#[derive(Clone, Debug)]
pub(crate) struct Map2<V>(FastMap<String, FastMap<String, V>>);

impl<V> Default for Map2<V> {
    fn default() -> Self {
        Map2(Default::default())
    }
}

impl<V> Map2<V> {
    pub(crate) fn get(&self, a: &str, b: &str) -> Option<&V> {
        self.0.get(a)?.get(b)
    }

    pub(crate) fn insert(&mut self, a: &str, b: &str, v: V) {
        self.inner(a).insert(b.to_string(), v);
    }

    pub(crate) fn entry(&mut self, a: &str, b: &str) -> &mut V
    where
        V: Default,
    {
        self.inner(a).entry(b.to_string()).or_default()
    }

    fn inner(&mut self, a: &str) -> &mut FastMap<String, V> {
        if !self.0.contains_key(a) {
            self.0.insert(a.to_string(), Default::default());
        }
        self.0.get_mut(a).expect("inserted above")
    }
}
