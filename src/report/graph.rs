//! `credtrace graph`: the dependency graph as a picture (DOT, Mermaid, SVG) or as JSON.
//!
//! Broken edges are red and dashed and carry their reason; stale edges are amber; edges
//! nobody can judge from the bundle are grey and dotted. `--focus KIND/NS/NAME --depth N`
//! keeps a big bundle readable: a breadth-first walk both ways from the focus node.
//! The SVG is laid out here (layout-rs), so no Graphviz is needed on an air-gapped laptop.

use crate::graph::{Edge, EdgeStatus, Graph};
use crate::model::time::fmt_time;
use crate::model::{Kind, ObjRef, Presence, ALL_KINDS};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
    Svg,
}

/// The part of the graph to draw: nodes (sorted) and the edges between them.
pub struct View<'g> {
    pub nodes: Vec<(ObjRef, Presence)>,
    pub edges: Vec<(&'g ObjRef, &'g ObjRef, &'g Edge)>,
    pub focus: Option<ObjRef>,
    pub depth: Option<usize>,
}

impl View<'_> {
    fn id(&self, o: &ObjRef) -> String {
        let i = self
            .nodes
            .binary_search_by(|(n, _)| n.cmp(o))
            .expect("edges join nodes of the view");
        format!("n{i}")
    }
}

/// Resolves `KIND/NS/NAME` or `KIND/NAME` (kind case-insensitive) to a node of the graph.
/// Vault names hold slashes (`kubernetes/eso-prod`), so both readings are tried.
pub fn resolve(g: &Graph, spec: &str) -> Result<ObjRef, String> {
    let (kind, rest) = spec
        .split_once('/')
        .ok_or_else(|| format!("--focus {spec:?} is not KIND/NAMESPACE/NAME or KIND/NAME"))?;
    let kind = ALL_KINDS
        .iter()
        .copied()
        .find(|k| k.as_str().eq_ignore_ascii_case(kind))
        .ok_or_else(|| format!("--focus {spec:?}: unknown kind {kind:?}"))?;
    let mut candidates = vec![ObjRef::new(kind, None, rest)];
    if let Some((ns, name)) = rest.split_once('/') {
        candidates.insert(0, ObjRef::new(kind, Some(ns), name));
    }
    let known: BTreeSet<&ObjRef> = g.nodes().map(|n| &n.obj).collect();
    for c in &candidates {
        if known.contains(c) {
            return Ok(c.clone());
        }
    }
    let similar: Vec<String> = known
        .iter()
        .filter(|o| o.kind == kind)
        .map(|o| match &o.namespace {
            Some(ns) => format!("{}/{}/{}", o.kind.as_str(), ns, o.name),
            None => format!("{}/{}", o.kind.as_str(), o.name),
        })
        .take(8)
        .collect();
    Err(format!(
        "--focus {spec:?}: no such node in the graph{}",
        if similar.is_empty() {
            String::new()
        } else {
            format!("; nodes of that kind: {}", similar.join(", "))
        }
    ))
}

/// The whole graph, or the nodes within `depth` edges of `focus` in either direction.
pub fn select<'g>(g: &'g Graph, focus: Option<ObjRef>, depth: Option<usize>) -> View<'g> {
    let presence: BTreeMap<&ObjRef, Presence> = g.nodes().map(|n| (&n.obj, n.presence)).collect();
    let keep: BTreeSet<ObjRef> = match &focus {
        None => presence.keys().map(|o| (*o).clone()).collect(),
        Some(f) => {
            let limit = depth.unwrap_or(usize::MAX);
            let mut seen: BTreeSet<ObjRef> = BTreeSet::new();
            let mut queue: VecDeque<(ObjRef, usize)> = VecDeque::new();
            seen.insert(f.clone());
            queue.push_back((f.clone(), 0));
            while let Some((o, d)) = queue.pop_front() {
                if d >= limit {
                    continue;
                }
                let next: Vec<ObjRef> = g
                    .out_edges(&o)
                    .iter()
                    .map(|e| e.to.clone())
                    .chain(g.in_edges(&o).iter().map(|e| e.from.clone()))
                    .collect();
                for n in next {
                    if seen.insert(n.clone()) {
                        queue.push_back((n, d + 1));
                    }
                }
            }
            seen
        }
    };
    let nodes: Vec<(ObjRef, Presence)> = keep
        .iter()
        .map(|o| {
            (
                o.clone(),
                presence.get(o).copied().unwrap_or(Presence::Unknown),
            )
        })
        .collect();
    let mut edges: Vec<(&ObjRef, &ObjRef, &Edge)> = g
        .edges()
        .filter(|e| keep.contains(e.from) && keep.contains(e.to))
        .map(|e| (e.from, e.to, e.edge))
        .collect();
    edges.sort_by(|a, b| (a.0, a.1, a.2.kind).cmp(&(b.0, b.1, b.2.kind)));
    View {
        nodes,
        edges,
        focus,
        depth,
    }
}

pub fn render(v: &View, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => dot(v),
        GraphFormat::Mermaid => mermaid(v),
        GraphFormat::Json => {
            let mut s = serde_json::to_string_pretty(&to_json(v)).expect("serialises");
            s.push('\n');
            s
        }
        GraphFormat::Svg => svg(v),
    }
}

const RED: &str = "#dc2626";
const AMBER: &str = "#d97706";
const GREY: &str = "#9ca3af";

fn fill(k: Kind) -> &'static str {
    match k.domain() {
        "vault" => "#fef9c3",
        "external-secrets" => "#ede9fe",
        "vault-secrets-operator" | "secrets-store-csi" | "cert-manager" => "#dcfce7",
        _ => "#dbeafe",
    }
}

fn node_label(o: &ObjRef, p: Presence) -> Vec<String> {
    let mut lines = vec![o.kind.as_str().to_string()];
    lines.push(match &o.namespace {
        Some(ns) => format!("{ns}/{}", o.name),
        None => o.name.to_string(),
    });
    match p {
        Presence::Missing => lines.push("(missing)".into()),
        Presence::Unknown => lines.push("(not collected)".into()),
        Presence::Present => {}
    }
    lines
}

fn edge_label(e: &Edge) -> String {
    match &e.status {
        EdgeStatus::Ok => e.kind.as_str().to_string(),
        EdgeStatus::Broken(r) => format!("{}: BROKEN: {r}", e.kind.as_str()),
        EdgeStatus::Stale(r) => format!("{}: STALE: {r}", e.kind.as_str()),
        EdgeStatus::Unknown => format!("{} (unknown)", e.kind.as_str()),
    }
}

/// Splits a long label into lines of about `width` characters at spaces.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in s.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn dot_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub fn dot(v: &View) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "digraph credtrace {{");
    let _ = writeln!(o, "  rankdir=LR;");
    let _ = writeln!(
        o,
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];"
    );
    let _ = writeln!(o, "  edge [fontname=\"Helvetica\", fontsize=9];");
    for (n, p) in &v.nodes {
        let id = v.id(n);
        let label = node_label(n, *p).join("\n");
        let mut attrs = format!(
            "label={}, fillcolor={}",
            dot_str(&label),
            dot_str(fill(n.kind))
        );
        match p {
            Presence::Missing => {
                let _ = write!(
                    attrs,
                    ", color={}, style=\"rounded,filled,dashed\", penwidth=2",
                    dot_str(RED)
                );
            }
            Presence::Unknown => {
                let _ = write!(
                    attrs,
                    ", color={}, style=\"rounded,filled,dotted\"",
                    dot_str(GREY)
                );
            }
            Presence::Present => {}
        }
        if v.focus.as_ref() == Some(n) {
            attrs.push_str(", peripheries=2");
        }
        let _ = writeln!(o, "  {id} [{attrs}];");
    }
    for (from, to, e) in &v.edges {
        let label = wrap(&edge_label(e), 40).join("\n");
        let style = match &e.status {
            EdgeStatus::Ok => String::new(),
            EdgeStatus::Broken(_) => format!(
                ", color={c}, fontcolor={c}, style=dashed, penwidth=2",
                c = dot_str(RED)
            ),
            EdgeStatus::Stale(_) => {
                format!(", color={c}, fontcolor={c}, penwidth=2", c = dot_str(AMBER))
            }
            EdgeStatus::Unknown => format!(
                ", color={c}, fontcolor={c}, style=dotted",
                c = dot_str(GREY)
            ),
        };
        let _ = writeln!(
            o,
            "  {} -> {} [label={}{style}];",
            v.id(from),
            v.id(to),
            dot_str(&label)
        );
    }
    let _ = writeln!(o, "}}");
    o
}

fn mermaid_str(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('|', "#124;")
}

pub fn mermaid(v: &View) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "flowchart LR");
    for (n, p) in &v.nodes {
        let label = node_label(n, *p)
            .iter()
            .map(|l| mermaid_str(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        let _ = writeln!(o, "  {}[\"{label}\"]", v.id(n));
    }
    let mut styles: Vec<String> = Vec::new();
    for (i, (from, to, e)) in v.edges.iter().enumerate() {
        let label = mermaid_str(&edge_label(e));
        let arrow = match e.status {
            EdgeStatus::Ok => "-->",
            EdgeStatus::Broken(_) | EdgeStatus::Unknown => "-.->",
            EdgeStatus::Stale(_) => "==>",
        };
        let _ = writeln!(o, "  {} {arrow}|\"{label}\"| {}", v.id(from), v.id(to));
        match e.status {
            EdgeStatus::Broken(_) => styles.push(format!(
                "  linkStyle {i} stroke:{RED},stroke-width:2px,stroke-dasharray:5 5,color:{RED}"
            )),
            EdgeStatus::Stale(_) => styles.push(format!(
                "  linkStyle {i} stroke:{AMBER},stroke-width:2px,color:{AMBER}"
            )),
            EdgeStatus::Unknown => styles.push(format!(
                "  linkStyle {i} stroke:{GREY},stroke-dasharray:2 2"
            )),
            EdgeStatus::Ok => {}
        }
    }
    for s in styles {
        let _ = writeln!(o, "{s}");
    }
    for domain in [
        "kubernetes",
        "external-secrets",
        "vault-secrets-operator",
        "secrets-store-csi",
        "cert-manager",
        "vault",
    ] {
        let ids: Vec<String> = v
            .nodes
            .iter()
            .filter(|(n, _)| n.kind.domain() == domain)
            .map(|(n, _)| v.id(n))
            .collect();
        if !ids.is_empty() {
            let class = domain.replace('-', "");
            let k = match domain {
                "vault" => Kind::VaultPolicy,
                "external-secrets" => Kind::ExternalSecret,
                "vault-secrets-operator" => Kind::VaultStaticSecret,
                "secrets-store-csi" => Kind::SecretProviderClass,
                "cert-manager" => Kind::Certificate,
                _ => Kind::Pod,
            };
            let _ = writeln!(o, "  classDef {class} fill:{}", fill(k));
            let _ = writeln!(o, "  class {} {class}", ids.join(","));
        }
    }
    let missing: Vec<String> = v
        .nodes
        .iter()
        .filter(|(_, p)| *p == Presence::Missing)
        .map(|(n, _)| v.id(n))
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            o,
            "  classDef missing stroke:{RED},stroke-width:2px,stroke-dasharray:5 5"
        );
        let _ = writeln!(o, "  class {} missing", missing.join(","));
    }
    o
}

pub fn to_json(v: &View) -> Value {
    let nodes: Vec<Value> = v
        .nodes
        .iter()
        .map(|(n, p)| {
            let mut j = crate::report::json::subject(n);
            j["id"] = json!(v.id(n));
            j["presence"] = json!(p);
            j["domain"] = json!(n.kind.domain());
            j
        })
        .collect();
    let edges: Vec<Value> = v
        .edges
        .iter()
        .map(|(from, to, e)| {
            let (state, reason) = match &e.status {
                EdgeStatus::Ok => ("ok", None),
                EdgeStatus::Broken(r) => ("broken", Some(r)),
                EdgeStatus::Stale(r) => ("stale", Some(r)),
                EdgeStatus::Unknown => ("unknown", None),
            };
            json!({
                "from": v.id(from),
                "to": v.id(to),
                "kind": e.kind.as_str(),
                "state": state,
                "reason": reason,
                "fresh_at": e.fresh_at.map(fmt_time),
                "evidence": e.evidence.iter().map(crate::report::json::evidence).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "schema_version": 1,
        "focus": v.focus.as_ref().map(crate::report::json::subject),
        "depth": v.depth,
        "nodes": nodes,
        "edges": edges,
    })
}

pub fn svg(v: &View) -> String {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::color::Color;
    use layout::core::style::{LineStyleKind, StyleAttr};
    use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
    use layout::topo::layout::VisualGraph;

    if v.nodes.is_empty() {
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"40\"><text x=\"10\" y=\"25\">empty graph</text></svg>\n".into();
    }
    let font = 12;
    let mut vg = VisualGraph::new(Orientation::LeftToRight);
    let mut handles = Vec::new();
    for (n, p) in &v.nodes {
        let label = node_label(n, *p).join("\n");
        let (line, width) = match p {
            Presence::Missing => (RED, 3),
            Presence::Unknown => (GREY, 1),
            Presence::Present => ("#374151", 1),
        };
        let look = StyleAttr::new(
            Color::fast(line),
            width,
            Some(Color::fast(fill(n.kind))),
            6,
            font,
        );
        let shape = ShapeKind::new_box(&label);
        let size = layout::core::geometry::get_size_for_str(&label, font);
        let size = layout::core::geometry::Point::new(size.x * 0.62 + 24., size.y + 16.);
        handles.push(vg.add_node(Element::create(shape, look, Orientation::LeftToRight, size)));
    }
    for (from, to, e) in &v.edges {
        let (color, style, width) = match &e.status {
            EdgeStatus::Ok => ("#374151", LineStyleKind::Normal, 1),
            EdgeStatus::Broken(_) => (RED, LineStyleKind::Dashed, 2),
            EdgeStatus::Stale(_) => (AMBER, LineStyleKind::Normal, 2),
            EdgeStatus::Unknown => (GREY, LineStyleKind::Dotted, 1),
        };
        let label = wrap(&edge_label(e), 32)
            .into_iter()
            .take(3)
            .collect::<Vec<_>>()
            .join("\n");
        let look = StyleAttr::new(Color::fast(color), width, None, 0, font);
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            style,
            &label,
            &look,
            &None,
            &None,
        );
        let i = |o: &ObjRef| {
            v.nodes
                .binary_search_by(|(n, _)| n.cmp(o))
                .expect("edges join nodes of the view")
        };
        vg.add_edge(arrow, handles[i(from)], handles[i(to)]);
    }
    let mut w = SVGWriter::new();
    vg.do_it(false, false, false, &mut w);
    let mut s = w.finalize();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
