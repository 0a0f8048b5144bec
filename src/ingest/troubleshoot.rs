//! Replicated troubleshoot support bundles, read as they come.
//!
//! The layout (`version.yaml` at the root, `cluster-resources/<kind>/<ns>.json`,
//! `cluster-resources/custom-resources/<plural>.<group>/<ns>.json|yaml` as bare arrays,
//! cluster-scoped `<plural>.<group>.json`, `*-errors.json`, `auth-cani-list/<ns>.json`,
//! `secrets/<ns>/<name>.json`, `cluster-resources/image-pull-secrets/<ns>/<name>.json`) says
//! which kinds and namespaces were collected and which could not be: that is what makes an
//! absent object "missing" rather than "unknown". Paths are hints; every file is still read
//! by its content, and these readers only add what the path means.

use super::text::Source;
use super::Out;
use crate::model::time::parse_rfc3339;
use crate::model::*;
use serde_json::Value;

/// What a path means inside a troubleshoot bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TsPath {
    /// `cluster-resources/<folder>/<ns>.json` (namespace `None`: `cluster-resources/<folder>.json`).
    Resources {
        folder: String,
        namespace: Option<String>,
    },
    /// `cluster-resources/custom-resources/<plural>.<group>/<ns>.json|yaml`, or cluster-scoped
    /// `cluster-resources/custom-resources/<plural>.<group>.json|yaml`.
    CustomResources {
        resource: String,
        namespace: Option<String>,
    },
    /// `cluster-resources/<folder>-errors.json` and other `*-errors.json` / `*-error.json`.
    Errors { resource: String },
    /// `cluster-resources/auth-cani-list/<ns>.json`.
    CanI { namespace: String },
    /// `cluster-resources/image-pull-secrets/<ns>/<name>.json`.
    ImagePullSecret { namespace: String, name: String },
    /// `secrets/<ns>/<name>.json` (the `secret` collector).
    SecretCheck,
    /// `cluster-resources/pods/logs/<ns>/<pod>/<container>.log`.
    PodLog,
}

/// Interprets a bundle path. Works wherever the troubleshoot root is.
pub fn classify(path: &str) -> Option<TsPath> {
    let segs: Vec<&str> = path.split('/').collect();
    let file = *segs.last()?;
    let stem = file
        .strip_suffix(".json")
        .or_else(|| file.strip_suffix(".yaml"))
        .or_else(|| file.strip_suffix(".yml"));
    if let Some(cr) = segs.iter().position(|s| *s == "cluster-resources") {
        let rest = &segs[cr + 1..];
        match rest {
            ["pods", "logs", ..] => return Some(TsPath::PodLog),
            ["auth-cani-list", _] => {
                return Some(TsPath::CanI {
                    namespace: stem?.to_string(),
                })
            }
            ["image-pull-secrets", ns, _] => {
                return Some(TsPath::ImagePullSecret {
                    namespace: ns.to_string(),
                    name: stem?.to_string(),
                })
            }
            ["custom-resources", res, _] => {
                let stem = stem?;
                if let Some(r) = stem.strip_suffix("-errors") {
                    return Some(TsPath::Errors {
                        resource: format!("{res}/{r}"),
                    });
                }
                return Some(TsPath::CustomResources {
                    resource: res.to_string(),
                    namespace: Some(stem.to_string()),
                });
            }
            ["custom-resources", _] => {
                let stem = stem?;
                if let Some(r) = stem.strip_suffix("-errors") {
                    return Some(TsPath::Errors {
                        resource: r.to_string(),
                    });
                }
                return Some(TsPath::CustomResources {
                    resource: stem.to_string(),
                    namespace: None,
                });
            }
            [folder, _] => {
                return Some(TsPath::Resources {
                    folder: folder.to_string(),
                    namespace: Some(stem?.to_string()),
                })
            }
            [_] => {
                let stem = stem?;
                if let Some(r) = stem.strip_suffix("-errors") {
                    return Some(TsPath::Errors {
                        resource: r.to_string(),
                    });
                }
                return Some(TsPath::Resources {
                    folder: stem.to_string(),
                    namespace: None,
                });
            }
            _ => {}
        }
    }
    let stem = stem?;
    // `secrets-errors/<ns>/<name>.json`: errors about one object, not a whole kind
    if segs.len() >= 3 && segs[segs.len() - 3].ends_with("-errors") {
        return Some(TsPath::Errors {
            resource: format!("object:{}", segs[segs.len() - 3]),
        });
    }
    if stem.ends_with("-errors") || stem.ends_with("-error") || stem == "errors" {
        return Some(TsPath::Errors {
            resource: format!("collector:{stem}"),
        });
    }
    if segs.len() >= 3 && segs[segs.len() - 3] == "secrets" {
        return Some(TsPath::SecretCheck);
    }
    None
}

/// The kind a `cluster-resources/<folder>` holds, for the kinds credtrace models.
pub fn folder_kind(folder: &str) -> Option<Kind> {
    Some(match folder {
        "pods" => Kind::Pod,
        "secrets" => Kind::Secret,
        "serviceaccounts" => Kind::ServiceAccount,
        "namespaces" => Kind::Namespace,
        "deployments" => Kind::Deployment,
        "replicasets" => Kind::ReplicaSet,
        "statefulsets" => Kind::StatefulSet,
        "daemonsets" => Kind::DaemonSet,
        "jobs" => Kind::Job,
        "cronjobs" => Kind::CronJob,
        _ => return None,
    })
}

/// The kind a `<plural>.<group>` custom-resource folder holds, for the kinds credtrace models.
pub fn custom_kind(resource: &str) -> Option<Kind> {
    let (plural, group) = resource.split_once('.')?;
    Some(match (group, plural) {
        ("external-secrets.io", "externalsecrets") => Kind::ExternalSecret,
        ("external-secrets.io", "secretstores") => Kind::SecretStore,
        ("external-secrets.io", "clustersecretstores") => Kind::ClusterSecretStore,
        ("secrets.hashicorp.com", "vaultstaticsecrets") => Kind::VaultStaticSecret,
        ("secrets.hashicorp.com", "vaultdynamicsecrets") => Kind::VaultDynamicSecret,
        ("secrets.hashicorp.com", "vaultpkisecrets") => Kind::VaultPKISecret,
        ("secrets.hashicorp.com", "vaultauths") => Kind::VaultAuth,
        ("secrets.hashicorp.com", "vaultconnections") => Kind::VaultConnection,
        ("secrets-store.csi.x-k8s.io", "secretproviderclasses") => Kind::SecretProviderClass,
        ("cert-manager.io", "certificates") => Kind::Certificate,
        ("cert-manager.io", "issuers") => Kind::Issuer,
        ("cert-manager.io", "clusterissuers") => Kind::ClusterIssuer,
        _ => return None,
    })
}

/// (kind, resource plural, API group) checked against `auth-cani-list`.
const LISTED: &[(Kind, &str, &str)] = &[
    (Kind::Pod, "pods", ""),
    (Kind::Secret, "secrets", ""),
    (Kind::ServiceAccount, "serviceaccounts", ""),
    (Kind::Deployment, "deployments", "apps"),
    (Kind::ReplicaSet, "replicasets", "apps"),
    (Kind::StatefulSet, "statefulsets", "apps"),
    (Kind::DaemonSet, "daemonsets", "apps"),
    (Kind::Job, "jobs", "batch"),
    (Kind::CronJob, "cronjobs", "batch"),
    (
        Kind::ExternalSecret,
        "externalsecrets",
        "external-secrets.io",
    ),
    (Kind::SecretStore, "secretstores", "external-secrets.io"),
];

/// After a file was read by its content: what its troubleshoot path adds (coverage).
pub fn after_read(path: &str, out: &mut Out) {
    let Some(tp) = classify(path) else {
        return;
    };
    if !out.was_list && out.kinds.is_empty() {
        return;
    }
    match tp {
        TsPath::Resources { folder, namespace } => {
            if let Some(k) = folder_kind(&folder) {
                out.cover(k, namespace);
                out.recognised = true;
            }
        }
        TsPath::CustomResources {
            resource,
            namespace,
        } => {
            if let Some(k) = custom_kind(&resource) {
                let ns = if matches!(k, Kind::ClusterSecretStore | Kind::ClusterIssuer) {
                    None
                } else {
                    namespace
                };
                out.cover(k, ns);
                out.recognised = true;
            }
        }
        _ => {}
    }
}

fn strs(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// Reads the troubleshoot files that are not Kubernetes objects: errors, can-i lists, the
/// secret collector, image pull secrets, `version.yaml`. Returns the format when recognised.
pub fn sniff(src: &Source, v: &Value, out: &mut Out) -> Option<&'static str> {
    let path = &*src.path;
    let tp = classify(path);
    // version.yaml
    if v.get("kind").and_then(Value::as_str) == Some("SupportBundle")
        && v.get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("troubleshoot"))
    {
        let version = v
            .get("spec")
            .and_then(|s| s.get("versionNumber"))
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        out.notes.push(format!(
            "troubleshoot support bundle root (collector {version})"
        ));
        out.recognised = true;
        return Some("troubleshoot-version");
    }
    // the secret collector: {namespace, name, key, secretExists, keyExists[, value]}
    if let Some(exists) = v.get("secretExists").and_then(Value::as_bool) {
        let ns = v.get("namespace").and_then(Value::as_str).unwrap_or("");
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        out.recognised = true;
        if exists && !name.is_empty() {
            out.push(
                "Secret",
                Fact::Secret(Box::new(Secret {
                    meta: Meta {
                        namespace: (!ns.is_empty()).then(|| ns.into()),
                        name: name.into(),
                        loc: {
                            let mut l = src.loc(0);
                            l.excerpt = std::sync::Arc::from(
                                format!("secret collector: {ns}/{name} exists").as_str(),
                            );
                            l
                        },
                        ..Default::default()
                    },
                    ..Default::default()
                })),
            );
        } else {
            out.notes.push(format!(
                "troubleshoot secret check: Secret {ns}/{name} does not exist"
            ));
            *out.kinds
                .entry("troubleshoot:secret-check".into())
                .or_default() += 1;
        }
        return Some("troubleshoot-secret");
    }
    match tp {
        Some(TsPath::CanI { namespace }) => {
            let rules = v.as_array()?;
            let allows = |plural: &str, group: &str| {
                rules.iter().any(|r| {
                    let has = |key: &str, want: &str| {
                        strs(r.get(key).unwrap_or(&Value::Null))
                            .is_some_and(|l| l.iter().any(|x| x == "*" || x == want))
                    };
                    has("verbs", "list") && has("resources", plural) && has("apiGroups", group)
                })
            };
            let mut denied = Vec::new();
            for (kind, plural, group) in LISTED {
                if !allows(plural, group) {
                    denied.push(plural.to_string());
                    out.push_marker(Fact::NotCollected {
                        kind: *kind,
                        namespace: Some(namespace.clone()),
                        reason: format!(
                            "auth-cani-list: the collecting user may not list {plural} in {namespace}"
                        ),
                    });
                }
            }
            out.recognised = true;
            out.notes.push(if denied.is_empty() {
                format!("RBAC in {namespace}: every kind credtrace reads may be listed")
            } else {
                format!("RBAC in {namespace}: may not list {}", denied.join(", "))
            });
            Some("troubleshoot-cani")
        }
        Some(TsPath::Errors { resource }) => {
            let kind = folder_kind(&resource).or_else(|| custom_kind(&resource));
            let mut n = 0;
            if let Some(err) = v.get("error").and_then(Value::as_str) {
                out.notes.push(format!("collector error: {err}"));
                out.recognised = true;
                return Some("troubleshoot-errors");
            }
            match v {
                Value::Object(m) => {
                    for (ns, err) in m {
                        let err = err.as_str().map(str::to_string).unwrap_or(err.to_string());
                        n += 1;
                        out.notes.push(format!("not collected in {ns}: {err}"));
                        if let Some(k) = kind {
                            out.push_marker(Fact::NotCollected {
                                kind: k,
                                namespace: Some(ns.clone()),
                                reason: err,
                            });
                        }
                    }
                }
                Value::Array(items) => {
                    for e in items {
                        let err = e.as_str().map(str::to_string).unwrap_or(e.to_string());
                        n += 1;
                        out.notes.push(format!("collector error: {err}"));
                        if let Some(k) = kind {
                            out.push_marker(Fact::NotCollected {
                                kind: k,
                                namespace: None,
                                reason: err,
                            });
                        }
                    }
                }
                Value::Null => {}
                _ => return None,
            }
            if n == 0 {
                out.notes.push("no collection errors".into());
            }
            out.recognised = true;
            Some("troubleshoot-errors")
        }
        Some(TsPath::ImagePullSecret { namespace, name }) => {
            let m = v.as_object()?;
            let registries: Vec<String> = m.keys().cloned().collect();
            out.notes.push(format!(
                "image pull secret {namespace}/{name} for {}",
                registries.join(", ")
            ));
            out.push(
                "Secret",
                Fact::Secret(Box::new(Secret {
                    meta: Meta {
                        namespace: Some(namespace.into()),
                        name: name.into(),
                        loc: src.loc(0),
                        ..Default::default()
                    },
                    type_: Some("kubernetes.io/dockerconfigjson".into()),
                    ..Default::default()
                })),
            );
            Some("troubleshoot-image-pull-secret")
        }
        _ => None,
    }
}

/// A capture time in an archive or folder name, as troubleshoot writes it
/// (`support-bundle-2026-03-19T10_30_00.tar.gz`), also with `:` or `-` between the fields.
pub fn time_in_name(name: &str) -> Option<Time> {
    let b = name.as_bytes();
    for i in 0..b.len() {
        if b.len() < i + 19 {
            break;
        }
        let w = &name[i..];
        let Some(cand) = w.get(..19) else {
            continue;
        };
        let c = cand.as_bytes();
        let digits = |r: std::ops::Range<usize>| r.into_iter().all(|k| c[k].is_ascii_digit());
        if digits(0..4)
            && c[4] == b'-'
            && digits(5..7)
            && c[7] == b'-'
            && digits(8..10)
            && c[10] == b'T'
            && digits(11..13)
            && digits(14..16)
            && digits(17..19)
        {
            let norm = format!(
                "{}T{}:{}:{}Z",
                &cand[..10],
                &cand[11..13],
                &cand[14..16],
                &cand[17..19]
            );
            if let Some(t) = parse_rfc3339(&norm) {
                return Some(t);
            }
        }
    }
    None
}

/// The folder holding `version.yaml` of a troubleshoot bundle, if the entries have one.
pub fn root<'a>(paths: impl Iterator<Item = (&'a str, &'a [u8])>) -> Option<String> {
    let mut best: Option<String> = None;
    for (p, data) in paths {
        let file = p.rsplit('/').next().unwrap_or(p);
        if file != "version.yaml" {
            continue;
        }
        let head = String::from_utf8_lossy(&data[..data.len().min(2048)]);
        if !head.contains("troubleshoot") || !head.contains("SupportBundle") {
            continue;
        }
        let dir = p[..p.len() - file.len()].to_string();
        if best.as_ref().is_none_or(|b| dir.len() < b.len()) {
            best = Some(dir);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let cases = [
            (
                "cluster-resources/pods/prod.json",
                Some(TsPath::Resources {
                    folder: "pods".into(),
                    namespace: Some("prod".into()),
                }),
            ),
            (
                "x/cluster-resources/namespaces.json",
                Some(TsPath::Resources {
                    folder: "namespaces".into(),
                    namespace: None,
                }),
            ),
            (
                "cluster-resources/custom-resources/externalsecrets.external-secrets.io/prod.yaml",
                Some(TsPath::CustomResources {
                    resource: "externalsecrets.external-secrets.io".into(),
                    namespace: Some("prod".into()),
                }),
            ),
            (
                "cluster-resources/custom-resources/clustersecretstores.external-secrets.io.json",
                Some(TsPath::CustomResources {
                    resource: "clustersecretstores.external-secrets.io".into(),
                    namespace: None,
                }),
            ),
            (
                "cluster-resources/pods-errors.json",
                Some(TsPath::Errors {
                    resource: "pods".into(),
                }),
            ),
            (
                "cluster-resources/auth-cani-list/default.json",
                Some(TsPath::CanI {
                    namespace: "default".into(),
                }),
            ),
            (
                "cluster-resources/image-pull-secrets/prod/regcred.json",
                Some(TsPath::ImagePullSecret {
                    namespace: "prod".into(),
                    name: "regcred".into(),
                }),
            ),
            (
                "secrets/default/example-secret.json",
                Some(TsPath::SecretCheck),
            ),
            (
                "cluster-resources/pods/logs/ns/p/c.log",
                Some(TsPath::PodLog),
            ),
            ("vault/status.txt", None),
        ];
        for (p, want) in cases {
            assert_eq!(classify(p), want, "{p}");
        }
        assert_eq!(
            custom_kind("externalsecrets.external-secrets.io"),
            Some(Kind::ExternalSecret)
        );
    }

    #[test]
    fn names_with_times() {
        let t = time_in_name("support-bundle-2026-03-19T10_30_00.tar.gz").unwrap();
        assert_eq!(crate::model::time::fmt_time(t), "2026-03-19T10:30:00Z");
        assert!(time_in_name("troubleshoot-k3s.tar.gz").is_none());
        assert!(time_in_name("bundle-2026-03-19T10:30:00").is_some());
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;
    use crate::ingest::ingest_file;
    use std::sync::Arc;

    fn read(path: &str, text: &str) -> crate::ingest::Out {
        let p: Arc<str> = Arc::from(path);
        let (out, _, skipped) = ingest_file(&p, text.as_bytes(), None);
        assert!(skipped.is_none(), "{path}: {skipped:?}");
        out
    }

    fn not_collected(out: &crate::ingest::Out) -> Vec<(Kind, Option<String>)> {
        out.facts
            .iter()
            .filter_map(|f| match f {
                Fact::NotCollected {
                    kind, namespace, ..
                } => Some((*kind, namespace.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn errors_and_can_i_say_what_was_not_collected() {
        let out = read(
            "cluster-resources/pods-errors.json",
            r#"{"prod": "pods is forbidden: User \"x\" cannot list resource \"pods\" in the namespace \"prod\""}"#,
        );
        assert_eq!(not_collected(&out), [(Kind::Pod, Some("prod".into()))]);
        let out = read(
            "cluster-resources/custom-resources/externalsecrets.external-secrets.io-errors.json",
            r#"["the server could not find the requested resource"]"#,
        );
        assert_eq!(not_collected(&out), [(Kind::ExternalSecret, None)]);
        let out = read(
            "cluster-resources/auth-cani-list/prod.json",
            r#"[{"verbs":["get","list","watch"],"apiGroups":[""],"resources":["pods","serviceaccounts"]},{"verbs":["list"],"apiGroups":["apps"],"resources":["*"]}]"#,
        );
        let nc = not_collected(&out);
        assert!(nc.contains(&(Kind::Secret, Some("prod".into()))));
        assert!(nc.contains(&(Kind::ExternalSecret, Some("prod".into()))));
        assert!(nc.contains(&(Kind::Job, Some("prod".into()))));
        assert!(!nc
            .iter()
            .any(|(k, _)| matches!(k, Kind::Pod | Kind::Deployment | Kind::ServiceAccount)));
    }

    #[test]
    fn empty_listings_cover_their_namespace() {
        let out = read(
            "cluster-resources/pods/default.json",
            "{\n  \"kind\": \"PodList\",\n  \"apiVersion\": \"v1\",\n  \"items\": null\n}",
        );
        assert!(out.facts.iter().any(
            |f| matches!(f, Fact::Covered { kind: Kind::Pod, namespace: Some(n) } if n == "default")
        ));
        let out = read(
            "cluster-resources/custom-resources/clustersecretstores.external-secrets.io.yaml",
            "[]\n",
        );
        assert!(out.facts.iter().any(|f| matches!(
            f,
            Fact::Covered {
                kind: Kind::ClusterSecretStore,
                namespace: None
            }
        )));
    }

    #[test]
    fn collector_outputs_without_values() {
        let out = read(
            "secrets/prod/db.json",
            r#"{"namespace":"prod","name":"db","key":"password","secretExists":true,"keyExists":true,"value":"never-kept"}"#,
        );
        assert!(!format!("{:?}", out.facts).contains("never-kept"));
        assert!(matches!(&out.facts[0], Fact::Secret(s) if s.meta.name == "db"));
        let out = read(
            "cluster-resources/image-pull-secrets/prod/regcred.json",
            r#"{"registry.internal:5000":"svc"}"#,
        );
        assert!(
            matches!(&out.facts[0], Fact::Secret(s) if s.type_.as_deref() == Some("kubernetes.io/dockerconfigjson"))
        );
    }
}
