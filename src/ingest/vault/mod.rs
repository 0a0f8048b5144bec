//! Vault CLI outputs (tables, lists, errors, HCL policies) and audit logs.

pub mod agent_log;
pub mod audit;
pub mod kv;
pub mod list;
pub mod policy_hcl;
pub mod table;

use crate::ingest::text::{Command, Source};
use crate::ingest::Out;
use crate::model::*;

/// `No policy named: X`, and `Error ...: Error making API request.` blocks with their
/// `URL:`, `Code:` and `* error` lines (or a `Raw Message:` body from a proxy).
pub fn error_block(src: &Source, i: usize, out: &mut Out) -> Option<usize> {
    let t = src.lines()[i].trim();
    if let Some(name) = t.strip_prefix("No policy named: ") {
        out.push(
            "VaultPolicyAbsent",
            Fact::PolicyAbsent(name.trim().to_string(), src.loc(i)),
        );
        return Some(i + 1);
    }
    if !(t.contains("Error making API request")
        || t.starts_with("URL: ")
            && src
                .lines()
                .get(i + 1)
                .is_some_and(|l| l.trim().starts_with("Code: ")))
    {
        return None;
    }
    let mut j = i + 1;
    let mut text = t.to_string();
    let mut blank_run = 0;
    while j < src.lines().len() {
        let l = src.lines()[j].trim();
        if crate::ingest::text::command_in(src.lines()[j]).is_some() || l.starts_with('{') {
            break;
        }
        if l.is_empty() {
            blank_run += 1;
            if blank_run >= 2 {
                break;
            }
        } else {
            blank_run = 0;
            let part_of_error =
                continues_error(l) || l.starts_with('<') || text.contains("Raw Message");
            if !part_of_error {
                break;
            }
        }
        text.push('\n');
        text.push_str(l);
        j += 1;
    }
    match VaultError::parse(&text) {
        Some(e) => {
            // cite the Code line: it says what went wrong
            let code_line = src
                .find(i, j, |l| l.trim_start().starts_with("Code:"))
                .unwrap_or(i);
            out.push(
                "VaultError",
                Fact::VaultError(Box::new((e, src.loc(code_line)))),
            );
        }
        None => out.notes.push(format!(
            "line {}: a Vault error without a `Code:` line",
            i + 1
        )),
    }
    Some(j)
}

/// `vault policy read NAME` (or legacy `vault read sys/policy/NAME`, `vault policies NAME`):
/// the policy name, when the command says it.
pub fn policy_name(cmd: Option<&Command>) -> Option<String> {
    let c = cmd.filter(|c| c.program == "vault")?;
    match (c.verb(), c.arg(1), c.arg(2)) {
        ("policy", Some("read"), Some(n)) => Some(n.to_string()),
        ("policies", Some(n), _) => Some(n.to_string()),
        ("read", Some(p), _) => p
            .strip_prefix("sys/policy/")
            .or_else(|| p.strip_prefix("sys/policies/acl/"))
            .map(str::to_string),
        _ => None,
    }
}

/// Parses a policy body (HCL or JSON) into a [`VaultPolicy`].
pub fn policy(src: &Source, name: &str, from: usize, to: usize, out: &mut Out) {
    let body = src.lines()[from..to].join("\n");
    match policy_hcl::parse_policy(&body) {
        Ok(rules) => {
            let rules = rules
                .into_iter()
                .map(|r| PolicyRule {
                    path: r.path,
                    capabilities: r.capabilities,
                    loc: src.loc(from + (r.line as usize).saturating_sub(1)),
                })
                .collect();
            out.push(
                "VaultPolicy",
                Fact::from(VaultPolicy {
                    name: name.to_string(),
                    rules,
                    loc: src.loc(from),
                }),
            );
        }
        Err(e) => out.notes.push(format!("policy {name}: {e}")),
    }
}

/// Whether a (trimmed) line continues a multi-line Vault API error (`URL:`, `Code:`, `Errors:`,
/// `Namespace:`, `Raw Message:`, `* item`). Shared by every reader that meets such errors
/// inside other outputs (Events tables, describe text).
pub fn continues_error(t: &str) -> bool {
    [
        "URL:",
        "Code:",
        "Errors:",
        "Namespace:",
        "Raw Message:",
        "*",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}
