//! Vault's `Key  Value` table output (`vault read`, `vault token lookup`, `vault status`, ...).
//!
//! Columns are separated by runs of spaces or TABs (legacy pastes use TABs; blog pastes often
//! collapse them to one space). Multi-line values (PEM certificates) continue on lines without
//! a key. What a table means depends on the command that printed it, or, when no command
//! line survives, on its keys.

use crate::ingest::text::{Command, Source};
use crate::ingest::Out;
use crate::model::time::{parse_duration, parse_rfc3339};
use crate::model::*;

/// One row: key, value, 0-based line index.
pub type Row = (String, String, usize);

fn is_header(line: &str) -> bool {
    let w: Vec<&str> = line.split_whitespace().collect();
    w == ["Key", "Value"]
}

fn is_underline(line: &str) -> bool {
    let w: Vec<&str> = line.split_whitespace().collect();
    w.len() == 2
        && w.iter()
            .all(|x| x.chars().all(|c| c == '-') && !x.is_empty())
}

fn looks_like_key(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    first.is_ascii_alphanumeric()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/ ".contains(c))
}

/// Reads the rows of a table whose header is at line `i`; returns the rows and the index
/// after the table. `None` if line `i` is not a table header.
pub fn read(src: &Source, i: usize) -> Option<(Vec<Row>, usize)> {
    let header = *src.lines().get(i)?;
    if !is_header(header) || !src.lines().get(i + 1).is_some_and(|l| is_underline(l)) {
        return None;
    }
    // aligned: the Value column starts where the header's `Value` starts
    // (a TAB-separated table is not aligned: its rows are split at their own TAB)
    let vcol = header
        .find("Value")
        .filter(|&p| header[..p].ends_with("  ") && !header.contains('\t'));
    let mut rows: Vec<Row> = Vec::new();
    let mut j = i + 2;
    let mut in_pem = false;
    // `rules`/`policy` (legacy `sys/policy/NAME`, `sys/policies/acl/NAME`) hold HCL over many
    // lines, blank ones included; they sort last, so the rest of the output is theirs
    let mut in_hcl = false;
    while j < src.lines().len() {
        let line = src.lines()[j];
        if in_hcl {
            if crate::ingest::text::command_in(line).is_some() || is_header(line) {
                break;
            }
            if let Some(last) = rows.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim_end());
            }
            j += 1;
            continue;
        }
        if line.trim().is_empty() || crate::ingest::text::command_in(line).is_some() && !in_pem {
            break;
        }
        let split = split_row(line, vcol);
        let continuation = in_pem
            || split.as_ref().is_none_or(|(k, _)| !looks_like_key(k))
            || line.starts_with(char::is_whitespace)
                && vcol.is_some_and(|c| {
                    line.len() > c && line.get(..c).is_some_and(|p| p.trim().is_empty())
                });
        if continuation {
            if let Some(last) = rows.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
                if line.contains("-----END") {
                    in_pem = false;
                }
                j += 1;
                continue;
            }
            break;
        }
        let (k, v) = split.expect("checked above");
        in_pem = v.starts_with("-----BEGIN") && !v.contains("-----END");
        in_hcl = (k == "rules" || k == "policy")
            && (v.starts_with("path")
                || v.starts_with('#')
                || v.starts_with("/*")
                || v.starts_with("//")
                || v.starts_with('{'));
        rows.push((k, v, j));
        j += 1;
    }
    if in_hcl {
        if let Some(last) = rows.last_mut() {
            last.1 = last.1.trim_end().to_string();
        }
        // give back the trailing blank lines
        while j > i + 2 && src.lines()[j - 1].trim().is_empty() {
            j -= 1;
        }
    }
    Some((rows, j))
}

fn split_row(line: &str, vcol: Option<usize>) -> Option<(String, String)> {
    if let Some(c) = vcol {
        if line.len() > c && line.is_char_boundary(c) {
            let (k, v) = line.split_at(c);
            if !k.trim().is_empty() && (k.ends_with(' ') || k.ends_with('\t')) {
                return Some((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    let t = line.trim();
    // TAB-separated, or runs of spaces, or a single space (collapsed paste)
    if let Some((k, v)) = t.split_once('\t') {
        return Some((k.trim().to_string(), v.trim().to_string()));
    }
    if let Some(p) = t.find("  ") {
        return Some((t[..p].trim().to_string(), t[p..].trim().to_string()));
    }
    match t.split_once(' ') {
        Some((k, v)) => Some((k.to_string(), v.trim().to_string())),
        None => Some((t.to_string(), String::new())),
    }
}

/// `[a b c]` -> `["a", "b", "c"]`; `n/a`, `<nil>`, `[]` -> empty.
pub fn list_value(v: &str) -> Vec<String> {
    let v = v.trim();
    if v == "n/a" || v == "<nil>" || v.is_empty() {
        return Vec::new();
    }
    let inner = v
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(v);
    inner
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|s| s.trim_matches('"'))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn get<'r>(rows: &'r [Row], key: &str) -> Option<&'r Row> {
    rows.iter().find(|r| r.0 == key)
}

fn dur(rows: &[Row], key: &str, src: &Source) -> Option<(chrono::Duration, Loc)> {
    let r = get(rows, key)?;
    Some((parse_duration(&r.1)?, src.loc(r.2)))
}

fn boolean(rows: &[Row], key: &str) -> Option<bool> {
    get(rows, key)
        .and_then(|r| r.1.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `vault read PATH` -> PATH, from the command line.
fn read_path(cmd: Option<&Command>) -> Option<String> {
    let c = cmd?;
    if c.program != "vault" {
        return None;
    }
    let p = match c.verb() {
        "read" => c.arg(1),
        "kv" => c.arg(2),
        _ => None,
    }?;
    Some(p.trim_matches('/').to_string())
}

/// Turns a table into facts, using the command when there is one.
pub fn interpret(
    src: &Source,
    header_line: usize,
    rows: &[Row],
    cmd: Option<&Command>,
    out: &mut Out,
) {
    let loc = src.loc(header_line);
    let path = read_path(cmd);
    let has = |k: &str| get(rows, k).is_some();
    let segs: Vec<&str> = path
        .as_deref()
        .map(|p| p.split('/').collect())
        .unwrap_or_default();

    // mount tune
    if segs.len() >= 4
        && segs[0] == "sys"
        && (segs[1] == "mounts" || segs[1] == "auth")
        && segs.last() == Some(&"tune")
        || has("default_lease_ttl") && has("max_lease_ttl") && !has("Path")
    {
        let mount = if segs.len() >= 4 {
            segs[2..segs.len() - 1].join("/")
        } else {
            String::new()
        };
        let kv_version = get(rows, "options").and_then(|r| {
            r.1.find("version:")
                .and_then(|p| r.1[p + 8..].chars().next())
                .and_then(|c| c.to_digit(10))
                .map(|d| d as u8)
        });
        if mount.is_empty() {
            out.notes.push(format!("line {}: mount tune table without a `vault read sys/mounts/M/tune` command line; mount unknown", header_line + 1));
        }
        out.push(
            "VaultMount",
            Fact::from(VaultMount {
                path: mount,
                auth: segs.get(1) == Some(&"auth"),
                type_: None,
                default_lease_ttl: dur(rows, "default_lease_ttl", src),
                max_lease_ttl: dur(rows, "max_lease_ttl", src),
                kv_version,
                loc,
            }),
        );
        return;
    }
    // auth role
    if has("bound_service_account_names")
        || segs.len() >= 4 && segs[0] == "auth" && segs[segs.len() - 2] == "role"
    {
        let (mount, name) = if segs.len() >= 4 && segs[0] == "auth" {
            (
                segs[1..segs.len() - 2].join("/"),
                segs[segs.len() - 1].to_string(),
            )
        } else {
            (String::new(), String::new())
        };
        if name.is_empty() {
            out.notes.push(format!("line {}: auth role table without a `vault read auth/M/role/R` command line; role name unknown", header_line + 1));
        }
        let mut policies: Vec<(String, Loc)> = Vec::new();
        for key in ["token_policies", "policies"] {
            if let Some(r) = get(rows, key) {
                for p in list_value(&r.1) {
                    if !policies.iter().any(|(n, _)| *n == p) {
                        policies.push((p, src.loc(r.2)));
                    }
                }
            }
        }
        out.push(
            "VaultRole",
            Fact::from(VaultRole {
                mount,
                name,
                bound_sa_names: get(rows, "bound_service_account_names")
                    .map(|r| list_value(&r.1))
                    .unwrap_or_default(),
                bound_sa_namespaces: get(rows, "bound_service_account_namespaces")
                    .map(|r| list_value(&r.1))
                    .unwrap_or_default(),
                namespace_selector: get(rows, "bound_service_account_namespace_selector")
                    .map(|r| r.1.trim().to_string())
                    .filter(|v| !v.is_empty() && v != "n/a" && v != "<nil>" && v != "\"\""),
                policies,
                no_default_policy: boolean(rows, "token_no_default_policy").unwrap_or(false),
                token_ttl: dur(rows, "token_ttl", src).map(|d| d.0),
                token_max_ttl: dur(rows, "token_max_ttl", src).map(|d| d.0),
                audience: get(rows, "audience")
                    .map(|r| r.1.clone())
                    .filter(|a| a != "n/a" && !a.is_empty()),
                loc,
            }),
        );
        return;
    }
    // legacy `vault read sys/policy/NAME` (name, rules) and `sys/policies/acl/NAME` (name, policy)
    if let Some(r) = get(rows, "rules").or_else(|| get(rows, "policy")) {
        let named = get(rows, "name").map(|n| n.1.clone());
        let from_path = path.as_deref().and_then(|p| {
            p.strip_prefix("sys/policy/")
                .or_else(|| p.strip_prefix("sys/policies/acl/"))
                .map(str::to_string)
        });
        if let Some(name) = named.or(from_path) {
            match super::policy_hcl::parse_policy(&r.1) {
                Ok(rules) => {
                    let rules = rules
                        .into_iter()
                        .map(|p| PolicyRule {
                            path: p.path,
                            capabilities: p.capabilities,
                            loc: src.loc(r.2 + (p.line as usize).saturating_sub(1)),
                        })
                        .collect();
                    out.push(
                        "VaultPolicy",
                        Fact::from(VaultPolicy {
                            name,
                            rules,
                            loc: get(rows, "name").map(|n| src.loc(n.2)).unwrap_or(loc),
                        }),
                    );
                }
                Err(e) => out.notes.push(format!("policy {name}: {e}")),
            }
            return;
        }
    }
    // `vault read auth/M/config` (Kubernetes auth)
    let config_path = segs.len() >= 3 && segs[0] == "auth" && segs.last() == Some(&"config");
    if config_path || has("kubernetes_host") {
        let mount = if config_path {
            segs[1..segs.len() - 1].join("/")
        } else {
            String::new()
        };
        let text = |k: &str| {
            get(rows, k)
                .map(|r| r.1.clone())
                .filter(|v| !v.is_empty() && v != "n/a" && v != "<nil>")
        };
        out.push(
            "VaultAuthConfig",
            Fact::VaultAuthConfig(Box::new(VaultAuthConfig {
                mount,
                kubernetes_host: text("kubernetes_host"),
                issuer: text("issuer"),
                disable_iss_validation: boolean(rows, "disable_iss_validation"),
                disable_local_ca_jwt: boolean(rows, "disable_local_ca_jwt"),
                token_reviewer_jwt_set: boolean(rows, "token_reviewer_jwt_set"),
                has_ca_cert: text("kubernetes_ca_cert").is_some(),
                loc: get(rows, "kubernetes_host")
                    .map(|r| src.loc(r.2))
                    .unwrap_or(loc),
            })),
        );
        return;
    }
    // vault status
    if has("Sealed") || has("Seal Type") {
        out.push(
            "VaultStatus",
            Fact::from(VaultStatus {
                sealed: boolean(rows, "Sealed"),
                version: get(rows, "Version").map(|r| r.1.clone()),
                loc: get(rows, "Sealed").map(|r| src.loc(r.2)).unwrap_or(loc),
            }),
        );
        return;
    }
    // token lookup (also `-accessor`, whose `id` is `n/a`)
    let token_cmd = cmd.is_some_and(|c| {
        c.program == "vault"
            && (c.verb() == "token" && c.arg(1) == Some("lookup")
                || c.verb() == "read"
                    && c.arg(1).is_some_and(|p| p.starts_with("auth/token/lookup")))
    });
    let lease_cmd = cmd.is_some_and(|c| {
        c.program == "vault"
            && (c.verb() == "lease" && c.arg(1) == Some("lookup")
                || c.verb() == "read"
                    && c.arg(1).is_some_and(|p| p.starts_with("sys/leases/lookup")))
    });
    if token_cmd
        || !lease_cmd
            && has("accessor")
            && (has("creation_ttl") || has("display_name") || has("creation_time"))
    {
        let ttl = dur(rows, "ttl", src).map(|d| d.0);
        out.push(
            "VaultToken",
            Fact::from(VaultToken {
                accessor: get(rows, "accessor").map(|r| r.1.clone()),
                display_name: get(rows, "display_name").map(|r| r.1.clone()),
                policies: get(rows, "policies")
                    .map(|r| list_value(&r.1))
                    .unwrap_or_default(),
                expire_time: get(rows, "expire_time").and_then(|r| parse_rfc3339(&r.1)),
                ttl,
                renewable: boolean(rows, "renewable"),
                period: dur(rows, "period", src).map(|d| d.0),
                loc: get(rows, "expire_time")
                    .map(|r| src.loc(r.2))
                    .unwrap_or(loc),
            }),
        );
        return;
    }
    // role TTLs of a dynamic engine (`vault read database/roles/app`)
    if (has("default_ttl") || has("max_ttl"))
        && get(rows, "lease_id").is_none_or(|r| r.1.is_empty() || r.1 == "n/a")
    {
        out.push(
            "VaultTtl",
            Fact::from(VaultTtl {
                path: path.clone().unwrap_or_default(),
                default_ttl: dur(rows, "default_ttl", src).map(|d| d.0),
                max_ttl: dur(rows, "max_ttl", src).map(|d| d.0),
                loc: get(rows, "default_ttl")
                    .or_else(|| get(rows, "max_ttl"))
                    .map(|r| src.loc(r.2))
                    .unwrap_or(loc),
            }),
        );
        return;
    }
    // a read that returned a lease, or `vault lease lookup`
    if lease_cmd
        || has("lease_id")
        || has("lease_duration")
        || (has("expire_time") && has("issue_time") && has("id"))
    {
        let lease_id = get(rows, "lease_id")
            .or_else(|| get(rows, "id"))
            .map(|r| r.1.clone())
            .filter(|s| !s.is_empty() && s != "n/a");
        let lease_path = path.clone().or_else(|| {
            lease_id
                .as_deref()
                .and_then(|id| id.rsplit_once('/').map(|(p, _)| p.to_string()))
        });
        out.push(
            "VaultLease",
            Fact::from(VaultLease {
                path: lease_path.unwrap_or_default(),
                lease_id,
                duration: dur(rows, "lease_duration", src).or_else(|| dur(rows, "ttl", src)),
                renewable: boolean(rows, "lease_renewable").or_else(|| boolean(rows, "renewable")),
                expire_time: get(rows, "expire_time")
                    .and_then(|r| Some((parse_rfc3339(&r.1)?, src.loc(r.2)))),
                issue_time: get(rows, "issue_time").and_then(|r| parse_rfc3339(&r.1)),
                loc,
            }),
        );
        return;
    }
    // any other read of a secret path (KV v1, or KV v2 printed as a table): its values may be
    // secrets; keep the path, the key names and the refresh interval, never a value
    let secret_read = cmd.is_some_and(|c| {
        c.program == "vault" && (c.verb() == "read" || c.verb() == "kv" && c.arg(1) == Some("get"))
    }) && !path.as_deref().is_some_and(|p| {
        p.starts_with("sys/") || p.starts_with("auth/") || p.starts_with("identity/")
    });
    if secret_read || has("refresh_interval") {
        let mut keys: Vec<String> = rows
            .iter()
            .map(|r| r.0.clone())
            .filter(|k| k != "refresh_interval")
            .collect();
        keys.sort();
        out.push(
            "VaultSecret",
            Fact::VaultSecret(Box::new(VaultSecretMeta {
                path: path.clone().unwrap_or_default(),
                kv_version: has("refresh_interval").then_some(1),
                keys,
                refresh_interval: get(rows, "refresh_interval").and_then(|r| parse_duration(&r.1)),
                loc,
                ..Default::default()
            })),
        );
        return;
    }
    // anything else: nothing the model reads; say what it was
    *out.kinds.entry("vault:read".into()).or_default() += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn rows_of(text: &str) -> Vec<(String, String)> {
        let p: Arc<str> = Arc::from("t");
        let src = Source::new(&p, text);
        let (rows, _) = read(&src, 0).expect("a table");
        rows.into_iter().map(|(k, v, _)| (k, v)).collect()
    }

    #[test]
    fn table_variants() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                "Key                 Value\n---                 -----\nrefresh_interval    768h\nmy-value            s3cr3t\n",
                &[("refresh_interval", "768h"), ("my-value", "s3cr3t")],
            ),
            (
                "Key Value\n--- -----\ndefault_lease_ttl 720h # 30 days\nmax_lease_ttl 1440h # 60 days\n",
                &[("default_lease_ttl", "720h # 30 days"), ("max_lease_ttl", "1440h # 60 days")],
            ),
            ("Key\tValue\n---\t-----\nttl\t2764800\npolicies\t[default]\n", &[("ttl", "2764800"), ("policies", "[default]")]),
            (
                "Key             Value\n---             -----\nSeal Type       shamir\nSealed          false\n",
                &[("Seal Type", "shamir"), ("Sealed", "false")],
            ),
            (
                "Key                   Value\n---                   -----\nca_cert               -----BEGIN CERTIFICATE-----\n$REDACTED\n-----END CERTIFICATE-----\nhost                  https://x:6443\n",
                &[("ca_cert", "-----BEGIN CERTIFICATE-----\n$REDACTED\n-----END CERTIFICATE-----"), ("host", "https://x:6443")],
            ),
            ("Key          Value\n---          -----\nissuer       n/a\n", &[("issuer", "n/a")]),
        ];
        for (text, want) in cases {
            let got = rows_of(text);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn lists() {
        assert_eq!(list_value("[a b c]"), ["a", "b", "c"]);
        assert!(list_value("[]").is_empty());
        assert!(list_value("n/a").is_empty());
        assert_eq!(list_value("default"), ["default"]);
    }
}
