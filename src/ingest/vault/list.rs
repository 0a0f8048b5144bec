//! `vault list` (`Keys` / `----`), `vault policy list` (bare names, no header), and the
//! mount tables of `vault secrets list [-detailed]` and `vault auth list`.

use super::table::list_value;
use crate::ingest::text::{command_in, Command, Source};
use crate::ingest::Out;
use crate::model::time::parse_duration;
use crate::model::*;

/// `Keys` / `----` then one key per line.
pub fn keys(src: &Source, i: usize, cmd: Option<&Command>, out: &mut Out) -> Option<usize> {
    if src.lines().get(i)?.trim() != "Keys"
        || !src.lines().get(i + 1)?.trim().chars().all(|c| c == '-')
    {
        return None;
    }
    let mut j = i + 2;
    let mut keys = Vec::new();
    while j < src.lines().len()
        && !src.lines()[j].trim().is_empty()
        && command_in(src.lines()[j]).is_none()
    {
        keys.push(src.lines()[j].trim().to_string());
        j += 1;
    }
    let path = cmd
        .filter(|c| c.program == "vault" && c.verb() == "list")
        .and_then(|c| c.arg(1))
        .map(|p| p.trim_matches('/').to_string())
        .unwrap_or_default();
    out.push(
        "VaultList",
        Fact::from(VaultList {
            path,
            keys,
            loc: src.loc(i),
        }),
    );
    Some(j)
}

/// `vault policy list`: bare names until a blank line or the next command.
pub fn policy_names(src: &Source, i: usize, out: &mut Out) -> usize {
    let mut j = i;
    let mut names = Vec::new();
    while j < src.lines().len() && command_in(src.lines()[j]).is_none() {
        let t = src.lines()[j].trim();
        if t.is_empty() {
            if names.is_empty() {
                j += 1;
                continue;
            }
            break;
        }
        if t.split_whitespace().count() != 1 {
            break;
        }
        names.push(t.to_string());
        j += 1;
    }
    if !names.is_empty() {
        let mut loc = src.loc(i);
        loc.excerpt =
            std::sync::Arc::from(format!("vault policy list: {}", names.join(" ")).as_str());
        out.push("VaultPolicyList", Fact::PolicyList(names, loc));
    }
    j.max(i + 1)
}

/// Bare names that include `default` and `root`: a policy list whose command was lost.
pub fn looks_like_policy_list(src: &Source, from: usize) -> bool {
    // one pass that stops at the first line that is not a policy name: a paste is scanned
    // from every line, and collecting the whole block each time was quadratic
    let (mut count, mut default, mut root) = (0usize, false, false);
    for l in &src.lines()[from.min(src.lines().len())..] {
        let w = l.trim();
        if w.is_empty() {
            break;
        }
        let word = w.split_whitespace().count() == 1
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
        if !word {
            return false;
        }
        count += 1;
        default |= w == "default";
        root |= w == "root";
    }
    count >= 2 && default && root
}

/// `Path  Type  Accessor  Description` (plain) or `Path  Plugin  Accessor  Default TTL ...` (detailed).
pub fn mounts(src: &Source, i: usize, cmd: Option<&Command>, out: &mut Out) -> Option<usize> {
    let header = *src.lines().get(i)?;
    let cols: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if cols.first() != Some(&"Path")
        || !(cols.contains(&"Type") || cols.contains(&"Plugin"))
        || !cols.contains(&"Accessor")
    {
        return None;
    }
    let starts: Vec<usize> = cols.iter().map(|c| header.find(c).unwrap_or(0)).collect();
    let auth = cmd.is_some_and(|c| c.program == "vault" && c.verb() == "auth");
    out.push_marker(Fact::MountsListed { auth });
    let mut j = i + 1;
    if src
        .lines()
        .get(j)
        .is_some_and(|l| l.trim().starts_with("----"))
    {
        j += 1;
    }
    while j < src.lines().len() {
        let line = src.lines()[j];
        if line.trim().is_empty() || command_in(line).is_some() {
            break;
        }
        let cell = |name: &str| -> Option<String> {
            let k = cols.iter().position(|c| *c == name)?;
            let from = starts[k].min(line.len());
            let to = starts
                .get(k + 1)
                .copied()
                .unwrap_or(line.len())
                .min(line.len());
            // column names found out of order in a mangled header: no cell
            if from > to || !line.is_char_boundary(from) || !line.is_char_boundary(to) {
                return None;
            }
            let v = line[from..to].trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        let path = cell("Path").unwrap_or_default();
        let ttl = |name: &str| {
            cell(name).and_then(|v| {
                if v == "system" || v == "n/a" {
                    None
                } else {
                    parse_duration(&v).map(|d| (d, src.loc(j)))
                }
            })
        };
        let kv_version = cell("Options").and_then(|o| {
            let items = list_value(o.trim_start_matches("map"));
            items
                .iter()
                .find_map(|i| i.strip_prefix("version:").and_then(|v| v.parse().ok()))
        });
        let type_ = cell("Type").or_else(|| cell("Plugin"));
        let kv_version = kv_version
            .or_else(|| (type_.as_deref() == Some("kv") && cols.contains(&"Options")).then_some(1));
        out.push(
            "VaultMount",
            Fact::from(VaultMount {
                path: path.trim_matches('/').to_string(),
                auth,
                type_,
                default_lease_ttl: ttl("Default TTL"),
                max_lease_ttl: ttl("Max TTL"),
                kv_version,
                loc: src.loc(j),
            }),
        );
        j += 1;
    }
    Some(j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn src(text: &str) -> (Arc<str>, String) {
        (Arc::from("v.txt"), text.to_string())
    }

    #[test]
    fn keys_and_policy_lists() {
        let (p, t) = src("Keys\n----\ninventory-service\norder-service\n");
        let s = Source::new(&p, &t);
        let mut out = Out::default();
        let c = Command::parse("vault list registry-creds/creds/");
        assert_eq!(keys(&s, 0, Some(&c), &mut out), Some(4));
        match &out.facts[0] {
            Fact::VaultList(l) => {
                assert_eq!(l.path, "registry-creds/creds");
                assert_eq!(l.keys, ["inventory-service", "order-service"]);
            }
            f => panic!("{f:?}"),
        }
        let (p, t) = src("admin\ndefault\napp-a\nroot\n");
        let s = Source::new(&p, &t);
        assert!(looks_like_policy_list(&s, 0));
        let mut out = Out::default();
        policy_names(&s, 0, &mut out);
        assert!(matches!(&out.facts[0], Fact::PolicyList(n, _) if n.len() == 4));
    }

    #[test]
    fn mount_tables() {
        let text = "Path          Plugin       Accessor            Default TTL    Max TTL    Force No Cache    Replication    Seal Wrap    External Entropy Access    Options           Description\n----          ------       --------            -----------    -------    --------------    -----------    ---------    -----------------------    -------           -----------\ncubbyhole/    cubbyhole    cubbyhole_1         n/a            n/a        false             local          false        false                      map[]             per-token\nkv/           kv           kv_2                system         system     false             replicated     false        false                      map[]             n/a\nsecret/       kv           kv_3                768h           768h       false             replicated     false        false                      map[version:2]    n/a\n";
        let (p, t) = src(text);
        let s = Source::new(&p, &t);
        let mut out = Out::default();
        let c = Command::parse("vault secrets list -detailed");
        mounts(&s, 0, Some(&c), &mut out).expect("a mount table");
        let ms: Vec<&VaultMount> = out
            .facts
            .iter()
            .filter_map(|f| {
                if let Fact::VaultMount(m) = f {
                    Some(&**m)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(ms.len(), 3);
        assert_eq!((ms[1].path.as_str(), ms[1].kv_version), ("kv", Some(1)));
        assert_eq!((ms[2].path.as_str(), ms[2].kv_version), ("secret", Some(2)));
        assert_eq!(
            ms[2].default_lease_ttl.as_ref().map(|d| d.0.num_hours()),
            Some(768)
        );
        assert!(
            ms[1].default_lease_ttl.is_none(),
            "`system` means inherited, not a value"
        );
    }
}
