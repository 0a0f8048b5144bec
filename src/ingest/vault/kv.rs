//! `vault kv get` and `vault kv metadata get`: sectioned output (`== Secret Path ==`,
//! `== Metadata ==`, `== Data ==`, `== Version N ==`), the `=` padding varying with the title.
//!
//! Only metadata is kept: versions, times, `destroyed`, and the key names of the data.
//! Data values never leave this module, and no location points at a data row.

use super::table::{read, Row};
use crate::ingest::text::{command_in, Command, Source};
use crate::ingest::Out;
use crate::model::time::parse_rfc3339;
use crate::model::*;

/// `==== Title ====` -> `Title`.
pub fn section(line: &str) -> Option<&str> {
    let t = line.trim();
    if !t.starts_with("==") || !t.ends_with("==") || t.len() < 6 {
        return None;
    }
    let title = t.trim_matches('=').trim();
    (!title.is_empty() && title.len() < 40).then_some(title)
}

fn time_of(rows: &[Row], key: &str) -> Option<Time> {
    rows.iter()
        .find(|r| r.0 == key)
        .and_then(|r| parse_rfc3339(&r.1))
}

fn num(rows: &[Row], key: &str) -> Option<u64> {
    rows.iter()
        .find(|r| r.0 == key)
        .and_then(|r| r.1.trim().parse().ok())
}

fn boolean(rows: &[Row], key: &str) -> Option<bool> {
    rows.iter()
        .find(|r| r.0 == key)
        .and_then(|r| r.1.trim().parse().ok())
}

/// Reads the sections starting at line `i`; returns the next line.
pub fn block(src: &Source, i: usize, cmd: Option<&Command>, out: &mut Out) -> Option<usize> {
    section(src.lines()[i])?;
    let mut m = VaultSecretMeta {
        path: cmd
            .filter(|c| c.program == "vault" && c.verb() == "kv")
            .and_then(|c| c.arg(2))
            .unwrap_or_default()
            .trim_matches('/')
            .to_string(),
        kv_version: Some(2),
        loc: src.loc(i),
        ..Default::default()
    };
    let mut j = i;
    while j < src.lines().len() {
        let line = src.lines()[j];
        if command_in(line).is_some() {
            break;
        }
        if line.trim().is_empty() {
            j += 1;
            continue;
        }
        let Some(title) = section(line) else {
            break;
        };
        let next = src.find(j + 1, src.lines().len(), |l| !l.trim().is_empty());
        let Some(n) = next else {
            j += 1;
            break;
        };
        match title {
            "Secret Path" | "Metadata Path" => {
                m.path = src.lines()[n].trim().to_string();
                j = n + 1;
            }
            _ => {
                let Some((rows, end)) = read(src, n) else {
                    j = n;
                    continue;
                };
                if title == "Data" {
                    // key names only
                    m.keys = rows.iter().map(|r| r.0.clone()).collect();
                    m.keys.sort();
                } else if let Some(v) = title.strip_prefix("Version ") {
                    m.versions.push(VaultSecretVersion {
                        version: v.trim().parse().unwrap_or(0),
                        created_time: time_of(&rows, "created_time"),
                        deletion_time: time_of(&rows, "deletion_time"),
                        destroyed: boolean(&rows, "destroyed").unwrap_or(false),
                    });
                } else {
                    m.version = num(&rows, "version").or_else(|| num(&rows, "current_version"));
                    m.created_time = time_of(&rows, "created_time");
                    m.updated_time = time_of(&rows, "updated_time");
                    m.deletion_time = time_of(&rows, "deletion_time");
                    m.destroyed = boolean(&rows, "destroyed");
                    if let Some(r) = rows.first() {
                        m.loc = src.loc(r.2);
                    }
                }
                j = end;
            }
        }
    }
    out.push("VaultSecret", Fact::VaultSecret(Box::new(m)));
    Some(j.max(i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn kv_get_and_metadata_get() {
        let text = "======= Secret Path =======\nsecret/data/app/db\n\n======= Metadata =======\nKey                Value\n---                -----\ncreated_time       2024-01-01T00:00:00.0Z\ncustom_metadata    <nil>\ndeletion_time      n/a\ndestroyed          false\nversion            3\n\n====== Data ======\nKey         Value\n---         -----\npassword    hunter2-planted\nuser        app\n";
        let p: Arc<str> = Arc::from("kv.txt");
        let src = Source::new(&p, text);
        let mut out = Out::default();
        block(&src, 0, None, &mut out).unwrap();
        let Fact::VaultSecret(m) = &out.facts[0] else {
            panic!()
        };
        assert_eq!(m.path, "secret/data/app/db");
        assert_eq!((m.version, m.destroyed), (Some(3), Some(false)));
        assert_eq!(m.keys, ["password", "user"]);
        assert!(!format!("{m:?}").contains("hunter2"));

        let text = "========== Metadata Path ==========\nsecret/metadata/app/db\n\n========== Metadata ==========\nKey                     Value\n---                     -----\ncurrent_version         2\nupdated_time            2024-02-01T00:00:00Z\n\n====== Version 1 ======\nKey              Value\n---              -----\ncreated_time     2024-01-01T00:00:00Z\ndeletion_time    2024-01-15T00:00:00Z\ndestroyed        true\n\n====== Version 2 ======\nKey              Value\n---              -----\ncreated_time     2024-02-01T00:00:00Z\ndeletion_time    n/a\ndestroyed        false\n";
        let src = Source::new(&p, text);
        let mut out = Out::default();
        block(&src, 0, None, &mut out).unwrap();
        let Fact::VaultSecret(m) = &out.facts[0] else {
            panic!()
        };
        assert_eq!(m.version, Some(2));
        assert_eq!(m.versions.len(), 2);
        assert!(m.versions[0].destroyed && m.versions[0].deletion_time.is_some());
    }
}
