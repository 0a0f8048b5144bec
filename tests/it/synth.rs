//! A synthetic fleet bundle, deterministic by seed: many namespaces of services, each with a
//! Deployment, ReplicaSet, Pod, ESO-managed Secrets and ExternalSecrets on one
//! ClusterSecretStore, Vault policies, a role and mount outputs, and a manifest. A fraction of
//! the services get a broken chain of a known failure mode; the expected root causes are
//! returned (and written outside the bundle by the `synth` example).
//!
//! Shared by the integration tests and `examples/synth.rs` (benchmarks).

#![allow(dead_code)]

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

pub struct Spec {
    pub services: usize,
    pub per_namespace: usize,
    /// Fraction of services with a planted broken chain (0.0 = a healthy fleet).
    pub broken: f64,
    pub seed: u64,
}

/// A planted failure and the root cause credtrace must name (`Kind/ns/name` or `Kind/name`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planted {
    pub fm: &'static str,
    pub root_cause: String,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

const CAPTURE: &str = "2026-06-01T12:00:00Z";
const OLD: &str = "2025-01-10T08:00:00Z";
const WRITTEN: &str = "2026-06-01T09:30:02Z";
const STARTED: &str = "2026-06-01T10:00:00Z";
const FAILURE_MODES: &[&str] = &["FM-13", "FM-14", "FM-15", "FM-20"];

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn managed(es: &str, time: &str) -> Value {
    json!([{"manager": format!("externalsecrets.external-secrets.io/{es}"), "operation": "Apply", "apiVersion": "v1", "time": time, "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}])
}

fn list(items: Vec<Value>) -> String {
    serde_json::to_string_pretty(&json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})).unwrap()
}

/// Writes the bundle into `dir` and returns the planted root causes.
pub fn write(spec: &Spec, dir: &Path) -> Vec<Planted> {
    let mut rng = Rng(spec.seed.max(1));
    let mut planted = Vec::new();
    let kube = dir.join("kubernetes");
    let vault = dir.join("vault");
    std::fs::create_dir_all(&kube).unwrap();
    std::fs::create_dir_all(&vault).unwrap();
    let namespaces = spec.services.div_ceil(spec.per_namespace.max(1));
    let mut policies = Vec::new();
    let mut commands = String::new();
    let mut cmd = |c: &str, out: &str| {
        let _ = writeln!(
            commands,
            "  - command: \"{c}\"\n    output: {out}\n    exit_code: 0"
        );
    };
    for n in 0..namespaces {
        let ns = format!("team-{n:03}");
        policies.push(format!("{ns}-read"));
        let (mut pods, mut secrets, mut ess, mut events, mut deps, mut rss, mut sas) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        sas.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns, "uid": format!("sa-{n}-d"), "creationTimestamp": OLD}}));
        for i in 0..spec.per_namespace {
            let k = n * spec.per_namespace + i;
            if k >= spec.services {
                break;
            }
            let svc = format!("svc-{k:05}");
            let fm = if rng.chance(spec.broken) {
                Some(*rng.pick(FAILURE_MODES))
            } else {
                None
            };
            let rs = format!("{svc}-7d9f8c6b5");
            let pod = format!("{rs}-x{:04x}", rng.next() % 65536);
            let db = format!("{svc}-db");
            let reg = format!("{svc}-regcred");
            // what the pod reads
            let (env_secret, env_key) = match fm {
                Some("FM-14") => (format!("{svc}-dbcreds"), "password".to_string()),
                Some("FM-13") => (db.clone(), "DB_PASS".to_string()),
                _ => (db.clone(), "password".to_string()),
            };
            let failing_pod = matches!(fm, Some("FM-13" | "FM-14" | "FM-15" | "FM-20"));
            let status = match fm {
                Some("FM-15") => {
                    json!({"phase": "Pending", "startTime": STARTED, "containerStatuses": [{"name": "app", "image": format!("registry.example.com/{svc}:1.4.2"), "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"registry.example.com/{svc}:1.4.2\"")}}}]})
                }
                Some(_) if failing_pod => {
                    json!({"phase": "Pending", "startTime": STARTED, "containerStatuses": [{"name": "app", "image": format!("registry.example.com/{svc}:1.4.2"), "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "see events"}}}]})
                }
                _ => {
                    json!({"phase": "Running", "startTime": STARTED, "containerStatuses": [{"name": "app", "image": format!("registry.example.com/{svc}:1.4.2"), "ready": true, "restartCount": 0, "state": {"running": {"startedAt": STARTED}}}]})
                }
            };
            pods.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": ns, "uid": format!("pod-{k}"), "creationTimestamp": STARTED,
                    "labels": {"app": svc}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": format!("rs-{k}"), "controller": true}]},
                "spec": {"serviceAccountName": "default", "nodeName": format!("node-{}", k % 7),
                    "imagePullSecrets": [{"name": reg}],
                    "containers": [{"name": "app", "image": format!("registry.example.com/{svc}:1.4.2"),
                        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": env_secret, "key": env_key}}}],
                        "volumeMounts": [{"name": "db", "mountPath": "/etc/db", "readOnly": true}]}],
                    "volumes": [{"name": "db", "secret": {"secretName": db}}]},
                "status": status,
            }));
            deps.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": svc, "namespace": ns, "uid": format!("dep-{k}"), "creationTimestamp": OLD}, "spec": {"replicas": 1}, "status": {"readyReplicas": if failing_pod {0} else {1}}}));
            rss.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": rs, "namespace": ns, "uid": format!("rs-{k}"), "creationTimestamp": STARTED, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": svc, "uid": format!("dep-{k}"), "controller": true}]}, "spec": {"replicas": 1}}));
            // secrets and their ExternalSecrets
            let store_kind = if fm == Some("FM-20") {
                json!(null)
            } else {
                json!("ClusterSecretStore")
            };
            for (secret, es, ty, keys) in [
                (
                    db.clone(),
                    db.clone(),
                    "Opaque",
                    vec![("username", "app"), ("password", "FAKE-db-password")],
                ),
                (
                    reg.clone(),
                    reg.clone(),
                    if fm == Some("FM-15") {
                        "Opaque"
                    } else {
                        "kubernetes.io/dockerconfigjson"
                    },
                    vec![(".dockerconfigjson", "")],
                ),
            ] {
                let broken_store = fm == Some("FM-20") && secret == db;
                let mut data = serde_json::Map::new();
                for (key, val) in &keys {
                    let v = if *key == ".dockerconfigjson" {
                        b64(&format!(
                            r#"{{"auths":{{"registry.example.com":{{"auth":"{}"}}}}}}"#,
                            b64(&format!("robot-{svc}:FAKE-registry-token"))
                        ))
                    } else {
                        b64(val)
                    };
                    data.insert(key.to_string(), json!(v));
                }
                if !broken_store {
                    secrets.push(json!({
                        "apiVersion": "v1", "kind": "Secret", "type": ty,
                        "metadata": {"name": secret, "namespace": ns, "uid": format!("sec-{secret}"), "creationTimestamp": OLD,
                            "labels": {"reconcile.external-secrets.io/managed": "true"},
                            "annotations": {"reconcile.external-secrets.io/data-hash": format!("{:x}", rng.next())},
                            "ownerReferences": [{"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "name": es, "uid": format!("es-{es}"), "controller": true}],
                            "managedFields": managed(&es, WRITTEN)},
                        "data": data,
                    }));
                }
                let mut store_ref = json!({"name": "vault-backend"});
                if !store_kind.is_null() || !broken_store {
                    store_ref["kind"] = json!("ClusterSecretStore");
                }
                let remote = format!(
                    "{ns}/{svc}/{}",
                    if secret == db { "db" } else { "registry" }
                );
                let mut spec_v = json!({"refreshInterval": "1h", "secretStoreRef": store_ref,
                    "target": {"name": secret, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                    "data": keys.iter().map(|(k, _)| json!({"secretKey": k, "remoteRef": {"key": remote, "property": k.trim_start_matches('.')}})).collect::<Vec<_>>()});
                if ty == "kubernetes.io/dockerconfigjson" || secret == reg && fm != Some("FM-15") {
                    spec_v["target"]["template"] = json!({"type": "kubernetes.io/dockerconfigjson", "engineVersion": "v2", "data": {".dockerconfigjson": "{{ .dockerconfigjson }}"}});
                }
                let status = if broken_store {
                    json!({"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError", "message": "could not get secret data from provider", "lastTransitionTime": "2026-06-01T09:00:00Z"}]})
                } else {
                    json!({"refreshTime": WRITTEN, "syncedResourceVersion": "1-abc", "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced", "message": "secret synced", "lastTransitionTime": OLD}]})
                };
                ess.push(json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": es, "namespace": ns, "uid": format!("es-{es}"), "creationTimestamp": OLD},
                    "spec": spec_v, "status": status}));
                if broken_store {
                    events.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{es}.1"), "namespace": ns},
                        "involvedObject": {"kind": "ExternalSecret", "name": es, "namespace": ns}, "type": "Warning", "reason": "UpdateFailed",
                        "message": format!("could not get SecretStore \"vault-backend\", SecretStore.external-secrets.io \"vault-backend\" not found"),
                        "count": 180, "firstTimestamp": "2026-06-01T09:00:00Z", "lastTimestamp": "2026-06-01T11:59:00Z", "source": {"component": "external-secrets"}}));
                }
            }
            // pod events
            let pod_event = |reason: &str, msg: String| {
                json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{pod}.{reason}"), "namespace": ns},
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": ns}, "type": "Warning", "reason": reason, "message": msg,
                "count": 12, "firstTimestamp": "2026-06-01T10:00:05Z", "lastTimestamp": "2026-06-01T11:58:00Z", "source": {"component": "kubelet"}})
            };
            match fm {
                Some("FM-14") => {
                    events.push(pod_event(
                        "Failed",
                        format!("Error: secret \"{svc}-dbcreds\" not found"),
                    ));
                    planted.push(Planted {
                        fm: "FM-14",
                        root_cause: format!("Secret/{ns}/{svc}-dbcreds"),
                    });
                }
                Some("FM-13") => {
                    events.push(pod_event(
                        "Failed",
                        format!("Error: couldn't find key DB_PASS in Secret {ns}/{db}"),
                    ));
                    planted.push(Planted {
                        fm: "FM-13",
                        root_cause: format!("Secret/{ns}/{db}"),
                    });
                }
                Some("FM-15") => {
                    events.push(pod_event("Failed", format!("Failed to pull image \"registry.example.com/{svc}:1.4.2\": failed to resolve reference \"registry.example.com/{svc}:1.4.2\": pulling from host registry.example.com failed with status code [manifests 1.4.2]: 401 Unauthorized")));
                    planted.push(Planted {
                        fm: "FM-15",
                        root_cause: format!("Secret/{ns}/{reg}"),
                    });
                }
                Some("FM-20") => {
                    events.push(pod_event(
                        "Failed",
                        format!("Error: secret \"{db}\" not found"),
                    ));
                    planted.push(Planted {
                        fm: "FM-20",
                        root_cause: format!("ExternalSecret/{ns}/{db}"),
                    });
                }
                _ => {}
            }
        }
        for (name, items) in [
            ("pods", pods),
            ("secrets", secrets),
            ("externalsecrets", ess),
            ("events", events),
            ("deployments", deps),
            ("replicasets", rss),
            ("serviceaccounts", sas),
        ] {
            let file = format!("kubernetes/{name}-{ns}.json");
            std::fs::write(dir.join(&file), list(items)).unwrap();
            cmd(&format!("kubectl get {name} -n {ns} -o json"), &file);
        }
    }
    let store = json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "vault-backend", "uid": "css-1", "creationTimestamp": OLD},
        "spec": {"provider": {"vault": {"server": "https://vault.example.com:8200", "path": "secret", "version": "v2",
            "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "eso"}}}}},
        "status": {"capabilities": "ReadWrite", "conditions": [{"type": "Ready", "status": "True", "reason": "Valid", "message": "store validated", "lastTransitionTime": OLD}]}});
    std::fs::write(kube.join("clustersecretstores.json"), list(vec![store])).unwrap();
    cmd(
        "kubectl get clustersecretstores -o json",
        "kubernetes/clustersecretstores.json",
    );
    let mut names = vec!["default".to_string()];
    names.extend(policies.iter().cloned());
    names.push("root".into());
    std::fs::write(
        vault.join("policy-list.txt"),
        format!("$ vault policy list\n{}\n", names.join("\n")),
    )
    .unwrap();
    cmd("vault policy list", "vault/policy-list.txt");
    for p in &policies {
        let team = p.trim_end_matches("-read");
        let file = format!("vault/policy-{p}.hcl.txt");
        std::fs::write(dir.join(&file), format!("$ vault policy read {p}\npath \"secret/data/{team}/*\" {{\n  capabilities = [\"read\"]\n}}\n")).unwrap();
        cmd(&format!("vault policy read {p}"), &file);
    }
    let mut role = String::from("$ vault read auth/kubernetes/role/eso\nKey                                 Value\n---                                 -----\n");
    let _ = writeln!(
        role,
        "bound_service_account_names         [external-secrets]"
    );
    let _ = writeln!(
        role,
        "bound_service_account_namespaces    [external-secrets]"
    );
    let _ = writeln!(role, "token_no_default_policy             false");
    let _ = writeln!(
        role,
        "token_policies                      [{}]",
        policies.join(" ")
    );
    let _ = writeln!(role, "token_ttl                           1h");
    std::fs::write(vault.join("role-eso.txt"), role).unwrap();
    cmd("vault read auth/kubernetes/role/eso", "vault/role-eso.txt");
    std::fs::write(vault.join("secrets-list.txt"), "$ vault secrets list -detailed\nPath          Plugin       Accessor              Default TTL    Max TTL    Options           Description\n----          ------       --------              -----------    -------    -------           -----------\ncubbyhole/    cubbyhole    cubbyhole_0d1a2b3c    n/a            n/a        map[]             per-token private secret storage\nsecret/       kv           kv_5e6f7a8b           system         system     map[version:2]    n/a\n").unwrap();
    cmd("vault secrets list -detailed", "vault/secrets-list.txt");
    let manifest =
        format!("captured_at: \"{CAPTURE}\"\ncluster: synth-fleet\ncommands:\n{commands}");
    std::fs::write(dir.join("credtrace.yaml"), manifest).unwrap();
    planted.sort();
    planted
}
