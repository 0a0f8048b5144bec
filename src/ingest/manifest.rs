//! The `credtrace.yaml` manifest written by the collection script at the bundle root:
//! capture time, cluster name, and the command (with exit code) behind each output file.

use super::{FileReport, Out};
use crate::ingest::text::Source;
use crate::model::time::parse_rfc3339;
use crate::model::{Fact, Loc};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn is_manifest(path: &str) -> bool {
    path == "credtrace.yaml" || path == "credtrace.yml"
}

/// What [`parse`] reads from a manifest: the values that are strings, borrowed.
#[derive(Debug, Default, PartialEq)]
struct Said<'a> {
    captured_at: Option<Cow<'a, str>>,
    cluster: Option<Cow<'a, str>>,
    /// (command, output file) of the commands that name both, in order.
    commands: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Said<'a> {
    fn of_value(v: &'a Value) -> Said<'a> {
        Said {
            captured_at: v
                .get("captured_at")
                .and_then(Value::as_str)
                .map(Cow::Borrowed),
            cluster: v.get("cluster").and_then(Value::as_str).map(Cow::Borrowed),
            commands: v
                .get("commands")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter_map(|c| {
                    Some((
                        Cow::Borrowed(c.get("command").and_then(Value::as_str)?),
                        Cow::Borrowed(c.get("output").and_then(Value::as_str)?),
                    ))
                })
                .collect(),
        }
    }
}

/// Returns the facts, the file report, and the map output file -> command.
pub fn parse(path: &Arc<str>, data: &[u8]) -> (Vec<Fact>, FileReport, BTreeMap<String, String>) {
    let (text, _) = super::text::decode(data);
    let src = Source::new(path, &text);
    let mut out = Out::default();
    let mut cmds = BTreeMap::new();
    let mut skipped = None;
    // YAML's value, when the fast reader gives up: the manifest's strings borrow from it
    let value;
    let said = match plain(&text) {
        Some(said) => Ok(said),
        None => {
            value = super::kube::docs::yaml_value(&text);
            value.as_ref().map(Said::of_value)
        }
    };
    match said {
        Ok(said) => {
            let captured_raw = said.captured_at.as_deref().unwrap_or("");
            let captured_at = parse_rfc3339(captured_raw);
            if !captured_raw.is_empty() && captured_at.is_none() {
                out.notes.push(format!(
                    "captured_at {captured_raw:?} is not an RFC 3339 time"
                ));
            }
            let line = src
                .find(0, src.lines().len(), |l| l.starts_with("captured_at"))
                .unwrap_or(0);
            out.push(
                "Manifest",
                Fact::Manifest {
                    captured_at,
                    cluster: said.cluster.map(Cow::into_owned),
                    loc: if captured_at.is_some() {
                        src.loc(line)
                    } else {
                        Loc::file(path)
                    },
                },
            );
            for (cmd, file) in said.commands {
                cmds.insert(file.trim_start_matches("./").to_string(), cmd.to_string());
            }
        }
        Err(super::kube::docs::YamlError::Syntax(e)) => {
            skipped = Some(format!("invalid manifest: {e}"))
        }
        Err(super::kube::docs::YamlError::Expands) => {
            skipped = Some("invalid manifest: its aliases expand to too many values".into())
        }
    }
    let report = FileReport {
        path: path.to_string(),
        format: "manifest".into(),
        commands: vec![],
        kinds: out.kinds,
        notes: out.notes,
        skipped,
        coverage: vec![],
    };
    (out.facts, report, cmds)
}

/// The manifest read without a YAML parser, when it has the form the collection script
/// writes: top-level `key: value` lines, and `commands:` followed by a list of flat
/// `key: value` items, with quoted or simple plain scalars. Anything else (another layout,
/// other escapes, anchors, flow collections, tabs, a repeated key) gives `None`, and YAML reads
/// it. On a fleet the manifest has a command per file, and YAML read it in tens of
/// milliseconds before any file could be parsed.
fn plain(text: &str) -> Option<Said<'_>> {
    /// Where a line belongs: the top-level mapping, or the commands list.
    #[derive(PartialEq)]
    enum At {
        Top,
        /// Right after `commands:`: its first item sets the items' indent.
        ListStart,
        List(usize),
    }
    let mut said = Said::default();
    let mut top: Vec<&str> = Vec::new();
    let mut item: Option<Item> = None;
    let mut at = At::Top;
    for line in text.split('\n') {
        if line.bytes().any(|b| b == b'\r' || b == b'\t') {
            return None;
        }
        let t = line.trim_start_matches(' ');
        let indent = line.len() - t.len();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if at == At::ListStart {
            if t.starts_with("- ") {
                at = At::List(indent);
            } else if indent == 0 {
                at = At::Top; // `commands:` with no items is null
            } else {
                return None;
            }
        }
        if let At::List(i) = at {
            if indent == i && t.starts_with("- ") {
                finish_item(&mut item, &mut said);
                item = Some((Vec::new(), None, None));
                read_member(&t[2..], item.as_mut()?)?;
                continue;
            }
            if indent == i + 2 && item.is_some() {
                read_member(t, item.as_mut()?)?;
                continue;
            }
            if indent != 0 || t.starts_with("- ") {
                return None;
            }
            finish_item(&mut item, &mut said);
            at = At::Top;
        }
        if indent != 0 {
            return None;
        }
        let (key, value) = key_value(t)?;
        if top.contains(&key) {
            return None;
        }
        top.push(key);
        match (key, value) {
            ("commands", "") => at = At::ListStart,
            ("commands", "[]") => {}
            ("commands", _) | (_, "") => return None,
            (key, value) => {
                let v = scalar(value)?;
                match key {
                    "captured_at" => said.captured_at = v,
                    "cluster" => said.cluster = v,
                    _ => {}
                }
            }
        }
    }
    finish_item(&mut item, &mut said);
    // an empty text is not a mapping
    (!top.is_empty()).then_some(said)
}

/// A command item being read: its keys, command and output.
type Item<'a> = (Vec<&'a str>, Option<Cow<'a, str>>, Option<Cow<'a, str>>);

/// Ends the item being read: a command when it names both.
fn finish_item<'a>(item: &mut Option<Item<'a>>, said: &mut Said<'a>) {
    if let Some((_, Some(cmd), Some(out))) = item.take() {
        said.commands.push((cmd, out));
    }
}

/// A `key: value` line of a command item, into the item (a repeated key gives up).
fn read_member<'a>(t: &'a str, item: &mut Item<'a>) -> Option<()> {
    let (key, value) = key_value(t)?;
    if item.0.contains(&key) || value.is_empty() {
        return None;
    }
    item.0.push(key);
    let v = scalar(value)?;
    match key {
        "command" => item.1 = v,
        "output" => item.2 = v,
        _ => {}
    }
    Some(())
}

/// `key: value` (or `key:`), with a key YAML reads as a string.
fn key_value(t: &str) -> Option<(&str, &str)> {
    let (key, value) = match t.find(": ") {
        Some(at) => (&t[..at], t[at + 2..].trim_start_matches(' ')),
        None => (t.strip_suffix(':')?, ""),
    };
    let mut bytes = key.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if !first_ok
        || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        || KEYWORDS.contains(&key)
    {
        return None;
    }
    Some((key, value))
}

/// The text of a double-quoted scalar (quotes stripped): its escapes `\"`, `\\`, `\/`,
/// `\n` and `\t` undone. `None` for another escape, or a quote that ends it early.
fn unescape(inner: &str) -> Option<Cow<'_, str>> {
    if !inner.contains(['"', '\\']) {
        return Some(Cow::Borrowed(inner));
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => out.push(match chars.next()? {
                e @ ('"' | '\\' | '/') => e,
                'n' => '\n',
                't' => '\t',
                _ => return None,
            }),
            c => out.push(c),
        }
    }
    Some(Cow::Owned(out))
}

/// Plain scalars YAML reads as null or a boolean.
const KEYWORDS: &[&str] = &[
    "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
];

/// A value the plain form allows, as YAML reads it: `Some(Some(text))` for a string (quoted,
/// with at most the escapes [`unescape`] undoes, or plain: starting with a letter, `_`, `/`
/// or `./`, of letters, digits, spaces and `_./:=+,-`), `Some(None)` for a decimal integer,
/// a boolean or null. `None` for anything else.
fn scalar(v: &str) -> Option<Option<Cow<'_, str>>> {
    let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
    if let Some(inner) = v.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'')?;
        return (printable(inner) && !inner.contains('\'')).then(|| Some(inner.into()));
    }
    if let Some(inner) = v.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        if !printable(inner) {
            return None;
        }
        return unescape(inner).map(Some);
    }
    let digits = v.strip_prefix('-').unwrap_or(v);
    if !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return (digits == "0" || !digits.starts_with('0')).then_some(None);
    }
    let b = v.as_bytes();
    let starts_ok = b
        .first()
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c == b'/')
        || v.starts_with("./");
    let chars_ok = v
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"_./:=+,- ".contains(&c));
    if !starts_ok || !chars_ok || v.ends_with([' ', ':']) || v.contains(": ") || v.contains(" #") {
        return None;
    }
    Some((!KEYWORDS.contains(&v)).then(|| v.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What YAML reads from `text`, in the fast reader's terms.
    fn by_yaml(text: &str) -> Option<Value> {
        super::super::kube::docs::yaml_value(text).ok()
    }

    /// The fast reader gives what YAML gives, or gives up.
    fn agrees(text: &str) -> bool {
        match plain(text) {
            None => true,
            Some(said) => by_yaml(text).is_some_and(|v| Said::of_value(&v) == said),
        }
    }

    #[test]
    fn every_manifest_of_the_samples_and_fixtures_is_read_without_yaml() {
        let mut seen = 0;
        for p in crate::ingest::repo_files(&["samples", "tests/fixtures"]) {
            if p.file_name().is_some_and(|n| n == "credtrace.yaml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let said = plain(&text).unwrap_or_else(|| panic!("{}", p.display()));
                let v = by_yaml(&text).unwrap();
                assert_eq!(said, Said::of_value(&v), "{}", p.display());
                seen += 1;
            }
        }
        assert!(seen > 10, "{seen} manifests");
    }

    #[test]
    fn the_collection_scripts_form() {
        let text = "# written by collect.sh\ncaptured_at: \"2026-05-04T08:00:00Z\"\ncluster: shop-us-2\ncommands:\n  - command: \"kubectl get pods -n shop -o json\"\n    output: ./kubernetes/pods.json\n    exit_code: 0\n\n  - command: 'vault policy list'\n    output: vault/policies.txt\n    exit_code: 2\n  - output: vault/no-command.txt\nextra: 1\n";
        let said = plain(text).unwrap();
        assert_eq!(said.captured_at.as_deref(), Some("2026-05-04T08:00:00Z"));
        assert_eq!(said.cluster.as_deref(), Some("shop-us-2"));
        let commands: Vec<(&str, &str)> = said.commands.iter().map(|(c, o)| (&**c, &**o)).collect();
        assert_eq!(
            commands,
            vec![
                ("kubectl get pods -n shop -o json", "./kubernetes/pods.json"),
                ("vault policy list", "vault/policies.txt"),
            ]
        );
        assert!(agrees(text));
    }

    #[test]
    fn other_forms_are_left_to_yaml() {
        for text in [
            "",
            "---\ncaptured_at: x\n",
            "cluster: \"a\\u0041\"\n",
            "cluster: \"a\"b\"\n",
            "cluster: \"a\\\"\n",
            "cluster: &a x\nother: *a\n",
            "cluster: x\ncluster: y\n",
            "commands:\n- command: a\n  command: b\n",
            "commands: [{command: a, output: b}]\n",
            "cluster:\n  name: x\n",
            "cluster: x # a comment\n",
            "cluster: 0x1F\n",
            "cluster: 1e3\n",
            "cluster: 007\n",
            "cluster:\tx\n",
            "cluster: x\r\n",
            "commands:\n  - command: a\n   output: b\n",
            "commands:\n  - command: a\n  - - b\n",
            "cluster: \"two\n  lines\"\n",
        ] {
            assert!(plain(text).is_none(), "{text:?}");
        }
        // what YAML reads these as: null, a boolean or a number is not a string
        for (text, cluster) in [
            ("cluster: null\n", None),
            ("cluster: True\n", None),
            ("cluster: -12\n", None),
            ("cluster: 0\n", None),
            ("cluster: nan\n", Some("nan")),
            ("cluster: inf\n", Some("inf")),
            ("cluster: yes\n", Some("yes")),
            ("cluster: a:b\n", Some("a:b")),
            (
                "cluster: \"a\\\"b\\\\c\\/d\\ne\\tf\"\n",
                Some("a\"b\\c/d\ne\tf"),
            ),
        ] {
            assert_eq!(plain(text).unwrap().cluster.as_deref(), cluster, "{text:?}");
            assert!(agrees(text), "{text:?}");
        }
    }

    /// A value as a manifest may spell it, the odd ones included.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            // the forms read without YAML, so that many cases take that path
            3 => "[a-z][a-z0-9 ./,=-]{0,8}[a-z]",
            3 => "[a-zA-Z0-9 ,:#'-]{0,8}".prop_map(|s| format!("\"{s}\"")),
            1 => "[ -~]{0,10}".prop_map(|s| format!("\"{s}\"")),
            1 => "[ -~]{0,10}".prop_map(|s| format!("'{s}'")),
            1 => "[a-zA-Z0-9_./:=+#~&*!,\\[\\]{} -]{1,10}",
            1 => prop::sample::select(vec![
                "null", "Null", "~", "true", "FALSE", "yes", "no", "0", "-0", "007", "-3",
                "1e3", ".inf", "-.inf", ".nan", "nan", "inf", "0x1F", "0o7", "+1", "1_0", "1.5",
                "./a", "a: b", "a #b", "a#b", "[]", "{}", "\"a\\\"b\"", "'a''b'",
                "\"a\\nb\\t\\/\\\\\"", "\"\\x41\"", "\"\\\"", "'a\\nb'",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "captured_at",
            "cluster",
            "commands",
            "command",
            "output",
            "exit_code",
            "null",
            "a b",
            "x-y",
        ])
        .prop_map(str::to_string)
    }

    proptest! {
        #[test]
        fn the_fast_reader_agrees_with_yaml(
            top in prop::collection::vec((key(), value()), 0..4),
            items in prop::collection::vec(prop::collection::vec((key(), value()), 1..4), 0..4),
            indent in 0usize..3,
            commands_at in 0usize..4,
            noise in prop::collection::vec(0usize..40, 0..3),
        ) {
            let mut lines: Vec<String> = top.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            let mut block = vec!["commands:".to_string()];
            let pad = " ".repeat(indent);
            for item in &items {
                for (j, (k, v)) in item.iter().enumerate() {
                    let lead = if j == 0 { "- " } else { "  " };
                    block.push(format!("{pad}{lead}{k}: {v}"));
                }
            }
            let at = commands_at.min(lines.len());
            lines.splice(at..at, block);
            for n in noise {
                let at = n % (lines.len() + 1);
                lines.insert(at, if n % 2 == 0 { String::new() } else { "# note".into() });
            }
            let text = lines.join("\n") + "\n";
            prop_assert!(agrees(&text), "{:?}", text);
        }
    }
}
