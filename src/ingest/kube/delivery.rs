//! Objects of the delivery paths other than ESO, turned into the store/sync shape of
//! [`crate::model::eso`]: Vault Secrets Operator (`secrets.hashicorp.com`), Secrets Store CSI
//! `SecretProviderClass` with the vault provider, Vault Agent Injector annotations on a Pod,
//! and cert-manager Issuers/Certificates with a Vault issuer.
//!
//! Each path is read here, next to the formats it comes in, so that the graph and the rules
//! downstream never need to know which controller wrote an object. Paths are stored already
//! resolved to Vault API paths with the capability the controller needs, because unlike ESO
//! these controllers name the API path (or enough to build it) themselves.

use super::json::Json;
use super::objects::{arr, b, conditions, get, meta, owned, s, t, Span};
use crate::model::time::{parse_duration, parse_rfc3339};
use crate::model::*;
use serde_json::Value;

/// Whether an object of this `apiVersion` may be one of the delivery paths read here: a cheap
/// test before the object is turned into a `serde_json::Value`.
pub fn handles(api: &str) -> bool {
    matches!(
        api.split('/').next().unwrap_or_default(),
        "secrets.hashicorp.com" | "secrets-store.csi.x-k8s.io" | "cert-manager.io"
    )
}

/// Whether a Pod carries Vault Agent Injector annotations (checked before [`agent_facts`]).
pub fn may_be_injected<V: Json>(v: &V) -> bool {
    let Some(ann) = v.get("metadata").and_then(|m| m.get("annotations")) else {
        return false;
    };
    ann.get("vault.hashicorp.com/agent-inject").is_some()
        || ann.get("vault.hashicorp.com/agent-inject-status").is_some()
}

/// Facts for an object of another delivery path, or `None` when `v` is not one.
pub fn object_facts(v: &Value, span: &Span) -> Option<(String, Vec<Fact>)> {
    let kind = v.get("kind").and_then(Value::as_str)?;
    let api = v
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = api.split('/').next().unwrap_or_default();
    let facts = match (group, kind) {
        ("secrets.hashicorp.com", "VaultConnection") => {
            vec![Fact::VaultConnection(Box::new(connection(v, span)))]
        }
        ("secrets.hashicorp.com", "VaultAuth") => {
            vec![Fact::SecretStore(Box::new(vault_auth(v, span)))]
        }
        (
            "secrets.hashicorp.com",
            "VaultStaticSecret" | "VaultDynamicSecret" | "VaultPKISecret",
        ) => vec![Fact::ExternalSecret(Box::new(vso_secret(kind, v, span)))],
        ("secrets-store.csi.x-k8s.io", "SecretProviderClass") => provider_class(v, span),
        ("cert-manager.io", "Issuer" | "ClusterIssuer") => {
            vec![Fact::SecretStore(Box::new(issuer(kind, v, span)))]
        }
        ("cert-manager.io", "Certificate") => {
            vec![Fact::ExternalSecret(Box::new(certificate(v, span)))]
        }
        ("cert-manager.io", "CertificateRequest") => certificate_request(v, span),
        _ => return None,
    };
    Some((kind.to_string(), facts))
}

fn connection(v: &Value, span: &Span) -> VaultConnection {
    let address = s(v, &["spec", "address"]).unwrap_or_default().to_string();
    VaultConnection {
        meta: meta(v, span),
        address_loc: span.field("address", &address),
        address,
        valid: get(v, &["status", "valid"])
            .and_then(Value::as_bool)
            .map(|ok| (ok, span.field("valid", ""))),
        conditions: conditions(v, &["status", "conditions"], span),
    }
}

/// `status.valid` (+ `status.error`) as a `Ready` condition, unless the object has one.
fn valid_condition(v: &Value, span: &Span, conds: &mut Vec<Condition>) {
    if conds.iter().any(|c| c.type_ == "Ready") {
        return;
    }
    let Some(ok) = get(v, &["status", "valid"]).and_then(Value::as_bool) else {
        return;
    };
    let error = owned(s(v, &["status", "error"]));
    let loc = match &error {
        Some(e) => span.field("error", e),
        None => span.field("valid", ""),
    };
    conds.push(Condition {
        type_: "Ready".into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: Some(
            if ok {
                "Accepted"
            } else {
                "InvalidConfiguration"
            }
            .into(),
        ),
        message: error,
        last_transition: None,
        loc,
    });
}

fn vault_auth(v: &Value, span: &Span) -> SecretStore {
    let meta = meta(v, span);
    let method = s(v, &["spec", "method"]).unwrap_or("kubernetes");
    let mount = s(v, &["spec", "mount"])
        .unwrap_or(method)
        .trim_matches('/')
        .to_string();
    let auth = match method {
        "kubernetes" => {
            let role = s(v, &["spec", "kubernetes", "role"])
                .unwrap_or_default()
                .to_string();
            VaultAuth::Kubernetes {
                mount_path: mount,
                loc: span.field("role", &role),
                role,
                // VSO logs in as this ServiceAccount of the syncing object's namespace
                service_account: s(v, &["spec", "kubernetes", "serviceAccount"])
                    .map(|n| (n.to_string(), None)),
            }
        }
        m => VaultAuth::Other {
            method: m.to_string(),
            loc: span.field("method", m),
        },
    };
    let mut conds = conditions(v, &["status", "conditions"], span);
    valid_condition(v, span, &mut conds);
    let connection = s(v, &["spec", "vaultConnectionRef"])
        .filter(|c| !c.is_empty())
        .map(|c| (c.to_string(), span.field("vaultConnectionRef", c)));
    SecretStore {
        kind: "VaultAuth".into(),
        vault: Some(VaultProvider {
            server: String::new(),
            path: None,
            version: "v2".into(),
            namespace: owned(s(v, &["spec", "namespace"])),
            auth,
            loc: connection
                .as_ref()
                .map(|c| c.1.clone())
                .unwrap_or_else(|| span.field("spec", "")),
        }),
        conditions: conds,
        connection,
        meta,
        ..Default::default()
    }
}

/// A VSO `vaultAuthRef`: `name`, `ns/name`, or empty (the operator's default VaultAuth).
fn auth_ref(v: &Value, span: &Span) -> StoreRef {
    match s(v, &["spec", "vaultAuthRef"]).filter(|r| !r.is_empty()) {
        Some(r) => {
            let (ns, name) = match r.split_once('/') {
                Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
                None => (None, r.to_string()),
            };
            StoreRef {
                loc: span.field("vaultAuthRef", r),
                name: name.into(),
                kind: "VaultAuth".into(),
                namespace: ns,
                any_namespace: false,
            }
        }
        None => StoreRef {
            name: "default".into(),
            kind: "VaultAuth".into(),
            namespace: None,
            any_namespace: true,
            loc: span.field("spec", ""),
        },
    }
}

fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn vso_secret(kind: &str, v: &Value, span: &Span) -> ExternalSecret {
    let meta = meta(v, span);
    let mount = s(v, &["spec", "mount"]).unwrap_or_default();
    let path = s(v, &["spec", "path"]).unwrap_or_default();
    let (source, api_path, capability, path_loc) = match kind {
        "VaultStaticSecret" => {
            let kv_v1 = s(v, &["spec", "type"]) == Some("kv-v1");
            let p = if kv_v1 {
                join(&[mount, path])
            } else {
                join(&[mount, "data", path])
            };
            let source = Source::VsoStatic {
                mount: mount.trim_matches('/').to_string(),
                kv_v1,
            };
            (source, p, "read", span.field("path", path))
        }
        "VaultDynamicSecret" => {
            let method = s(v, &["spec", "requestHTTPMethod"]).unwrap_or("GET");
            let cap = if method.eq_ignore_ascii_case("GET") {
                "read"
            } else {
                "update"
            };
            let p = join(&[mount, path]);
            (Source::VsoDynamic, p, cap, span.field("path", path))
        }
        _ => {
            let role = s(v, &["spec", "role"]).unwrap_or_default();
            let p = join(&[mount, "issue", role]);
            (Source::VsoPki, p, "update", span.field("role", role))
        }
    };
    let target = s(v, &["spec", "destination", "name"])
        .unwrap_or_default()
        .to_string();
    let target_anchor = span
        .src
        .find(span.start, span.end, |l| l.contains("destination"))
        .unwrap_or(span.start);
    let rollout_targets = arr(v, &["spec", "rolloutRestartTargets"])
        .iter()
        .filter_map(|r| {
            let name = s(r, &["name"])?;
            Some((
                s(r, &["kind"]).unwrap_or("Deployment").to_string(),
                name.to_string(),
                span.field("name", name),
            ))
        })
        .collect();
    let mut conds = conditions(v, &["status", "conditions"], span);
    valid_condition(v, span, &mut conds);
    // a dynamic secret's lease: its last renewal is its last successful sync
    let refresh_time = get(v, &["status", "lastRenewalTime"])
        .and_then(Value::as_i64)
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0));
    let cert = get(v, &["status", "expiration"])
        .and_then(Value::as_i64)
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| {
            Box::new(CertStatus {
                not_after: Some((t, span.field("expiration", ""))),
                ..Default::default()
            })
        });
    let lease = get(v, &["status", "secretLease", "duration"])
        .and_then(Value::as_i64)
        .filter(|d| *d > 0)
        .map(|d| Box::new((chrono::Duration::seconds(d), span.field("duration", ""))));
    ExternalSecret {
        source,
        lease,
        store: auth_ref(v, span),
        refresh_interval: s(v, &["spec", "refreshAfter"]).and_then(parse_duration),
        target_name: target.as_str().into(),
        creation_policy: if b(v, &["spec", "destination", "create"]) {
            "Owner".into()
        } else {
            "None".into()
        },
        deletion_policy: "Retain".into(),
        data: vec![DataRef {
            secret_key: String::new(),
            key: api_path,
            capability: Some(capability),
            loc: path_loc,
            ..Default::default()
        }],
        refresh_time,
        conditions: conds,
        loc_spec: span.field_after(target_anchor, "name", &target),
        rollout_targets,
        cert,
        meta,
        ..Default::default()
    }
}

/// The `objects` parameter of a vault SecretProviderClass: a YAML string holding a list of
/// `{objectName, secretPath, secretKey, method}` (the vault provider's format), or an `array`
/// of YAML strings each holding one (the format other providers use, also seen on vault ones).
fn csi_objects(text: &str) -> Vec<(String, String, String)> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Vec::new();
    };
    let Some(items) = doc
        .as_sequence()
        .or_else(|| doc.get("array").and_then(|a| a.as_sequence()))
    else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            let item: serde_yaml::Value = match i {
                serde_yaml::Value::String(s) => serde_yaml::from_str(s).ok()?,
                other => other.clone(),
            };
            let g = |k: &str| item.get(k).and_then(|x| x.as_str()).map(str::to_string);
            Some((
                g("objectName").unwrap_or_default(),
                g("secretPath")?,
                g("method").unwrap_or_else(|| "GET".into()),
            ))
        })
        .collect()
}

fn provider_class(v: &Value, span: &Span) -> Vec<Fact> {
    let meta = meta(v, span);
    let provider = s(v, &["spec", "provider"]).unwrap_or_default();
    if provider != "vault" {
        return vec![Fact::SecretStore(Box::new(SecretStore {
            kind: "SecretProviderClass".into(),
            other_provider: Some(provider.to_string()),
            meta,
            ..Default::default()
        }))];
    }
    let p = |k: &str| s(v, &["spec", "parameters", k]).filter(|x| !x.is_empty());
    let role = p("roleName").unwrap_or_default().to_string();
    let mount = p("vaultKubernetesMountPath")
        .or_else(|| p("vaultAuthMountPath"))
        .unwrap_or("kubernetes")
        .trim_matches('/')
        .trim_start_matches("auth/")
        .to_string();
    let server = p("vaultAddress").unwrap_or_default().to_string();
    let store = SecretStore {
        kind: "SecretProviderClass".into(),
        vault: Some(VaultProvider {
            loc: span.field("vaultAddress", &server),
            server,
            path: None,
            version: "v2".into(),
            namespace: p("vaultNamespace").map(str::to_string),
            auth: VaultAuth::Kubernetes {
                mount_path: mount,
                loc: span.field("roleName", &role),
                role,
                // the Pod's own ServiceAccount: filled in from the Pods that mount the class
                service_account: None,
            },
        }),
        meta: meta.clone(),
        ..Default::default()
    };
    let objects_line = span
        .src
        .find(span.start, span.end, |l| {
            l.trim_start()
                .trim_start_matches('"')
                .starts_with("objects")
        })
        .unwrap_or(span.start);
    let data = csi_objects(p("objects").unwrap_or_default())
        .into_iter()
        .map(|(object, path, method)| DataRef {
            loc: span
                .src
                .containing(objects_line, span.end, &path, objects_line),
            secret_key: object,
            key: path.trim_matches('/').to_string(),
            capability: Some(if method.eq_ignore_ascii_case("GET") {
                "read"
            } else {
                "update"
            }),
            ..Default::default()
        })
        .collect();
    let synced = arr(v, &["spec", "secretObjects"])
        .iter()
        .find(|o| s(*o, &["secretName"]).is_some());
    let target = synced
        .and_then(|o| s(o, &["secretName"]))
        .unwrap_or_default()
        .to_string();
    // the synced Secret's keys are `secretObjects[].data[].key`, not the object names
    let template_keys: Vec<String> = synced
        .map(|o| arr(o, &["data"]))
        .unwrap_or_default()
        .iter()
        .filter_map(|d| s(d, &["key"]).map(str::to_string))
        .collect();
    let sync = ExternalSecret {
        source: Source::Csi,
        store: StoreRef {
            name: meta.name.clone(),
            kind: "SecretProviderClass".into(),
            loc: meta.loc.clone(),
            ..Default::default()
        },
        loc_spec: span.field("secretName", &target),
        target_name: target.into(),
        creation_policy: "Owner".into(),
        deletion_policy: "Delete".into(),
        template_keys,
        data,
        meta,
        ..Default::default()
    };
    vec![
        Fact::SecretStore(Box::new(store)),
        Fact::ExternalSecret(Box::new(sync)),
    ]
}

/// cert-manager's `/v1/auth/kubernetes` as the mount name `kubernetes`.
fn cm_mount(path: &str) -> String {
    let p = path.trim_matches('/');
    let p = p.strip_prefix("v1/").unwrap_or(p);
    p.strip_prefix("auth/").unwrap_or(p).to_string()
}

fn issuer(kind: &str, v: &Value, span: &Span) -> SecretStore {
    let mut meta = meta(v, span);
    if kind == "ClusterIssuer" {
        meta.namespace = None;
    }
    let conds = conditions(v, &["status", "conditions"], span);
    let Some(vault) = get(v, &["spec", "vault"]) else {
        let other = get(v, &["spec"])
            .and_then(Value::as_object)
            .and_then(|m| m.keys().next().cloned());
        return SecretStore {
            kind: kind.to_string(),
            other_provider: other,
            conditions: conds,
            meta,
            ..Default::default()
        };
    };
    let auth = if let Some(k) = get(vault, &["auth", "kubernetes"]) {
        let role = s(k, &["role"]).unwrap_or_default().to_string();
        VaultAuth::Kubernetes {
            mount_path: cm_mount(s(k, &["mountPath"]).unwrap_or("/v1/auth/kubernetes")),
            loc: span.field("role", &role),
            role,
            // a ClusterIssuer's ServiceAccount lives in cert-manager's cluster resource
            // namespace (`--cluster-resource-namespace`, `cert-manager` unless changed)
            service_account: s(k, &["serviceAccountRef", "name"]).map(|n| {
                let ns = (kind == "ClusterIssuer").then(|| "cert-manager".to_string());
                (n.to_string(), ns)
            }),
        }
    } else if let Some(tk) = get(vault, &["auth", "tokenSecretRef"]) {
        let name = s(tk, &["name"]).unwrap_or_default().to_string();
        VaultAuth::Token {
            loc: span.field("name", &name),
            secret: name,
            key: s(tk, &["key"]).unwrap_or("token").to_string(),
            namespace: None,
        }
    } else if let Some(m) = get(vault, &["auth"])
        .and_then(Value::as_object)
        .and_then(|a| a.keys().next())
    {
        VaultAuth::Other {
            method: m.clone(),
            loc: span.field(m, ""),
        }
    } else {
        VaultAuth::Unknown
    };
    let server = s(vault, &["server"]).unwrap_or_default().to_string();
    SecretStore {
        kind: kind.to_string(),
        vault: Some(VaultProvider {
            loc: span.field("server", &server),
            server,
            // the PKI sign endpoint: every Certificate of the issuer asks for it
            path: owned(s(vault, &["path"])).map(|p| p.trim_matches('/').to_string()),
            version: "v2".into(),
            namespace: owned(s(vault, &["namespace"])),
            auth,
        }),
        conditions: conds,
        meta,
        ..Default::default()
    }
}

fn certificate(v: &Value, span: &Span) -> ExternalSecret {
    let meta = meta(v, span);
    let issuer = s(v, &["spec", "issuerRef", "name"])
        .unwrap_or_default()
        .to_string();
    let anchor = span
        .src
        .find(span.start, span.end, |l| l.contains("issuerRef"))
        .unwrap_or(span.start);
    let target = s(v, &["spec", "secretName"])
        .unwrap_or_default()
        .to_string();
    let at = |key: &str| {
        let text = s(v, &["status", key])?;
        Some((parse_rfc3339(text)?, span.field(key, text)))
    };
    ExternalSecret {
        source: Source::Certificate,
        store: StoreRef {
            loc: span.field_after(anchor, "name", &issuer),
            name: issuer.into(),
            kind: s(v, &["spec", "issuerRef", "kind"])
                .unwrap_or("Issuer")
                .into(),
            ..Default::default()
        },
        loc_spec: span.field("secretName", &target),
        target_name: target.into(),
        creation_policy: "Owner".into(),
        deletion_policy: "Retain".into(),
        conditions: conditions(v, &["status", "conditions"], span),
        refresh_time: t(v, &["status", "notBefore"]),
        cert: Some(Box::new(CertStatus {
            not_after: at("notAfter"),
            renewal_time: at("renewalTime"),
            duration: s(v, &["spec", "duration"]).and_then(parse_duration),
            renew_before: s(v, &["spec", "renewBefore"]).and_then(parse_duration),
        })),
        meta,
        ..Default::default()
    }
}

/// A failed CertificateRequest is an event on its Certificate: that is where the Vault error
/// of a failed signing is written.
fn certificate_request(v: &Value, span: &Span) -> Vec<Fact> {
    let meta = meta(v, span);
    let Some(cert) = meta
        .annotations
        .get("cert-manager.io/certificate-name")
        .cloned()
        .or_else(|| {
            meta.owners
                .iter()
                .find(|o| o.kind == "Certificate")
                .map(|o| o.name.clone())
        })
    else {
        return Vec::new();
    };
    conditions(v, &["status", "conditions"], span)
        .into_iter()
        .filter(|c| c.type_ == "Ready" && c.status == "False")
        .filter(|c| c.reason.as_deref() == Some("Failed"))
        .map(|c| {
            let when = c.last_transition.or(meta.created.map(|w| match w {
                When::At(t) => t,
                When::Ago(_) => chrono::DateTime::UNIX_EPOCH,
            }));
            Fact::Event(Box::new(Event {
                namespace: meta.namespace.clone(),
                object_kind: "Certificate".into(),
                object_name: cert.as_str().into(),
                type_: "Warning".into(),
                reason: "Failed".into(),
                message: c.message.clone().unwrap_or_default(),
                count: 1,
                first: when.map(When::At),
                last: when.map(When::At),
                source: format!("CertificateRequest {}", meta.name),
                loc: c.loc,
            }))
        })
        .collect()
}

/// Vault Agent Injector annotations of a Pod: its login (a store) and the paths its agent
/// renders (a sync object), both named after the Pod. `None` when the Pod is not injected.
pub fn agent_facts(v: &Value, span: &Span) -> Option<Vec<Fact>> {
    const P: &str = "vault.hashicorp.com/";
    let ann = get(v, &["metadata", "annotations"])?.as_object()?;
    let a = |k: &str| ann.get(&format!("{P}{k}")).and_then(Value::as_str);
    let injected = a("agent-inject").is_some_and(|x| x.eq_ignore_ascii_case("true"))
        || a("agent-inject-status").is_some_and(|x| x == "injected" || x == "update");
    if !injected {
        return None;
    }
    let meta = meta(v, span);
    let ann_loc = |k: &str, val: &str| span.field(&format!("{P}{k}"), val);
    let role = a("role").unwrap_or_default().to_string();
    let mount = a("auth-path")
        .map(cm_mount)
        .unwrap_or_else(|| "kubernetes".into());
    let sa = s(v, &["spec", "serviceAccountName"])
        .or_else(|| s(v, &["spec", "serviceAccount"]))
        .unwrap_or("default")
        .to_string();
    let mut data: Vec<DataRef> = ann
        .iter()
        .filter_map(|(k, val)| {
            let file = k.strip_prefix(P)?.strip_prefix("agent-inject-secret-")?;
            let path = val.as_str()?;
            Some(DataRef {
                loc: ann_loc(&format!("agent-inject-secret-{file}"), path),
                secret_key: file.to_string(),
                key: path.trim_matches('/').to_string(),
                capability: Some("read"),
                ..Default::default()
            })
        })
        .collect();
    data.sort_by(|x, y| x.secret_key.cmp(&y.secret_key));
    let store_ref = StoreRef {
        name: meta.name.clone(),
        kind: "Pod".into(),
        loc: ann_loc("role", &role),
        ..Default::default()
    };
    let store = SecretStore {
        kind: "Pod".into(),
        vault: Some(VaultProvider {
            server: a("service").unwrap_or_default().to_string(),
            path: None,
            version: "v2".into(),
            namespace: a("namespace").map(str::to_string),
            auth: VaultAuth::Kubernetes {
                mount_path: mount,
                loc: ann_loc("role", &role),
                role,
                service_account: Some((sa, meta.namespace.as_deref().map(str::to_string))),
            },
            loc: meta.loc.clone(),
        }),
        meta: meta.clone(),
        ..Default::default()
    };
    let sync = ExternalSecret {
        source: Source::Agent,
        store: store_ref,
        data,
        loc_spec: meta.loc.clone(),
        meta,
        ..Default::default()
    };
    Some(vec![
        Fact::SecretStore(Box::new(store)),
        Fact::ExternalSecret(Box::new(sync)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csi_objects_parse_nested_yaml_strings() {
        let text = "array:\n  - |\n    objectName: \"db-password\"\n    secretPath: \"secret/data/db-pass\"\n    secretKey: \"password\"\n  - |\n    objectName: cert\n    secretPath: pki/issue/web\n    method: PUT\n";
        let got = csi_objects(text);
        assert_eq!(
            got,
            vec![
                (
                    "db-password".into(),
                    "secret/data/db-pass".into(),
                    "GET".into()
                ),
                ("cert".into(), "pki/issue/web".into(), "PUT".into()),
            ]
        );
        let plain = "- objectName: \"pg-user\"\n  secretPath: \"database/creds/ledger-rw\"\n  secretKey: \"username\"\n";
        assert_eq!(
            csi_objects(plain),
            vec![(
                "pg-user".into(),
                "database/creds/ledger-rw".into(),
                "GET".into()
            )]
        );
        assert!(csi_objects("not: [valid").is_empty());
        assert!(csi_objects("").is_empty());
    }

    #[test]
    fn cert_manager_mount_paths() {
        assert_eq!(cm_mount("/v1/auth/kubernetes"), "kubernetes");
        assert_eq!(cm_mount("/v1/auth/k8s-prod/"), "k8s-prod");
        assert_eq!(cm_mount("auth/kubernetes"), "kubernetes");
        assert_eq!(cm_mount("kubernetes"), "kubernetes");
    }

    #[test]
    fn paths_join_without_double_slashes() {
        assert_eq!(join(&["kv/", "data", "/app/db"]), "kv/data/app/db");
        assert_eq!(join(&["pki", "issue", ""]), "pki/issue");
    }
}
