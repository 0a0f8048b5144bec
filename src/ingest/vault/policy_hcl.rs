//! Vault ACL policy text (HCL or JSON) to rules with line numbers.
//!
//! `vault policy read` prints a policy exactly as it was written, so a bundle holds policy
//! source, not a rule list. The ACL evaluation and the policy lints need the rules, and every
//! finding must cite the `path "..."` line it is about. This module parses the text with
//! `hcl-rs` (or `serde_json` for JSON policies), maps the legacy `policy = "read"` form to
//! capabilities as Vault does, keeps path strings byte for byte (a stray space inside the
//! quotes is a finding, FM-03), and finds each block's line by scanning the text, since
//! `hcl-rs` keeps no positions.
//!
//! Vault parses policies with HCL 1, which accepts a few things HCL 2 does not: a block's `{`
//! on the line after `path "..."` and commas between a block's attributes. Both are rewritten
//! before `hcl-rs` sees the text, without moving any line.

use hcl::{Block, BlockLabel, Body, Expression, Structure};
use serde_json::Value;

/// One `path "..." { ... }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRule {
    /// The path exactly as written inside the quotes.
    pub path: String,
    /// Capabilities as written, then those implied by a legacy `policy = "..."`.
    pub capabilities: Vec<String>,
    /// 1-based line of the `path "..."` header (0 when it could not be located).
    pub line: u32,
    /// The rule denies everything (`deny` among the capabilities, or `policy = "deny"`).
    pub deny_all: bool,
}

/// Keys Vault accepts inside a `path` block (`vault/policy.go` `parsePaths`).
const PATH_KEYS: &[&str] = &[
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "control_group",
    "subscribe_event_types",
];

/// Deeper nesting than this is not a policy; refusing it keeps the parsers' recursion bounded.
const MAX_DEPTH: usize = 64;

/// Parses a policy in HCL or JSON syntax.
pub fn parse_policy(text: &str) -> Result<Vec<ParsedRule>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return parse_json(text);
    }
    let scan = scan_hcl(text)?;
    let body = hcl::parse(&scan.normalized).map_err(|e| match e {
        hcl::Error::Parse(p) => format!(
            "invalid policy hcl at line {}: {}",
            p.location().line(),
            one_line(p.message())
        ),
        other => format!("invalid policy hcl: {}", one_line(&other.to_string())),
    })?;
    rules_from_body(&body, &scan.headers)
}

/// A parser's message as part of one lowercase sentence.
fn one_line(msg: &str) -> String {
    msg.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn rules_from_body(body: &Body, headers: &[Header]) -> Result<Vec<ParsedRule>, String> {
    let mut rules = Vec::new();
    let mut used = vec![false; headers.len()];
    let mut cursor = 0;
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => match attr.key.as_str() {
                "name" => {}
                "path" => {
                    return Err(
                        "the `path = { ... }` attribute form is not supported; use path blocks"
                            .to_string(),
                    )
                }
                key => return Err(format!("unknown top-level key {key:?} in the policy")),
            },
            Structure::Block(block) => {
                if block.identifier() != "path" {
                    return Err(format!(
                        "unknown top-level key {:?} in the policy",
                        block.identifier()
                    ));
                }
                let path = block_path(block)?;
                let line = locate(headers, &mut used, &mut cursor, &path);
                let (capabilities, deny_all) = capabilities_from_hcl(&path, block.body())?;
                rules.push(ParsedRule {
                    path,
                    capabilities,
                    line,
                    deny_all,
                });
            }
        }
    }
    Ok(rules)
}

fn block_path(block: &Block) -> Result<String, String> {
    match block.labels() {
        [label] => Ok(match label {
            BlockLabel::String(s) => s.clone(),
            BlockLabel::Identifier(i) => i.as_str().to_string(),
        }),
        labels => Err(format!(
            "a path block needs exactly one quoted path, found {}",
            labels.len()
        )),
    }
}

/// The line of the next unused header for `path`: headers and blocks are both in document
/// order, so the n-th block with a given path gets the n-th header with that path.
fn locate(headers: &[Header], used: &mut [bool], cursor: &mut usize, path: &str) -> u32 {
    let found = (*cursor..headers.len())
        .chain(0..*cursor)
        .find(|&i| !used[i] && headers[i].path == path);
    match found {
        Some(i) => {
            used[i] = true;
            *cursor = i + 1;
            headers[i].line
        }
        None => 0,
    }
}

fn capabilities_from_hcl(path: &str, body: &Body) -> Result<(Vec<String>, bool), String> {
    let mut caps: Vec<String> = Vec::new();
    let mut legacy: Option<String> = None;
    for structure in body.iter() {
        let (key, expr) = match structure {
            Structure::Attribute(a) => (a.key.as_str(), Some(&a.expr)),
            Structure::Block(b) => (b.identifier(), None),
        };
        match (key, expr) {
            ("capabilities", Some(Expression::Array(items))) => {
                for item in items {
                    match item {
                        Expression::String(s) => caps.push(s.clone()),
                        _ => return Err(not_strings(path)),
                    }
                }
            }
            ("capabilities", _) => return Err(not_strings(path)),
            ("policy", Some(Expression::String(s))) => legacy = Some(s.clone()),
            ("policy", _) => {
                return Err(format!(
                    "the legacy policy value of path {path:?} is not a string"
                ))
            }
            (key, _) if PATH_KEYS.contains(&key) => {}
            (key, _) => return Err(format!("path {path:?} has an unknown key {key:?}")),
        }
    }
    finish_capabilities(path, caps, legacy)
}

fn not_strings(path: &str) -> String {
    format!("the capabilities of path {path:?} are not a list of strings")
}

/// Applies a legacy `policy = "..."` as Vault does: `deny` replaces everything, the others
/// add their capabilities.
fn finish_capabilities(
    path: &str,
    mut caps: Vec<String>,
    legacy: Option<String>,
) -> Result<(Vec<String>, bool), String> {
    if let Some(policy) = legacy {
        let implied: &[&str] = match policy.as_str() {
            "deny" => &["deny"],
            "read" => &["read", "list"],
            "write" => &["create", "read", "update", "delete", "list"],
            "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
            other => {
                return Err(format!(
                    "path {path:?} has an invalid legacy policy value {other:?}"
                ))
            }
        };
        if policy == "deny" {
            caps = vec!["deny".to_string()];
        } else {
            caps.extend(implied.iter().map(|c| c.to_string()));
        }
    }
    let deny_all = caps.iter().any(|c| c == "deny");
    Ok((caps, deny_all))
}

// ---------------------------------------------------------------------------------------
// JSON policies
// ---------------------------------------------------------------------------------------

fn parse_json(text: &str) -> Result<Vec<ParsedRule>, String> {
    if nesting_depth(text) > MAX_DEPTH {
        return Err("the policy nests too deeply to be a vault policy".to_string());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg);
        format!(
            "invalid policy json at line {}: {}",
            e.line(),
            one_line(msg)
        )
    })?;
    let Value::Object(top) = value else {
        return Err("a json policy must be an object".to_string());
    };
    let keys = json_keys(text);
    // Rule keys come after the top-level "path" key.
    let start = keys
        .iter()
        .position(|k| k.path == "path")
        .map_or(0, |i| i + 1);
    let headers = &keys[start..];
    let mut used = vec![false; headers.len()];
    let mut cursor = 0;
    let mut rules = Vec::new();
    for (key, value) in &top {
        match key.as_str() {
            "name" => {}
            "path" => {
                let objects: Vec<&serde_json::Map<String, Value>> = match value {
                    Value::Object(o) => vec![o],
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_object().ok_or_else(json_path_shape))
                        .collect::<Result<_, _>>()?,
                    _ => return Err(json_path_shape()),
                };
                for (path, body) in objects.into_iter().flatten() {
                    let bodies: Vec<&serde_json::Map<String, Value>> = match body {
                        Value::Object(o) => vec![o],
                        Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_object().ok_or_else(|| not_object(path)))
                            .collect::<Result<_, _>>()?,
                        _ => return Err(not_object(path)),
                    };
                    for body in bodies {
                        let line = locate(headers, &mut used, &mut cursor, path);
                        let (capabilities, deny_all) = capabilities_from_json(path, body)?;
                        rules.push(ParsedRule {
                            path: path.clone(),
                            capabilities,
                            line,
                            deny_all,
                        });
                    }
                }
            }
            other => return Err(format!("unknown top-level key {other:?} in the policy")),
        }
    }
    Ok(rules)
}

fn json_path_shape() -> String {
    "the \"path\" key of a json policy must hold an object of paths".to_string()
}

fn not_object(path: &str) -> String {
    format!("the rule for path {path:?} is not an object")
}

fn capabilities_from_json(
    path: &str,
    body: &serde_json::Map<String, Value>,
) -> Result<(Vec<String>, bool), String> {
    let mut caps = Vec::new();
    let mut legacy = None;
    for (key, value) in body {
        match (key.as_str(), value) {
            ("capabilities", Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(s) => caps.push(s.clone()),
                        _ => return Err(not_strings(path)),
                    }
                }
            }
            ("capabilities", _) => return Err(not_strings(path)),
            ("policy", Value::String(s)) => legacy = Some(s.clone()),
            ("policy", _) => {
                return Err(format!(
                    "the legacy policy value of path {path:?} is not a string"
                ))
            }
            (key, _) if PATH_KEYS.contains(&key) => {}
            (key, _) => return Err(format!("path {path:?} has an unknown key {key:?}")),
        }
    }
    finish_capabilities(path, caps, legacy)
}

/// Maximum bracket nesting outside strings.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Every JSON object key (a string followed by `:`), decoded, with its line.
fn json_keys(text: &str) -> Vec<Header> {
    let chars: Vec<char> = text.chars().collect();
    let mut keys = Vec::new();
    let (mut i, mut line) = (0, 1u32);
    while i < chars.len() {
        match chars[i] {
            '\n' => line += 1,
            '"' => {
                let start_line = line;
                let (raw, next) = read_string(&chars, i);
                line += raw.iter().filter(|c| **c == '\n').count() as u32;
                i = next;
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if chars.get(j) == Some(&':') {
                    keys.push(Header {
                        path: unescape(&raw),
                        line: start_line,
                    });
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    keys
}

// ---------------------------------------------------------------------------------------
// HCL scanning: header lines, and the HCL 1 leniencies
// ---------------------------------------------------------------------------------------

/// A `path "..."` header: the decoded path and its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Header {
    path: String,
    line: u32,
}

struct Scan {
    /// The text with the HCL 1 leniencies rewritten into HCL 2 (same lines).
    normalized: String,
    /// Top-level `path "..."` headers in document order.
    headers: Vec<Header>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    Block,
    Object,
    Bracket,
}

/// What the scanner expects after a top-level `path` identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    None,
    /// Saw `path` on this line; a string next is its label.
    Label(u32),
    /// Saw the label, which ends at this offset of the output; `true` once a newline passed.
    Brace(usize, bool),
}

/// Reads a quoted string starting at `chars[start] == '"'`; returns the raw content (escapes
/// not decoded) and the index after the closing quote. Stops at an unescaped newline or the
/// end of the text when the string is not closed.
fn read_string(chars: &[char], start: usize) -> (Vec<char>, usize) {
    let mut raw = Vec::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return (raw, i + 1),
            '\n' => return (raw, i),
            '\\' if i + 1 < chars.len() => {
                raw.push('\\');
                raw.push(chars[i + 1]);
                i += 2;
                continue;
            }
            c => raw.push(c),
        }
        i += 1;
    }
    (raw, i)
}

/// Decodes the escapes HCL and JSON share.
fn unescape(raw: &[char]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != '\\' || i + 1 >= raw.len() {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
        i += 2;
        match c {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' | 'U' => {
                let len = if c == 'u' { 4 } else { 8 };
                let hex: String = raw.iter().skip(i).take(len).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == len => {
                        out.push(ch);
                        i += len;
                    }
                    _ => {
                        out.push('\\');
                        out.push(c);
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Scans HCL text once: skips comments and strings, records top-level `path "..."` headers
/// with their lines, and rewrites the HCL 1 forms `hcl-rs` rejects.
fn scan_hcl(text: &str) -> Result<Scan, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut headers = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut pending = Pending::None;
    // The previous significant character, to tell a block's `{` from an object's.
    let mut prev: Option<char> = None;
    let mut line = 1u32;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Comments are copied as they are and count as whitespace.
        if c == '#' || (c == '/' && next == Some('/')) {
            while i < chars.len() && chars[i] != '\n' {
                out.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            out.push_str("/*");
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    line += 1;
                    if let Pending::Brace(at, _) = pending {
                        pending = Pending::Brace(at, true);
                    }
                }
                out.push(chars[i]);
                i += 1;
            }
            if i < chars.len() {
                out.push_str("*/");
                i += 2;
            }
            continue;
        }
        if c.is_whitespace() {
            if c == '\n' {
                line += 1;
                if let Pending::Brace(at, _) = pending {
                    pending = Pending::Brace(at, true);
                }
            }
            out.push(c);
            i += 1;
            continue;
        }
        if c == '"' {
            let (raw, end) = read_string(&chars, i);
            out.extend(&chars[i..end]);
            pending = match pending {
                Pending::Label(header_line) if stack.is_empty() => {
                    headers.push(Header {
                        path: unescape(&raw),
                        line: header_line,
                    });
                    Pending::Brace(out.len(), false)
                }
                _ => Pending::None,
            };
            prev = Some('"');
            i = end;
            continue;
        }
        if is_ident_char(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push_str(&word);
            pending = if stack.is_empty() && word == "path" && prev != Some('=') {
                Pending::Label(line)
            } else {
                Pending::None
            };
            prev = Some('a');
            continue;
        }
        match c {
            '{' => {
                let open = if matches!(prev, Some('=' | ':' | ',' | '[' | '(')) {
                    Open::Object
                } else {
                    Open::Block
                };
                match pending {
                    // `path "x"` NEWLINE `{`: move the brace up to the header.
                    Pending::Brace(at, true) => out.insert_str(at, " {"),
                    _ => out.push('{'),
                }
                stack.push(open);
                if stack.len() > MAX_DEPTH {
                    return Err("the policy nests too deeply to be a vault policy".to_string());
                }
            }
            '[' | '(' => {
                out.push(c);
                stack.push(Open::Bracket);
                if stack.len() > MAX_DEPTH {
                    return Err("the policy nests too deeply to be a vault policy".to_string());
                }
            }
            '}' | ']' | ')' => {
                out.push(c);
                stack.pop();
            }
            // HCL 1 allows commas between a block's attributes; HCL 2 does not.
            ',' if stack.last() == Some(&Open::Block) => out.push(' '),
            _ => out.push(c),
        }
        pending = Pending::None;
        prev = Some(c);
        i += 1;
    }
    Ok(Scan {
        normalized: out,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn caps(rule: &ParsedRule) -> Vec<&str> {
        rule.capabilities.iter().map(String::as_str).collect()
    }

    /// Real output 38 (`vault policies admin`, djenriquez/vault-ui#88), without the command.
    const REAL_38: &str = r#"/*
	This is the "admin" policy. 
	This should only be assigned to human users authenticated by the ldap auth backend.	
*/

path "sys/auth" {
    capabilities = [ "read" ]
}

path "auth/token/create" {
	capabilities = ["create", "read", "sudo", "update", "delete", "list"]
}

path "auth/token/create/*" {
	capabilities = ["create", "read", "sudo", "update", "delete", "list"]
}

path "secret/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

// Administrators have the right to manage policies for apps:

path "sys/policy" {
  capabilities = ["sudo", "create", "read", "update", "delete", "list"]
}

path "sys/policy/*" {
  capabilities = ["sudo", "create", "read", "update", "delete", "list"]
}

path "sys/mounts" {
  capabilities = ["read"]
}
"#;

    #[test]
    fn real_output_38() {
        let rules = parse_policy(REAL_38).expect("parses");
        let got: Vec<(&str, u32, usize)> = rules
            .iter()
            .map(|r| (r.path.as_str(), r.line, r.capabilities.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("sys/auth", 6, 1),
                ("auth/token/create", 10, 6),
                ("auth/token/create/*", 14, 6),
                ("secret/*", 18, 5),
                ("sys/policy", 24, 6),
                ("sys/policy/*", 28, 6),
                ("sys/mounts", 32, 1),
            ]
        );
        assert_eq!(
            caps(&rules[3]),
            ["create", "read", "update", "delete", "list"]
        );
        assert!(rules.iter().all(|r| !r.deny_all));
        for r in &rules {
            let header = REAL_38.lines().nth(r.line as usize - 1).unwrap();
            assert!(header.starts_with(&format!("path \"{}\"", r.path)));
        }
    }

    #[test]
    fn trailing_space_inside_quotes_is_kept() {
        let text = "path \"secret/backend/* \" {\n  capabilities = [\"read\"]\n}\n";
        let rules = parse_policy(text).unwrap();
        assert_eq!(rules[0].path, "secret/backend/* ");
        assert_eq!(rules[0].line, 1);
    }

    #[test]
    fn json_policy() {
        let text = r#"{
  "path": {
    "secret/data/app/*": {
      "capabilities": ["read", "list"]
    },
    "secret/data/app/prod/*": {
      "policy": "deny"
    },
    "path": {"capabilities": ["read"]}
  }
}"#;
        let rules = parse_policy(text).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].path, "secret/data/app/*");
        assert_eq!(rules[0].line, 3);
        assert_eq!(caps(&rules[0]), ["read", "list"]);
        assert_eq!(rules[1].line, 6);
        assert_eq!(caps(&rules[1]), ["deny"]);
        assert!(rules[1].deny_all);
        assert_eq!(rules[2].path, "path");
        assert_eq!(rules[2].line, 9);
    }

    #[test]
    fn json_policy_with_list_of_objects() {
        let text = r#"{"path": [{"a/*": {"capabilities": ["read"]}}, {"a/*": [{"capabilities": ["list"]}]}]}"#;
        let rules = parse_policy(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(caps(&rules[1]), ["list"]);
        assert!(rules.iter().all(|r| r.line == 1));
    }

    #[test]
    fn legacy_policy_form() {
        let text = r#"
path "sys/*" {
  policy = "deny"
}
path "secret/*" {
  policy = "write"
}
path "secret/ro/*" {
  policy = "read"
}
path "sys/mounts" {
  capabilities = ["patch"]
  policy = "sudo"
}
"#;
        let rules = parse_policy(text).unwrap();
        assert_eq!(caps(&rules[0]), ["deny"]);
        assert!(rules[0].deny_all);
        assert_eq!(
            caps(&rules[1]),
            ["create", "read", "update", "delete", "list"]
        );
        assert_eq!(caps(&rules[2]), ["read", "list"]);
        assert_eq!(
            caps(&rules[3]),
            ["patch", "create", "read", "update", "delete", "list", "sudo"]
        );
        let lines: Vec<u32> = rules.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 5, 8, 11]);
        assert!(parse_policy("path \"a\" {\n policy = \"admin\"\n}\n").is_err());
    }

    #[test]
    fn deny_with_other_capabilities() {
        let rules = parse_policy("path \"a/*\" { capabilities = [\"read\", \"deny\"] }").unwrap();
        assert!(rules[0].deny_all);
        assert_eq!(caps(&rules[0]), ["read", "deny"]);
    }

    #[test]
    fn comments_and_repeated_paths() {
        let text = r#"# path "commented/out" { capabilities = ["read"] }
// path "also/out" {}
/* path "block/out" {
   capabilities = ["read"] } */
path "secret/x" { capabilities = ["read"] } # trailing
path "secret/x" {
  # path "inside/comment"
  capabilities = ["list"]
}
"#;
        let rules = parse_policy(text).unwrap();
        let got: Vec<(&str, u32)> = rules.iter().map(|r| (r.path.as_str(), r.line)).collect();
        assert_eq!(got, [("secret/x", 5), ("secret/x", 6)]);
        assert_eq!(caps(&rules[1]), ["list"]);
    }

    #[test]
    fn hcl1_leniencies() {
        let text = "path \"sys/auth/*\"\n{\n  capabilities = [\"read\", \"list\"],\n  policy = \"read\",\n}\n\npath \"b\" {\n  capabilities = [\"read\"]\n}\n";
        let rules = parse_policy(text).unwrap();
        assert_eq!(rules[0].path, "sys/auth/*");
        assert_eq!(rules[0].line, 1);
        assert_eq!(rules[1].line, 7);
        assert_eq!(caps(&rules[0]), ["read", "list", "read", "list"]);
    }

    #[test]
    fn parameters_and_other_keys_are_accepted() {
        let text = r#"name = "app"
path "secret/data/app" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "*" = []
  }
  denied_parameters = { "password" = [], "token" = [] }
  min_wrapping_ttl = "1s"
}
path "templated/{{identity.entity.id}}/*" {
  capabilities = ["read"]
}
"#;
        let rules = parse_policy(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].line, 2);
        assert_eq!(rules[1].path, "templated/{{identity.entity.id}}/*");
        assert_eq!(rules[1].line, 10);
    }

    #[test]
    fn empty_policy_is_no_rules() {
        assert_eq!(parse_policy("").unwrap(), vec![]);
        assert_eq!(parse_policy("# nothing\n").unwrap(), vec![]);
    }

    #[test]
    fn garbage_is_an_error() {
        for text in [
            "hello world",
            "path \"a\" {\n  capabilities = [\"read\"\n}\n",
            "path \"a\" { capabilites = [\"read\"] }",
            "path \"a\" { capabilities = \"read\" }",
            "foo = 1",
            "path \"a\" \"b\" { capabilities = [\"read\"] }",
            "resource \"x\" {}",
            "{\"path\": ",
            "{\"path\": 3}",
            "[1, 2]",
            "Error reading policy named eso-read: permission denied",
        ] {
            let err = parse_policy(text).expect_err(text);
            assert_eq!(err, err.to_lowercase(), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let err = parse_policy("path \"a\" {\n  capabilities = [\"read\"\n}\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        let err = parse_policy("{\n\"path\": }").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!(
            "path \"a\" {{ x = {}{} }}",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert!(parse_policy(&deep).is_err());
        let deep = format!("{{\"path\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse_policy(&deep).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = parse_policy(&s);
        }

        #[test]
        fn never_panics_on_policy_like_text(s in "(path|\"|\\{|\\}|\\[|\\]|=|,|#|//|/\\*|\\*/|\n| |capabilities|policy|read|deny|a/\\*|\\\\)*") {
            let _ = parse_policy(&s);
        }
    }
}
