//! The dependency graph: typed nodes (the subject kinds) and typed edges from a dependent to
//! what it depends on (Pod -> Secret -> ExternalSecret -> store -> role -> policy -> path).
//!
//! An edge to something missing stays in the graph as a broken edge; an edge whose far end
//! works but is out of date is stale. Each edge carries the evidence that created it and the
//! last time it is known to have worked. petgraph types do not leave this module.

pub mod access;
pub mod derive;
mod plan;

use crate::acl::Acl;
use crate::model::*;
use access::{MountProblem, Purpose};
use derive::{es_sync, last_write, store_is_ready, store_ready};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use plan::{Add, Plan};
use serde::Serialize;
use std::hash::BuildHasher;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    PullsWith,
    EnvFrom,
    Mounts,
    SyncedBy,
    UsesStore,
    AuthenticatesAs,
    BoundToRole,
    RoleGrantsPolicy,
    PolicyGrantsPath,
    ReadsPath,
    IssuedByMount,
    /// A role to the auth mount it lives on.
    UsesAuthMount,
    /// A store to the Vault server it talks to.
    ServedBy,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::PullsWith => "pulls-with",
            EdgeKind::EnvFrom => "env-from",
            EdgeKind::Mounts => "mounts",
            EdgeKind::SyncedBy => "synced-by",
            EdgeKind::UsesStore => "uses-store",
            EdgeKind::AuthenticatesAs => "authenticates-as",
            EdgeKind::BoundToRole => "bound-to-role",
            EdgeKind::RoleGrantsPolicy => "role-grants-policy",
            EdgeKind::PolicyGrantsPath => "policy-grants-path",
            EdgeKind::ReadsPath => "reads-path",
            EdgeKind::IssuedByMount => "issued-by-mount",
            EdgeKind::UsesAuthMount => "uses-auth-mount",
            EdgeKind::ServedBy => "served-by",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum EdgeStatus {
    Ok,
    /// The far end is missing or refuses.
    Broken(String),
    /// The far end exists but the link stopped refreshing.
    Stale(String),
    /// Not enough evidence either way.
    Unknown,
}

impl EdgeStatus {
    pub fn is_bad(&self) -> bool {
        matches!(self, EdgeStatus::Broken(_) | EdgeStatus::Stale(_))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Node {
    pub obj: ObjRef,
    pub presence: Presence,
}

#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    pub status: EdgeStatus,
    pub evidence: Vec<Loc>,
    /// The last time this link is known to have worked.
    pub fresh_at: Option<Time>,
}

/// A view of one edge for callers outside this module.
#[derive(Clone, Debug)]
pub struct EdgeView<'g> {
    pub from: &'g ObjRef,
    pub to: &'g ObjRef,
    pub to_presence: Presence,
    pub edge: &'g Edge,
}

pub struct Graph {
    g: DiGraph<Node, Edge>,
    /// Node by subject: the nodes' positions, hashed by the subject each node holds (a map
    /// keyed by the subject kept a second copy of every one; hashed, because ordered lookups
    /// compared long names on every step).
    index: hashbrown::HashTable<NodeIndex>,
    hasher: foldhash::fast::RandomState,
}

/// About how many nodes and edges the graph of `snap` has, at most: a node per object, per
/// path a sync object reads and per policy; an edge per Secret a pod reads (and its service
/// account and CSI volume), and per sync object its target and store, and three per path it
/// reads (the path, its policy, its mount). The tables are sized once from this: grown by
/// doubling, a fleet's edge table was copied twice into fresh, larger memory (every page of
/// it faulted in by the kernel), and ended half empty. A little too much costs nothing:
/// memory never written is never faulted in. Without the pods' nodes and edges unless
/// `pods`.
fn expected_size(snap: &Snapshot, pods: bool) -> (usize, usize) {
    let pods: &[Box<Pod>] = if pods { &snap.pods } else { &[] };
    let pod_edges: usize = (pods.iter())
        .map(|p| {
            let in_containers: usize = (p.containers.iter())
                .map(|c| c.env_secret_refs.len() + c.env_from_secrets.len())
                .sum();
            let in_volumes: usize = p.volumes.iter().map(|v| v.secrets.len() + 1).sum();
            p.image_pull_secrets.len() + in_containers + in_volumes + 1
        })
        .sum();
    let paths: usize = (snap.external_secrets.iter())
        .map(|e| e.data.len() + e.data_from.len())
        .sum();
    let roles = snap.vault.roles.len();
    let grants: usize = snap
        .vault
        .roles
        .values()
        .map(|r| r.policies.len() + 1)
        .sum();
    let nodes = pods.len()
        + snap.secrets.len()
        + snap.service_accounts.len()
        + snap.external_secrets.len()
        + snap.stores.len()
        + roles
        + snap.vault.policies.len()
        + paths;
    let edges =
        pod_edges + 2 * snap.external_secrets.len() + 3 * paths + 4 * snap.stores.len() + grants;
    (nodes, edges)
}

impl Graph {
    /// The node of `obj`, if it has one.
    fn find(&self, obj: &ObjRef) -> Option<NodeIndex> {
        let hash = self.hasher.hash_one(obj);
        self.index.find(hash, |&i| self.g[i].obj == *obj).copied()
    }

    fn node(&mut self, obj: ObjRef, presence: Presence) -> NodeIndex {
        let hash = self.hasher.hash_one(&obj);
        self.node_hashed(hash, obj, presence)
    }

    /// [`Graph::node`], with the hash of `obj` already worked out.
    fn node_hashed(&mut self, hash: u64, obj: ObjRef, presence: Presence) -> NodeIndex {
        let Graph { g, index, hasher } = self;
        match index.entry(hash, |&i| g[i].obj == obj, |&i| hasher.hash_one(&g[i].obj)) {
            hashbrown::hash_table::Entry::Occupied(e) => *e.get(),
            hashbrown::hash_table::Entry::Vacant(e) => {
                let i = g.add_node(Node { obj, presence });
                e.insert(i);
                i
            }
        }
    }

    fn edge(&mut self, from: NodeIndex, to: NodeIndex, e: Edge) {
        self.g.add_edge(from, to, e);
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.g.node_weights()
    }

    pub fn edges(&self) -> impl Iterator<Item = EdgeView<'_>> {
        self.g.edge_references().map(|e| EdgeView {
            from: &self.g[e.source()].obj,
            to: &self.g[e.target()].obj,
            to_presence: self.g[e.target()].presence,
            edge: e.weight(),
        })
    }

    /// Edges leaving `obj`, in a stable order.
    pub fn out_edges(&self, obj: &ObjRef) -> Vec<EdgeView<'_>> {
        let Some(i) = self.find(obj) else {
            return Vec::new();
        };
        let mut v: Vec<EdgeView> = self
            .g
            .edges(i)
            .map(|e| EdgeView {
                from: &self.g[e.source()].obj,
                to: &self.g[e.target()].obj,
                to_presence: self.g[e.target()].presence,
                edge: e.weight(),
            })
            .collect();
        v.sort_by(|a, b| (a.edge.kind, a.to).cmp(&(b.edge.kind, b.to)));
        v
    }

    /// Edges arriving at `obj`.
    pub fn in_edges(&self, obj: &ObjRef) -> Vec<EdgeView<'_>> {
        let Some(i) = self.find(obj) else {
            return Vec::new();
        };
        let mut v: Vec<EdgeView> = self
            .g
            .edges_directed(i, petgraph::Direction::Incoming)
            .map(|e| EdgeView {
                from: &self.g[e.source()].obj,
                to: &self.g[e.target()].obj,
                to_presence: self.g[e.target()].presence,
                edge: e.weight(),
            })
            .collect();
        v.sort_by(|a, b| (a.edge.kind, a.from).cmp(&(b.edge.kind, b.from)));
        v
    }

    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    /// Builds the graph from a snapshot.
    pub fn build(snap: &Snapshot) -> Graph {
        Graph::build_with(snap, true)
    }

    /// The graph a diagnosis walks from `subjects` (the subjects of the findings):
    /// [`Graph::build`] without the edges a pod's own plan adds for the pods that are not
    /// among them. No edge leads to a pod, so the only pod a walk sees is the one it starts
    /// from, and a walk from any of `subjects` follows exactly the edges it follows in the
    /// whole graph. A fleet's pods are a third of its objects and most of its edges, and
    /// few of them are in a finding.
    ///
    /// `without_pods` is [`Graph::build_without_pods`] of the same snapshot.
    pub fn for_diagnosis<'s>(
        snap: &Snapshot,
        without_pods: Graph,
        subjects: impl IntoIterator<Item = &'s ObjRef>,
    ) -> Graph {
        let subjects: std::collections::HashSet<(Option<&str>, &str), foldhash::fast::RandomState> =
            subjects
                .into_iter()
                .filter(|s| s.kind == Kind::Pod)
                .map(|s| (s.namespace.as_deref(), s.name.as_str()))
                .collect();
        let pods: Vec<&Pod> = (snap.pods.iter())
            .map(|p| &**p)
            .filter(|p| subjects.contains(&(p.meta.namespace.as_deref(), p.meta.name.as_str())))
            .collect();
        let mut gr = without_pods;
        gr.add_pods(snap, &pods);
        gr
    }

    /// [`Graph::build`] without the pods' edges (see [`Graph::for_diagnosis`]).
    pub fn build_without_pods(snap: &Snapshot) -> Graph {
        Graph::build_with(snap, false)
    }

    /// A pod's edges: to the Secrets it reads and pulls with (planned for many pods at
    /// once), then to the SecretProviderClasses its CSI volumes mount.
    fn add_pods(&mut self, snap: &Snapshot, pods: &[&Pod]) {
        let gr = self;
        let kref = |k: Kind, ns: &Option<Name>, n: &str| ObjRef::new(k, ns.as_deref(), n);
        // Pod -> Secret
        gr.in_parallel(pods, |gr, p| plan_pod(snap, gr, p), |()| {});

        // Pod -> SecretProviderClass (a CSI volume)
        for p in pods {
            let ns = p.meta.namespace.as_deref();
            let Some(n) = ns else { continue };
            for v in &p.volumes {
                let Some(class) = &v.csi_provider_class else {
                    continue;
                };
                let Some(es) = snap.sync_object(Kind::SecretProviderClass, n, class) else {
                    continue;
                };
                let sync = es_sync(snap, es);
                let failures: Vec<&Event> = snap
                    .events_for("Pod", ns, &p.meta.name)
                    .into_iter()
                    .filter(|e| crate::model::link::is_csi_mount_failure(e))
                    .collect();
                let status = match failures.last() {
                    Some(e) => EdgeStatus::Broken(format!(
                        "the CSI driver cannot mount SecretProviderClass {class}: {}",
                        VaultError::parse(&e.message)
                            .map(|v| v.summary())
                            .unwrap_or_else(|| "FailedMount".into())
                    )),
                    None if p.phase.as_deref() == Some("Running") => EdgeStatus::Ok,
                    None => EdgeStatus::Unknown,
                };
                let from = gr.node(
                    kref(Kind::Pod, &p.meta.namespace, &p.meta.name),
                    Presence::Present,
                );
                let to = gr.node(es.obj(), Presence::Present);
                let mut evidence: Vec<Loc> = failures.iter().map(|e| e.loc.clone()).collect();
                evidence.truncate(3);
                evidence.insert(0, p.meta.loc.clone());
                gr.edge(
                    from,
                    to,
                    Edge {
                        kind: EdgeKind::Mounts,
                        status,
                        evidence,
                        fresh_at: sync.last_success.as_ref().map(|x| x.0).or(p.start_time),
                    },
                );
            }
        }
    }

    /// [`Graph::build`], with the pods' edges when `pods`.
    fn build_with(snap: &Snapshot, pods: bool) -> Graph {
        let (objects, edges) = expected_size(snap, pods);
        let mut gr = Graph {
            g: DiGraph::with_capacity(objects, edges),
            index: hashbrown::HashTable::with_capacity(objects),
            hasher: Default::default(),
        };
        let mut denied: Vec<Denied> = Vec::new();
        // paths read with another capability than `read` (find lists, metadata, PKI signing):
        // the capability each path is read with (first one wins)
        let mut needs: FastMap<String, &'static str> = FastMap::default();

        if pods {
            let all: Vec<&Pod> = snap.pods.iter().map(|p| &**p).collect();
            gr.add_pods(snap, &all);
        }

        // Secret -> ExternalSecret -> store -> role -> policy, ExternalSecret -> path
        gr.in_parallel(
            &snap.external_secrets,
            |gr, es| plan_external_secret(snap, gr, es),
            |(refused, read)| {
                denied.extend(refused);
                for (path, capability) in read {
                    needs.entry(path).or_insert(capability);
                }
            },
        );

        // store -> service account, store -> role
        // whether every login on an auth mount fails, asked once per mount (not per store)
        let rejects: FastMap<&str, bool> = snap
            .stores
            .iter()
            .filter_map(|s| match &s.vault.as_ref()?.auth {
                VaultAuth::Kubernetes { mount_path, .. } => Some(mount_path.as_str()),
                _ => None,
            })
            .filter(|m| !auth_mount_missing(snap, m))
            .collect::<std::collections::BTreeSet<&str>>()
            .into_iter()
            .map(|m| (m, access::mount_rejects_logins(snap, m).is_some()))
            .collect();
        gr.in_parallel(
            &snap.stores,
            |gr, s| plan_store(snap, gr, s, &rejects),
            |()| {},
        );

        // role -> policy, policy -> path
        for r in snap.vault.roles.values() {
            let role_name = format!("{}/{}", r.mount, r.name);
            let r_i = gr.node(
                ObjRef::new(Kind::VaultRole, None, &role_name),
                Presence::Present,
            );
            if !r.no_default_policy && !r.policies.iter().any(|(p, _)| p == "default") {
                if let Some(d) = snap.vault.policies.get("default") {
                    let p_i = gr.node(
                        ObjRef::new(Kind::VaultPolicy, None, "default"),
                        Presence::Present,
                    );
                    gr.edge(
                        r_i,
                        p_i,
                        Edge {
                            kind: EdgeKind::RoleGrantsPolicy,
                            status: EdgeStatus::Ok,
                            evidence: vec![d.loc.clone()],
                            fresh_at: None,
                        },
                    );
                }
            }
            for (p, loc) in &r.policies {
                let presence = snap.presence(Kind::VaultPolicy, None, p);
                let p_i = gr.node(ObjRef::new(Kind::VaultPolicy, None, p), presence);
                let status = match presence {
                    Presence::Present => EdgeStatus::Ok,
                    Presence::Missing => EdgeStatus::Broken(format!("policy {p} does not exist")),
                    Presence::Unknown => EdgeStatus::Unknown,
                };
                let mut ev = vec![loc.clone()];
                if let Some((_, l)) = &snap.vault.policy_list {
                    ev.push(l.clone());
                }
                if let Some(l) = snap.vault.policies_absent.get(p) {
                    ev.push(l.clone());
                }
                gr.edge(
                    r_i,
                    p_i,
                    Edge {
                        kind: EdgeKind::RoleGrantsPolicy,
                        status,
                        evidence: ev,
                        fresh_at: None,
                    },
                );
            }
        }
        // every path node, in name order, with its place: a path's plan names its node
        // without looking it up again
        let mut path_refs: Vec<(&ObjRef, NodeIndex)> = (gr.g.node_indices())
            .map(|i| (&gr.g[i].obj, i))
            .filter(|(o, _)| o.kind == Kind::VaultPath)
            .collect();
        path_refs.sort_unstable();
        let paths: Vec<(Name, NodeIndex)> = (path_refs.into_iter())
            .map(|(o, i)| (o.name.clone(), i))
            .collect();
        // index policy rules by their literal prefix up to a path boundary, so each path is
        // checked only against the policies that could match it (fleets: thousands of each)
        let policies: Vec<&VaultPolicy> = snap.vault.policies.values().collect();
        let mut by_prefix: FastMap<&str, Vec<usize>> = FastMap::default();
        let mut slow: Vec<usize> = Vec::new();
        for (pi, pol) in policies.iter().enumerate() {
            for r in &pol.rules {
                let key = r.path.strip_prefix('/').unwrap_or(&r.path);
                let lit_end = key.find(['*', '+', '{']).unwrap_or(key.len());
                let lit = &key[..lit_end];
                if lit_end == key.len() || lit.is_empty() || lit.ends_with('/') {
                    by_prefix.entry(lit).or_default().push(pi);
                } else {
                    slow.push(pi);
                }
            }
        }
        let acls: Vec<Acl> = policies.iter().map(|p| Acl::new(&[*p])).collect();
        gr.in_parallel(
            &paths,
            |gr, (path, at)| {
                let cap = needs.get(path.as_str()).copied().unwrap_or("read");
                let mut cands: Vec<usize> = slow.clone();
                let mut push = |k: &str| {
                    if let Some(v) = by_prefix.get(k) {
                        cands.extend(v);
                    }
                };
                push("");
                for (i, c) in path.char_indices() {
                    if c == '/' {
                        push(&path[..=i]);
                    }
                }
                push(path);
                let with_slash = format!("{path}/");
                push(&with_slash);
                cands.sort_unstable();
                cands.dedup();
                for pi in cands {
                    let pol = policies[pi];
                    let d = acls[pi].check(path, cap);
                    if d.allowed {
                        let p_i = gr.node(
                            ObjRef::new(Kind::VaultPolicy, None, &pol.name),
                            Presence::Present,
                        );
                        let path_i = gr.known(*at);
                        let ev = d.rule.map(|r| vec![r.loc.clone()]).unwrap_or_default();
                        gr.edge(
                            p_i,
                            path_i,
                            Edge {
                                kind: EdgeKind::PolicyGrantsPath,
                                status: EdgeStatus::Ok,
                                evidence: ev,
                                fresh_at: None,
                            },
                            Add::Always,
                        );
                    }
                }
            },
            |()| {},
        );
        // the role's policies refuse a path: the policy to blame, with the ACL's reason
        for (policy, path, why, evidence) in denied {
            let p_i = gr.node(
                ObjRef::new(Kind::VaultPolicy, None, &policy),
                Presence::Present,
            );
            let path_i = gr.node(ObjRef::new(Kind::VaultPath, None, &path), Presence::Present);
            if gr.g.find_edge(p_i, path_i).is_none() {
                gr.edge(
                    p_i,
                    path_i,
                    Edge {
                        kind: EdgeKind::PolicyGrantsPath,
                        status: EdgeStatus::Broken(why),
                        evidence,
                        fresh_at: None,
                    },
                );
            }
        }
        gr
    }
}

/// (policy, path, why, evidence): the role's policies refuse a path an ExternalSecret reads.
type Denied = (String, String, String, Vec<Loc>);

/// A Pod's edges to the Secrets it pulls images with, reads env from and mounts.
fn plan_pod(snap: &Snapshot, gr: &mut Plan<'_>, p: &Pod) {
    let kref = |k: Kind, ns: &Option<Name>, n: &str| ObjRef::new(k, ns.as_deref(), n);
    let pod = gr.node(
        kref(Kind::Pod, &p.meta.namespace, &p.meta.name),
        Presence::Present,
    );
    let ns = p.meta.namespace.as_deref();
    // (edge, secret, keys read, where)
    let mut refs: Vec<(EdgeKind, Name, Vec<Name>, Loc)> = Vec::new();
    for (s, l) in &p.image_pull_secrets {
        refs.push((EdgeKind::PullsWith, s.clone(), vec![], l.clone()));
    }
    for c in &p.containers {
        for r in c.env_secret_refs.iter().filter(|r| !r.optional) {
            refs.push((
                EdgeKind::EnvFrom,
                r.secret.clone(),
                vec![r.key.clone()],
                r.loc.clone(),
            ));
        }
        for r in &c.env_from_secrets {
            refs.push((EdgeKind::EnvFrom, r.secret.clone(), vec![], r.loc.clone()));
        }
    }
    for v in &p.volumes {
        for s in &v.secrets {
            refs.push((
                EdgeKind::Mounts,
                s.secret.clone(),
                s.items.clone(),
                s.loc.clone(),
            ));
        }
    }
    let kubelet = derive::secret_failure(snap, p);
    for (kind, name, keys, loc) in refs {
        // one lookup by name: a Secret found is present
        let secret = ns.and_then(|n| snap.secret(n, &name));
        let presence = match secret {
            Some(_) => Presence::Present,
            None => snap.presence(Kind::Secret, ns, &name),
        };
        let kubelet_missing = kubelet
            .as_ref()
            .filter(|f| f.secret.as_deref() == Some(name.as_str()));
        let to = gr.node(ObjRef::new(Kind::Secret, ns, &name), presence);
        let status = match (presence, secret) {
            (_, Some(s)) => {
                let missing_key = keys
                    .iter()
                    .find(|k| !k.is_empty() && !s.keys.is_empty() && !s.keys.contains(k))
                    .map(|k| k.as_str())
                    .or(kubelet_missing.and_then(|f| f.key.as_deref()));
                let bad_type = kind == EdgeKind::PullsWith
                    && s.type_.as_deref().is_some_and(|t| {
                        t != "kubernetes.io/dockerconfigjson" && t != "kubernetes.io/dockercfg"
                    });
                match (missing_key, bad_type) {
                    (Some(k), _) => EdgeStatus::Broken(format!("key {k} is not in Secret {name}")),
                    (None, true) => EdgeStatus::Broken(format!(
                        "kubelet ignores Secret {name} for pulls: its type is {}",
                        s.type_.as_deref().unwrap_or("unknown")
                    )),
                    _ => EdgeStatus::Ok,
                }
            }
            (Presence::Missing, None) => {
                EdgeStatus::Broken(format!("Secret {name} does not exist"))
            }
            (_, None) if kubelet_missing.is_some_and(|f| f.key.is_none()) => {
                EdgeStatus::Broken(format!("kubelet cannot find Secret {name}"))
            }
            _ => EdgeStatus::Unknown,
        };
        gr.edge(
            pod,
            to,
            Edge {
                kind,
                status,
                evidence: vec![loc],
                fresh_at: p.start_time,
            },
            Add::UnlessSameKind,
        );
    }
}

/// An ExternalSecret's edges: Secret -> ExternalSecret -> store, ExternalSecret -> path ->
/// mount. Also returns the paths the role's policies refuse, as (policy, path, why,
/// evidence), and the paths read with another capability than `read`.
fn plan_external_secret(
    snap: &Snapshot,
    gr: &mut Plan<'_>,
    es: &ExternalSecret,
) -> (Vec<Denied>, Vec<(String, &'static str)>) {
    let cap = snap.captured_at;
    let mut denied: Vec<Denied> = Vec::new();
    let mut needs: Vec<(String, &'static str)> = Vec::new();
    let ns = es.meta.namespace.as_deref();
    let es_i = gr.node(es.obj(), Presence::Present);
    let sync = es_sync(snap, es);
    let secret = snap.target_of(es);
    let written = secret.and_then(|s| last_write(s, cap));
    let status = match sync.failing {
        Some(true) => EdgeStatus::Stale(format!(
            "sync failing{}",
            sync.since
                .as_ref()
                .map(|(t, _)| format!(" since {}", time::fmt_time(*t)))
                .unwrap_or_default()
        )),
        Some(false) => EdgeStatus::Ok,
        None => EdgeStatus::Unknown,
    };
    let mut ev: Vec<Loc> = sync.evidence.clone();
    if let Some((_, l, _)) = written {
        ev.push(l.clone());
    }
    if es.has_target() {
        // the target found by the snapshot's table is present, with no lookup by name
        let sp = match secret {
            Some(_) => Presence::Present,
            None => snap.presence(Kind::Secret, ns, &es.target_name),
        };
        let sec_i = gr.node(ObjRef::new(Kind::Secret, ns, &es.target_name), sp);
        gr.edge(
            sec_i,
            es_i,
            Edge {
                kind: EdgeKind::SyncedBy,
                status,
                evidence: ev,
                fresh_at: sync.last_success.as_ref().map(|x| x.0),
            },
            Add::Always,
        );
    }

    let store_kind = store_kind(&es.store.kind);
    let store = snap.store_for(es);
    let store_ref = match store {
        Some(s) => s.obj(),
        None => {
            let store_ns = if is_cluster_store(&es.store.kind) {
                None
            } else {
                es.store.namespace.as_deref().or(ns)
            };
            ObjRef::new(store_kind, store_ns, &es.store.name)
        }
    };
    let presence = snap.presence(store_kind, store_ref.namespace.as_deref(), &es.store.name);
    let own_store = store_ref == es.obj();
    let st_i = gr.node(store_ref, presence);
    let status = match (store, presence) {
        // the words only for a store that is not ready: a fleet's one store is asked per
        // sync object
        (Some(s), _) => match store_is_ready(s) {
            Some(true) => EdgeStatus::Ok,
            Some(false) => EdgeStatus::Broken(format!(
                "store not ready: {}",
                store_ready(s).map(|r| r.1).unwrap_or_default()
            )),
            None => EdgeStatus::Unknown,
        },
        (None, Presence::Missing) => EdgeStatus::Broken(format!(
            "{} {} does not exist",
            store_kind.as_str(),
            es.store.name
        )),
        _ => EdgeStatus::Unknown,
    };
    // a SecretProviderClass or an injected Pod is its own store: no edge to itself
    if !own_store {
        gr.edge(
            es_i,
            st_i,
            Edge {
                kind: EdgeKind::UsesStore,
                status,
                evidence: vec![es.store.loc.clone()],
                fresh_at: None,
            },
            Add::Always,
        );
    }

    // paths read, each with the mount it lives on and, when the role's policies
    // refuse it, the policy to blame
    if let Some(store) = store {
        let acl_relevant = access::acl_can_explain(snap, es);
        let verdicts = if acl_relevant {
            access::verdicts(snap, es)
                .ok()
                .flatten()
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        // the sync's error says the secret is gone from Vault: the same for every path read
        let gone = sync.detail.as_deref().is_some_and(|d| {
            let d = d.to_ascii_lowercase();
            d.contains("secret does not exist") || d.contains("deletionpolicy=delete")
        });
        for req in access::requests(store, es) {
            let path = req.path.clone();
            let p_i = gr.node(ObjRef::new(Kind::VaultPath, None, &path), Presence::Present);
            let status = match (&sync.failing, &sync.vault_error) {
                (Some(true), _) if gone => {
                    EdgeStatus::Broken("the secret does not exist in Vault".into())
                }
                (Some(true), Some((e, _))) if e.path.as_deref().is_none_or(|p| p == path) => {
                    EdgeStatus::Broken(e.summary())
                }
                (Some(false), _) => EdgeStatus::Ok,
                _ => EdgeStatus::Unknown,
            };
            let mut ev = vec![req.loc.clone()];
            if let Some((_, l)) = &sync.vault_error {
                ev.push(l.clone());
            }
            gr.edge(
                es_i,
                p_i,
                Edge {
                    kind: EdgeKind::ReadsPath,
                    status,
                    evidence: ev,
                    fresh_at: sync.last_success.as_ref().map(|x| x.0),
                },
                Add::Always,
            );
            let problem = access::mount_problem(snap, store, es, &path);
            let failing = sync.failing == Some(true);
            match (&problem, derive::mount_of(snap, &path)) {
                (Some(MountProblem::Missing { mount }), _) => {
                    let m_i = gr.node(
                        ObjRef::new(Kind::VaultMount, None, mount),
                        Presence::Missing,
                    );
                    gr.edge(
                        p_i,
                        m_i,
                        Edge {
                            kind: EdgeKind::IssuedByMount,
                            status: EdgeStatus::Broken(format!(
                                "no secrets engine is mounted at {mount}/"
                            )),
                            evidence: vec![req.loc.clone()],
                            fresh_at: None,
                        },
                        Add::UnlessJoined,
                    );
                }
                (_, Some(m)) => {
                    let m_i = gr.node(
                        ObjRef::new(Kind::VaultMount, None, &m.path),
                        Presence::Present,
                    );
                    let status = match &problem {
                        Some(MountProblem::Version {
                            store: sv,
                            mount_version: mv,
                            ..
                        }) if failing => EdgeStatus::Broken(format!(
                            "the store reads KV v{sv} but mount {} is KV v{mv}",
                            m.path
                        )),
                        _ => EdgeStatus::Ok,
                    };
                    gr.edge(
                        p_i,
                        m_i,
                        Edge {
                            kind: EdgeKind::IssuedByMount,
                            status,
                            evidence: vec![m.loc.clone()],
                            fresh_at: None,
                        },
                        Add::UnlessJoinedElseWorsen,
                    );
                }
                _ => {}
            }
            if problem.is_some() {
                continue;
            }
            let denial = verdicts
                .iter()
                .find(|v| v.request.path == path && v.request.capability == req.capability)
                .and_then(|v| v.denial.as_ref());
            if let Some(d) = denial {
                if let Some(policy) = d.policy() {
                    let mut ev: Vec<Loc> = Vec::new();
                    match d {
                        crate::acl::explain::Denial::Shadowed { by, grant, .. } => {
                            ev.push(by.loc.clone());
                            ev.push(grant.loc.clone());
                        }
                        crate::acl::explain::Denial::KvV1Layout { grant, .. } => {
                            ev.push(grant.loc.clone())
                        }
                        crate::acl::explain::Denial::Malformed { rule, .. } => {
                            ev.push(rule.loc.clone())
                        }
                        crate::acl::explain::Denial::MetadataNotGranted { data_grant, .. } => {
                            ev.push(data_grant.loc.clone())
                        }
                        crate::acl::explain::Denial::NotGranted {
                            decided_by: Some(r),
                        } => ev.push(r.loc.clone()),
                        _ => {}
                    }
                    ev.retain(Loc::is_known);
                    denied.push((
                        policy.to_string(),
                        path.clone(),
                        d.describe(&path, req.capability),
                        ev,
                    ));
                }
            }
            // a data request is a `read`, except on the other delivery paths (a PKI
            // sign or issue path is an `update`)
            if req.purpose != Purpose::Data || req.capability != "read" {
                needs.push((path.clone(), req.capability));
            }
        }
    }
    (denied, needs)
}

/// A store's edges: to the ServiceAccount and Vault role it logs in with (and the role to
/// its auth mount), to its token, to the Vault server. `rejects`: whether every login on an
/// auth mount fails, by mount.
fn plan_store(snap: &Snapshot, gr: &mut Plan<'_>, s: &SecretStore, rejects: &FastMap<&str, bool>) {
    let cap = snap.captured_at;
    let st_i = gr.node(s.obj(), Presence::Present);
    let Some(v) = &s.vault else { return };
    if let VaultAuth::Kubernetes {
        mount_path,
        role,
        service_account,
        loc,
    } = &v.auth
    {
        if let Some((sa, sa_ns)) = service_account {
            // a referent ClusterSecretStore resolves the account in each ExternalSecret's namespace
            // (borrowed, and runs of one namespace taken as one before the sort: a fleet's
            // store has thousands of users, in snapshot order, over hundreds of namespaces)
            let mut sa_namespaces: Vec<Option<&str>> =
                match sa_ns.as_deref().or(s.meta.namespace.as_deref()) {
                    Some(n) => vec![Some(n)],
                    None => snap
                        .users_of(s)
                        .iter()
                        .map(|e| e.meta.namespace.as_deref())
                        .collect(),
                };
            sa_namespaces.dedup();
            sa_namespaces.sort();
            sa_namespaces.dedup();
            for sa_ns in sa_namespaces {
                let presence = snap.presence(Kind::ServiceAccount, sa_ns, sa);
                let sa_i = gr.node(ObjRef::new(Kind::ServiceAccount, sa_ns, sa), presence);
                let status = match presence {
                    Presence::Present => EdgeStatus::Ok,
                    Presence::Missing => {
                        EdgeStatus::Broken(format!("ServiceAccount {sa} does not exist"))
                    }
                    Presence::Unknown => EdgeStatus::Unknown,
                };
                gr.edge(
                    st_i,
                    sa_i,
                    Edge {
                        kind: EdgeKind::AuthenticatesAs,
                        status,
                        evidence: vec![loc.clone()],
                        fresh_at: None,
                    },
                    Add::Always,
                );
            }
        }
        let role_name = format!("{mount_path}/{role}");
        let known = snap.vault.roles.get(&(mount_path.clone(), role.clone()));
        let listed = snap
            .vault
            .lists
            .iter()
            .find(|l| l.path == format!("auth/{mount_path}/role"));
        let auth_mount = snap.vault.mounts.get(&(true, mount_path.clone()));
        let auth_missing = auth_mount_missing(snap, mount_path);
        let login_path = format!("auth/{mount_path}/login");
        let invalid_role = access::store_errors(snap, s).into_iter().find(|e| {
            e.error.path.as_deref() == Some(login_path.as_str())
                && e.error
                    .errors
                    .iter()
                    .any(|x| x.contains("invalid role name"))
        });
        let ns_mismatch = access::namespace_mismatch(snap, s);
        let (presence, status) = match (known, listed) {
            _ if ns_mismatch.is_some() => (
                Presence::Present,
                EdgeStatus::Broken(format!(
                    "the store logs in to Vault namespace {} but role {role} lives in namespace {}",
                    v.namespace
                        .as_deref()
                        .map(|n| n.trim_matches('/'))
                        .filter(|n| !n.is_empty())
                        .unwrap_or("root"),
                    ns_mismatch.as_ref().map(|m| m.0.as_str()).unwrap_or("")
                )),
            ),
            _ if auth_missing => (
                Presence::Missing,
                EdgeStatus::Broken(format!(
                    "auth mount {mount_path} is not enabled, so role {role} cannot exist"
                )),
            ),
            (Some(r), _) => (Presence::Present, binding_status(snap, s, r)),
            (None, Some(l)) if l.keys.iter().any(|k| k == role) => {
                (Presence::Present, EdgeStatus::Unknown)
            }
            (None, Some(_)) => (
                Presence::Missing,
                EdgeStatus::Broken(format!("role {role} does not exist on auth/{mount_path}")),
            ),
            (None, None) if invalid_role.is_some() => (
                Presence::Missing,
                EdgeStatus::Broken(format!(
                    "Vault answered invalid role name for {role} on auth/{mount_path}"
                )),
            ),
            (None, None) => (Presence::Unknown, EdgeStatus::Unknown),
        };
        let r_i = gr.node(ObjRef::new(Kind::VaultRole, None, &role_name), presence);
        let mut ev = vec![loc.clone()];
        if let Some(e) = &invalid_role {
            ev.push(e.loc.clone());
        }
        gr.edge(
            st_i,
            r_i,
            Edge {
                kind: EdgeKind::BoundToRole,
                status,
                evidence: ev,
                fresh_at: None,
            },
            Add::Always,
        );
        // role -> auth mount
        let am_presence = match (auth_mount, auth_missing) {
            (Some(_), _) => Presence::Present,
            (None, true) => Presence::Missing,
            _ => Presence::Unknown,
        };
        let am_status = if auth_missing {
            EdgeStatus::Broken(format!(
                "auth mount {mount_path}/ is not enabled (`vault auth list`)"
            ))
        } else if rejects[mount_path.as_str()] {
            EdgeStatus::Broken(format!(
                "every login on auth/{mount_path} fails with permission denied"
            ))
        } else if auth_mount.is_some() {
            EdgeStatus::Ok
        } else {
            EdgeStatus::Unknown
        };
        if am_presence != Presence::Unknown || am_status.is_bad() {
            let am_i = gr.node(
                ObjRef::new(Kind::VaultMount, None, &format!("auth/{mount_path}")),
                am_presence,
            );
            gr.edge(
                r_i,
                am_i,
                Edge {
                    kind: EdgeKind::UsesAuthMount,
                    status: am_status,
                    evidence: vec![auth_mount
                        .map(|m| m.loc.clone())
                        .unwrap_or_else(|| loc.clone())],
                    fresh_at: None,
                },
                Add::UnlessJoined,
            );
        }
    }
    if let VaultAuth::Token { loc, .. } = &v.auth {
        let errors = access::token_refusals(snap, s);
        let token = access::store_token(snap, s).ok();
        let name = access::token_name(snap, s).unwrap_or_default();
        let expired = token.and_then(|t| t.expire_time).filter(|t| *t <= cap);
        let status = match (expired, errors.first()) {
            (Some(t), _) => EdgeStatus::Broken(format!("token expired at {}", time::fmt_time(t))),
            (None, Some(e)) => {
                EdgeStatus::Broken(format!("Vault refuses the token: {}", e.error.summary()))
            }
            (None, None) if token.is_some() => EdgeStatus::Ok,
            _ => EdgeStatus::Unknown,
        };
        if token.is_some() || status.is_bad() {
            let t_i = gr.node(
                ObjRef::new(Kind::VaultToken, None, &name),
                Presence::Present,
            );
            let mut ev = vec![loc.clone()];
            ev.extend(token.map(|t| t.loc.clone()));
            ev.extend(errors.first().map(|e| e.loc.clone()));
            gr.edge(
                st_i,
                t_i,
                Edge {
                    kind: EdgeKind::AuthenticatesAs,
                    status,
                    evidence: ev,
                    fresh_at: None,
                },
                Add::Always,
            );
        }
    }
    // store -> Vault server
    let sealed = access::sealed(snap);
    if snap.vault.status.is_some() || sealed.is_some() {
        let sv_i = gr.node(
            ObjRef::new(Kind::VaultServer, None, &v.server),
            Presence::Present,
        );
        let mut ev = vec![v.loc.clone()];
        ev.extend(sealed.clone());
        gr.edge(
            st_i,
            sv_i,
            Edge {
                kind: EdgeKind::ServedBy,
                status: if sealed.is_some() {
                    EdgeStatus::Broken("Vault is sealed".into())
                } else {
                    EdgeStatus::Ok
                },
                evidence: ev,
                fresh_at: None,
            },
            Add::Always,
        );
    }
}

/// Whether the bundle shows that no auth method is enabled at `mount_path`.
fn auth_mount_missing(snap: &Snapshot, mount_path: &str) -> bool {
    !snap
        .vault
        .mounts
        .contains_key(&(true, mount_path.to_string()))
        && snap.vault.auth_mounts_listed
}

/// Whether a role binds the ServiceAccounts a store logs in with (for the ExternalSecrets
/// that fail; a referent ClusterSecretStore logs in once per ExternalSecret namespace).
fn binding_status(snap: &Snapshot, store: &SecretStore, role: &VaultRole) -> EdgeStatus {
    let Ok(logins) = access::logins(snap, store) else {
        return EdgeStatus::Unknown;
    };
    // a store that is not ready failed its own login: its bindings are in question too
    let store_down = store_is_ready(store) == Some(false);
    let failing = |l: &access::Login| {
        store_down
            || l.external_secrets.is_empty()
            || (l.external_secrets.iter())
                // (one without a namespace is in no table: never counted as failing)
                .any(|es| es.meta.namespace.is_some() && es_sync(snap, es).failing == Some(true))
    };
    let mut bad: Vec<String> = Vec::new();
    let mut unknown = false;
    for l in logins.iter().filter(|l| failing(l)) {
        match access::binding(role, l) {
            access::Binding::Bound => {}
            access::Binding::Unknown => unknown = true,
            access::Binding::NameNotBound => bad.push(format!(
                "role {} does not bind ServiceAccount {}",
                role.name, l.sa
            )),
            access::Binding::NamespaceNotBound => bad.push(format!(
                "role {} does not bind namespace {}",
                role.name, l.namespace
            )),
        }
    }
    if !bad.is_empty() {
        bad.dedup();
        EdgeStatus::Broken(bad.join("; "))
    } else if unknown {
        EdgeStatus::Unknown
    } else {
        EdgeStatus::Ok
    }
}
