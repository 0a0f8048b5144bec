//! Why Vault refuses a request, in terms a policy author can act on.
//!
//! [`Acl::check`](super::Acl::check) says which rule decided. A support engineer needs one
//! more step: which rule was *meant* to grant the request and why it does not. A grant can be
//! shadowed by a `deny` or by a higher-priority rule (FM-04), written for the KV v1 layout
//! (FM-02), malformed so that Vault matches it literally (FM-03), or present for the data
//! path but not for the metadata path that `find` and `metadataPolicy: Fetch` use (FM-30).
//! [`explain`] tells these apart; when nothing comes close it says so.

use super::{
    is_templated, lint_path, matches, priority_cmp, strip_one_slash, Acl, MatchedRule, Outcome,
    PathProblem,
};
use crate::model::{Loc, VaultPolicy};

/// One `path` block of one policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    pub policy: String,
    pub pattern: String,
    pub capabilities: Vec<String>,
    pub loc: Loc,
}

impl RuleRef {
    /// `policy NAME path "PATTERN" (file:line)`.
    pub fn describe(&self) -> String {
        let at = if self.loc.is_known() {
            format!(" ({})", self.loc.cite())
        } else {
            " (built-in)".to_string()
        };
        format!(
            "policy {} path \"{}\" {{ capabilities = [{}] }}{at}",
            self.policy,
            self.pattern,
            self.capabilities
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Why a request is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// A `deny`, or a higher-priority rule without the capability, decides, while another
    /// rule lists the capability.
    Shadowed {
        by: RuleRef,
        grant: RuleRef,
        deny: bool,
    },
    /// A rule grants the KV v1 shape of the path (without `data/` or `metadata/`).
    KvV1Layout { grant: RuleRef, v1_path: String },
    /// A malformed rule would grant the request if written as meant.
    Malformed {
        rule: RuleRef,
        problems: Vec<PathProblem>,
        meant: String,
    },
    /// The KV v2 data path is granted, but this metadata path is not.
    MetadataNotGranted {
        data_grant: RuleRef,
        decided_by: Option<RuleRef>,
    },
    /// Nothing in the policies grants it.
    NotGranted { decided_by: Option<RuleRef> },
    /// A templated rule (`{{identity...}}`) may decide; only Vault can tell.
    Templated { rule: Option<RuleRef> },
}

impl Denial {
    /// The policy to blame, when one is to blame.
    pub fn policy(&self) -> Option<&str> {
        match self {
            Denial::Shadowed { by, .. } => Some(&by.policy),
            Denial::KvV1Layout { grant, .. } => Some(&grant.policy),
            Denial::Malformed { rule, .. } => Some(&rule.policy),
            Denial::MetadataNotGranted { data_grant, .. } => Some(&data_grant.policy),
            // the rule that decides matches the path and lacks the capability: that rule is
            // where the capability goes (`update` on a PKI sign path granted only `read`)
            Denial::NotGranted {
                decided_by: Some(r),
            } => Some(&r.policy),
            Denial::NotGranted { decided_by: None } | Denial::Templated { .. } => None,
        }
    }

    /// One clause: why the request is refused.
    pub fn describe(&self, path: &str, capability: &str) -> String {
        match self {
            Denial::Shadowed { by, grant, deny } => format!(
                "{} {} on {path}, shadowing the grant in {}",
                by.describe(),
                if *deny {
                    "denies".to_string()
                } else {
                    format!("outranks the grant and lacks {capability}")
                },
                grant.describe()
            ),
            Denial::KvV1Layout { grant, v1_path } => format!(
                "{} grants {capability} on the KV v1 path {v1_path}, but KV v2 serves it at {path}",
                grant.describe()
            ),
            Denial::Malformed {
                rule,
                problems,
                meant,
            } => format!(
                "{} would grant {capability} on {path} as \"{meant}\", but {}",
                rule.describe(),
                problems
                    .iter()
                    .map(|p| p.describe())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Denial::MetadataNotGranted { data_grant, .. } => format!(
                "{} grants the data path, but no rule grants {capability} on the metadata path {path}",
                data_grant.describe()
            ),
            Denial::NotGranted {
                decided_by: Some(r),
            } => format!("{} decides and lacks {capability} on {path}", r.describe()),
            Denial::NotGranted { decided_by: None } => {
                format!("no rule of the role's policies matches {path}")
            }
            Denial::Templated { rule } => format!(
                "a templated rule{} may decide {path}; only Vault, which knows the caller's entity, can tell",
                rule.as_ref()
                    .map(|r| format!(" ({})", r.describe()))
                    .unwrap_or_default()
            ),
        }
    }
}

/// What the caller knows about the request's shape.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape<'s> {
    /// The KV v2 mount the path is on (`secret` for `secret/data/app`), when it is KV v2.
    pub kv2_mount: Option<&'s str>,
}

fn rule_ref(policy: &VaultPolicy, i: usize) -> RuleRef {
    let r = &policy.rules[i];
    RuleRef {
        policy: policy.name.clone(),
        pattern: r.path.clone(),
        capabilities: r.capabilities.clone(),
        loc: r.loc.clone(),
    }
}

fn decided_rule(policies: &[&VaultPolicy], m: &MatchedRule) -> Option<RuleRef> {
    let p = policies.iter().find(|p| p.name == m.policy)?;
    let i = p
        .rules
        .iter()
        .position(|r| r.loc == *m.loc && r.path == m.pattern)?;
    Some(rule_ref(p, i))
}

/// The path a malformed pattern was probably meant to be; `None` when it cannot be told.
pub fn meant_pattern(pattern: &str) -> Option<String> {
    let trimmed = pattern.trim().trim_start_matches('/');
    let body = trimmed.strip_suffix('*').unwrap_or(trimmed);
    let mut parts: Vec<String> = Vec::new();
    for seg in body.split('/') {
        if seg == "*" {
            parts.push("+".to_string());
        } else if seg.contains('*') {
            return None;
        } else {
            parts.push(seg.to_string());
        }
    }
    let mut meant = parts.join("/");
    if trimmed.ends_with('*') {
        meant.push('*');
    }
    (meant != pattern).then_some(meant)
}

/// The request path as matched: `list` requests end in `/`.
fn probe(path: &str, capability: &str) -> String {
    let p = path.trim_start_matches('/');
    if capability == "list" && !p.ends_with('/') {
        format!("{p}/")
    } else {
        p.to_string()
    }
}

fn lists(caps: &[String], capability: &str) -> bool {
    caps.iter().any(|c| c == capability) && !caps.iter().any(|c| c == "deny")
}

/// The path with the KV v2 `segment` (`data` or `metadata`) after `mount` removed.
fn v1_shape(path: &str, mount: &str) -> Option<String> {
    let rest = path.strip_prefix(mount)?.strip_prefix('/')?;
    for seg in ["data", "metadata"] {
        if rest == seg {
            return Some(mount.to_string());
        }
        if let Some(tail) = rest.strip_prefix(seg).and_then(|r| r.strip_prefix('/')) {
            return Some(format!("{mount}/{tail}"));
        }
    }
    None
}

/// Why `policies` refuse `capability` on `path`; `None` when they allow it.
pub fn explain(
    policies: &[&VaultPolicy],
    path: &str,
    capability: &str,
    shape: Shape,
) -> Option<Denial> {
    let acl = Acl::new(policies);
    let d = acl.check(path, capability);
    if d.allowed {
        return None;
    }
    let decided = d.rule.as_ref().and_then(|r| decided_rule(policies, r));
    if d.outcome == Outcome::Templated {
        return Some(Denial::Templated { rule: decided });
    }
    let probe = probe(path, capability);

    // FM-04: a deny or a higher-priority rule decides while another rule grants.
    if let (Some(rule), Some(by)) = (&d.rule, &decided) {
        let key = strip_one_slash(rule.pattern);
        let mut grants: Vec<RuleRef> = Vec::new();
        for p in policies {
            for (i, r) in p.rules.iter().enumerate() {
                if is_templated(&r.path) || !lists(&r.capabilities, capability) {
                    continue;
                }
                let same = strip_one_slash(&r.path) == key;
                let reaches = matches(&r.path, &probe)
                    || (capability == "list" && matches(&r.path, probe.trim_end_matches('/')));
                if same || reaches {
                    grants.push(rule_ref(p, i));
                }
            }
        }
        // the strongest grant is the one the author most likely relied on
        grants.sort_by(|a, b| priority_cmp(&b.pattern, &a.pattern));
        if let Some(grant) = grants.into_iter().next() {
            return Some(Denial::Shadowed {
                by: by.clone(),
                grant,
                deny: d.outcome == Outcome::Denied,
            });
        }
    }

    // FM-03: a malformed rule that would grant it if written as meant.
    for p in policies {
        for (i, r) in p.rules.iter().enumerate() {
            let problems: Vec<PathProblem> = lint_path(&r.path)
                .into_iter()
                .filter(|x| *x != PathProblem::Empty)
                .collect();
            if problems.is_empty() || !lists(&r.capabilities, capability) {
                continue;
            }
            let Some(meant) = meant_pattern(&r.path) else {
                continue;
            };
            if matches(&meant, &probe) {
                return Some(Denial::Malformed {
                    rule: rule_ref(p, i),
                    problems,
                    meant,
                });
            }
        }
    }

    if let Some(mount) = shape.kv2_mount {
        // FM-02: the policy was written for the KV v1 layout.
        if let Some(v1) = v1_shape(path, mount) {
            let v1d = acl.check(&v1, capability);
            if v1d.allowed {
                if let Some(grant) = v1d.rule.as_ref().and_then(|r| decided_rule(policies, r)) {
                    return Some(Denial::KvV1Layout { grant, v1_path: v1 });
                }
            }
        }
        // FM-30: the data path is granted, the metadata path is not.
        let meta_prefix = format!("{mount}/metadata");
        if let Some(rest) = path.strip_prefix(&meta_prefix) {
            let data = format!("{mount}/data{rest}");
            let data_probe = if capability == "list" {
                format!("{}/", data.trim_end_matches('/'))
            } else {
                data
            };
            let dd = acl.check(&data_probe, "read");
            let granted = dd.allowed
                || (capability == "list"
                    && policies.iter().any(|p| {
                        p.rules.iter().any(|r| {
                            lists(&r.capabilities, "read")
                                && strip_one_slash(&r.path).starts_with(&data_probe)
                        })
                    }));
            if granted {
                let grant = dd
                    .rule
                    .as_ref()
                    .filter(|_| dd.allowed)
                    .and_then(|r| decided_rule(policies, r))
                    .or_else(|| {
                        policies.iter().find_map(|p| {
                            p.rules
                                .iter()
                                .position(|r| {
                                    lists(&r.capabilities, "read")
                                        && strip_one_slash(&r.path).starts_with(&data_probe)
                                })
                                .map(|i| rule_ref(p, i))
                        })
                    });
                if let Some(data_grant) = grant {
                    return Some(Denial::MetadataNotGranted {
                        data_grant,
                        decided_by: decided,
                    });
                }
            }
        }
    }
    Some(Denial::NotGranted {
        decided_by: decided,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PolicyRule;
    use std::sync::Arc;

    fn policy(name: &str, rules: &[(&str, &[&str])]) -> VaultPolicy {
        let file: Arc<str> = Arc::from(format!("vault/{name}.hcl").as_str());
        VaultPolicy {
            name: name.into(),
            rules: rules
                .iter()
                .enumerate()
                .map(|(i, (p, c))| PolicyRule {
                    path: p.to_string(),
                    capabilities: c.iter().map(|x| x.to_string()).collect(),
                    loc: Loc::new(&file, i as u32 + 1, p),
                })
                .collect(),
            loc: Loc::file(&file),
        }
    }

    fn why(ps: &[VaultPolicy], path: &str, cap: &str, mount: Option<&str>) -> Option<Denial> {
        let refs: Vec<&VaultPolicy> = ps.iter().collect();
        explain(&refs, path, cap, Shape { kv2_mount: mount })
    }

    #[test]
    fn granted_is_none() {
        let ps = [policy("app", &[("kv/data/team/*", &["read"])])];
        assert_eq!(why(&ps, "kv/data/team/db", "read", Some("kv")), None);
    }

    #[test]
    fn deny_shadows_a_grant_in_another_policy() {
        let ps = [
            policy("reader", &[("kv/data/team/*", &["read"])]),
            policy("guard", &[("kv/data/team/prod/*", &["deny"])]),
        ];
        match why(&ps, "kv/data/team/prod/db", "read", Some("kv")) {
            Some(Denial::Shadowed { by, grant, deny }) => {
                assert_eq!(by.policy, "guard");
                assert_eq!(grant.policy, "reader");
                assert!(deny);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn narrower_rule_without_capability_shadows() {
        let ps = [policy(
            "one",
            &[("kv/data/team/*", &["read"]), ("kv/data/team/x", &["list"])],
        )];
        match why(&ps, "kv/data/team/x", "read", Some("kv")) {
            Some(Denial::Shadowed { by, deny, .. }) => {
                assert_eq!(by.pattern, "kv/data/team/x");
                assert!(!deny);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kv_v1_layout() {
        let ps = [policy("app", &[("kv/team/*", &["read"])])];
        match why(&ps, "kv/data/team/db", "read", Some("kv")) {
            Some(Denial::KvV1Layout { grant, v1_path }) => {
                assert_eq!(grant.pattern, "kv/team/*");
                assert_eq!(v1_path, "kv/team/db");
            }
            other => panic!("{other:?}"),
        }
        // on a KV v1 mount there is no such thing
        assert!(matches!(
            why(&ps, "kv/data/team/db", "read", None),
            Some(Denial::NotGranted { decided_by: None })
        ));
    }

    #[test]
    fn malformed_rules() {
        let ps = [policy("app", &[("kv/data/*/db", &["read"])])];
        match why(&ps, "kv/data/team/db", "read", Some("kv")) {
            Some(Denial::Malformed {
                meant, problems, ..
            }) => {
                assert_eq!(meant, "kv/data/+/db");
                assert_eq!(problems, vec![PathProblem::GlobNotLast]);
            }
            other => panic!("{other:?}"),
        }
        let ps = [policy("app", &[("kv/data/team/* ", &["read"])])];
        assert!(matches!(
            why(&ps, "kv/data/team/db", "read", Some("kv")),
            Some(Denial::Malformed { .. })
        ));
        let ps = [policy("app", &[("//kv/data/team/db", &["read"])])];
        assert!(matches!(
            why(&ps, "kv/data/team/db", "read", Some("kv")),
            Some(Denial::Malformed { .. })
        ));
        // a single leading slash is harmless: granted
        let ps = [policy("app", &[("/kv/data/team/db", &["read"])])];
        assert_eq!(why(&ps, "kv/data/team/db", "read", Some("kv")), None);
        assert_eq!(meant_pattern("a/b*/c"), None);
        assert_eq!(meant_pattern("kv/data/team/*"), None);
    }

    #[test]
    fn metadata_not_granted() {
        let ps = [policy("app", &[("kv/data/team/*", &["read"])])];
        match why(&ps, "kv/metadata/team", "list", Some("kv")) {
            Some(Denial::MetadataNotGranted { data_grant, .. }) => {
                assert_eq!(data_grant.pattern, "kv/data/team/*")
            }
            other => panic!("{other:?}"),
        }
        match why(&ps, "kv/metadata/team/db", "read", Some("kv")) {
            Some(Denial::MetadataNotGranted { .. }) => {}
            other => panic!("{other:?}"),
        }
        let ok = [policy(
            "app",
            &[
                ("kv/data/team/*", &["read"]),
                ("kv/metadata/team/*", &["list"]),
            ],
        )];
        assert_eq!(why(&ok, "kv/metadata/team", "list", Some("kv")), None);
    }

    #[test]
    fn nothing_close() {
        let ps = [policy("app", &[("other/*", &["read"])])];
        let d = why(&ps, "kv/data/team/db", "read", Some("kv")).unwrap();
        assert_eq!(d, Denial::NotGranted { decided_by: None });
        assert!(d.describe("kv/data/team/db", "read").contains("no rule"));
        assert_eq!(d.policy(), None);
    }
}
