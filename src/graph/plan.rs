//! What one object adds to the graph, worked out apart from the graph.
//!
//! Working out an object's edges (their status and evidence) is most of the graph build on a
//! fleet, and it only reads the snapshot: so it runs for many objects at once, each into its
//! own [`Plan`]. The plans are then added to the graph one after the other, in input order,
//! so the graph (node order, first presence wins, which duplicate edge is kept) is exactly
//! the graph a one-object-at-a-time build gives.

use super::{Edge, EdgeKind, Graph};
use crate::model::{ObjRef, Presence};
use petgraph::graph::NodeIndex;
use std::hash::BuildHasher;

/// A node of a plan: an index into its own node list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Local(usize);

/// When a planned edge is added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Add {
    Always,
    /// Unless an edge of the same kind already joins the two nodes.
    UnlessSameKind,
    /// Unless any edge already joins the two nodes.
    UnlessJoined,
    /// Unless any edge already joins the two nodes; then a bad status of this edge replaces
    /// that edge's status.
    UnlessJoinedElseWorsen,
}

/// A node of a plan: one the graph may not have yet, with its hash (worked out here so
/// adding it only probes the index), or one it has.
enum Planned {
    New(u64, ObjRef, Presence),
    Known(NodeIndex),
}

pub(super) struct Plan<'h> {
    hasher: &'h foldhash::fast::RandomState,
    nodes: Vec<Planned>,
    edges: Vec<(Local, Local, Edge, Add)>,
}

impl<'h> Plan<'h> {
    pub(super) fn new(hasher: &'h foldhash::fast::RandomState) -> Plan<'h> {
        Plan {
            hasher,
            nodes: Vec::with_capacity(4),
            edges: Vec::with_capacity(4),
        }
    }

    /// The node of `obj`; when the graph has none yet, it is added with `presence`.
    pub(super) fn node(&mut self, obj: ObjRef, presence: Presence) -> Local {
        let hash = self.hasher.hash_one(&obj);
        self.nodes.push(Planned::New(hash, obj, presence));
        Local(self.nodes.len() - 1)
    }

    /// A node the graph already has, at `at`: no subject to make, hash and look up (and,
    /// the node being old, compare with a subject no cache holds any more).
    pub(super) fn known(&mut self, at: NodeIndex) -> Local {
        self.nodes.push(Planned::Known(at));
        Local(self.nodes.len() - 1)
    }

    pub(super) fn edge(&mut self, from: Local, to: Local, e: Edge, add: Add) {
        self.edges.push((from, to, e, add));
    }
}

impl Graph {
    /// Adds a plan's nodes and edges, in the order they were planned.
    pub(super) fn apply(&mut self, plan: Plan<'_>) {
        // node and edge order are each kept; when edges go in relative to nodes does not
        // matter, as an edge's condition only looks at edges
        let at: Vec<NodeIndex> = plan
            .nodes
            .into_iter()
            .map(|n| match n {
                Planned::New(hash, obj, presence) => self.node_hashed(hash, obj, presence),
                Planned::Known(at) => at,
            })
            .collect();
        for (from, to, e, add) in plan.edges {
            self.add_planned(at[from.0], at[to.0], e, add);
        }
    }

    fn add_planned(&mut self, from: NodeIndex, to: NodeIndex, e: Edge, add: Add) {
        let same_kind = |g: &Graph, kind: EdgeKind| {
            g.g.edges_connecting(from, to)
                .any(|x| x.weight().kind == kind)
        };
        match add {
            Add::Always => self.edge(from, to, e),
            Add::UnlessSameKind if same_kind(self, e.kind) => {}
            Add::UnlessSameKind => self.edge(from, to, e),
            Add::UnlessJoined | Add::UnlessJoinedElseWorsen => match self.g.find_edge(from, to) {
                Some(x) if add == Add::UnlessJoinedElseWorsen && e.status.is_bad() => {
                    self.g[x].status = e.status
                }
                Some(_) => {}
                None => self.edge(from, to, e),
            },
        }
    }
}

/// How many objects are planned before their plans are added: bounds the plans held at once.
const CHUNK: usize = 256;

impl Graph {
    /// Plans each of `items` (in parallel) and adds the plans in order; `done` gets each
    /// item's other result, in order too. A chunk's plans are added while the next chunk is
    /// planned.
    pub(super) fn in_parallel<T: Sync, R: Send>(
        &mut self,
        items: &[T],
        plan: impl Fn(&mut Plan<'_>, &T) -> R + Sync,
        mut done: impl FnMut(R) + Send,
    ) {
        use rayon::prelude::*;
        let hasher = self.hasher.clone();
        let planned = |chunk: &[T]| -> Vec<(Plan<'_>, R)> {
            chunk
                .par_iter()
                .map(|item| {
                    let mut p = Plan::new(&hasher);
                    let r = plan(&mut p, item);
                    (p, r)
                })
                .collect()
        };
        let mut pending: Vec<(Plan<'_>, R)> = Vec::new();
        for chunk in items.chunks(CHUNK) {
            let (_, next) = rayon::join(
                || {
                    for (p, r) in pending.drain(..) {
                        self.apply(p);
                        done(r);
                    }
                },
                || planned(chunk),
            );
            pending = next;
        }
        for (p, r) in pending {
            self.apply(p);
            done(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::EdgeStatus;
    use crate::model::Kind;

    fn edge(kind: EdgeKind, status: EdgeStatus) -> Edge {
        Edge {
            kind,
            status,
            evidence: Vec::new(),
            fresh_at: None,
        }
    }

    fn empty() -> Graph {
        Graph {
            g: Default::default(),
            index: Default::default(),
            hasher: Default::default(),
        }
    }

    /// Item `i` plans Pod `p{i}` -> Secret `s{i % 7}`: shared Secrets first seen Missing by
    /// item 0..7, then claimed Present; each pod planned twice with the same kind of edge.
    fn plan_item(gr: &mut Plan<'_>, i: &usize) -> usize {
        let pod = gr.node(
            ObjRef::new(Kind::Pod, Some("ns"), &format!("p{i}")),
            Presence::Present,
        );
        let presence = if *i < 7 {
            Presence::Missing
        } else {
            Presence::Present
        };
        let secret = gr.node(
            ObjRef::new(Kind::Secret, Some("ns"), &format!("s{}", i % 7)),
            presence,
        );
        for _ in 0..2 {
            gr.edge(
                pod,
                secret,
                edge(EdgeKind::Mounts, EdgeStatus::Ok),
                Add::UnlessSameKind,
            );
        }
        *i
    }

    #[test]
    fn plans_add_up_to_the_one_by_one_graph_across_chunks() {
        let items: Vec<usize> = (0..CHUNK * 3 + 5).collect();
        let mut gr = empty();
        let mut order = Vec::new();
        gr.in_parallel(&items, plan_item, |i| order.push(i));
        assert_eq!(order, items, "results come back in item order");
        // nodes in first-seen order: p0, s0, p1, s1, ... p6, s6, p7, p8, ...
        let names: Vec<&str> = gr.nodes().map(|n| n.obj.name.as_str()).collect();
        assert_eq!(&names[..4], ["p0", "s0", "p1", "s1"]);
        assert_eq!(names[14], "p7");
        assert_eq!(names.len(), items.len() + 7);
        // a node keeps the presence it was first added with
        assert!(gr
            .nodes()
            .filter(|n| n.obj.kind == Kind::Secret)
            .all(|n| n.presence == Presence::Missing));
        // one edge per pod: the second of the same kind was not added
        assert_eq!(gr.edge_count(), items.len());
    }

    #[test]
    fn a_known_node_is_the_graphs_own_and_adds_none() {
        let mut gr = empty();
        let hasher = gr.hasher.clone();
        let mut plan = Plan::new(&hasher);
        for name in ["kv/data/a", "kv/data/b"] {
            plan.node(ObjRef::new(Kind::VaultPath, None, name), Presence::Present);
        }
        gr.apply(plan);
        let b = gr
            .find(&ObjRef::new(Kind::VaultPath, None, "kv/data/b"))
            .unwrap();
        let mut plan = Plan::new(&hasher);
        let policy = plan.node(
            ObjRef::new(Kind::VaultPolicy, None, "app"),
            Presence::Present,
        );
        let path = plan.known(b);
        plan.edge(
            policy,
            path,
            edge(EdgeKind::PolicyGrantsPath, EdgeStatus::Ok),
            Add::Always,
        );
        gr.apply(plan);
        assert_eq!(gr.node_count(), 3);
        let to: Vec<&str> = (gr.edges()).map(|e| e.to.name.as_str()).collect();
        assert_eq!(to, ["kv/data/b"]);
    }

    /// Plans the nodes of path `kv/data/a` and its mount `kv`.
    fn path_and_mount(plan: &mut Plan<'_>, presence: Presence) -> (Local, Local) {
        let path = plan.node(ObjRef::new(Kind::VaultPath, None, "kv/data/a"), presence);
        let mount = plan.node(ObjRef::new(Kind::VaultMount, None, "kv"), presence);
        (path, mount)
    }

    #[test]
    fn a_joined_pair_keeps_its_edge_and_takes_a_worse_status_only_when_asked() {
        let mut gr = empty();
        let hasher = gr.hasher.clone();
        let mut plan = Plan::new(&hasher);
        let (path, mount) = path_and_mount(&mut plan, Presence::Present);
        plan.edge(
            path,
            mount,
            edge(EdgeKind::IssuedByMount, EdgeStatus::Ok),
            Add::Always,
        );
        let bad = || EdgeStatus::Broken("kv v1".into());
        plan.edge(
            path,
            mount,
            edge(EdgeKind::IssuedByMount, bad()),
            Add::UnlessJoined,
        );
        gr.apply(plan);
        assert_eq!(gr.edge_count(), 1);
        assert_eq!(gr.edges().next().unwrap().edge.status, EdgeStatus::Ok);

        let mut plan = Plan::new(&hasher);
        let (path, mount) = path_and_mount(&mut plan, Presence::Missing);
        plan.edge(
            path,
            mount,
            edge(EdgeKind::IssuedByMount, bad()),
            Add::UnlessJoinedElseWorsen,
        );
        plan.edge(
            path,
            mount,
            edge(EdgeKind::IssuedByMount, EdgeStatus::Ok),
            Add::UnlessJoinedElseWorsen,
        );
        gr.apply(plan);
        assert_eq!(gr.edge_count(), 1);
        assert_eq!(gr.edges().next().unwrap().edge.status, bad());
        assert!(gr.nodes().all(|n| n.presence == Presence::Present));
    }
}
