//! Logs of the Vault Agent Injector's containers (`vault-agent-init`, `vault-agent`).
//!
//! An injected Pod has no Kubernetes Secret and its status only says the init container is
//! still running: the Vault error (a refused login, a 403 on a template's path) is only in
//! the agent's log. Each error entry becomes a Warning Event on the Pod (reason
//! `VaultAgentError`), so the Pod's sync state carries it like an ESO event would.
//!
//! hclog writes an error either on one line (`error="Error making API request.\n\nURL: ..."`)
//! or over several lines, each continuation indented and prefixed with `|`.

use crate::ingest::text::{Command, Source};
use crate::ingest::Out;
use crate::model::time::parse_rfc3339;
use crate::model::*;

/// The namespace, Pod and container a log file is about: a troubleshoot path
/// `.../pods/logs/<ns>/<pod>/<container>.log`, or a `kubectl logs POD -c CONTAINER` command.
pub fn agent_log_of(path: &str, cmd: Option<&Command>) -> Option<(Option<String>, String)> {
    let segs: Vec<&str> = path.split('/').collect();
    if let Some(i) = segs.windows(2).position(|w| w == ["pods", "logs"]) {
        if let [ns, pod, file] = segs.get(i + 2..)? {
            let container = file.strip_suffix(".log").unwrap_or(file);
            let container = container.strip_suffix("-previous").unwrap_or(container);
            if crate::model::link::is_agent_container(container) {
                return Some((Some(ns.to_string()), pod.to_string()));
            }
        }
        return None;
    }
    let c = cmd?;
    if c.program != "kubectl" || c.verb() != "logs" {
        return None;
    }
    if !c
        .words
        .iter()
        .any(|w| crate::model::link::is_agent_container(w))
    {
        return None;
    }
    let pod = c.arg(1)?;
    let pod = pod.strip_prefix("pod/").unwrap_or(pod);
    Some((c.namespace.clone(), pod.to_string()))
}

/// The error text of an entry: `error="..."` unescaped, or the `|` continuation lines.
fn entry_error(src: &Source, i: usize) -> (String, usize) {
    let line = src.lines()[i];
    if let Some(p) = line.find("error=\"") {
        // the quoted value ends at the first unescaped quote (`" backoff=1s` may follow); older
        // agents print its newlines raw, so it may close lines later
        let mut raw = String::new();
        let mut j = i;
        let mut part = &line[p + 7..];
        loop {
            if let Some(end) = closing_quote(part) {
                raw.push_str(&part[..end]);
                break;
            }
            raw.push_str(part);
            j += 1;
            match src.lines().get(j) {
                Some(l) if !is_entry(l) => {
                    raw.push('\n');
                    part = l;
                }
                _ => {
                    j -= 1;
                    break;
                }
            }
        }
        let text = raw
            .replace("\\n", "\n")
            .replace("\\t", "\t")
            .replace("\\\"", "\"");
        return (text, j + 1);
    }
    let mut text = String::new();
    let mut j = i + 1;
    while j < src.lines().len() {
        let l = src.lines()[j];
        if !l.starts_with(' ') && !l.starts_with('\t') {
            break;
        }
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix('|') {
            text.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            text.push('\n');
        }
        j += 1;
    }
    (text, j)
}

/// The byte offset of the first quote not escaped by a backslash.
fn closing_quote(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len()).find(|&k| b[k] == b'"' && (k == 0 || b[k - 1] != b'\\'))
}

/// Does this line start a log entry (`TIME [LEVEL] ...`)?
fn is_entry(line: &str) -> bool {
    line.contains("[ERROR]") || line.contains("[INFO]") || line.contains("[WARN]")
}

/// Reads an agent log; returns whether it held any line of one.
pub fn read(src: &Source, first: usize, ns: Option<String>, pod: &str, out: &mut Out) -> bool {
    let mut seen = false;
    let mut i = first;
    while i < src.lines().len() {
        let line = src.lines()[i];
        if !is_entry(line) {
            i += 1;
            continue;
        }
        seen = true;
        if !line.contains("[ERROR]") {
            i += 1;
            continue;
        }
        let (detail, next) = entry_error(src, i);
        let head = line
            .split("[ERROR]")
            .nth(1)
            .unwrap_or("")
            .split(" error=")
            .next()
            .unwrap_or("")
            .trim();
        let message = if detail.trim().is_empty() {
            head.to_string()
        } else {
            format!("{head} {}", detail.trim_end())
        };
        let time = line
            .split_whitespace()
            .next()
            .and_then(parse_rfc3339)
            .map(When::At);
        out.facts.push(Fact::Event(Box::new(Event {
            namespace: ns.as_deref().map(Into::into),
            object_kind: "Pod".into(),
            object_name: pod.into(),
            type_: "Warning".into(),
            reason: "VaultAgentError".into(),
            message,
            count: 1,
            first: time,
            last: time,
            source: "vault-agent".into(),
            loc: src.loc(i),
        })));
        i = next.max(i + 1);
    }
    if seen {
        *out.kinds.entry("vault-agent-log".into()).or_default() += 1;
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn agent_log_paths() {
        assert_eq!(
            agent_log_of(
                "b/cluster-resources/pods/logs/shop/web-1/vault-agent-init.log",
                None
            ),
            Some((Some("shop".into()), "web-1".into()))
        );
        assert_eq!(
            agent_log_of("b/cluster-resources/pods/logs/shop/web-1/app.log", None),
            None
        );
        let c = Command::parse("kubectl logs web-1 -c vault-agent-init -n shop");
        assert_eq!(
            agent_log_of("x.txt", Some(&c)),
            Some((Some("shop".into()), "web-1".into()))
        );
        let c = Command::parse("kubectl logs web-1 -n shop");
        assert_eq!(agent_log_of("x.txt", Some(&c)), None);
    }

    #[test]
    fn quoted_errors_spanning_raw_lines() {
        // older agents: `auth.handler:` without the `agent.` prefix, newlines printed raw
        let text = "2021-05-27T08:59:50.377Z [ERROR] auth.handler: error authenticating: error=\"Error making API request.\n\nURL: PUT http://vault.vault:8200/v1/auth/kubernetes/login\nCode: 403. Errors:\n\n* permission denied\" backoff=1.324120587\n\
2021-05-27T08:59:51.702Z [INFO]  auth.handler: authenticating\n\
2021-05-27T08:59:51.710Z [ERROR] auth.handler: error authenticating: error=\"context deadline exceeded\" backoff=2.1s\n";
        let path: Arc<str> = Arc::from("logs.txt");
        let src = Source::new(&path, text);
        let mut out = Out::default();
        assert!(read(&src, 0, Some("ops".into()), "api-0", &mut out));
        let evs = out.events();
        assert_eq!(evs.len(), 2);
        let login = VaultError::parse(&evs[0].message).expect("login error");
        assert_eq!(login.path.as_deref(), Some("auth/kubernetes/login"));
        assert!(login.is_permission_denied());
        assert!(!evs[0].message.contains("backoff"));
        assert!(evs[1].message.ends_with("context deadline exceeded"));
    }

    #[test]
    fn multi_line_and_escaped_errors() {
        let text = "2024-06-01T10:00:00.000Z [INFO]  agent: starting\n\
2024-06-01T10:00:01.000Z [ERROR] agent.auth.handler: error authenticating:\n  error=\n  | Error making API request.\n  | \n  | URL: PUT http://vault:8200/v1/auth/kubernetes/login\n  | Code: 403. Errors:\n  | \n  | * permission denied\n   backoff=1s\n\
2024-06-01T10:00:05.000Z [ERROR] agent: (runner) error rendering: error=\"Error making API request.\\n\\nURL: GET http://vault:8200/v1/secret/data/shop/db\\nCode: 403. Errors:\\n\\n* 1 error occurred:\\n\\t* permission denied\\n\"\n";
        let path: Arc<str> = Arc::from("logs.txt");
        let src = Source::new(&path, text);
        let mut out = Out::default();
        assert!(read(&src, 0, Some("shop".into()), "web-1", &mut out));
        let evs = out.events();
        assert_eq!(evs.len(), 2);
        let login = VaultError::parse(&evs[0].message).expect("login error");
        assert_eq!(login.path.as_deref(), Some("auth/kubernetes/login"));
        assert_eq!(login.code, Some(403));
        assert_eq!(evs[0].loc.line, 2);
        let read = VaultError::parse(&evs[1].message).expect("render error");
        assert_eq!(read.path.as_deref(), Some("secret/data/shop/db"));
        assert!(read.is_permission_denied());
    }
}
