//! `kubectl describe` output: the object header (Name, Namespace, Kind), the fields rules
//! read (pod status and start time, container states, ExternalSecret and store conditions,
//! refresh time) and the Events table, whose messages may run over several lines.
//!
//! A paste often holds only part of a describe (`| grep -A10 Events`); the object is then
//! known from the command line.

use super::events::{ago, describe_row};
use crate::ingest::text::{command_in, kube_kind, Command, Source};
use crate::ingest::Out;
use crate::model::time::parse_rfc3339;
use crate::model::*;
use chrono::DateTime;

/// The object a describe block is about.
#[derive(Clone, Debug, Default)]
pub struct Subject {
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Subject {
    pub fn from_command(cmd: Option<&Command>) -> Subject {
        match cmd {
            Some(c) if c.program == "kubectl" && c.verb() == "describe" => {
                let (kind, name) = match (c.arg(1), c.arg(2)) {
                    (Some(r), n) if r.contains('/') => {
                        let (k, n2) = r.split_once('/').unwrap_or((r, ""));
                        (kube_kind(k), Some(n.unwrap_or(n2).to_string()))
                    }
                    (Some(r), n) => (kube_kind(r), n.map(str::to_string)),
                    _ => (None, None),
                };
                Subject {
                    kind: kind.map(str::to_string),
                    namespace: c.namespace.clone(),
                    name,
                }
            }
            _ => Subject::default(),
        }
    }
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let t = line.trim_start();
    let rest = t.strip_prefix(key)?.strip_prefix(':')?;
    Some(rest.trim())
}

/// `Thu, 19 Mar 2026 10:26:00 +0000` (describe's time format) or RFC 3339.
fn describe_time(s: &str) -> Option<Time> {
    parse_rfc3339(s).or_else(|| {
        DateTime::parse_from_rfc2822(s.trim())
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    })
}

/// Is line `i` the start of a describe block (`Name:` followed by `Namespace:` soon after)?
pub fn starts_block(src: &Source, i: usize) -> bool {
    field(src.lines()[i], "Name").is_some()
        && !src.lines()[i].starts_with(char::is_whitespace)
        && (i + 1..(i + 4).min(src.lines().len()))
            .any(|j| field(src.lines()[j], "Namespace").is_some())
}

/// Reads a describe block (or a bare `Events:` section) at line `i`; returns the next line.
pub fn block(src: &Source, i: usize, cmd: Option<&Command>, out: &mut Out) -> Option<usize> {
    let bare_events = src.lines()[i].trim_start().starts_with("Events:");
    // a describe cut by `grep` starts anywhere: a `Field:` line is enough when the command says describe
    let partial = Subject::from_command(cmd).name.is_some()
        && !src.lines()[i].starts_with(char::is_whitespace)
        && src.lines()[i].split_once(':').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')
        });
    if !bare_events && !starts_block(src, i) && !partial {
        return None;
    }
    let mut subj = Subject::from_command(cmd);
    let mut j = i;
    let mut conditions: Vec<Condition> = Vec::new();
    let mut cur: Option<Condition> = None;
    let mut pod = Pod::default();
    let mut refresh_time = None;
    let mut phase_loc = None;
    let mut in_conditions = false;
    let mut in_containers = false;
    let mut first_name_seen = false;
    let mut events_at = None;
    let mut secret_type: Option<String> = None;
    let mut secret_keys: Vec<crate::model::Name> = Vec::new();
    let mut in_data = false;
    let mut is_sa = false;
    while j < src.lines().len() {
        let line = src.lines()[j];
        if command_in(line).is_some() {
            break;
        }
        // a second object's header ends this block
        if j > i && first_name_seen && starts_block(src, j) {
            break;
        }
        if line.trim_start().starts_with("Events:") {
            events_at = Some(j);
            break;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_start().trim_start_matches("- ");
        const COND_KEYS: &[&str] = &[
            "Last Transition Time",
            "Message",
            "Reason",
            "Status",
            "Type",
            "Last Update Time",
        ];
        let cond_line = in_conditions && COND_KEYS.iter().any(|k| field(t, k).is_some());
        if in_conditions && !cond_line && indent == 0 {
            in_conditions = false;
        }
        if indent == 0 && (t.starts_with("Containers:") || t.starts_with("Init Containers:")) {
            in_containers = true;
        } else if indent == 0 && !t.is_empty() {
            in_containers = false;
        }
        if in_containers && indent == 2 && t.ends_with(':') && !t.contains(' ') {
            pod.statuses.push(ContainerStatus {
                name: t.trim_end_matches(':').to_string(),
                loc: src.loc(j),
                ..Default::default()
            });
        } else if in_containers && indent > 2 {
            if let Some(c) = pod.statuses.last_mut() {
                if let Some(v) = field(t, "Image") {
                    c.image = Some(v.to_string());
                } else if let Some(v) = field(t, "Reason")
                    .filter(|_| c.waiting_reason.is_none() && c.started_at.is_none())
                {
                    c.waiting_reason = Some(v.to_string());
                    c.loc = src.loc(j);
                } else if let Some(v) = field(t, "Started") {
                    c.started_at = describe_time(v);
                } else if let Some(v) = field(t, "Ready") {
                    c.ready = v == "True";
                }
            }
        }
        if cond_line {
            // ESO style: `Last Transition Time:`, `Message:`, `Reason:`, `Status:`, `Type:`
            let mut c = cur.take().unwrap_or_default();
            let mut done = false;
            if let Some(v) = field(t, "Last Transition Time") {
                c.last_transition = describe_time(v);
            } else if let Some(v) = field(t, "Message") {
                c.message = Some(v.to_string());
                c.loc = src.loc(j);
            } else if let Some(v) = field(t, "Reason") {
                c.reason = Some(v.into());
                if !c.loc.is_known() {
                    c.loc = src.loc(j);
                }
            } else if let Some(v) = field(t, "Status") {
                c.status = v.into();
            } else if let Some(v) = field(t, "Type") {
                c.type_ = v.into();
                done = true;
            }
            if done {
                conditions.push(c);
            } else {
                cur = Some(c);
            }
        } else if let Some(v) = field(line, "Name").filter(|_| indent == 0) {
            subj.name = Some(v.to_string());
            first_name_seen = true;
        } else if let Some(v) = field(line, "Namespace").filter(|_| indent == 0) {
            subj.namespace = Some(v.to_string());
        } else if let Some(v) = field(line, "Kind").filter(|_| indent == 0) {
            subj.kind = Some(v.to_string());
        } else if let Some(v) = field(line, "Start Time").filter(|_| indent == 0) {
            pod.start_time = describe_time(v);
        } else if let Some(v) = field(line, "Status").filter(|v| indent == 0 && !v.is_empty()) {
            pod.phase = Some(v.into());
            phase_loc = Some(src.loc(j));
        } else if let Some(v) = field(line, "Node").filter(|_| indent == 0) {
            pod.node = Some(v.split('/').next().unwrap_or(v).to_string());
        } else if let Some(v) = field(line, "Type").filter(|v| indent == 0 && !v.is_empty()) {
            secret_type = Some(v.to_string());
        } else if line.trim() == "Data"
            && src
                .lines()
                .get(j + 1)
                .is_some_and(|l| l.trim().starts_with("===="))
        {
            in_data = true;
            j += 2;
            continue;
        } else if in_data && line.contains(':') && line.trim_end().ends_with("bytes") {
            // `key:  123 bytes`: sizes only, never values
            if let Some((k, _)) = line.trim().rsplit_once(':') {
                secret_keys.push(k.trim().into());
            }
        } else if field(line, "Mountable secrets").is_some()
            || field(line, "Image pull secrets").is_some()
        {
            is_sa = true;
        } else if let Some(v) = field(line, "Service Account").filter(|_| indent == 0) {
            pod.service_account = Some(v.into());
        } else if let Some(v) = field(line, "Refresh Time") {
            refresh_time = describe_time(v);
        } else if field(line, "Conditions").is_some() {
            in_conditions = true;
        }
        j += 1;
    }
    if let Some(c) = cur.take() {
        if !c.status.is_empty() || c.reason.is_some() {
            conditions.push(Condition {
                type_: if c.type_.is_empty() {
                    "Ready".into()
                } else {
                    c.type_.clone()
                },
                ..c
            });
        }
    }
    let kind = subj.kind.clone().or_else(|| {
        if pod.start_time.is_some() || pod.node.is_some() {
            Some("Pod".to_string())
        } else if is_sa {
            Some("ServiceAccount".to_string())
        } else if in_data || secret_type.is_some() && first_name_seen {
            Some("Secret".to_string())
        } else {
            None
        }
    });
    let name = subj.name.clone();
    if let (Some(kind), Some(name)) = (&kind, &name) {
        let meta = Meta {
            namespace: subj.namespace.as_deref().map(Into::into),
            name: name.as_str().into(),
            loc: src.loc(i),
            ..Default::default()
        };
        match kind.as_str() {
            "Pod" if !bare_events => {
                pod.meta = meta;
                if let (Some(p), Some(l)) = (&pod.phase, phase_loc) {
                    pod.table_status = Some((p.to_string(), l));
                }
                out.push("Pod", Fact::Pod(Box::new(pod)));
            }
            "Secret" if !bare_events => {
                secret_keys.sort();
                out.push(
                    "Secret",
                    Fact::Secret(Box::new(Secret {
                        meta,
                        type_: secret_type.as_deref().map(Into::into),
                        keys: secret_keys.clone(),
                        key_count: in_data.then_some(secret_keys.len()),
                        ..Default::default()
                    })),
                )
            }
            "ServiceAccount" if !bare_events => {
                out.push("ServiceAccount", Fact::from(ServiceAccount { meta }))
            }
            "ExternalSecret" if !bare_events => out.push(
                "ExternalSecret",
                Fact::ExternalSecret(Box::new(ExternalSecret {
                    target_name: meta.name.clone(),
                    meta,
                    conditions,
                    refresh_time,
                    ..Default::default()
                })),
            ),
            "SecretStore" | "ClusterSecretStore" if !bare_events => out.push(
                kind,
                Fact::SecretStore(Box::new(SecretStore {
                    kind: kind.clone(),
                    meta: if kind == "ClusterSecretStore" {
                        Meta {
                            namespace: None,
                            ..meta
                        }
                    } else {
                        meta
                    },
                    conditions,
                    ..Default::default()
                })),
            ),
            _ => {}
        }
    }
    let Some(ev) = events_at.or(bare_events.then_some(i)) else {
        return Some(j.max(i + 1));
    };
    let end = events(src, ev, &subj, kind.as_deref(), out);
    Some(end)
}

/// The kind an event is about, from the component that reported it, when no header says.
pub fn kind_from_source(from: &str) -> Option<&'static str> {
    let f = from.split(',').next().unwrap_or(from).trim();
    Some(match f {
        "kubelet" => "Pod",
        "external-secrets" => "ExternalSecret",
        "cluster-secret-store" => "ClusterSecretStore",
        "secret-store" => "SecretStore",
        "deployment-controller" => "Deployment",
        "replicaset-controller" => "ReplicaSet",
        _ => return None,
    })
}

/// The Events table at line `at` (`Events:` line, or the first row of a header-less paste).
pub fn events(src: &Source, at: usize, subj: &Subject, kind: Option<&str>, out: &mut Out) -> usize {
    let mut j = at;
    if src.lines()[j].trim_start().starts_with("Events:") {
        j += 1;
    }
    let mut last: Option<Event> = None;
    let flush = |e: Option<Event>, out: &mut Out| {
        if let Some(mut e) = e {
            e.message = e.message.trim_end().to_string();
            out.push("Event", Fact::Event(Box::new(e)));
        }
    };
    while j < src.lines().len() {
        let line = src.lines()[j];
        let t = line.trim();
        if command_in(line).is_some() {
            break;
        }
        if t.starts_with("Type") && t.contains("Reason") || t.starts_with("----") {
            j += 1;
            continue;
        }
        if let Some(row) = describe_row(line) {
            flush(last.take(), out);
            last = Some(Event {
                namespace: subj.namespace.as_deref().map(Into::into),
                object_kind: kind
                    .map(str::to_string)
                    .or_else(|| subj.kind.clone())
                    .or_else(|| kind_from_source(&row.from).map(str::to_string))
                    .unwrap_or_default()
                    .into(),
                object_name: subj.name.as_deref().unwrap_or_default().into(),
                type_: row.type_.into(),
                reason: row.reason.into(),
                message: row.message,
                count: row.count,
                first: ago(row.first),
                last: ago(row.last),
                source: row.from,
                loc: src.loc(j),
            });
            j += 1;
            continue;
        }
        // continuation of a multi-line message (Vault errors, HTML bodies), blank lines included
        let continues = last.is_some()
            && (t.is_empty()
                || line.starts_with(char::is_whitespace)
                || !t.contains(": ")
                || crate::ingest::vault::continues_error(t))
            && !(line.starts_with(|c: char| c.is_ascii_alphabetic())
                && t.ends_with(':')
                && !t.contains(' '));
        if continues {
            if let Some(e) = last.as_mut() {
                e.message.push('\n');
                e.message.push_str(t);
            }
            j += 1;
            // two blank lines in a row end the table
            if t.is_empty() && src.lines().get(j).is_some_and(|l| l.trim().is_empty()) {
                break;
            }
            continue;
        }
        break;
    }
    flush(last, out);
    j.max(at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn run(text: &str, cmd: Option<&str>) -> Out {
        let p: Arc<str> = Arc::from("d.txt");
        let src = Source::new(&p, text);
        let c = cmd.map(Command::parse);
        let mut out = Out::default();
        let mut i = 0;
        while i < src.lines().len() {
            i = block(&src, i, c.as_ref(), &mut out).unwrap_or(i + 1);
        }
        out
    }

    #[test]
    fn full_pod_describe() {
        let text = "Name:             web-1\nNamespace:        shop\nNode:             node-a/10.0.0.1\nStart Time:       Thu, 19 Mar 2026 10:26:00 +0000\nStatus:           Pending\nEvents:\n  Type     Reason   Age                From     Message\n  ----     ------   ----               ----     -------\n  Warning  Failed   3m (x3 over 4m)    kubelet  Failed to pull image \"r/x:1\": 401 Unauthorized\n";
        let out = run(text, None);
        let pod = out
            .facts
            .iter()
            .find_map(|f| if let Fact::Pod(p) = f { Some(p) } else { None })
            .expect("a pod");
        assert_eq!(pod.meta.name, "web-1");
        assert_eq!(pod.meta.namespace.as_deref(), Some("shop"));
        assert_eq!(pod.node.as_deref(), Some("node-a"));
        assert!(pod.start_time.is_some());
        let ev = out.events();
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (
                ev[0].object_kind.as_str(),
                ev[0].object_name.as_str(),
                ev[0].count
            ),
            ("Pod", "web-1", 3)
        );
        assert_eq!(ev[0].loc.line, 9);
    }

    #[test]
    fn grep_cut_events_take_the_subject_from_the_command() {
        let text = "Events:\nType Reason Age From Message\n---- ------ ---- ---- -------\nNormal Scheduled 4m default-scheduler Successfully assigned p/x to n\nWarning Failed 3m (x3 over 4m) kubelet Error: ErrImagePull\n";
        let out = run(
            text,
            Some("kubectl describe pod x-1 -n p | grep -A10 Events"),
        );
        let ev = out.events();
        assert_eq!(ev.len(), 2);
        assert!(ev.iter().all(|e| e.object_name == "x-1"
            && e.namespace.as_deref() == Some("p")
            && e.object_kind == "Pod"));
    }

    #[test]
    fn multi_line_event_messages_stay_whole() {
        let text = "Name:         es-1\nNamespace:    team\nKind:         ExternalSecret\nStatus:\n  Conditions:\n    Last Transition Time:  2026-03-02T10:00:07Z\n    Message:               could not get secret data from provider\n    Reason:                SecretSyncedError\n    Status:                False\n    Type:                  Ready\n  Refresh Time:            2026-03-02T09:00:05Z\nEvents:\n  Type     Reason        Age   From              Message\n  ----     ------        ----  ----              -------\n  Warning  UpdateFailed  29m   external-secrets  error processing spec.data[0] (key: k), err: cannot read secret data from Vault: Error making API request.\n\nURL: GET https://v/v1/kv/data/k\nCode: 403. Errors:\n\n* permission denied\n";
        let out = run(text, None);
        let es = out
            .facts
            .iter()
            .find_map(|f| {
                if let Fact::ExternalSecret(e) = f {
                    Some(e)
                } else {
                    None
                }
            })
            .expect("an ES");
        assert_eq!(es.conditions.len(), 1);
        assert_eq!(es.conditions[0].status, "False");
        assert_eq!(
            es.conditions[0].reason.as_deref(),
            Some("SecretSyncedError")
        );
        assert!(es.refresh_time.is_some());
        let ev = out.events();
        assert_eq!(ev.len(), 1);
        let e =
            VaultError::parse(&ev[0].message).expect("the Vault error survives the line breaks");
        assert!(e.is_permission_denied());
        assert_eq!(e.path.as_deref(), Some("kv/data/k"));
    }

    #[test]
    fn collapsed_status_excerpt() {
        let text = "Status:\nConditions:\nMessage: could not get secret data from provider: vault: 403 permission denied\nReason: SecretSyncedError\nStatus: False\n";
        let out = run(
            text,
            Some("kubectl describe externalsecret es-2 -n prod | grep -A5 Status"),
        );
        let es = out
            .facts
            .iter()
            .find_map(|f| {
                if let Fact::ExternalSecret(e) = f {
                    Some(e)
                } else {
                    None
                }
            })
            .expect("an ES");
        assert_eq!(es.meta.name, "es-2");
        assert_eq!(es.conditions[0].status, "False");
    }

    #[test]
    fn secrets_and_service_accounts() {
        let text = "Name:         regcred\nNamespace:    prod\nLabels:       <none>\nAnnotations:  <none>\n\nType:  kubernetes.io/dockerconfigjson\n\nData\n====\n.dockerconfigjson:  161 bytes\n";
        let out = run(text, None);
        let s = out
            .facts
            .iter()
            .find_map(|f| {
                if let Fact::Secret(s) = f {
                    Some(s)
                } else {
                    None
                }
            })
            .expect("a Secret");
        assert_eq!(
            (s.meta.name.as_str(), s.type_.as_deref()),
            ("regcred", Some("kubernetes.io/dockerconfigjson"))
        );
        assert_eq!(s.keys, [".dockerconfigjson"]);
        let text = "Name:                eso\nNamespace:           prod\nLabels:              <none>\nAnnotations:         <none>\nImage pull secrets:  <none>\nMountable secrets:   <none>\nTokens:              <none>\nEvents:              <none>\n";
        let out = run(text, None);
        assert!(out
            .facts
            .iter()
            .any(|f| matches!(f, Fact::ServiceAccount(s) if s.meta.name == "eso")));
    }
}
