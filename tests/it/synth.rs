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

/// ESO's server-side apply entry on a Secret it owns.
fn managed(es: &str, time: &str, keys: &[&str]) -> Value {
    let mut data = serde_json::Map::new();
    for k in keys {
        data.insert(format!("f:{k}"), json!({}));
    }
    json!([{"manager": format!("externalsecrets.external-secrets.io/{es}"), "operation": "Apply", "apiVersion": "v1", "time": time, "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": data, "f:metadata": {"f:annotations": {"f:reconcile.external-secrets.io/data-hash": {}},
            "f:labels": {"f:reconcile.external-secrets.io/created-by": {}, "f:reconcile.external-secrets.io/managed": {}},
            "f:ownerReferences": {"k:{\"uid\"}": {}}}, "f:type": {}}}])
}

/// A `kubectl get -o json` List: kubectl indents with four spaces.
fn list(items: Vec<Value>) -> String {
    use serde::Serialize;
    let v = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).unwrap();
    String::from_utf8(out).unwrap()
}

/// A uid shaped like the API server's.
fn uid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next(), rng.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        a & 0xffff,
        (a >> 16) & 0xfff,
        0x8000 | (b & 0x3fff),
        b >> 16 & 0xffff_ffff_ffff
    )
}

/// What the API server records of the controllers and the kubelet writing a Pod.
fn pod_managed_fields() -> Value {
    json!([
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": STARTED, "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}}, "f:ownerReferences": {".": {}, "k:{\"uid\"}": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:env": {".": {}, "k:{\"name\":\"LOG_LEVEL\"}": {".": {}, "f:name": {}, "f:value": {}}, "k:{\"name\":\"DB_PASSWORD\"}": {".": {}, "f:name": {}, "f:valueFrom": {".": {}, "f:secretKeyRef": {}}}},
                "f:image": {}, "f:imagePullPolicy": {}, "f:livenessProbe": {".": {}, "f:failureThreshold": {}, "f:httpGet": {".": {}, "f:path": {}, "f:port": {}, "f:scheme": {}}, "f:periodSeconds": {}},
                "f:name": {}, "f:ports": {".": {}, "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}},
                "f:resources": {".": {}, "f:limits": {".": {}, "f:memory": {}}, "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}},
                "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}, "f:volumeMounts": {".": {}, "k:{\"mountPath\":\"/etc/db\"}": {".": {}, "f:mountPath": {}, "f:name": {}, "f:readOnly": {}}}}},
                "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:imagePullSecrets": {".": {}, "k:{\"name\"}": {}}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {},
                "f:serviceAccount": {}, "f:serviceAccountName": {}, "f:terminationGracePeriodSeconds": {}, "f:volumes": {".": {}, "k:{\"name\":\"db\"}": {".": {}, "f:name": {}, "f:secret": {".": {}, "f:defaultMode": {}, "f:secretName": {}}}}}}},
        {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": STARTED, "fieldsType": "FieldsV1", "subresource": "status",
         "fieldsV1": {"f:status": {"f:conditions": {"k:{\"type\":\"ContainersReady\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
            "k:{\"type\":\"Initialized\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
            "k:{\"type\":\"PodReadyToStartContainers\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
            "k:{\"type\":\"Ready\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}},
            "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {}, "f:podIPs": {".": {}, "k:{\"ip\"}": {".": {}, "f:ip": {}}}, "f:startTime": {}}}}
    ])
}

/// The conditions the kubelet reports on a Pod.
fn pod_conditions(ready: bool) -> Value {
    let r = if ready { "True" } else { "False" };
    let c = |t: &str, s: &str| json!({"type": t, "status": s, "lastProbeTime": null, "lastTransitionTime": STARTED});
    let mut ready_c = c("Ready", r);
    let mut containers = c("ContainersReady", r);
    if !ready {
        for x in [&mut ready_c, &mut containers] {
            x["reason"] = json!("ContainersNotReady");
            x["message"] = json!("containers with unready status: [app]");
        }
    }
    json!([
        c("PodReadyToStartContainers", "True"),
        c("Initialized", "True"),
        ready_c,
        containers,
        c("PodScheduled", "True")
    ])
}

/// `Kind/ns/name` (or `Kind/name`) of a subject in credtrace's JSON output, the form of
/// [`Planted::root_cause`].
pub fn subject_id(v: &serde_json::Value) -> String {
    let kind = v["kind"].as_str().unwrap_or("");
    let name = v["name"].as_str().unwrap_or("");
    match v["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
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
        let mut services = vec![];
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
            let (pod_uid, rs_uid, dep_uid) = (uid(&mut rng), uid(&mut rng), uid(&mut rng));
            let node = format!("ip-10-0-{}-{}.ec2.internal", k % 7, 10 + k % 13);
            let pod_ip = format!("10.{}.{}.{}", 64 + k / 65536 % 64, k / 256 % 256, k % 256);
            let mut status = status;
            let ready = !failing_pod;
            status["conditions"] = pod_conditions(ready);
            status["hostIP"] = json!(format!("10.0.{}.{}", k % 7, 10 + k % 13));
            status["hostIPs"] = json!([{"ip": status["hostIP"].clone()}]);
            status["podIP"] = json!(pod_ip);
            status["podIPs"] = json!([{"ip": pod_ip}]);
            status["qosClass"] = json!("Burstable");
            if ready {
                let cs = &mut status["containerStatuses"][0];
                cs["imageID"] = json!(format!(
                    "registry.example.com/{svc}@sha256:{:016x}{:016x}{:016x}{:016x}",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                ));
                cs["containerID"] = json!(format!(
                    "containerd://{:016x}{:016x}{:016x}{:016x}",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                ));
                cs["started"] = json!(true);
                cs["lastState"] = json!({});
                cs["volumeMounts"] = json!([{"name": "db", "mountPath": "/etc/db", "readOnly": true, "recursiveReadOnly": "Disabled"}, {"name": "kube-api-access-x1", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true, "recursiveReadOnly": "Disabled"}]);
            }
            let probe = |path: &str| json!({"httpGet": {"path": path, "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3});
            pods.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "generateName": format!("{rs}-"), "namespace": ns, "uid": pod_uid, "resourceVersion": format!("{}", 100000 + k * 7),
                    "creationTimestamp": STARTED,
                    "labels": {"app": svc, "pod-template-hash": "7d9f8c6b5", "app.kubernetes.io/name": svc, "app.kubernetes.io/part-of": ns},
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "kubectl.kubernetes.io/restartedAt": "2026-05-30T08:00:00Z"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": rs_uid, "controller": true, "blockOwnerDeletion": true}],
                    "managedFields": pod_managed_fields()},
                "spec": {
                    "volumes": [{"name": "db", "secret": {"secretName": db, "defaultMode": 420}},
                        {"name": "kube-api-access-x1", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}], "defaultMode": 420}}],
                    "containers": [{"name": "app", "image": format!("registry.example.com/{svc}:1.4.2"),
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_HOST", "value": format!("{svc}-db.{ns}.svc.cluster.local")},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": env_secret, "key": env_key}}}],
                        "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
                        "volumeMounts": [{"name": "db", "mountPath": "/etc/db", "readOnly": true}, {"name": "kube-api-access-x1", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                        "livenessProbe": probe("/healthz"), "readinessProbe": probe("/ready"),
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}}}],
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                    "serviceAccountName": "default", "serviceAccount": "default", "nodeName": node,
                    "securityContext": {"runAsUser": 10001, "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
                    "imagePullSecrets": [{"name": reg}], "schedulerName": "default-scheduler",
                    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
                    "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority"},
                "status": status,
            }));
            let template = json!({"metadata": {"labels": {"app": svc, "app.kubernetes.io/name": svc}, "annotations": {"prometheus.io/scrape": "true", "kubectl.kubernetes.io/restartedAt": "2026-05-30T08:00:00Z"}},
                "spec": {"containers": [{"name": "app", "image": format!("registry.example.com/{svc}:1.4.2"),
                    "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": env_secret, "key": env_key}}}],
                    "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
                    "volumeMounts": [{"name": "db", "mountPath": "/etc/db", "readOnly": true}], "livenessProbe": probe("/healthz"), "readinessProbe": probe("/ready"),
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
                    "volumes": [{"name": "db", "secret": {"secretName": db, "defaultMode": 420}}], "imagePullSecrets": [{"name": reg}],
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {"runAsUser": 10001, "fsGroup": 10001},
                    "schedulerName": "default-scheduler"}});
            let ready_n = if failing_pod { 0 } else { 1 };
            let dep_conditions = json!([
                {"type": "Available", "status": if ready_n == 1 {"True"} else {"False"}, "lastUpdateTime": STARTED, "lastTransitionTime": STARTED,
                 "reason": if ready_n == 1 {"MinimumReplicasAvailable"} else {"MinimumReplicasUnavailable"}, "message": if ready_n == 1 {"Deployment has minimum availability."} else {"Deployment does not have minimum availability."}},
                {"type": "Progressing", "status": "True", "lastUpdateTime": STARTED, "lastTransitionTime": OLD, "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{rs}\" has successfully progressed.")}]);
            let mut dep_status = json!({"observedGeneration": 4, "replicas": 1, "updatedReplicas": 1, "conditions": dep_conditions});
            if ready_n == 1 {
                dep_status["readyReplicas"] = json!(1);
                dep_status["availableReplicas"] = json!(1);
            } else {
                dep_status["readyReplicas"] = json!(0);
                dep_status["unavailableReplicas"] = json!(1);
            }
            deps.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": svc, "namespace": ns, "uid": dep_uid, "resourceVersion": format!("{}", 100001 + k * 7), "generation": 4, "creationTimestamp": OLD,
                    "labels": {"app": svc, "app.kubernetes.io/name": svc, "app.kubernetes.io/managed-by": "Helm"},
                    "annotations": {"deployment.kubernetes.io/revision": "4", "meta.helm.sh/release-name": svc, "meta.helm.sh/release-namespace": ns}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": svc}}, "template": template.clone(),
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
                "status": dep_status}));
            let mut rs_template = template;
            rs_template["metadata"]["labels"]["pod-template-hash"] = json!("7d9f8c6b5");
            rss.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs, "namespace": ns, "uid": rs_uid, "resourceVersion": format!("{}", 100002 + k * 7), "generation": 1, "creationTimestamp": STARTED,
                    "labels": {"app": svc, "pod-template-hash": "7d9f8c6b5"},
                    "annotations": {"deployment.kubernetes.io/desired-replicas": "1", "deployment.kubernetes.io/max-replicas": "2", "deployment.kubernetes.io/revision": "4"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": svc, "uid": dep_uid, "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": svc, "pod-template-hash": "7d9f8c6b5"}}, "template": rs_template},
                "status": {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": ready_n, "availableReplicas": ready_n, "observedGeneration": 1}}));
            services.push(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": svc, "namespace": ns, "uid": uid(&mut rng), "resourceVersion": format!("{}", 100003 + k * 7), "creationTimestamp": OLD,
                    "labels": {"app": svc, "app.kubernetes.io/managed-by": "Helm"}, "annotations": {"meta.helm.sh/release-name": svc, "meta.helm.sh/release-namespace": ns}},
                "spec": {"ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"}], "selector": {"app": svc},
                    "clusterIP": format!("172.20.{}.{}", k / 256 % 256, k % 256), "clusterIPs": [format!("172.20.{}.{}", k / 256 % 256, k % 256)], "type": "ClusterIP",
                    "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
                "status": {"loadBalancer": {}}}));
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
                let (es_uid, secret_uid) = (uid(&mut rng), uid(&mut rng));
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
                        "metadata": {"name": secret, "namespace": ns, "uid": secret_uid, "resourceVersion": format!("{}", 200000 + k * 3), "creationTimestamp": OLD,
                            "labels": {"reconcile.external-secrets.io/managed": "true", "reconcile.external-secrets.io/created-by": format!("{:x}", rng.next())},
                            "annotations": {"reconcile.external-secrets.io/data-hash": format!("{:x}", rng.next())},
                            "ownerReferences": [{"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "name": es, "uid": es_uid, "controller": true, "blockOwnerDeletion": true}],
                            "managedFields": managed(&es, WRITTEN, &keys.iter().map(|(k, _)| *k).collect::<Vec<_>>())},
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
                    json!({"refreshTime": WRITTEN, "syncedResourceVersion": "1-abc", "binding": {"name": secret}, "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced", "message": "secret synced", "lastTransitionTime": OLD}]})
                };
                ess.push(json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": es, "namespace": ns, "uid": es_uid, "resourceVersion": format!("{}", 300000 + k * 3), "generation": 2, "creationTimestamp": OLD,
                        "labels": {"app": svc, "app.kubernetes.io/managed-by": "Helm"}, "annotations": {"meta.helm.sh/release-name": svc, "meta.helm.sh/release-namespace": ns},
                        "finalizers": ["externalsecrets.external-secrets.io/externalsecret-cleanup"]},
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
            ("services", services),
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
