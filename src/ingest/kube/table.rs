//! `kubectl get` tables (aligned or with whitespace collapsed by a paste, `-o wide`, with
//! or without a NAMESPACE column) and loop output such as `secret/NAME created=TIMESTAMP`.
//!
//! The kind comes from the command line when there is one, otherwise from the columns
//! (ESO's layouts differ by version: reference 1.4).

use super::events::{ago, get_event_row};
use crate::ingest::text::{command_in, kube_kind, Command, Source};
use crate::ingest::Out;
use crate::model::time::{parse_duration, parse_rfc3339};
use crate::model::*;

const MULTI_WORD: &[(&str, &str)] = &[
    ("REFRESH", "INTERVAL"),
    ("LAST", "SYNC"),
    ("LAST", "SEEN"),
    ("NOMINATED", "NODE"),
    ("READINESS", "GATES"),
    ("LAST", "SCHEDULE"),
    ("EXTERNAL", "IP"),
    ("CLUSTER", "IP"),
];

/// Column names and their start offsets (offsets only when the header is aligned).
fn header(line: &str) -> Option<(Vec<String>, Option<Vec<usize>>)> {
    let t = line.trim_end();
    let words: Vec<&str> = t.split_whitespace().collect();
    let first = *words.first()?;
    if !matches!(first, "NAME" | "NAMESPACE" | "LAST") || words.len() < 2 {
        return None;
    }
    if !words.iter().all(|w| {
        w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-()/_".contains(c))
    }) {
        return None;
    }
    let aligned = t.contains("  ") || t.contains('\t');
    let mut cols: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if let Some(&(_, b)) = MULTI_WORD
            .iter()
            .find(|(a, b)| *a == words[i] && words.get(i + 1) == Some(b))
        {
            cols.push(format!("{} {}", words[i], b));
            i += 2;
        } else {
            cols.push(words[i].to_string());
            i += 1;
        }
    }
    if aligned {
        let mut starts = Vec::new();
        let mut from = 0;
        for c in &cols {
            let p = t[from..].find(c.as_str())? + from;
            starts.push(p);
            from = p + c.len();
        }
        Some((cols, Some(starts)))
    } else {
        Some((cols, None))
    }
}

fn cells(line: &str, ncols: usize, starts: Option<&[usize]>) -> Vec<String> {
    if let Some(st) = starts {
        let ok = st.iter().skip(1).all(|&s| {
            s <= line.len()
                && line.is_char_boundary(s)
                && (s == 0 || line.as_bytes()[s - 1] == b' ' || line.as_bytes()[s - 1] == b'\t')
        });
        if ok {
            return (0..ncols)
                .map(|k| {
                    let from = st[k].min(line.len());
                    let to = st.get(k + 1).copied().unwrap_or(line.len()).min(line.len());
                    line[from..to].trim().to_string()
                })
                .collect();
        }
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out: Vec<String> = words
        .iter()
        .take(ncols.saturating_sub(1))
        .map(|s| s.to_string())
        .collect();
    if words.len() >= ncols {
        out.push(words[ncols - 1..].join(" "));
    } else if words.len() == ncols - 1 {
        // fewer cells than columns (an empty cell collapsed away): keep what we have
    }
    out
}

fn infer_kind(cols: &[String]) -> Option<&'static str> {
    let has = |c: &str| cols.iter().any(|x| x == c);
    // the second test is legacy kubernetes-external-secrets (`NAME LAST SYNC STATUS AGE`)
    let external_secret = has("STORE") && (has("REFRESH INTERVAL") || has("REFRESH"))
        || has("LAST SYNC") && has("STATUS") && has("AGE");
    Some(if external_secret {
        "ExternalSecret"
    } else if has("TYPE") && has("DATA") {
        "Secret"
    } else if has("READY") && has("STATUS") && has("RESTARTS") {
        "Pod"
    } else if has("READY") && has("SECRET") && has("AGE") {
        "Certificate"
    } else if has("SECRETS") && has("AGE") {
        "ServiceAccount"
    } else if has("UP-TO-DATE") && has("AVAILABLE") {
        "Deployment"
    } else if has("DESIRED") && has("CURRENT") && has("READY") {
        "ReplicaSet"
    } else if has("STATUS") && has("READY") && has("AGE") && !has("RESTARTS") {
        "SecretStore"
    } else if has("TYPE") && has("REASON") && has("OBJECT") && has("MESSAGE") {
        "Event"
    } else {
        return None;
    })
}

/// The continuation lines of a multi-line Vault error after line `from - 1` (blank lines,
/// `URL:`, `Code:`, `Errors:`, `Raw Message:` and `* ...` items) and the line after them.
fn vault_error_body(src: &Source, from: usize) -> (String, usize) {
    let is_part = |l: &str| crate::ingest::vault::continues_error(l.trim_start());
    let mut parts: Vec<&str> = Vec::new();
    let mut end = from;
    let mut k = from;
    while k < src.lines().len() {
        let l = src.lines()[k];
        if l.trim().is_empty() {
            k += 1;
            continue;
        }
        if !is_part(l) {
            break;
        }
        parts.push(l.trim_end());
        k += 1;
        end = k;
    }
    (parts.join("\n"), end)
}

/// Reads a `kubectl get` table starting at line `i`.
pub fn block(src: &Source, i: usize, cmd: Option<&Command>, out: &mut Out) -> Option<usize> {
    let (cols, starts) = header(src.lines()[i])?;
    let cmd = cmd.filter(|c| c.program == "kubectl" && c.verb() == "get");
    let hinted = cmd.and_then(|c| c.arg(1)).and_then(kube_kind);
    let kind = hinted.or_else(|| infer_kind(&cols))?;
    let has = |c: &str| cols.iter().any(|x| x == c);
    if kind == "ExternalSecret" && has("LAST SYNC") && !has("STORE") {
        out.notes.push(
            "legacy kubernetes-external-secrets layout (NAME LAST SYNC STATUS AGE): its status text is kept, it has no store".into(),
        );
    }
    let col = |name: &str| cols.iter().position(|c| c == name);
    let mut j = i + 1;
    let mut count = 0;
    while j < src.lines().len() {
        let line = src.lines()[j];
        if line.trim().is_empty() || command_in(line).is_some() {
            break;
        }
        let c = cells(line, cols.len(), starts.as_deref());
        let cell = |name: &str| {
            col(name)
                .and_then(|k| c.get(k))
                .map(String::as_str)
                .filter(|s| !s.is_empty() && *s != "<none>")
        };
        let ns = cell("NAMESPACE")
            .map(str::to_string)
            .or_else(|| cmd.and_then(|c| c.namespace.clone()));
        let loc = src.loc(j);
        if kind == "Event" {
            let row = get_event_row(line);
            if let Some(mut r) = row {
                // a Vault error printed by kubectl over several lines (`URL:`, `Code:`, `* ...`)
                // belongs to this row's message
                let (body, next) = vault_error_body(src, j + 1);
                if !body.is_empty() {
                    r.message = format!("{}\n\n{body}", r.message);
                    j = next - 1;
                }
                out.push(
                    "Event",
                    Fact::Event(Box::new(Event {
                        namespace: r.namespace.or(ns).map(Into::into),
                        object_kind: r.kind.into(),
                        object_name: r.name.into(),
                        type_: r.type_.into(),
                        reason: r.reason.into(),
                        message: r.message,
                        count: 1,
                        first: ago(r.last),
                        last: ago(r.last),
                        source: String::new(),
                        loc,
                    })),
                );
            }
            j += 1;
            continue;
        }
        let Some(name) = cell("NAME").map(|n| n.split('/').next_back().unwrap_or(n).to_string())
        else {
            j += 1;
            continue;
        };
        let created = cell("AGE").and_then(parse_duration).map(When::Ago);
        let meta = Meta {
            namespace: ns.map(Into::into),
            name: name.into(),
            created,
            loc: loc.clone(),
            ..Default::default()
        };
        let fact = match kind {
            "Secret" => Fact::Secret(Box::new(Secret {
                type_: cell("TYPE").map(Into::into),
                key_count: cell("DATA").and_then(|d| d.parse().ok()),
                meta,
                ..Default::default()
            })),
            "Pod" => Fact::Pod(Box::new(Pod {
                table_status: cell("STATUS").map(|s| (s.to_string(), loc.clone())),
                node: cell("NODE").map(str::to_string),
                meta,
                ..Default::default()
            })),
            "ExternalSecret" => {
                let status = cell("STATUS").map(str::to_string);
                let ready = cell("READY").map(str::to_string);
                Fact::ExternalSecret(Box::new(ExternalSecret {
                    store: StoreRef {
                        name: cell("STORE").unwrap_or_default().into(),
                        kind: cell("STORETYPE").unwrap_or("SecretStore").into(),
                        loc: loc.clone(),
                        ..Default::default()
                    },
                    refresh_interval: cell("REFRESH INTERVAL")
                        .or_else(|| cell("REFRESH"))
                        .and_then(parse_duration),
                    refresh_time: cell("LAST SYNC").and_then(parse_rfc3339),
                    target_name: meta.name.clone(),
                    table_status: status.map(|s| Box::new((s, ready, loc.clone()))),
                    meta,
                    ..Default::default()
                }))
            }
            // ESO stores (STATUS, READY) and cert-manager issuers (READY, STATUS when wide)
            "SecretStore" | "ClusterSecretStore" | "Issuer" | "ClusterIssuer" => {
                Fact::SecretStore(Box::new(SecretStore {
                    kind: kind.to_string(),
                    table_status: cell("STATUS").or_else(|| cell("READY")).map(|s| {
                        (
                            s.to_string(),
                            cell("READY").map(str::to_string),
                            loc.clone(),
                        )
                    }),
                    meta: if is_cluster_store(kind) {
                        Meta {
                            namespace: None,
                            ..meta
                        }
                    } else {
                        meta
                    },
                    ..Default::default()
                }))
            }
            // cert-manager: NAME READY SECRET [ISSUER STATUS] AGE
            "Certificate" => {
                let ready = cell("READY").map(str::to_string);
                let status = cell("STATUS").map(str::to_string).or_else(|| ready.clone());
                Fact::ExternalSecret(Box::new(ExternalSecret {
                    source: crate::model::Source::Certificate,
                    store: StoreRef {
                        name: cell("ISSUER").unwrap_or_default().into(),
                        kind: "Issuer".into(),
                        loc: loc.clone(),
                        ..Default::default()
                    },
                    target_name: cell("SECRET").unwrap_or_default().into(),
                    table_status: status.map(|s| Box::new((s, ready, loc.clone()))),
                    meta,
                    ..Default::default()
                }))
            }
            "ServiceAccount" => Fact::from(ServiceAccount { meta }),
            "Namespace" => Fact::from(Namespace { meta }),
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" => {
                Fact::Workload(Box::new(Workload {
                    kind: kind.into(),
                    meta,
                    ..Default::default()
                }))
            }
            _ => {
                j += 1;
                continue;
            }
        };
        out.push(kind, fact);
        count += 1;
        j += 1;
    }
    // a whole listing (no name, no filter) covers its kind and namespace
    if let (Some(c), Some(k)) = (cmd, hinted.and_then(Kind::parse)) {
        // without `-n`/`-A` the namespace is the context's, which the bundle does not say
        if c.arg(2).is_none() && !c.filtered && count > 0 {
            if c.all_namespaces || k == Kind::ClusterSecretStore || k == Kind::Namespace {
                out.cover(k, None);
            } else if let Some(ns) = &c.namespace {
                out.cover(k, Some(ns.clone()));
            } else {
                out.notes.push(format!(
                    "{} listed without -n: the namespace is the context's, so no coverage is claimed",
                    k.as_str()
                ));
            }
        }
    }
    Some(j.max(i + 1))
}

/// `secret/NAME created=2026-01-31T14:22:00Z` (a loop over `kubectl get -o name`).
pub fn loop_line(src: &Source, i: usize, cmd: Option<&Command>, out: &mut Out) -> bool {
    let line = src.lines()[i].trim();
    let mut words = line.split_whitespace();
    let (Some(obj), Some(rest)) = (words.next(), words.next()) else {
        return false;
    };
    if words.next().is_some() {
        return false;
    }
    let Some((res, name)) = obj.split_once('/') else {
        return false;
    };
    let Some(kind) = kube_kind(res) else {
        return false;
    };
    let value = rest.split_once('=').map(|(_, v)| v).unwrap_or(rest);
    let Some(at) = parse_rfc3339(value) else {
        return false;
    };
    let meta = Meta {
        namespace: cmd.and_then(|c| c.namespace.as_deref().map(Into::into)),
        name: name.into(),
        created: Some(When::At(at)),
        loc: src.loc(i),
        ..Default::default()
    };
    let fact = match kind {
        "Secret" => Fact::Secret(Box::new(Secret {
            meta,
            ..Default::default()
        })),
        "Pod" => Fact::Pod(Box::new(Pod {
            meta,
            ..Default::default()
        })),
        "ExternalSecret" => Fact::ExternalSecret(Box::new(ExternalSecret {
            target_name: meta.name.clone(),
            meta,
            ..Default::default()
        })),
        _ => return false,
    };
    out.push(kind, fact);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn run(text: &str, cmd: Option<&str>) -> Out {
        let p: Arc<str> = Arc::from("t.txt");
        let src = Source::new(&p, text);
        let mut out = Out::default();
        let c = cmd.map(Command::parse);
        block(&src, 0, c.as_ref(), &mut out).expect("a table");
        out
    }

    #[test]
    fn eso_layouts_across_versions() {
        let cases = [
            "NAME STORE REFRESH STATUS\norder-service-regcred vault 1h SecretSyncedError\n",
            "NAME      STORE   REFRESH INTERVAL   STATUS              READY\nes-a      vault   1h                 SecretSyncedError   False\n",
            "NAME   STORETYPE     STORE   REFRESH INTERVAL   STATUS              READY\nes-a   SecretStore   vault   1h                 SecretSyncedError   False\n",
            "NAME   STORETYPE     STORE   REFRESH INTERVAL   STATUS         READY   LAST SYNC\nes-a   SecretStore   vault   1h                 SecretSynced   True    5m\n",
        ];
        for text in cases {
            let out = run(text, None);
            match &out.facts[0] {
                Fact::ExternalSecret(es) => {
                    assert_eq!(es.store.name, "vault", "{text}");
                    assert_eq!(
                        es.refresh_interval.map(|d| d.num_seconds()),
                        Some(3600),
                        "{text}"
                    );
                    assert!(es.table_status.is_some(), "{text}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn all_namespaces_and_hints() {
        let out = run(
            "NAMESPACE          NAME                    STORE   REFRESH INTERVAL   STATUS              READY\ndex                dex-secrets             vault   1h                 SecretSyncedError   False\n",
            Some("kubectl get ExternalSecret --all-namespaces"),
        );
        assert!(
            matches!(&out.facts[0], Fact::ExternalSecret(es) if es.meta.namespace.as_deref() == Some("dex"))
        );
        let out = run(
            "NAME TYPE DATA AGE\nregcred kubernetes.io/dockerconfigjson 1 47d\n",
            Some("kubectl get secret regcred -n prod"),
        );
        match &out.facts[0] {
            Fact::Secret(s) => {
                assert_eq!(s.meta.namespace.as_deref(), Some("prod"));
                assert_eq!(s.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
                assert!(matches!(s.meta.created, Some(When::Ago(d)) if d.num_days() == 47));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cert_manager_tables() {
        // inferred from the columns, and the wide layout named by the command
        let out = run(
            "NAME      READY   SECRET        AGE
web-tls   False   web-tls-pem   90d
",
            None,
        );
        match &out.facts[0] {
            Fact::ExternalSecret(es) => {
                assert_eq!(es.source, crate::model::Source::Certificate);
                assert_eq!(es.target_name, "web-tls-pem");
                assert_eq!(
                    es.table_status.as_ref().map(|t| t.1.as_deref()),
                    Some(Some("False"))
                );
            }
            other => panic!("{other:?}"),
        }
        let out = run(
            "NAME      READY   SECRET    ISSUER       STATUS                                         AGE
api-tls   True    api-tls   vault-pki    Certificate is up to date and has not expired   12d
",
            Some("kubectl get certificate -n shop -o wide"),
        );
        match &out.facts[0] {
            Fact::ExternalSecret(es) => {
                assert_eq!(es.store.name, "vault-pki");
                assert_eq!(es.meta.namespace.as_deref(), Some("shop"));
            }
            other => panic!("{other:?}"),
        }
        let out = run(
            "NAME          READY   AGE
vault-issuer  False   3d
",
            Some("kubectl get clusterissuers"),
        );
        assert!(
            matches!(&out.facts[0], Fact::SecretStore(s) if s.kind == "ClusterIssuer" && s.meta.namespace.is_none())
        );
    }

    #[test]
    fn multi_line_vault_errors_stay_in_their_event() {
        let text = "LAST SEEN   TYPE      REASON         OBJECT                   MESSAGE\n\
2m          Warning   UpdateFailed   externalsecret/shop-db   err: Error making API request.\n\
\n\
URL: GET https://vault.example:8200/v1/kv/data/shop/db\n\
Code: 403. Errors:\n\
\n\
* 1 error occurred:\n\
\t* permission denied\n\
5m          Normal    Created        pod/web-1                Created container web\n";
        let out = run(text, Some("kubectl get events -n shop"));
        let evs = out.events();
        assert_eq!(evs.len(), 2, "{evs:?}");
        let e = VaultError::parse(&evs[0].message).expect("the error is in the message");
        assert_eq!(e.path.as_deref(), Some("kv/data/shop/db"));
        assert!(e.is_permission_denied());
        assert_eq!(evs[1].reason, "Created");
    }
}
