//! JSON and YAML documents holding Kubernetes objects: single objects, `List`/`<Kind>List`,
//! bare JSON arrays (troubleshoot custom resources) and multi-document YAML.
//!
//! serde gives values without positions, so each object's line range is recovered from the
//! text (list items start at the same indentation), and fields are located inside it.

use super::json::{Json, Node, ParseError};
use super::objects::{is_object, object_fact, Span};
use crate::ingest::text::{indent_width, is_marked, trim_indent, Source};
use crate::ingest::Out;
use crate::model::{Fact, Kind};
use bumpalo::Bump;
use serde_json::Value;

// Nesting deeper than `limits.max_depth` is refused: for YAML by counting flow brackets
// before serde sees it, for JSON by the parser itself; serde_json and serde_yaml also stop
// at 128 levels of their own.

/// Outcome of offering a document to this parser.
pub enum Doc {
    /// Kubernetes objects were read.
    Objects,
    /// Valid JSON/YAML, but not Kubernetes objects: here is the value for other parsers.
    Other(Value),
}

fn depth_ok(text: &str, max_depth: usize) -> bool {
    let mut depth = 0usize;
    let mut max = 0usize;
    for b in text.bytes() {
        match b {
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max <= max_depth
}

/// Parses JSON text. `Err` carries a message with the line.
///
/// The nesting limit is enforced by the parser as it goes (containers, not brackets inside
/// strings). A document serde_json refuses is also refused as too deep when its brackets
/// nest past the limit, as it was when the brackets were counted before parsing.
pub fn parse_json(src: &Source, text: &str, out: &mut Out) -> Result<Doc, String> {
    thread_local! {
        /// The arena of the worker's last parse tree, emptied for the next: its memory is
        /// taken again while it is still in the cache, not faulted in afresh.
        static ARENA: std::cell::RefCell<Bump> = std::cell::RefCell::new(Bump::new());
    }
    ARENA.with(|cell| match cell.try_borrow_mut() {
        Ok(mut arena) => {
            let doc = parse_json_in(src, text, out, &arena);
            arena.reset();
            // a huge file's arena is not kept for the next ones
            if arena.allocated_bytes() > KEPT_ARENA {
                *arena = Bump::new();
            }
            doc
        }
        // a parse within a parse (none today): an arena of its own
        Err(_) => parse_json_in(src, text, out, &Bump::new()),
    })
}

/// An arena at most this large is kept for the worker's next file.
const KEPT_ARENA: usize = 16 << 20;

fn parse_json_in(src: &Source, text: &str, out: &mut Out, arena: &Bump) -> Result<Doc, String> {
    let max = out.limits.max_depth;
    let too_deep = || format!("JSON nested deeper than {max} levels (--max-depth), not read");
    let (parsed, keys) = Node::parse_limited_keyed(text, max, arena);
    if let Some(k) = keys {
        src.set_lines(text, k.breaks);
        src.set_keys(k.first_line as usize, k.keys);
        if !k.items.is_empty() {
            src.set_items(k.items);
        }
    }
    let v = match parsed {
        Ok(v) => v,
        Err(ParseError::TooDeep) => return Err(too_deep()),
        Err(ParseError::Json(_)) if !depth_ok(text, max) => return Err(too_deep()),
        Err(ParseError::Json(e)) => {
            return Err(format!(
                "invalid JSON at line {}: {}",
                e.line(),
                short(&e.to_string())
            ))
        }
    };
    Ok(take_value(src, v, 0, src.line_count(), out))
}

fn short(s: &str) -> String {
    s.split(" at line").next().unwrap_or(s).to_string()
}

/// Parses (multi-document) YAML text. Documents that fail are reported with their line and
/// the others are still read.
pub fn parse_yaml(src: &Source, text: &str, out: &mut Out) -> Result<Vec<Doc>, String> {
    let max = out.limits.max_depth;
    if !depth_ok(text, max) {
        return Err(format!(
            "YAML nested deeper than {max} levels (--max-depth), not read"
        ));
    }
    let mut docs = Vec::new();
    let mut start = 0usize;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut bounds = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if *l == "---" || l.starts_with("--- ") || *l == "..." {
            bounds.push((start, i));
            start = i + 1;
        }
    }
    bounds.push((start, lines.len()));
    let mut errors = Vec::new();
    for (from, to) in bounds {
        let body = lines[from..to].join("\n");
        if body.trim().is_empty()
            || body
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        match yaml_value(&body) {
            Ok(v) => docs.push(take_value(src, v, from, to, out)),
            Err(YamlError::Expands) => errors.push(format!(
                "YAML at line {} expands its aliases to more than {} values, not read",
                from + 1,
                node_budget(&body)
            )),
            Err(YamlError::Syntax(e)) => {
                let line = e.location().map(|l| l.line() + from).unwrap_or(from + 1);
                errors.push(format!(
                    "invalid YAML at line {line}: {}",
                    short(&e.to_string())
                ));
            }
        }
    }
    if docs.is_empty() {
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        return Ok(docs);
    }
    out.notes.extend(errors);
    Ok(docs)
}

/// Why a YAML document was not read.
pub enum YamlError {
    Syntax(serde_yaml::Error),
    /// Aliases expand to more values than the text could hold without them (an alias bomb).
    Expands,
}

/// Without aliases a YAML node takes at least one byte of text, so a document may build at
/// most this many values. serde_yaml bounds alias jumps but not what each jump copies.
fn node_budget(text: &str) -> usize {
    text.len() + 1024
}

/// One YAML document as a JSON value, refusing alias bombs: the values built are counted
/// as they are built, and the count is bounded by [`node_budget`].
pub fn yaml_value(text: &str) -> Result<Value, YamlError> {
    let left = std::cell::Cell::new(node_budget(text));
    let de = serde_yaml::Deserializer::from_str(text);
    match serde::de::DeserializeSeed::deserialize(Counted(&left), de) {
        Ok(v) => Ok(v),
        Err(_) if left.get() == 0 => Err(YamlError::Expands),
        Err(e) => Err(YamlError::Syntax(e)),
    }
}

/// A `DeserializeSeed` building a `serde_json::Value` that spends one unit of the budget
/// per value.
#[derive(Clone, Copy)]
struct Counted<'a>(&'a std::cell::Cell<usize>);

impl Counted<'_> {
    fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.0.get() {
            0 => Err(E::custom("too many values")),
            n => {
                self.0.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Counted<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Counted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }
    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut v = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            v.push(item);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut m = serde_json::Map::new();
        while let Some(k) = map.next_key_seed(self)? {
            let key = match k {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let v = map.next_value_seed(self)?;
            m.insert(key, v);
        }
        Ok(Value::Object(m))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // a YAML tag (`!Thing value`): keep the value, drop the tag
        use serde::de::VariantAccess;
        let (_, variant): (Value, _) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

fn take_value<V: Json>(src: &Source, v: V, from: usize, to: usize, out: &mut Out) -> Doc {
    let items: Option<&[V]> = if let Some(a) = v.as_array() {
        Some(a)
    } else if v.is_object() {
        let kind = v.get("kind").and_then(V::as_str).unwrap_or("");
        if kind == "List" || kind.ends_with("List") {
            // `"items": null` is how an empty list is serialised by some clients
            match v.get("items") {
                Some(a) if a.as_array().is_some() => a.as_array(),
                Some(n) if n.is_null() => Some(&[]),
                None => Some(&[]),
                _ => None,
            }
        } else {
            None
        }
    } else {
        None
    };
    match items {
        Some(items) => {
            if !items.is_empty() && !items.iter().any(is_object) {
                return Doc::Other(v.into_value());
            }
            if items.is_empty() {
                out.recognised = true;
                out.notes.push(if v.is_object() {
                    format!(
                        "empty {}",
                        v.get("kind").and_then(V::as_str).unwrap_or("List")
                    )
                } else {
                    "empty list".to_string()
                });
            }
            let starts = item_starts(src, from, to, items, v.as_array().is_some());
            let mut seen = std::collections::BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let start = starts[i];
                let end = starts.get(i + 1).copied().unwrap_or(to);
                take_object(src, item, start, end, out);
                if let (Some(k), Some(ns)) = (
                    item.get("kind").and_then(V::as_str).and_then(Kind::parse),
                    item.get("metadata")
                        .and_then(|m| m.get("namespace"))
                        .and_then(V::as_str),
                ) {
                    seen.insert((k, ns.to_string()));
                }
            }
            // a List is a listing: it covers the kinds and namespaces it holds
            for (k, ns) in seen {
                out.cover(k, Some(ns));
            }
            if let Some(kind) = v
                .get("kind")
                .and_then(V::as_str)
                .and_then(|k| k.strip_suffix("List"))
                .and_then(Kind::parse)
            {
                out.list_kind = Some(kind);
            }
            out.was_list = true;
            Doc::Objects
        }
        None if is_object(&v) => {
            take_object(src, &v, from, to, out);
            Doc::Objects
        }
        None => Doc::Other(v.into_value()),
    }
}

fn take_object<V: Json>(src: &Source, v: &V, start: usize, end: usize, out: &mut Out) {
    let span = Span { src, start, end };
    let api = v.get("apiVersion").and_then(V::as_str).unwrap_or_default();
    if super::delivery::handles(api) {
        if let Some((label, facts)) = super::delivery::object_facts(&v.as_value(), &span) {
            *out.kinds.entry(label).or_default() += 1;
            out.facts.extend(facts);
            return;
        }
    }
    let (label, fact) = object_fact(v, &span);
    *out.kinds.entry(label).or_default() += 1;
    if let (Some(Fact::Pod(_)), true) = (&fact, super::delivery::may_be_injected(v)) {
        if let Some(agent) = super::delivery::agent_facts(&v.as_value(), &span) {
            out.facts.extend(agent);
        }
    }
    if let Some(f) = fact {
        out.facts.push(f);
    } else if let Some(items) = v.get("items").and_then(V::as_array) {
        // nested lists are rare but legal
        for item in items {
            if is_object(item) {
                take_object(src, item, start, end, out);
            }
        }
    }
    // values were reduced in objects::secret; an unreadable tls.crt is worth a note
    if let Some(Fact::Secret(sec)) = out.facts.last() {
        if let Some((e, loc)) = &sec.cert_error {
            let ns = sec.meta.namespace.as_deref();
            out.notes.push(format!(
                "line {}: Secret {}{}: tls.crt is not a readable certificate chain: {e}",
                loc.line,
                ns.map(|n| format!("{n}/")).unwrap_or_default(),
                sec.meta.name
            ));
        }
    }
}

/// The first line of each item of a list, found by indentation; falls back to searching
/// for each item's name in order.
fn item_starts<V: Json>(
    src: &Source,
    from: usize,
    to: usize,
    items: &[V],
    bare: bool,
) -> Vec<usize> {
    let to = to.min(src.line_count());
    let anchor = if bare {
        src.find(from, to, |l| l.trim_start().starts_with('['))
    } else {
        src.find(from, to, |l| {
            let t = l.trim_start();
            t.starts_with("items:") || t.starts_with("\"items\":")
        })
    };
    if let Some(a) = anchor {
        let first = src.find(a + 1, to, |l| !l.trim().is_empty());
        if let Some(f) = first {
            let line = src.line(f).unwrap_or_default();
            let indent = indent_width(line);
            let marker = trim_indent(line).chars().next().unwrap_or(' ');
            if marker == '-' || marker == '{' {
                // the marker is ASCII: a line starts an item when that byte follows exactly
                // `indent` bytes of indentation
                let m = marker as u8;
                if let Some(lines) = parsed_starts(src, f, to, indent, m, items.len()) {
                    return lines;
                }
                let starts = src.lines_marked(f, to, indent, m);
                if starts.len() == items.len() {
                    return starts;
                }
            }
        }
    }
    // fallback: the line naming each item, in order
    let mut cursor = from;
    items
        .iter()
        .map(|it| {
            let name = it
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(V::as_str)
                .unwrap_or("");
            let found = src.find(cursor, to, |l| {
                let t = l.trim_start().trim_start_matches("- ");
                (t.starts_with("name:") || t.starts_with("\"name\":")) && t.contains(name)
            });
            let at = found.unwrap_or(cursor);
            cursor = at + 1;
            at
        })
        .collect()
}

/// The lines the JSON parser saw the document's list items start on, when they are the lines
/// [`Source::lines_marked`] would find from `first` (the first item's line): one per item, in
/// order, each with `marker` after exactly `indent` bytes of indentation. The parser met them
/// on its way, so the file's lines need not be walked again for them. `None` when the parser
/// gave none, or its lines are not those (another list than the one found by text).
fn parsed_starts(
    src: &Source,
    first: usize,
    to: usize,
    indent: usize,
    marker: u8,
    count: usize,
) -> Option<Vec<usize>> {
    let lines = src.items()?;
    if lines.len() != count || lines.first().map(|&l| l as usize) != Some(first) {
        return None;
    }
    let ordered = lines.windows(2).all(|w| w[0] < w[1]);
    let marked = lines.iter().all(|&l| {
        (l as usize) < to
            && src
                .line(l as usize)
                .is_some_and(|t| is_marked(t, indent, marker))
    });
    (ordered && marked).then(|| lines.iter().map(|&l| l as usize).collect())
}

/// Top-level keys of a fragment: an object printed without `kind` (`yq '.spec,.status'`,
/// `-o jsonpath='{.status}'`, a paste that kept only the interesting part).
fn fragment_kind(v: &Value) -> Option<&'static str> {
    let o = v.as_object()?;
    if o.contains_key("kind") || o.is_empty() {
        return None;
    }
    if !o
        .keys()
        .all(|k| matches!(k.as_str(), "spec" | "status" | "metadata" | "apiVersion"))
        || !(o.contains_key("spec") || o.contains_key("status"))
    {
        return None;
    }
    let spec = o.get("spec");
    let has = |k: &str| spec.and_then(|s| s.get(k)).is_some();
    Some(if has("provider") {
        let cluster = spec
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|x| x.get("namespaceSelector").is_some() || x.get("namespaces").is_some())
            });
        if cluster {
            "ClusterSecretStore"
        } else {
            "SecretStore"
        }
    } else if has("secretStoreRef") || has("dataFrom") || has("data") || has("target") {
        "ExternalSecret"
    } else if has("externalSecretSpec") {
        "ClusterExternalSecret"
    } else if has("containers") {
        "Pod"
    } else if has("template") && has("selector") {
        "Deployment"
    } else if o
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|x| {
                x.get("reason")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.starts_with("SecretSynced"))
            })
        })
    {
        "ExternalSecret"
    } else {
        return None;
    })
}

/// A spec/status fragment: joined to its object when the command line (or the file name,
/// `externalsecret-NAME.yaml`) names it, otherwise reported as what it is.
pub fn take_fragment(
    src: &Source,
    from: usize,
    to: usize,
    v: &Value,
    cmd: Option<&crate::ingest::text::Command>,
    out: &mut Out,
) -> bool {
    use crate::ingest::text::kube_kind;
    let Some(shape) = fragment_kind(v) else {
        return false;
    };
    let cmd = cmd.filter(|c| c.program == "kubectl" && c.verb() == "get");
    // the command names the kind (which settles SecretStore vs ClusterSecretStore) and the object
    let cmd_kind = cmd.and_then(|c| c.arg(1)).and_then(kube_kind);
    let kind = match cmd_kind {
        Some(k) if k == shape || (shape.ends_with("SecretStore") && k.ends_with("SecretStore")) => {
            k
        }
        _ => shape,
    };
    let file = src.path.rsplit('/').next().unwrap_or("");
    let stem = file.split('.').next().unwrap_or("");
    let from_file = stem
        .split_once('-')
        .filter(|(w, _)| kube_kind(w) == Some(kind))
        .map(|(_, n)| n.to_string());
    let name = v
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| cmd.and_then(|c| c.arg(2)).map(str::to_string))
        .or(from_file);
    out.recognised = true;
    let Some(name) = name else {
        *out.kinds.entry(format!("fragment:{kind}")).or_default() += 1;
        out.notes.push(format!(
            "a {kind} spec/status without its name (no command line or file name names it): recognised, not joined to an object"
        ));
        return true;
    };
    let mut obj = v.clone();
    if let Some(o) = obj.as_object_mut() {
        let api = if matches!(
            kind,
            "ExternalSecret" | "SecretStore" | "ClusterSecretStore" | "ClusterExternalSecret"
        ) {
            "external-secrets.io/v1beta1"
        } else {
            "v1"
        };
        o.entry("apiVersion").or_insert(Value::String(api.into()));
        o.insert("kind".into(), Value::String(kind.into()));
        let meta = o
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(m) = meta.as_object_mut() {
            m.entry("name").or_insert(Value::String(name.clone()));
            if let Some(ns) = cmd.and_then(|c| c.namespace.clone()) {
                m.entry("namespace").or_insert(Value::String(ns));
            }
        }
    }
    take_object(src, &obj, from, to, out);
    out.notes.push(format!(
        "a {kind} spec/status without kind: joined to {kind} {name} named by the {}",
        if cmd.and_then(|c| c.arg(2)).is_some() {
            "command line"
        } else {
            "file name"
        }
    ));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const LIST: &str = "{\n    \"items\": [\n        {\n            \"a\": 1\n        },\n        {\n            \"b\": 2\n        }\n    ],\n    \"kind\": \"List\"\n}\n";

    /// The parser's lines are taken only when they are the lines the items' indentation
    /// shows; any others leave the items to the scan of the lines.
    #[test]
    fn the_parsers_item_lines_are_taken_only_when_they_are_the_items() {
        let path: Arc<str> = Arc::from("t.json");
        let n = LIST.lines().count();
        for (given, taken) in [
            (vec![2, 5], true),
            (vec![3, 5], false),
            (vec![2], false),
            (vec![2, 6], false),
            (vec![2, 2], false),
            (vec![5, 2], false),
        ] {
            let src = Source::new(&path, LIST);
            src.set_items(given.clone());
            let want = taken.then(|| given.iter().map(|&l| l as usize).collect());
            assert_eq!(parsed_starts(&src, 2, n, 8, b'{', 2), want, "{given:?}");
        }
        // without the parser's lines, the scan finds the same items
        let v: serde_json::Value = serde_json::from_str(LIST).unwrap();
        let items = v["items"].as_array().unwrap();
        assert_eq!(
            item_starts(&Source::new(&path, LIST), 0, n, items, false),
            vec![2, 5]
        );
    }
}
