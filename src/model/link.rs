//! Joins between objects of the non-ESO delivery paths that no single file holds: a VSO
//! VaultAuth's Vault address lives on its VaultConnection, a SecretProviderClass logs in as
//! the ServiceAccount of the Pods that mount it and fails in their `FailedMount` events, a
//! Vault Agent's state is its Pod's `vault-agent-init` container, and a Certificate asks for
//! its Issuer's sign path.
//!
//! Run once while the snapshot is built, so that every later stage sees each sync object with
//! its store, paths and status filled in, whatever controller it belongs to.

use super::*;
use std::collections::BTreeMap;

pub fn link(snap: &mut Snapshot) {
    vso_connections(snap);
    csi(snap);
    agents(snap);
    certificates(snap);
}

fn vso_connections(snap: &mut Snapshot) {
    if snap.vault_connections.is_empty() {
        return;
    }
    let conns = std::mem::take(&mut snap.vault_connections);
    for st in snap.stores.iter_mut().filter(|s| s.kind == "VaultAuth") {
        let (name, named) = match &st.connection {
            Some((n, _)) => (n.clone(), true),
            None => ("default".to_string(), false),
        };
        let (ns, name) = match name.split_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (st.meta.namespace.as_deref().map(str::to_string), name),
        };
        let conn = conns
            .iter()
            .find(|c| c.meta.name == name && c.meta.namespace.as_deref() == ns.as_deref())
            .or_else(|| {
                (!named)
                    .then(|| conns.iter().find(|c| c.meta.name == name))
                    .flatten()
            });
        let Some(conn) = conn else { continue };
        if let Some(v) = st.vault.as_mut() {
            if v.server.is_empty() {
                v.server.clone_from(&conn.address);
                v.loc = conn.address_loc.clone();
            }
        }
        let invalid = conn
            .valid
            .as_ref()
            .filter(|(ok, _)| !ok)
            .map(|(_, l)| l.clone())
            .or_else(|| {
                conn.conditions
                    .iter()
                    .find(|c| c.type_ == "Ready" && c.status == "False")
                    .map(|c| c.loc.clone())
            });
        if let Some(loc) = invalid {
            let ready_ok = st
                .conditions
                .iter()
                .position(|c| c.type_ == "Ready" && c.status != "False");
            let cond = Condition {
                type_: "Ready".into(),
                status: "False".into(),
                reason: Some("VaultConnectionInvalid".into()),
                message: Some(format!(
                    "VaultConnection {}/{} ({}) is not valid",
                    conn.meta.namespace.as_deref().unwrap_or("-"),
                    conn.meta.name,
                    conn.address
                )),
                last_transition: None,
                loc,
            };
            match ready_ok {
                Some(i) => st.conditions[i] = cond,
                None if !st.conditions.iter().any(|c| c.type_ == "Ready") => {
                    st.conditions.push(cond)
                }
                None => {}
            }
        }
    }
    snap.vault_connections = conns;
}

/// Is a Pod event a Secrets Store CSI mount failure?
pub fn is_csi_mount_failure(e: &Event) -> bool {
    e.reason == "FailedMount"
        && (e.message.contains("secrets store")
            || e.message.contains("secrets-store")
            || e.message.contains("SecretProviderClass")
            || e.message.contains("secretproviderclass"))
}

/// The volume a `MountVolume.SetUp failed for volume "NAME"` message is about.
fn failed_volume(message: &str) -> Option<&str> {
    let rest = &message[message.find("for volume \"")? + 12..];
    rest.split('"').next()
}

fn csi(snap: &mut Snapshot) {
    let classes: Vec<(Name, Name)> = snap
        .stores
        .iter()
        .filter(|s| s.kind == "SecretProviderClass" && s.vault.is_some())
        .filter_map(|s| Some((s.meta.namespace.clone()?, s.meta.name.clone())))
        .collect();
    if classes.is_empty() {
        return;
    }
    // (namespace, pod) -> the mount failures reported on it
    let mut failures: BTreeMap<(Name, Name), Vec<usize>> = BTreeMap::new();
    for (i, e) in snap.events.iter().enumerate() {
        if e.object_kind.eq_ignore_ascii_case("pod") && is_csi_mount_failure(e) {
            if let Some(ns) = &e.namespace {
                failures
                    .entry((ns.clone(), e.object_name.clone()))
                    .or_default()
                    .push(i);
            }
        }
    }
    // (namespace, class) -> the Pods that mount it, found in one pass over the Pods
    let mut mounting: BTreeMap<(&str, &str), Vec<&Pod>> = BTreeMap::new();
    for p in &snap.pods {
        let Some(ns) = p.meta.namespace.as_deref() else {
            continue;
        };
        let mut seen: Vec<&str> = Vec::new();
        for c in p
            .volumes
            .iter()
            .filter_map(|v| v.csi_provider_class.as_deref())
        {
            if !seen.contains(&c) {
                seen.push(c);
                mounting.entry((ns, c)).or_default().push(p);
            }
        }
    }
    let mut new_events: Vec<Event> = Vec::new();
    let mut joined: Vec<usize> = Vec::new();
    for (ns, class) in classes {
        let pods: Vec<&Pod> = mounting
            .get(&(ns.as_str(), class.as_str()))
            .cloned()
            .unwrap_or_default();
        let mut sas: Vec<Name> = pods
            .iter()
            .map(|p| {
                p.service_account
                    .clone()
                    .unwrap_or_else(|| "default".into())
            })
            .collect();
        sas.sort();
        sas.dedup();
        let mut failed = false;
        for p in &pods {
            let volumes: Vec<&str> = p
                .volumes
                .iter()
                .filter(|v| v.csi_provider_class.as_deref() == Some(class.as_str()))
                .map(|v| v.name.as_str())
                .collect();
            let csi_volumes = p
                .volumes
                .iter()
                .filter(|v| v.csi_provider_class.is_some())
                .count();
            for &i in failures
                .get(&(ns.clone(), p.meta.name.clone()))
                .into_iter()
                .flatten()
            {
                let e = &snap.events[i];
                let ours = match failed_volume(&e.message) {
                    Some(v) => volumes.contains(&v),
                    None => csi_volumes == 1,
                };
                if ours {
                    failed = true;
                    joined.push(i);
                    let mut copy = e.clone();
                    copy.object_kind = "SecretProviderClass".into();
                    copy.object_name = class.clone();
                    copy.source = format!("Pod {}", p.meta.name);
                    new_events.push(copy);
                }
            }
        }
        let running = pods
            .iter()
            .filter(|p| p.phase.as_deref() == Some("Running"))
            .max_by_key(|p| p.start_time);
        let (sa, running) = (
            (sas.len() == 1).then(|| sas[0].clone()),
            running.map(|p| (p.start_time, p.meta.loc.clone(), p.meta.name.clone())),
        );
        if let Some(st) = snap.stores.iter_mut().find(|s| {
            s.kind == "SecretProviderClass"
                && s.meta.name == class
                && s.meta.namespace.as_deref() == Some(ns.as_str())
        }) {
            if let Some(VaultAuth::Kubernetes {
                service_account, ..
            }) = st.vault.as_mut().map(|v| &mut v.auth)
            {
                if service_account.is_none() {
                    *service_account = sa.map(|s| (s.to_string(), Some(ns.to_string())));
                }
            }
        }
        // a running Pod mounted the class when it started: the last known good mount
        if let (false, Some((start, loc, pod))) = (failed, running) {
            if let Some(es) = snap.external_secrets.iter_mut().find(|e| {
                e.source == Source::Csi
                    && e.meta.name == class
                    && e.meta.namespace.as_deref() == Some(ns.as_str())
            }) {
                if !es.conditions.iter().any(|c| c.type_ == "Ready") {
                    es.conditions.push(Condition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        reason: Some("Mounted".into()),
                        message: Some(format!("Pod {pod} is running with the volume mounted")),
                        last_transition: start,
                        loc,
                    });
                }
            }
        }
    }
    new_events.extend(csi_by_object(snap, &joined));
    snap.events.extend(new_events);
}

/// CSI read failures that no Pod of the bundle ties to a class: a pasted provider error
/// (`snap.vault.errors`), or the `FailedMount` event of a Pod the bundle lacks. The object
/// it names (`couldn't read secret "NAME"`) is the class's `objectName`: when exactly one
/// vault SecretProviderClass (of the event's namespace, when known) has it, the failure
/// becomes a `FailedMount` event on that class.
fn csi_by_object(snap: &Snapshot, joined: &[usize]) -> Vec<Event> {
    let class_of = |ns: Option<&str>, object: &str| -> Option<(Name, Name)> {
        let mut hits = snap.external_secrets.iter().filter(|e| {
            e.source == Source::Csi
                && ns.is_none_or(|n| e.meta.namespace.as_deref() == Some(n))
                && e.data.iter().any(|d| d.secret_key == object)
        });
        let one = hits.next()?;
        if hits.next().is_some() {
            return None;
        }
        Some((one.meta.namespace.clone()?, one.meta.name.clone()))
    };
    let mut out: Vec<Event> = Vec::new();
    // (namespace, object) named by a Pod event: a paste of the same error adds nothing
    let mut named: Vec<(Option<Name>, String)> = Vec::new();
    for (i, e) in snap.events.iter().enumerate() {
        if !(e.object_kind.eq_ignore_ascii_case("pod") && is_csi_mount_failure(e)) {
            continue;
        }
        let Some(object) = crate::model::vault::csi_object_of(&e.message) else {
            continue;
        };
        named.push((e.namespace.clone(), object.to_string()));
        if joined.contains(&i) {
            continue;
        }
        if let Some((_, class)) = class_of(e.namespace.as_deref(), object) {
            let mut copy = e.clone();
            copy.object_kind = "SecretProviderClass".into();
            copy.object_name = class;
            copy.source = format!("Pod {}", e.object_name);
            out.push(copy);
        }
    }
    for (err, loc) in &snap.vault.errors {
        let Some(object) = err.csi_object.as_deref() else {
            continue;
        };
        let Some((ns, class)) = class_of(None, object) else {
            continue;
        };
        if named
            .iter()
            .any(|(n, o)| o == object && n.as_deref().is_none_or(|n| n == ns))
        {
            continue;
        }
        out.push(Event {
            namespace: Some(ns),
            object_kind: "SecretProviderClass".into(),
            object_name: class,
            type_: "Warning".into(),
            reason: "FailedMount".into(),
            message: format!(
                "couldn't read secret \"{object}\": {}",
                vault_error_text(err)
            ),
            count: 1,
            first: None,
            last: None,
            source: "Vault error".into(),
            loc: loc.clone(),
        });
    }
    out
}

/// A parsed Vault error written back in the client's words, so that what reads an event's
/// message reads the same error (the host is not kept: `/v1/PATH`).
fn vault_error_text(e: &VaultError) -> String {
    let mut s = String::from("Error making API request.\n\n");
    if let Some(p) = &e.path {
        s.push_str(&format!(
            "URL: {} /v1/{p}\n",
            e.method.as_deref().unwrap_or("GET")
        ));
    }
    if let Some(c) = e.code {
        s.push_str(&format!("Code: {c}."));
    }
    if e.raw_message {
        s.push_str(" Raw Message:\n");
    } else {
        s.push_str(" Errors:\n\n");
        for m in &e.errors {
            s.push_str(&format!("* {m}\n"));
        }
    }
    s
}

/// Is this container the Vault Agent Injector's?
pub fn is_agent_container(name: &str) -> bool {
    name == "vault-agent-init" || name == "vault-agent"
}

fn agents(snap: &mut Snapshot) {
    let capture = snap.captured_at;
    for es in snap
        .external_secrets
        .iter_mut()
        .filter(|e| e.source == Source::Agent)
    {
        if es.conditions.iter().any(|c| c.type_ == "Ready") {
            continue;
        }
        // the Pods are sorted by (namespace, name): the agent's own Pod by binary search
        let key = (es.meta.namespace.as_deref(), es.meta.name.as_str());
        let Ok(at) = snap
            .pods
            .binary_search_by(|p| (p.meta.namespace.as_deref(), p.meta.name.as_str()).cmp(&key))
        else {
            continue;
        };
        let pod = &snap.pods[at];
        let init = pod.statuses.iter().find(|s| s.name == "vault-agent-init");
        let cond =
            |status: &str, reason: &str, message: String, t: Option<Time>, loc: &Loc| Condition {
                type_: "Ready".into(),
                status: status.into(),
                reason: Some(reason.into()),
                message: Some(message),
                last_transition: t,
                loc: loc.clone(),
            };
        let c = match init {
            Some(s) if s.waiting_reason.is_some() => {
                let r = s.waiting_reason.clone().unwrap_or_default();
                Some(cond(
                    "False",
                    &r,
                    format!(
                        "init container vault-agent-init is waiting ({r}) after {} restarts{}",
                        s.restart_count,
                        s.waiting_message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ),
                    pod.start_time,
                    &s.loc,
                ))
            }
            // the agent retries a failing login or render forever: the Pod stays in Init
            Some(s) if !s.ready && pod.phase.as_deref() == Some("Pending") => {
                let stuck = s
                    .started_at
                    .or(pod.start_time)
                    .is_some_and(|t| capture - t > chrono::Duration::minutes(2));
                stuck.then(|| {
                    cond(
                        "False",
                        "AgentInitStuck",
                        "init container vault-agent-init is still running: the agent has not rendered its secrets".into(),
                        s.started_at.or(pod.start_time),
                        &s.loc,
                    )
                })
            }
            Some(s) if pod.phase.as_deref() == Some("Running") => Some(cond(
                "True",
                "Rendered",
                "init container vault-agent-init completed".into(),
                pod.start_time,
                &s.loc,
            )),
            _ => None,
        };
        if let Some(c) = c {
            es.conditions.push(c);
        }
    }
}

fn certificates(snap: &mut Snapshot) {
    let paths: BTreeMap<(Name, Option<Name>, Name), (String, Loc)> = snap
        .stores
        .iter()
        .filter(|s| s.kind == "Issuer" || s.kind == "ClusterIssuer")
        .filter_map(|s| {
            let v = s.vault.as_ref()?;
            let ns = if s.kind == "ClusterIssuer" {
                None
            } else {
                s.meta.namespace.clone()
            };
            Some((
                (s.kind.as_str().into(), ns, s.meta.name.clone()),
                (v.path.clone()?, v.loc.clone()),
            ))
        })
        .collect();
    for es in snap
        .external_secrets
        .iter_mut()
        .filter(|e| e.source == Source::Certificate && e.data.is_empty())
    {
        let ns = if es.store.kind == "ClusterIssuer" {
            None
        } else {
            es.meta.namespace.clone()
        };
        if let Some((path, loc)) = paths.get(&(es.store.kind.clone(), ns, es.store.name.clone())) {
            es.data.push(DataRef {
                key: path.clone(),
                capability: Some("update"),
                loc: loc.clone(),
                ..Default::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_volume_names() {
        assert_eq!(
            failed_volume(
                "MountVolume.SetUp failed for volume \"secrets-store-inline\" : rpc error"
            ),
            Some("secrets-store-inline")
        );
        assert_eq!(failed_volume("rpc error: code = Unknown"), None);
    }

    fn snapshot(files: &[(&str, &str)]) -> Snapshot {
        let mut facts = Vec::new();
        for (name, text) in files {
            let p: std::sync::Arc<str> = std::sync::Arc::from(*name);
            facts.extend(
                crate::ingest::ingest_file(&p, text.as_bytes(), None)
                    .0
                    .facts,
            );
        }
        Snapshot::build(facts, Default::default())
    }

    const CLASS: &str = "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata:\n  name: search-creds\n  namespace: search\nspec:\n  provider: vault\n  parameters:\n    roleName: search\n    objects: |\n      - objectName: \"es-username\"\n        secretPath: \"kv/data/search/es\"\n        secretKey: \"username\"\n";

    const PASTE: &str = "err: rpc error: code = Unknown desc = error making mount request: couldn't read secret \"es-username\": Error making API request.\n\nURL: GET http://vault:8200/v1/kv/data/search/es\nCode: 403. Errors:\n\n* 1 error occurred:\n  * permission denied\n";

    #[test]
    fn a_pasted_csi_error_joins_the_class_by_object_name() {
        let snap = snapshot(&[("spc.yaml", CLASS), ("paste.txt", PASTE)]);
        let evs: Vec<&Event> = snap
            .events
            .iter()
            .filter(|e| e.object_kind == "SecretProviderClass")
            .collect();
        assert_eq!(evs.len(), 1, "{:?}", snap.events);
        assert_eq!(evs[0].object_name, "search-creds");
        assert_eq!(evs[0].reason, "FailedMount");
        assert_eq!(evs[0].loc.path.as_ref(), "paste.txt");
        let v = VaultError::parse(&evs[0].message).expect("the Vault error survives");
        assert_eq!(v.path.as_deref(), Some("kv/data/search/es"));
        assert!(v.is_permission_denied());
        let es = snap
            .sync_object(Kind::SecretProviderClass, "search", "search-creds")
            .unwrap();
        let st = crate::graph::derive::es_sync(&snap, es);
        assert_eq!(st.failing, Some(true));
        assert!(st.vault_error.is_some());
    }

    #[test]
    fn an_object_two_classes_share_joins_neither() {
        let other = CLASS.replace("search-creds", "search-creds-canary");
        let snap = snapshot(&[("a.yaml", CLASS), ("b.yaml", &other), ("paste.txt", PASTE)]);
        assert!(!snap
            .events
            .iter()
            .any(|e| e.object_kind == "SecretProviderClass"));
    }
}
