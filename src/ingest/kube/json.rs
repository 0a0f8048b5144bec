//! A JSON tree that borrows its strings from the text, and the [`Json`] trait the object
//! readers are written against.
//!
//! Fleet-sized bundles are mostly `kubectl get -o json` lists, and building a
//! `serde_json::Value` for them (a `String` per key and value, an order-preserving map per
//! object) cost more than everything else ingest does. [`Node`] keeps unescaped strings as
//! slices of the text and objects as small slices searched in order, all in an arena that
//! is emptied at once, so a list costs no allocation of its own per object. Its semantics
//! follow `serde_json::Value` exactly (a repeated key keeps its first position and its last
//! value; numbers are `serde_json::Number`), so a reader gives the same facts from either;
//! kinds read only from a `Value` get one through [`Json::to_value`].

mod fast;

pub use fast::KeyLines;

use bumpalo::Bump;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

/// What the object readers need of a JSON value.
pub trait Json: Sized {
    /// The member `key` of an object (`None` for anything else).
    fn get(&self, key: &str) -> Option<&Self>;
    fn as_str(&self) -> Option<&str>;
    fn as_array(&self) -> Option<&[Self]>;
    fn as_bool(&self) -> Option<bool>;
    fn as_i64(&self) -> Option<i64>;
    fn as_u64(&self) -> Option<u64>;
    fn is_object(&self) -> bool;
    fn is_null(&self) -> bool;
    /// An object's members in document order.
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>>;
    /// Compact JSON text of the value.
    fn to_json_string(&self) -> String;
    fn to_value(&self) -> Value;
    fn into_value(self) -> Value;
    /// The value as a `serde_json::Value`, borrowed when it is one.
    fn as_value(&self) -> Cow<'_, Value> {
        Cow::Owned(self.to_value())
    }
}

impl Json for Value {
    fn get(&self, key: &str) -> Option<&Self> {
        Value::get(self, key)
    }
    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }
    fn as_array(&self) -> Option<&[Self]> {
        Value::as_array(self).map(Vec::as_slice)
    }
    fn as_bool(&self) -> Option<bool> {
        Value::as_bool(self)
    }
    fn as_i64(&self) -> Option<i64> {
        Value::as_i64(self)
    }
    fn as_u64(&self) -> Option<u64> {
        Value::as_u64(self)
    }
    fn is_object(&self) -> bool {
        Value::is_object(self)
    }
    fn is_null(&self) -> bool {
        Value::is_null(self)
    }
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        Value::as_object(self).map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn to_json_string(&self) -> String {
        self.to_string()
    }
    fn to_value(&self) -> Value {
        self.clone()
    }
    fn into_value(self) -> Value {
        self
    }
    fn as_value(&self) -> Cow<'_, Value> {
        Cow::Borrowed(self)
    }
}

/// A JSON value whose strings borrow from the text when they hold no escape. Its
/// containers and escaped strings live in an arena ([`Bump`]) the caller hands in, and go
/// with it at once: allocated and freed one by one, and walked to be freed, they were a
/// tenth of reading a fleet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    /// In the arena, like the containers: a `Node` is then `Copy`, and a closed container's
    /// members are copied into the arena at once.
    Number(&'a Number),
    String(&'a str),
    Array(&'a [Node<'a>]),
    Object(&'a [(&'a str, Node<'a>)]),
}

impl<'a> Node<'a> {
    /// Parses JSON text; errors are serde_json's (same messages and lines).
    #[cfg(test)]
    pub fn parse(text: &'a str, arena: &'a Bump) -> Result<Node<'a>, serde_json::Error> {
        match Node::parse_serde(text, usize::MAX, arena) {
            Ok(n) => Ok(n),
            Err(ParseError::Json(e)) => Err(e),
            Err(ParseError::TooDeep) => unreachable!("no depth limit"),
        }
    }

    /// [`Node::parse`], refusing containers nested deeper than `max_depth` while parsing
    /// (no separate pass over the text to count brackets). Plain text is read by the fast
    /// parser; serde_json reads what it gives up on, and words the errors.
    pub fn parse_limited(
        text: &'a str,
        max_depth: usize,
        arena: &'a Bump,
    ) -> Result<Node<'a>, ParseError> {
        Node::parse_limited_keyed(text, max_depth, arena).0
    }

    /// [`Node::parse_limited`], with the field name each line starts with when the fast
    /// parser read the text (a line scan finds them otherwise).
    pub fn parse_limited_keyed(
        text: &'a str,
        max_depth: usize,
        arena: &'a Bump,
    ) -> (Result<Node<'a>, ParseError>, Option<KeyLines>) {
        match fast::parse_keyed(text, max_depth, arena) {
            Some((n, keys)) => (Ok(n), Some(keys)),
            None => (Node::parse_serde(text, max_depth, arena), None),
        }
    }

    /// [`Node::parse_limited`] through serde_json alone.
    fn parse_serde(
        text: &'a str,
        max_depth: usize,
        arena: &'a Bump,
    ) -> Result<Node<'a>, ParseError> {
        let ctx = Ctx::new(max_depth, arena);
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = NodeSeed {
            ctx: &ctx,
            depth: 0,
            workload_spec: false,
        }
        .deserialize(&mut de)
        .and_then(|n| de.end().map(|()| n));
        match parsed {
            Ok(n) => Ok(n),
            Err(_) if ctx.too_deep.get() => Err(ParseError::TooDeep),
            Err(e) => Err(ParseError::Json(e)),
        }
    }
}

/// Why [`Node::parse_limited`] gave no tree.
#[derive(Debug)]
pub enum ParseError {
    /// Containers nested deeper than the limit.
    TooDeep,
    Json(serde_json::Error),
}

impl Json for Node<'_> {
    fn get(&self, key: &str) -> Option<&Self> {
        match self {
            // the first byte before the rest: most keys of an object differ there, and a
            // comparison call per member was a visible share of reading a fleet
            Node::Object(m) => m
                .iter()
                .find(|(k, _)| k.as_bytes().first() == key.as_bytes().first() && *k == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }
    fn as_array(&self) -> Option<&[Self]> {
        match self {
            Node::Array(a) => Some(a),
            _ => None,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn as_i64(&self) -> Option<i64> {
        match self {
            Node::Number(n) => n.as_i64(),
            _ => None,
        }
    }
    fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(n) => n.as_u64(),
            _ => None,
        }
    }
    fn is_object(&self) -> bool {
        matches!(self, Node::Object(_))
    }
    fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>> {
        match self {
            Node::Object(m) => Some(m.iter().map(|(k, v)| (*k, v))),
            _ => None,
        }
    }
    fn to_json_string(&self) -> String {
        self.to_value().to_string()
    }
    fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number((*n).clone()),
            Node::String(s) => Value::String(s.to_string()),
            Node::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Node::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }
    fn into_value(self) -> Value {
        self.to_value()
    }
}

/// State shared by one parse: the depth limit, and scratch stacks the members of open
/// containers are gathered on, so each container is allocated once at its final size.
struct Ctx<'de> {
    max_depth: usize,
    too_deep: std::cell::Cell<bool>,
    arena: &'de Bump,
    members: std::cell::RefCell<Vec<(&'de str, Node<'de>)>>,
    elements: std::cell::RefCell<Vec<Node<'de>>>,
}

impl<'de> Ctx<'de> {
    fn new(max_depth: usize, arena: &'de Bump) -> Self {
        Ctx {
            max_depth,
            arena,
            too_deep: Default::default(),
            members: Default::default(),
            elements: Default::default(),
        }
    }
}

/// One value at container depth `depth` (the containers around it).
#[derive(Clone, Copy)]
struct NodeSeed<'c, 'de> {
    ctx: &'c Ctx<'de>,
    depth: usize,
    /// The value is a workload's `spec`: its [`TEMPLATE_KEYS`] members are skipped.
    workload_spec: bool,
}

impl<'c, 'de> NodeSeed<'c, 'de> {
    /// The seed for the members of a container opened here, or an error past the limit.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth + 1;
        if depth > self.ctx.max_depth {
            self.ctx.too_deep.set(true);
            return Err(E::custom("nested too deep"));
        }
        Ok(NodeSeed {
            ctx: self.ctx,
            depth,
            workload_spec: false,
        })
    }
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, 'de> {
    type Value = Node<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

/// Members whose value no reader uses, skipped by the parser without building a tree (read
/// as `null`): the field sets of `metadata.managedFields`, a tenth of a kubectl dump in small
/// nested objects. serde_json still checks their syntax and its own nesting limit.
const SKIPPED_KEYS: &[&str] = &["fieldsV1"];

/// Members of a workload's `spec` skipped the same way: the pod template (a CronJob's job
/// template), a third of a fleet's dump, while a workload is read for its name, replicas and
/// conditions (`objects::object_fact`). An object is a workload when a `kind` member naming
/// one of [`WORKLOAD_KINDS`] comes before its `spec`, as the API server and `jq -S` print it;
/// when it comes after, nothing is skipped.
const TEMPLATE_KEYS: &[&str] = &["template", "jobTemplate"];

/// The kinds read as workloads (see [`TEMPLATE_KEYS`]).
pub const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
];

/// Whether a `kind` member's value names a workload.
fn names_workload(v: &Node) -> bool {
    matches!(v, Node::String(s) if WORKLOAD_KINDS.contains(s))
}

/// Objects with more members than this find a repeated key through a hash map.
const LINEAR_KEYS: usize = 16;

impl<'de> Visitor<'de> for NodeSeed<'_, 'de> {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(self.ctx.arena.alloc(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(self.ctx.arena.alloc(v.into())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Number::from_f64(v).map_or(Node::Null, |n| Node::Number(self.ctx.arena.alloc(n))))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(self.ctx.arena.alloc_str(v)))
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let inner = self.enter()?;
        let base = self.ctx.elements.borrow().len();
        while let Some(item) = seq.next_element_seed(inner)? {
            self.ctx.elements.borrow_mut().push(item);
        }
        let mut stack = self.ctx.elements.borrow_mut();
        let elements = self.ctx.arena.alloc_slice_copy(&stack[base..]);
        stack.truncate(base);
        Ok(Node::Array(elements))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let inner = self.enter()?;
        let base = self.ctx.members.borrow().len();
        // a repeated key keeps its first place and takes the last value, as in `Value`
        let mut index: Option<std::collections::HashMap<String, usize>> = None;
        let mut workload = false;
        while let Some(k) = map.next_key_seed(KeySeed(self.ctx.arena))? {
            let skipped =
                SKIPPED_KEYS.contains(&k) || (self.workload_spec && TEMPLATE_KEYS.contains(&k));
            let v: Node<'de> = if skipped {
                map.next_value::<de::IgnoredAny>()?;
                Node::Null
            } else if workload && k == "spec" {
                map.next_value_seed(NodeSeed {
                    workload_spec: true,
                    ..inner
                })?
            } else {
                map.next_value_seed(inner)?
            };
            if k == "kind" {
                workload = names_workload(&v);
            }
            let mut stack = self.ctx.members.borrow_mut();
            let m = &mut stack[base..];
            if let Some(ix) = &mut index {
                match ix.get(k) {
                    Some(&i) => m[i].1 = v,
                    None => {
                        ix.insert(k.to_string(), m.len());
                        stack.push((k, v));
                    }
                }
                continue;
            }
            match m.iter().position(|(x, _)| *x == k) {
                Some(i) => m[i].1 = v,
                None => stack.push((k, v)),
            }
            let m = &stack[base..];
            if m.len() > LINEAR_KEYS {
                index = Some(key_index(m));
            }
        }
        let mut stack = self.ctx.members.borrow_mut();
        let members = self.ctx.arena.alloc_slice_copy(&stack[base..]);
        stack.truncate(base);
        Ok(Node::Object(members))
    }
}

/// Where each of an object's members is, by key: how a long object finds a repeated key.
fn key_index(members: &[(&str, Node)]) -> std::collections::HashMap<String, usize> {
    members
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.to_string(), i))
        .collect()
}

/// An object key, borrowed when it holds no escape, else copied into the arena.
struct KeySeed<'de>(&'de Bump);

impl<'de> DeserializeSeed<'de> for KeySeed<'de> {
    type Value = &'de str;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'de> {
    type Value = &'de str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(v)
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.alloc_str(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_value() {
        let texts = [
            r#"{"a":1,"b":[true,null,-2,3.5,"x\"y"],"c":{"d":"e"},"a":2}"#,
            r#"[{"k":"v"},{"k\u0041":18446744073709551615}]"#,
            r#""plain""#,
        ];
        for t in texts {
            let v: Value = serde_json::from_str(t).unwrap();
            let arena = Bump::new();
            let n = Node::parse(t, &arena).unwrap();
            assert_eq!(n.to_value(), v, "{t}");
            assert_eq!(n.to_json_string(), v.to_string());
            assert_eq!(n.into_value(), v);
        }
        let arena = Bump::new();
        let n = Node::parse(r#"{"a":1,"b":{"c":"d"},"a":"last"}"#, &arena).unwrap();
        assert_eq!(n.get("a").and_then(Json::as_str), Some("last"));
        let keys: Vec<&str> = n.entries().unwrap().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn many_repeated_keys() {
        let mut t = String::from("{");
        for i in 0..100 {
            t.push_str(&format!("\"k{}\":{i},", i % 40));
        }
        t.push_str("\"end\":0}");
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(Node::parse(&t, &Bump::new()).unwrap().to_value(), v);
    }

    #[test]
    fn depth_limit_while_parsing() {
        let deep = format!("{}{}", "[".repeat(5), "]".repeat(5));
        assert!(Node::parse_limited(&deep, 5, &Bump::new()).is_ok());
        assert!(matches!(
            Node::parse_limited(&deep, 4, &Bump::new()),
            Err(ParseError::TooDeep)
        ));
        let obj = r#"{"a":{"b":[{"c":1}]},"s":"[[[[[[["}"#;
        assert!(Node::parse_limited(obj, 4, &Bump::new()).is_ok());
        assert!(matches!(
            Node::parse_limited(obj, 3, &Bump::new()),
            Err(ParseError::TooDeep)
        ));
        assert!(matches!(
            Node::parse_limited("{\"a\": [1,\n }", 9, &Bump::new()),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            Node::parse_limited("{} x", 9, &Bump::new()),
            Err(ParseError::Json(_))
        ));
    }

    #[test]
    fn errors_are_serde_json_errors() {
        let bad = "{\n  \"a\": [1,\n  }";
        let e1 = serde_json::from_str::<Value>(bad).unwrap_err();
        let e2 = Node::parse(bad, &Bump::new()).unwrap_err();
        assert_eq!(e1.to_string(), e2.to_string());
    }
}
