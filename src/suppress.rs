//! Suppressions and severity overrides: the one place where a team's decisions about
//! findings are applied ("we know, here is why, until this date").
//!
//! An ignore file is YAML:
//!
//! ```yaml
//! severity:                       # overrides per rule id
//!   CT-K8S-002: error
//! ignore:
//!   - rule: CT-K8S-002            # a rule id or name
//!     subject: Secret/prod/regcred-*   # Kind/namespace/name or Kind/name; `*` matches any run
//!     reason: legacy registry, rotated by hand until the migration   # required
//!     expires: 2026-04-30         # optional; compared with the capture time, never the wall clock
//! ```
//!
//! Overrides apply first, then suppressions; both run before diagnosis so a suppressed
//! finding neither gates CI nor becomes a root cause. An expired suppression no longer
//! suppresses and is reported. Parsing does no I/O: the caller reads the file.

use crate::model::time::{fmt_time, parse_rfc3339};
use crate::model::{Kind, ObjRef, Time};
use crate::rules::{self, Finding, Severity};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Which subjects an entry covers: each part is a glob where `*` matches any run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Selector {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, String> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let (kind, namespace, name) = match parts.as_slice() {
            [k, n] => (*k, None, *n),
            [k, ns, n] => (*k, Some(ns.to_string()), *n),
            _ => {
                return Err(format!(
                    "subject {s:?} is not Kind/namespace/name or Kind/name"
                ))
            }
        };
        if kind != "*" && Kind::parse(kind).is_none() {
            return Err(format!("subject {s:?}: unknown kind {kind:?}"));
        }
        if name.is_empty() {
            return Err(format!("subject {s:?} has no name"));
        }
        Ok(Selector {
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        })
    }

    pub fn matches(&self, o: &ObjRef) -> bool {
        glob(&self.kind, o.kind.as_str())
            && match (&self.namespace, &o.namespace) {
                (None, None) => true,
                (Some(p), Some(ns)) => glob(p, ns),
                (Some(p), None) => p == "*",
                (None, Some(_)) => false,
            }
            && glob(&self.name, &o.name)
    }

    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// `*` matches any run of characters (including none); everything else is literal.
fn glob(pat: &str, s: &str) -> bool {
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == s;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    true
}

#[derive(Clone, Debug, Serialize)]
pub struct Ignore {
    pub rule: String,
    pub subject: Selector,
    pub reason: String,
    pub expires: Option<Time>,
    /// Where the entry was written (`file entry N`).
    pub origin: String,
}

/// The decisions to apply: severity overrides and suppressions.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub severity: BTreeMap<String, Severity>,
    pub ignores: Vec<Ignore>,
}

/// A finding that an ignore entry silenced.
#[derive(Clone, Debug, Serialize)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
    pub origin: String,
}

/// An entry past its expiry at the capture time: it no longer suppresses.
#[derive(Clone, Debug, Serialize)]
pub struct Expired {
    pub rule: String,
    pub subject: String,
    pub reason: String,
    pub expired: String,
    pub origin: String,
}

fn rule_id(s: &str) -> Result<String, String> {
    rules::find(s)
        .map(|r| r.meta().id.to_string())
        .ok_or_else(|| format!("no rule {s:?}; `credtrace rules` lists them"))
}

/// Parses `ID=LEVEL` (a `--severity` flag).
pub fn parse_override(s: &str) -> Result<(String, Severity), String> {
    let (id, lvl) = s
        .split_once('=')
        .ok_or_else(|| format!("--severity {s:?} is not RULE=error|warning|info"))?;
    let sev = Severity::parse(lvl.trim())
        .ok_or_else(|| format!("--severity {s:?}: {lvl:?} is not error, warning or info"))?;
    Ok((rule_id(id.trim())?, sev))
}

fn parse_expiry(v: &Value) -> Result<Option<Time>, String> {
    let s = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    if let Some(t) = parse_rfc3339(&s) {
        return Ok(Some(t));
    }
    chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(|d| Some(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()))
        .map_err(|_| format!("expires {s:?} is not a date (2026-04-30) or an RFC 3339 time"))
}

impl Policy {
    /// Parses an ignore file's text; `name` is used in messages.
    pub fn parse(name: &str, text: &str) -> Result<Policy, String> {
        let v: Value = serde_yaml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        let mut p = Policy::default();
        if v.is_null() {
            return Ok(p);
        }
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{name}: expected a mapping with `ignore` and `severity`"))?;
        for k in obj.keys() {
            if k != "ignore" && k != "severity" {
                return Err(format!(
                    "{name}: unknown key {k:?} (expected ignore, severity)"
                ));
            }
        }
        if let Some(sev) = obj.get("severity") {
            let m = sev
                .as_object()
                .ok_or_else(|| format!("{name}: `severity` maps rule ids to levels"))?;
            for (id, lvl) in m {
                let l = lvl.as_str().and_then(Severity::parse).ok_or_else(|| {
                    format!("{name}: severity of {id}: {lvl} is not error, warning or info")
                })?;
                p.severity
                    .insert(rule_id(id).map_err(|e| format!("{name}: {e}"))?, l);
            }
        }
        if let Some(list) = obj.get("ignore") {
            let items = list
                .as_array()
                .ok_or_else(|| format!("{name}: `ignore` is a list of entries"))?;
            for (i, item) in items.iter().enumerate() {
                let origin = format!("{name} entry {}", i + 1);
                let field = |k: &str| item.get(k).and_then(Value::as_str).map(str::trim);
                let rule = field("rule").ok_or_else(|| format!("{origin}: `rule` is required"))?;
                let subject = field("subject").unwrap_or("*/*");
                let reason = field("reason")
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| format!("{origin}: `reason` is required"))?;
                let subject = if subject == "*" || subject == "*/*" {
                    Selector {
                        kind: "*".into(),
                        namespace: Some("*".into()),
                        name: "*".into(),
                    }
                } else {
                    Selector::parse(subject).map_err(|e| format!("{origin}: {e}"))?
                };
                p.ignores.push(Ignore {
                    rule: rule_id(rule).map_err(|e| format!("{origin}: {e}"))?,
                    subject,
                    reason: reason.to_string(),
                    expires: parse_expiry(item.get("expires").unwrap_or(&Value::Null))
                        .map_err(|e| format!("{origin}: {e}"))?,
                    origin,
                });
            }
        }
        Ok(p)
    }

    pub fn is_empty(&self) -> bool {
        self.severity.is_empty() && self.ignores.is_empty()
    }

    /// Applies overrides, then suppressions, as of the capture time `now`. Returns the
    /// findings kept, the suppressed ones and the expired entries.
    pub fn apply(
        &self,
        findings: Vec<Finding>,
        now: Time,
    ) -> (Vec<Finding>, Vec<Suppressed>, Vec<Expired>) {
        let mut kept = Vec::new();
        let mut suppressed = Vec::new();
        let (live, dead): (Vec<&Ignore>, Vec<&Ignore>) = self
            .ignores
            .iter()
            .partition(|i| i.expires.is_none_or(|t| now < t));
        for mut f in findings {
            if let Some(s) = self.severity.get(f.rule) {
                f.severity = *s;
            }
            match live
                .iter()
                .find(|i| i.rule == f.rule && i.subject.matches(&f.subject))
            {
                Some(i) => suppressed.push(Suppressed {
                    finding: f,
                    reason: i.reason.clone(),
                    origin: i.origin.clone(),
                }),
                None => kept.push(f),
            }
        }
        kept.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.rule.cmp(b.rule))
                .then(a.subject.cmp(&b.subject))
        });
        let expired = dead
            .iter()
            .map(|i| Expired {
                rule: i.rule.clone(),
                subject: i.subject.display(),
                reason: i.reason.clone(),
                expired: i.expires.map(fmt_time).unwrap_or_default(),
                origin: i.origin.clone(),
            })
            .collect();
        (kept, suppressed, expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("regcred-*", "regcred-order"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn reason_is_required() {
        let e = Policy::parse(
            "f",
            "ignore:\n- rule: CT-K8S-002\n  subject: Secret/prod/x\n",
        )
        .unwrap_err();
        assert!(e.contains("reason"), "{e}");
    }

    #[test]
    fn selector_matches() {
        let s = Selector::parse("Secret/prod/regcred-*").unwrap();
        assert!(s.matches(&ObjRef::new(Kind::Secret, Some("prod"), "regcred-a")));
        assert!(!s.matches(&ObjRef::new(Kind::Secret, Some("dev"), "regcred-a")));
        let v = Selector::parse("VaultPolicy/order-*").unwrap();
        assert!(v.matches(&ObjRef::new(Kind::VaultPolicy, None, "order-x")));
    }
}
