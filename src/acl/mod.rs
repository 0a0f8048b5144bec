//! Vault ACL evaluation, offline.
//!
//! Most broken Vault -> ESO chains come down to one question: may a token that carries
//! policies P use capability C on path X? Vault answers it per request and never says why a
//! request was refused: the reply is a bare `permission denied`. To explain a 403 from a
//! support bundle, credtrace must answer the same question from the policy texts alone and
//! name the rule that decided it. This module re-implements Vault's ACL evaluation
//! (`vault/acl.go`, `vault/policy.go`) with the same matching and the same priority order:
//!
//! * an exact pattern matches only itself and beats every glob;
//! * a trailing `*` is a prefix glob; a `*` anywhere else is a literal character;
//! * a `+` segment matches exactly one path segment;
//! * of several matching globs only the highest-priority one applies (see [`priority_cmp`]);
//! * the same pattern in several policies is one rule whose capabilities are the union,
//!   except that `deny` in any of them makes the whole rule `deny`;
//! * a `list` request path always ends in `/` (Vault's HTTP layer appends it), and an exact
//!   rule for the path without that slash also applies;
//! * the `root` policy allows everything.
//!
//! Templated paths (`{{identity.entity.name}}`) depend on the identity of the caller, which a
//! bundle does not hold. When such a rule could match and would change the answer, the result
//! is [`Outcome::Templated`] rather than a guess.

pub mod eso;
pub mod explain;

use crate::model::{Loc, VaultPolicy};
use std::cmp::Ordering;

/// The capabilities that the `root` policy stands for.
pub const ROOT_CAPABILITIES: &[&str] = &[
    "sudo", "create", "read", "update", "delete", "list", "patch",
];

/// Why a check came out the way it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The deciding rule lists the capability (or the token has the `root` policy).
    Granted,
    /// No rule of any policy matches the path: Vault denies by default.
    NoMatchingRule,
    /// The deciding rule matches but does not list the capability.
    MissingCapability,
    /// The deciding rule says `deny`.
    Denied,
    /// A templated rule (`{{...}}`) may match and would change the answer; only Vault, which
    /// knows the caller's entity, can tell.
    Templated,
}

/// The rule that decided a check: one pattern, merged over every policy that has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedRule<'a> {
    /// The policy to cite: the first one that holds the deciding capability (or `deny`),
    /// else the first one with the pattern.
    pub policy: &'a str,
    /// The pattern as that policy writes it.
    pub pattern: &'a str,
    /// Merged capabilities of the pattern (`["deny"]` alone when any policy denies).
    pub capabilities: Vec<String>,
    /// Where [`MatchedRule::policy`] writes the pattern.
    pub loc: &'a Loc,
    /// Every policy that has the pattern, with the location of its rule.
    pub contributors: Vec<(&'a str, &'a Loc)>,
}

/// The answer to "may these policies do C on X".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision<'a> {
    pub allowed: bool,
    pub outcome: Outcome,
    /// The deciding rule; `None` only for [`Outcome::NoMatchingRule`].
    pub rule: Option<MatchedRule<'a>>,
}

impl<'a> Decision<'a> {
    /// The pattern that decided, if any.
    pub fn pattern(&self) -> Option<&'a str> {
        self.rule.as_ref().map(|r| r.pattern)
    }
}

/// One policy's rule for a pattern.
#[derive(Clone, Debug)]
struct Contributor<'a> {
    policy: &'a str,
    path: &'a str,
    loc: &'a Loc,
    capabilities: &'a [String],
}

/// All rules with the same pattern, merged as Vault merges them.
#[derive(Clone, Debug)]
struct Entry<'a> {
    /// The pattern with one leading `/` removed, as Vault stores it.
    key: &'a str,
    templated: bool,
    contributors: Vec<Contributor<'a>>,
}

impl Entry<'_> {
    fn denies(&self) -> bool {
        self.contributors
            .iter()
            .any(|c| c.capabilities.iter().any(|x| x == "deny"))
    }
}

/// Which entry won a lookup: a real one, or a templated one resolved for the request path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Known(usize),
    Hypothetical,
}

/// The ACL of a token: the union of its policies.
#[derive(Clone, Debug)]
pub struct Acl<'a> {
    entries: Vec<Entry<'a>>,
    root: Option<&'a VaultPolicy>,
}

impl<'a> Acl<'a> {
    /// Builds the ACL from the token's policies. Pass only policies that exist (Vault skips
    /// names it cannot find), including `default` when the token carries it.
    pub fn new(policies: &[&'a VaultPolicy]) -> Acl<'a> {
        let mut entries: Vec<Entry<'a>> = Vec::new();
        let mut root = None;
        for policy in policies {
            if policy.name == "root" {
                root = root.or(Some(*policy));
                continue;
            }
            for rule in &policy.rules {
                let key = strip_one_slash(&rule.path);
                let contributor = Contributor {
                    policy: &policy.name,
                    path: &rule.path,
                    loc: &rule.loc,
                    capabilities: &rule.capabilities,
                };
                match entries.iter_mut().find(|e| e.key == key) {
                    Some(entry) => entry.contributors.push(contributor),
                    None => entries.push(Entry {
                        key,
                        templated: is_templated(key),
                        contributors: vec![contributor],
                    }),
                }
            }
        }
        Acl { entries, root }
    }

    /// true when no policy contributed anything.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.root.is_none()
    }

    /// May the token use `capability` (`read`, `list`, `create`, `update`, `delete`, `patch`,
    /// `sudo`) on the API path `path` (without `/v1/`)?
    pub fn check(&self, path: &str, capability: &str) -> Decision<'a> {
        if let Some(root) = self.root {
            return Decision {
                allowed: true,
                outcome: Outcome::Granted,
                rule: Some(MatchedRule {
                    policy: &root.name,
                    pattern: "*",
                    capabilities: ROOT_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
                    loc: &root.loc,
                    contributors: vec![(&root.name, &root.loc)],
                }),
            };
        }
        let list = capability == "list";
        let mut path = path.trim_start_matches('/').to_string();
        if list && !path.ends_with('/') {
            path.push('/');
        }

        let known: Vec<(&str, Tag)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.templated)
            .map(|(i, e)| (e.key, Tag::Known(i)))
            .collect();
        let decision = match lookup(&known, &path, list) {
            Some(Tag::Known(i)) => self.decide(&[i], capability),
            _ => Decision {
                allowed: false,
                outcome: Outcome::NoMatchingRule,
                rule: None,
            },
        };

        // A templated rule matters only if, resolved for this very path, it would win the
        // lookup and give another answer.
        let phases: Vec<&str> = match path.strip_suffix('/') {
            Some(trimmed) if list => vec![trimmed, path.as_str()],
            _ => vec![path.as_str()],
        };
        for (t, entry) in self.entries.iter().enumerate().filter(|(_, e)| e.templated) {
            for phase in &phases {
                let Some(resolved) = resolve_template(entry.key, phase) else {
                    continue;
                };
                let merged_with = known.iter().find_map(|(k, tag)| match tag {
                    Tag::Known(i) if *k == resolved => Some(*i),
                    _ => None,
                });
                let mut cands: Vec<(&str, Tag)> = known
                    .iter()
                    .filter(|(k, _)| *k != resolved)
                    .copied()
                    .collect();
                cands.push((&resolved, Tag::Hypothetical));
                if lookup(&cands, &path, list) != Some(Tag::Hypothetical) {
                    continue;
                }
                let mut ids = vec![t];
                ids.extend(merged_with);
                let hypothetical = self.decide(&ids, capability);
                if hypothetical.allowed != decision.allowed {
                    return Decision {
                        allowed: false,
                        outcome: Outcome::Templated,
                        rule: hypothetical.rule,
                    };
                }
            }
        }
        decision
    }

    /// The decision given by the merged entries `ids` (one pattern, or a templated pattern
    /// and the known pattern it would resolve to).
    fn decide(&self, ids: &[usize], capability: &str) -> Decision<'a> {
        let contributors: Vec<&Contributor<'a>> = ids
            .iter()
            .flat_map(|i| self.entries[*i].contributors.iter())
            .collect();
        let deny = ids.iter().any(|i| self.entries[*i].denies());
        let capabilities: Vec<String> = if deny {
            vec!["deny".to_string()]
        } else {
            let mut caps: Vec<String> = Vec::new();
            for c in contributors.iter().flat_map(|c| c.capabilities.iter()) {
                if !caps.contains(c) {
                    caps.push(c.clone());
                }
            }
            caps
        };
        let (allowed, outcome, cited) = if deny {
            let cited = contributors
                .iter()
                .find(|c| c.capabilities.iter().any(|x| x == "deny"));
            (false, Outcome::Denied, cited)
        } else if capabilities.iter().any(|c| c == capability) {
            let cited = contributors
                .iter()
                .find(|c| c.capabilities.iter().any(|x| x == capability));
            (true, Outcome::Granted, cited)
        } else {
            (false, Outcome::MissingCapability, contributors.first())
        };
        let cited = cited.or(contributors.first());
        Decision {
            allowed,
            outcome,
            rule: cited.map(|cited| MatchedRule {
                policy: cited.policy,
                pattern: cited.path,
                capabilities,
                loc: cited.loc,
                contributors: contributors.iter().map(|c| (c.policy, c.loc)).collect(),
            }),
        }
    }
}

/// Vault stores policy paths without one leading `/`.
fn strip_one_slash(pattern: &str) -> &str {
    pattern.strip_prefix('/').unwrap_or(pattern)
}

/// true when the pattern uses ACL templating (`{{identity...}}`).
pub fn is_templated(pattern: &str) -> bool {
    pattern.contains("{{")
}

/// How Vault files a pattern (`vault/policy.go` `parsePaths`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Neither a `+` segment nor a trailing `*`.
    Exact,
    /// A trailing `*` and no `+` segment.
    Prefix,
    /// Has a `+` segment (and maybe a trailing `*`).
    Segment,
}

fn has_segment_wildcards(key: &str) -> bool {
    key == "+" || key.contains("/+") || key.starts_with("+/")
}

fn kind(key: &str) -> Kind {
    if has_segment_wildcards(key) {
        Kind::Segment
    } else if key.ends_with('*') {
        Kind::Prefix
    } else {
        Kind::Exact
    }
}

/// Vault's lookup order (`ACL.AllowOperation`): exact rule for the path; for `list` the
/// exact rule for the path without its trailing slash; for `list` the best glob for the path
/// without its trailing slash; the best glob for the path.
fn lookup<T: Copy>(cands: &[(&str, T)], path: &str, list: bool) -> Option<T> {
    let exact = |p: &str| {
        cands
            .iter()
            .find(|(k, _)| kind(k) == Kind::Exact && *k == p)
            .map(|(_, t)| *t)
    };
    if let Some(t) = exact(path) {
        return Some(t);
    }
    let trimmed = path.strip_suffix('/');
    if list {
        if let Some(t) = exact(trimmed.unwrap_or(path)) {
            return Some(t);
        }
        if let Some(t) = trimmed.and_then(|p| best_glob(cands, p)) {
            return Some(t);
        }
    }
    best_glob(cands, path)
}

fn best_glob<T: Copy>(cands: &[(&str, T)], path: &str) -> Option<T> {
    cands
        .iter()
        .filter(|(k, _)| kind(k) != Kind::Exact && key_matches(k, path, false))
        .max_by(|a, b| key_priority_cmp(a.0, b.0))
        .map(|(_, t)| *t)
}

/// Does the pattern match the path the way Vault's ACL does? A templated pattern "matches"
/// when some value of its template could make it match (each template segment acting like
/// a `+` that must also fit the literal text around the template). A single leading `/` of
/// the pattern is ignored, as Vault ignores it.
pub fn matches(pattern: &str, path: &str) -> bool {
    let key = strip_one_slash(pattern);
    let path = path.trim_start_matches('/');
    key_matches(key, path, is_templated(key))
}

fn key_matches(key: &str, path: &str, templated: bool) -> bool {
    if !templated {
        match kind(key) {
            Kind::Exact => return key == path,
            Kind::Prefix => return path.starts_with(&key[..key.len() - 1]),
            Kind::Segment => {}
        }
    }
    segment_match(key, path).is_some()
}

/// Vault's segment matcher (`CheckAllowedFromNonExactPaths`), extended with template holes.
/// Returns, for each pattern segment, the path segment it matched.
fn segment_match<'p>(key: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let (body, prefix) = match key.strip_suffix('*') {
        Some(body) => (body, true),
        None => (key, false),
    };
    let key_parts: Vec<&str> = body.split('/').collect();
    let path_parts: Vec<&str> = path.split('/').collect();
    if path_parts.len() < key_parts.len() || (!prefix && path_parts.len() != key_parts.len()) {
        return None;
    }
    let last = key_parts.len() - 1;
    let mut matched = Vec::with_capacity(key_parts.len());
    for (i, part) in key_parts.iter().enumerate() {
        let seg = path_parts[i];
        let ok = *part == "+"
            || segment_equals(part, seg)
            || (prefix && i == last && segment_prefix(part, seg));
        if !ok {
            return None;
        }
        matched.push(seg);
    }
    Some(matched)
}

/// A pattern segment against a path segment; `{{...}}` holes match any text.
fn segment_equals(part: &str, seg: &str) -> bool {
    if !part.contains("{{") {
        return part == seg;
    }
    glob_holes(&template_pieces(part), seg, false)
}

/// Is `part` a prefix of `seg` (the last segment of a prefix glob)?
fn segment_prefix(part: &str, seg: &str) -> bool {
    if !part.contains("{{") {
        return seg.starts_with(part);
    }
    glob_holes(&template_pieces(part), seg, true)
}

/// Splits a segment into literal pieces around its template holes: `a{{x}}b` -> `["a", "b"]`.
fn template_pieces(part: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = part;
    while let Some(open) = rest.find("{{") {
        pieces.push(&rest[..open]);
        match rest[open..].find("}}") {
            Some(close) => rest = &rest[open + close + 2..],
            None => {
                rest = "";
                break;
            }
        }
    }
    pieces.push(rest);
    pieces
}

/// Literal pieces separated by holes that match any text; `open_end` lets the match stop
/// early (prefix semantics).
fn glob_holes(pieces: &[&str], text: &str, open_end: bool) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return true;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    for (n, piece) in rest.iter().enumerate() {
        let is_last = n + 1 == rest.len();
        if is_last && !open_end {
            return remaining.ends_with(piece);
        }
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    open_end || remaining.is_empty()
}

/// The pattern a templated key would become for this path: every templated segment takes
/// the value of the path segment it matched.
fn resolve_template(key: &str, path: &str) -> Option<String> {
    let matched = segment_match(key, path)?;
    let (body, prefix) = match key.strip_suffix('*') {
        Some(body) => (body, true),
        None => (key, false),
    };
    let mut out: Vec<&str> = Vec::new();
    for (part, seg) in body.split('/').zip(matched) {
        out.push(if part.contains("{{") { seg } else { part });
    }
    let mut resolved = out.join("/");
    if prefix {
        resolved.push('*');
    }
    Some(resolved)
}

/// What Vault sorts glob matches by (`wcPathDescr`).
struct Descr<'s> {
    exact: bool,
    first_wildcard: usize,
    is_prefix: bool,
    wildcards: usize,
    wc_path: &'s str,
}

fn descr(key: &str) -> Descr<'_> {
    match kind(key) {
        Kind::Exact => Descr {
            exact: true,
            first_wildcard: key.len(),
            is_prefix: false,
            wildcards: 0,
            wc_path: key,
        },
        Kind::Prefix => {
            let wc_path = &key[..key.len() - 1];
            Descr {
                exact: false,
                first_wildcard: wc_path.len(),
                is_prefix: true,
                wildcards: 0,
                wc_path,
            }
        }
        Kind::Segment => {
            let (wc_path, is_prefix) = match key.strip_suffix('*') {
                Some(p) => (p, true),
                None => (key, false),
            };
            Descr {
                exact: false,
                first_wildcard: key.find('+').unwrap_or(key.len()),
                is_prefix,
                wildcards: wc_path.split('/').filter(|s| *s == "+").count(),
                wc_path,
            }
        }
    }
}

/// Vault's priority between two patterns that both match a path: `Greater` when `a` wins.
///
/// An exact pattern beats any glob. Between globs, in order: the first `+` or `*` occurring
/// later wins; a pattern not ending in `*` beats one that does; fewer `+` segments win; the
/// longer pattern wins; the lexicographically larger pattern wins. A single leading `/` is
/// ignored; template text (`{{...}}`) is compared as written.
pub fn priority_cmp(a: &str, b: &str) -> Ordering {
    key_priority_cmp(strip_one_slash(a), strip_one_slash(b))
}

fn key_priority_cmp(a: &str, b: &str) -> Ordering {
    let (da, db) = (descr(a), descr(b));
    da.exact
        .cmp(&db.exact)
        .then(da.first_wildcard.cmp(&db.first_wildcard))
        .then(db.is_prefix.cmp(&da.is_prefix))
        .then(db.wildcards.cmp(&da.wildcards))
        .then(da.wc_path.len().cmp(&db.wc_path.len()))
        .then(da.wc_path.cmp(db.wc_path))
        .then(a.cmp(b))
}

/// A policy path that Vault accepts but that probably does not do what its author meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathProblem {
    /// A `*` that is not the last character: matched literally.
    GlobNotLast,
    /// Whitespace inside the quotes, before or after the path: matched literally.
    SurroundingWhitespace,
    /// More than one leading `/`: Vault strips one, so the rule never matches. (A single
    /// leading `/` is harmless and not reported.)
    LeadingSlash,
    /// An empty (or blank) path.
    Empty,
}

impl PathProblem {
    pub fn describe(&self) -> &'static str {
        match self {
            PathProblem::GlobNotLast => {
                "a '*' that is not the last character of the path is matched literally, not as a glob"
            }
            PathProblem::SurroundingWhitespace => {
                "the path has whitespace inside the quotes, which vault keeps and matches literally"
            }
            PathProblem::LeadingSlash => {
                "the path starts with '//': vault strips only one leading slash, so the rule never matches"
            }
            PathProblem::Empty => "the path is empty, so the rule matches no request",
        }
    }
}

/// Lints one policy path as written inside the quotes.
pub fn lint_path(pattern: &str) -> Vec<PathProblem> {
    if pattern.trim().is_empty() {
        return vec![PathProblem::Empty];
    }
    let mut problems = Vec::new();
    // judge the glob on the path as meant; stray whitespace is its own problem
    let body = pattern.trim();
    let last = body.len() - body.chars().last().map_or(0, char::len_utf8);
    if body.char_indices().any(|(i, c)| c == '*' && i != last) {
        problems.push(PathProblem::GlobNotLast);
    }
    if pattern.trim() != pattern {
        problems.push(PathProblem::SurroundingWhitespace);
    }
    if pattern.trim_start().starts_with("//") {
        problems.push(PathProblem::LeadingSlash);
    }
    problems
}

/// The rules of Vault's built-in `default` policy (`vault/policy_store.go` `defaultPolicy`),
/// for bundles that do not include its text. Operators can edit `default`; prefer the
/// bundle's copy when there is one.
pub fn default_policy_rules() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("auth/token/lookup-self", &["read"]),
        ("auth/token/renew-self", &["update"]),
        ("auth/token/revoke-self", &["update"]),
        ("sys/capabilities-self", &["update"]),
        ("identity/entity/id/{{identity.entity.id}}", &["read"]),
        ("identity/entity/name/{{identity.entity.name}}", &["read"]),
        ("sys/internal/ui/resultant-acl", &["read"]),
        ("sys/renew", &["update"]),
        ("sys/leases/renew", &["update"]),
        ("sys/leases/lookup", &["update"]),
        (
            "cubbyhole/*",
            &["create", "read", "update", "delete", "list"],
        ),
        ("sys/wrapping/wrap", &["update"]),
        ("sys/wrapping/lookup", &["update"]),
        ("sys/wrapping/unwrap", &["update"]),
        ("sys/tools/hash", &["update"]),
        ("sys/tools/hash/*", &["update"]),
        ("sys/tools/random", &["update"]),
        ("sys/tools/random/*", &["update"]),
        ("sys/control-group/request", &["update"]),
        ("identity/oidc/provider/+/authorize", &["read", "update"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PolicyRule;
    use std::sync::Arc;

    type Rules = &'static [(&'static str, &'static [&'static str])];
    type Policies = &'static [(&'static str, Rules)];

    fn policy(name: &str, rules: &[(&str, &[&str])]) -> VaultPolicy {
        let file: Arc<str> = Arc::from(format!("vault/policy-{name}.hcl").as_str());
        VaultPolicy {
            name: name.to_string(),
            rules: rules
                .iter()
                .enumerate()
                .map(|(i, (path, caps))| PolicyRule {
                    path: path.to_string(),
                    capabilities: caps.iter().map(|c| c.to_string()).collect(),
                    loc: Loc::new(&file, i as u32 * 3 + 1, &format!("path \"{path}\" {{")),
                })
                .collect(),
            loc: Loc::file(&file),
        }
    }

    fn build(policies: Policies) -> Vec<VaultPolicy> {
        policies.iter().map(|(n, r)| policy(n, r)).collect()
    }

    struct Case {
        /// The Vault behaviour the row checks.
        name: &'static str,
        policies: Policies,
        path: &'static str,
        cap: &'static str,
        allowed: bool,
        outcome: Outcome,
        /// The deciding pattern.
        pattern: Option<&'static str>,
    }

    use Outcome::*;

    const CASES: &[Case] = &[
        Case {
            name: "exact path grants the listed capability",
            policies: &[("app", &[("secret/data/app/db", &["read"])])],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app/db"),
        },
        Case {
            name: "exact path does not match a child path",
            policies: &[("app", &[("secret/data/app/db", &["read"])])],
            path: "secret/data/app/db/x",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "exact path does not match a longer sibling",
            policies: &[("app", &[("secret/data/app", &["read"])])],
            path: "secret/data/apps",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "trailing glob is a plain prefix, even inside a segment",
            policies: &[("app", &[("secret/data/app*", &["read"])])],
            path: "secret/data/apps/x",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app*"),
        },
        Case {
            name: "trailing glob matches at any depth",
            policies: &[("app", &[("secret/*", &["read"])])],
            path: "secret/data/a/b/c",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/*"),
        },
        Case {
            name: "glob after a slash does not match the bare prefix",
            policies: &[("app", &[("secret/data/app/*", &["read"])])],
            path: "secret/data/app",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "a star in the middle is a literal (FM-03)",
            policies: &[("app", &[("secret/data/*/db", &["read"])])],
            path: "secret/data/app/db",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "a star in the middle matches only a literal star",
            policies: &[("app", &[("secret/data/*/db", &["read"])])],
            path: "secret/data/*/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/*/db"),
        },
        Case {
            name: "a space after the glob makes the whole path literal (FM-03)",
            policies: &[("app", &[("secret/backend/* ", &["read"])])],
            path: "secret/backend/x",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "plus matches exactly one segment",
            policies: &[("app", &[("secret/data/+/db", &["read"])])],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/+/db"),
        },
        Case {
            name: "plus does not match two segments",
            policies: &[("app", &[("secret/data/+/db", &["read"])])],
            path: "secret/data/a/b/db",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "plus does not match a missing segment",
            policies: &[("app", &[("secret/data/+/db", &["read"])])],
            path: "secret/data/db",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "plus at the start of the path",
            policies: &[("app", &[("+/data/app", &["read"])])],
            path: "kv/data/app",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("+/data/app"),
        },
        Case {
            name: "plus followed by a glob matches deeper paths",
            policies: &[("app", &[("secret/data/+/*", &["read"])])],
            path: "secret/data/app/x/y",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/+/*"),
        },
        Case {
            name: "plus followed by a glob needs a segment after the plus",
            policies: &[("app", &[("secret/data/+/*", &["read"])])],
            path: "secret/data/app",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "a plus inside a segment is a literal",
            policies: &[("app", &[("secret/a+b/x", &["read"])])],
            path: "secret/a+b/x",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/a+b/x"),
        },
        Case {
            name: "priority 1: the pattern whose first wildcard comes later wins",
            policies: &[(
                "app",
                &[
                    ("secret/data/+/config", &["read"]),
                    ("secret/data/app/*", &["list"]),
                ],
            )],
            path: "secret/data/app/config",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "priority 1: the longer prefix glob wins",
            policies: &[(
                "app",
                &[("secret/*", &["read"]), ("secret/data/app/*", &["list"])],
            )],
            path: "secret/data/app/x",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "priority 2: not ending in a glob beats ending in one",
            policies: &[(
                "app",
                &[("secret/+/config", &["read"]), ("secret/+/*", &["list"])],
            )],
            path: "secret/app/config",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/+/config"),
        },
        Case {
            name: "priority 2: a final plus beats a glob at the same place",
            policies: &[("app", &[("secret/+", &["read"]), ("secret/*", &["deny"])])],
            path: "secret/app",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/+"),
        },
        Case {
            name: "priority 3: fewer plus segments win",
            policies: &[(
                "app",
                &[("secret/+/app/db", &["list"]), ("secret/+/+/db", &["read"])],
            )],
            path: "secret/x/app/db",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/+/app/db"),
        },
        Case {
            name: "priority 4: the longer pattern wins",
            policies: &[(
                "app",
                &[
                    ("secret/+/app/d*", &["read"]),
                    ("secret/+/app/db*", &["list"]),
                ],
            )],
            path: "secret/x/app/dbx",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/+/app/db*"),
        },
        Case {
            name: "priority 5: the lexicographically larger pattern wins",
            policies: &[(
                "app",
                &[("secret/+/+/y", &["read"]), ("secret/+/x/+", &["list"])],
            )],
            path: "secret/a/x/y",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/+/x/+"),
        },
        Case {
            name: "an exact path beats every glob",
            policies: &[(
                "app",
                &[("secret/data/app", &["list"]), ("secret/*", &["read"])],
            )],
            path: "secret/data/app",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/data/app"),
        },
        Case {
            name: "a bare star matches everything at the lowest priority",
            policies: &[("app", &[("*", &["read"]), ("secret/*", &["list"])])],
            path: "secret/x",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/*"),
        },
        Case {
            name: "the same pattern in two policies: capabilities are unioned",
            policies: &[
                ("lister", &[("secret/data/app/*", &["list"])]),
                ("reader", &[("secret/data/app/*", &["read"])]),
            ],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "union across policies does not change which pattern wins",
            policies: &[
                ("reader", &[("secret/*", &["read"])]),
                ("lister", &[("secret/data/*", &["list"])]),
            ],
            path: "secret/data/app",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/data/*"),
        },
        Case {
            name: "deny in one policy beats read in another for the same pattern",
            policies: &[
                ("reader", &[("secret/data/app/*", &["read"])]),
                ("blocker", &[("secret/data/app/*", &["deny"])]),
            ],
            path: "secret/data/app/db",
            cap: "read",
            allowed: false,
            outcome: Denied,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "deny beside read in the same rule",
            policies: &[("app", &[("secret/data/app/*", &["read", "deny"])])],
            path: "secret/data/app/db",
            cap: "read",
            allowed: false,
            outcome: Denied,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "deny on a higher-priority pattern shadows a broader grant (FM-04)",
            policies: &[
                ("reader", &[("secret/data/app/*", &["read"])]),
                ("guard", &[("secret/data/app/prod/*", &["deny"])]),
            ],
            path: "secret/data/app/prod/db",
            cap: "read",
            allowed: false,
            outcome: Denied,
            pattern: Some("secret/data/app/prod/*"),
        },
        Case {
            name: "the deny does not reach paths outside its pattern",
            policies: &[
                ("reader", &[("secret/data/app/*", &["read"])]),
                ("guard", &[("secret/data/app/prod/*", &["deny"])]),
            ],
            path: "secret/data/app/dev/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "a narrower list-only rule shadows a broader read (FM-04)",
            policies: &[
                ("reader", &[("secret/data/app/*", &["read"])]),
                ("browse", &[("secret/data/app/prod/*", &["list"])]),
            ],
            path: "secret/data/app/prod/db",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/data/app/prod/*"),
        },
        Case {
            name: "a lower-priority deny does not block a higher-priority grant",
            policies: &[(
                "app",
                &[("secret/*", &["deny"]), ("secret/data/app/*", &["read"])],
            )],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "an empty capability list wins and grants nothing",
            policies: &[(
                "app",
                &[("secret/data/app/*", &[]), ("secret/*", &["read"])],
            )],
            path: "secret/data/app/x",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "kv v2 reads need the data/ segment (FM-02)",
            policies: &[("app", &[("secret/app/*", &["read"])])],
            path: "secret/data/app/db",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "kv v2 data/ grant covers the read",
            policies: &[("app", &[("secret/data/app/*", &["read"])])],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "kv v2 data/ grant does not cover metadata listing (FM-30)",
            policies: &[("app", &[("secret/data/app/*", &["read", "list"])])],
            path: "secret/metadata/app/",
            cap: "list",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "kv v2 metadata list through a glob: the slash is appended to list paths",
            policies: &[("app", &[("secret/metadata/app/*", &["list"])])],
            path: "secret/metadata/app",
            cap: "list",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/metadata/app/*"),
        },
        Case {
            name: "kv v2 metadata read for metadataPolicy Fetch (FM-30)",
            policies: &[("app", &[("secret/metadata/app/*", &["read"])])],
            path: "secret/metadata/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/metadata/app/*"),
        },
        Case {
            name: "list uses the exact rule for the path without its trailing slash",
            policies: &[("app", &[("secret/metadata/app", &["list"])])],
            path: "secret/metadata/app/",
            cap: "list",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/metadata/app"),
        },
        Case {
            name: "read does not drop a trailing slash",
            policies: &[("app", &[("secret/metadata/app", &["read"])])],
            path: "secret/metadata/app/",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "list tries globs on the path without the slash first",
            policies: &[(
                "app",
                &[
                    ("secret/metadata/app*", &["list"]),
                    ("secret/metadata/app/*", &["deny"]),
                ],
            )],
            path: "secret/metadata/app/",
            cap: "list",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/metadata/app*"),
        },
        Case {
            name: "the root policy grants everything",
            policies: &[("root", &[])],
            path: "sys/raw/anything",
            cap: "sudo",
            allowed: true,
            outcome: Granted,
            pattern: Some("*"),
        },
        Case {
            name: "a templated path that may match is unknown offline",
            policies: &[(
                "entity",
                &[("secret/data/{{identity.entity.name}}/*", &["read"])],
            )],
            path: "secret/data/alice/db",
            cap: "read",
            allowed: false,
            outcome: Templated,
            pattern: Some("secret/data/{{identity.entity.name}}/*"),
        },
        Case {
            name: "a templated deny that may shadow a grant is unknown offline",
            policies: &[
                ("reader", &[("secret/*", &["read"])]),
                (
                    "entity",
                    &[("secret/data/{{identity.entity.name}}/*", &["deny"])],
                ),
            ],
            path: "secret/data/alice/db",
            cap: "read",
            allowed: false,
            outcome: Templated,
            pattern: Some("secret/data/{{identity.entity.name}}/*"),
        },
        Case {
            name: "a templated path that cannot match is ignored",
            policies: &[(
                "entity",
                &[("kv/data/{{identity.entity.name}}/*", &["read"])],
            )],
            path: "secret/data/alice/db",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "an exact rule outranks a templated glob",
            policies: &[
                (
                    "entity",
                    &[("secret/data/{{identity.entity.name}}/*", &["deny"])],
                ),
                ("app", &[("secret/data/alice/db", &["read"])]),
            ],
            path: "secret/data/alice/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/alice/db"),
        },
        Case {
            name: "a templated rule that would give the same answer leaves it known",
            policies: &[
                (
                    "entity",
                    &[("secret/data/{{identity.entity.name}}/*", &["read"])],
                ),
                ("app", &[("secret/*", &["read"])]),
            ],
            path: "secret/data/alice/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/*"),
        },
        Case {
            name: "a templated exact path (default policy's entity lookup)",
            policies: &[(
                "default",
                &[("identity/entity/name/{{identity.entity.name}}", &["read"])],
            )],
            path: "identity/entity/name/alice",
            cap: "read",
            allowed: false,
            outcome: Templated,
            pattern: Some("identity/entity/name/{{identity.entity.name}}"),
        },
        Case {
            name: "no policies at all: denied by default",
            policies: &[],
            path: "secret/data/app/db",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "a policy without rules grants nothing",
            policies: &[("empty", &[])],
            path: "secret/data/app/db",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "one leading slash in a policy path is stripped",
            policies: &[("app", &[("/secret/data/x", &["read"])])],
            path: "secret/data/x",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("/secret/data/x"),
        },
        Case {
            name: "a double leading slash in a policy path never matches",
            policies: &[("app", &[("//secret/data/x", &["read"])])],
            path: "secret/data/x",
            cap: "read",
            allowed: false,
            outcome: NoMatchingRule,
            pattern: None,
        },
        Case {
            name: "leading slashes of the request path are ignored",
            policies: &[("app", &[("secret/data/x", &["read"])])],
            path: "/secret/data/x",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/x"),
        },
        Case {
            name: "sudo must be listed explicitly",
            policies: &[("ops", &[("sys/mounts/*", &["read", "update"])])],
            path: "sys/mounts/secret",
            cap: "sudo",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("sys/mounts/*"),
        },
        Case {
            name: "priority tie: a leading slash and none are one pattern, capabilities unioned",
            policies: &[
                ("lister", &[("/secret/data/app/*", &["list"])]),
                ("reader", &[("secret/data/app/*", &["read"])]),
            ],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "priority tie: a deny under a leading slash still merges with the grant",
            policies: &[
                ("reader", &[("secret/data/app/*", &["read"])]),
                ("guard", &[("/secret/data/app/*", &["deny"])]),
            ],
            path: "secret/data/app/db",
            cap: "read",
            allowed: false,
            outcome: Denied,
            pattern: Some("/secret/data/app/*"),
        },
        Case {
            name: "priority tie on first wildcard: fewer plus segments win, here a deny",
            policies: &[
                ("reader", &[("secret/data/+/+", &["read"])]),
                ("guard", &[("secret/data/+/db", &["deny"])]),
            ],
            path: "secret/data/x/db",
            cap: "read",
            allowed: false,
            outcome: Denied,
            pattern: Some("secret/data/+/db"),
        },
        Case {
            name: "priority tie on first wildcard: the pattern without a trailing glob wins over a deny glob",
            policies: &[
                ("guard", &[("secret/data/+/*", &["deny"])]),
                ("reader", &[("secret/data/+/db", &["read"])]),
            ],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/+/db"),
        },
        Case {
            name: "deny wins over sudo in the same merged rule",
            policies: &[
                ("ops", &[("sys/mounts/*", &["sudo", "update"])]),
                ("guard", &[("sys/mounts/*", &["deny"])]),
            ],
            path: "sys/mounts/secret",
            cap: "sudo",
            allowed: false,
            outcome: Denied,
            pattern: Some("sys/mounts/*"),
        },
        Case {
            name: "a deny on a list path does not block reads of the same prefix when a read rule wins",
            policies: &[(
                "app",
                &[
                    ("secret/metadata/app", &["deny"]),
                    ("secret/data/app/*", &["read"]),
                ],
            )],
            path: "secret/data/app/db",
            cap: "read",
            allowed: true,
            outcome: Granted,
            pattern: Some("secret/data/app/*"),
        },
        Case {
            name: "capability names are case-sensitive",
            policies: &[("app", &[("secret/x", &["Read"])])],
            path: "secret/x",
            cap: "read",
            allowed: false,
            outcome: MissingCapability,
            pattern: Some("secret/x"),
        },
    ];

    #[test]
    fn table() {
        assert!(CASES.len() >= 40, "only {} cases", CASES.len());
        let mut failures = Vec::new();
        for case in CASES {
            let owned = build(case.policies);
            let refs: Vec<&VaultPolicy> = owned.iter().collect();
            let acl = Acl::new(&refs);
            let d = acl.check(case.path, case.cap);
            let got = (d.allowed, d.outcome, d.pattern());
            let want = (case.allowed, case.outcome, case.pattern);
            if got != want {
                failures.push(format!("{}: got {got:?}, want {want:?}", case.name));
            }
            assert!(
                !(d.allowed && d.outcome != Granted),
                "{}: allowed without Granted",
                case.name
            );
            assert_eq!(
                d.rule.is_none(),
                d.outcome == NoMatchingRule,
                "{}: rule presence",
                case.name
            );
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn union_reports_every_contributor_and_cites_the_granting_policy() {
        let owned = build(&[
            ("lister", &[("secret/data/app/*", &["list"])]),
            ("reader", &[("/secret/data/app/*", &["read"])]),
        ]);
        let refs: Vec<&VaultPolicy> = owned.iter().collect();
        let acl = Acl::new(&refs);
        let d = acl.check("secret/data/app/db", "read");
        let rule = d.rule.expect("rule");
        assert_eq!(rule.policy, "reader");
        assert_eq!(rule.pattern, "/secret/data/app/*");
        assert_eq!(rule.capabilities, vec!["list", "read"]);
        assert_eq!(rule.loc.path.as_ref(), "vault/policy-reader.hcl");
        let names: Vec<&str> = rule.contributors.iter().map(|c| c.0).collect();
        assert_eq!(names, vec!["lister", "reader"]);

        let d = acl.check("secret/data/app/db", "delete");
        let rule = d.rule.expect("rule");
        assert_eq!(d.outcome, MissingCapability);
        assert_eq!(rule.policy, "lister");
    }

    #[test]
    fn deny_cites_the_denying_policy() {
        let owned = build(&[
            ("reader", &[("secret/data/app/*", &["read"])]),
            ("blocker", &[("secret/data/app/*", &["deny", "read"])]),
        ]);
        let refs: Vec<&VaultPolicy> = owned.iter().collect();
        let d = Acl::new(&refs).check("secret/data/app/x", "read");
        let rule = d.rule.expect("rule");
        assert_eq!(rule.policy, "blocker");
        assert_eq!(rule.capabilities, vec!["deny"]);
        assert_eq!(rule.contributors.len(), 2);
    }

    #[test]
    fn default_policy_rules_as_a_policy() {
        let rules: Vec<(&str, &[&str])> = default_policy_rules();
        let default = policy("default", &rules);
        let acl = Acl::new(&[&default]);
        assert!(acl.check("auth/token/lookup-self", "read").allowed);
        assert!(acl.check("auth/token/renew-self", "update").allowed);
        assert!(acl.check("sys/capabilities-self", "update").allowed);
        assert!(acl.check("cubbyhole/anything", "list").allowed);
        assert!(acl.check("sys/leases/renew", "update").allowed);
        assert!(acl.check("sys/tools/hash/sha2-256", "update").allowed);
        let d = acl.check("secret/data/app/db", "read");
        assert_eq!(d.outcome, NoMatchingRule);
        assert_eq!(
            acl.check("identity/oidc/provider/p/authorize", "read")
                .outcome,
            Granted
        );
    }

    #[test]
    fn matches_follows_vault() {
        let rows: &[(&str, &str, bool)] = &[
            ("secret/data/app", "secret/data/app", true),
            ("secret/data/app", "secret/data/app/", false),
            ("secret/*", "secret/", true),
            ("secret/*", "secret", false),
            ("secret/a*", "secret/abc/def", true),
            ("secret/*/db", "secret/x/db", false),
            ("secret/+/db", "secret/x/db", true),
            ("secret/+/db", "secret//db", true),
            ("secret/+/+", "secret/x/y", true),
            ("secret/+/*", "secret/x/", true),
            ("secret/+/*", "secret/x", false),
            ("+", "secret", true),
            ("+", "secret/x", false),
            ("*", "", true),
            ("/secret/x", "secret/x", true),
            ("secret/x", "//secret/x", true),
            (
                "secret/data/{{identity.entity.name}}/*",
                "secret/data/bob/x",
                true,
            ),
            (
                "secret/data/{{identity.entity.name}}/*",
                "secret/data/bob",
                false,
            ),
            (
                "secret/data/team-{{identity.entity.id}}/x",
                "secret/data/team-1/x",
                true,
            ),
            (
                "secret/data/team-{{identity.entity.id}}/x",
                "secret/data/ops-1/x",
                false,
            ),
            ("secret/{{a}}-{{b}}", "secret/x-y", true),
            ("secret/{{a}}-{{b}}", "secret/xy", false),
        ];
        for (pattern, path, want) in rows {
            assert_eq!(matches(pattern, path), *want, "{pattern} vs {path}");
        }
    }

    #[test]
    fn priority_cmp_orders_like_vault() {
        // Lowest first. At the same first-wildcard position a trailing glob loses to no
        // trailing glob, and then fewer `+` segments win: `secret/*` beats `secret/+/*`.
        let mut ordered = vec![
            "*",
            "secret/+/*",
            "secret/+/app/db*",
            "secret/*",
            "secret/+/+/db",
            "secret/+/app/db",
            "secret/data/*",
            "secret/data/app/*",
            "secret/data/app/db",
        ];
        let want = ordered.clone();
        ordered.reverse();
        ordered.sort_by(|a, b| priority_cmp(a, b));
        assert_eq!(ordered, want);
        assert_eq!(priority_cmp("foo/+", "foo/*"), Ordering::Greater);
        // One leading slash is not part of the pattern: the same rule.
        assert_eq!(priority_cmp("/secret/x", "secret/x"), Ordering::Equal);
        assert_eq!(priority_cmp("secret/x", "secret/x"), Ordering::Equal);
        assert_eq!(
            priority_cmp("secret/+/x/+", "secret/+/+/y"),
            Ordering::Greater
        );
    }

    #[test]
    fn lint_paths() {
        use PathProblem::*;
        let rows: &[(&str, &[PathProblem])] = &[
            ("secret/data/app/*", &[]),
            ("secret/data/+/db", &[]),
            ("secret/data/*/db", &[GlobNotLast]),
            ("secret/backend/* ", &[SurroundingWhitespace]),
            (" secret/a*/b ", &[GlobNotLast, SurroundingWhitespace]),
            (" secret/x", &[SurroundingWhitespace]),
            ("/secret/data/x", &[]),
            ("//secret/data/x", &[LeadingSlash]),
            ("*/x*", &[GlobNotLast]),
            ("", &[Empty]),
            ("  ", &[Empty]),
            ("secret/é*", &[]),
        ];
        for (path, want) in rows {
            assert_eq!(lint_path(path), want.to_vec(), "{path:?}");
        }
        for p in [GlobNotLast, SurroundingWhitespace, LeadingSlash, Empty] {
            let text = p.describe();
            assert!(!text.is_empty());
            assert_eq!(text, text.to_lowercase());
            assert!(!text.ends_with('.'));
        }
    }
}
