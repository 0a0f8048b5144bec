//! Every real output in `tests/real-outputs/` (public pastes, `# source:` on their first line)
//! is recognised, and each becomes exactly what this table says.

use super::util::root;
use credtrace::ingest::{ingest_file, Out};
use credtrace::model::*;
use std::collections::BTreeMap;
use std::sync::Arc;

fn read(name: &str) -> (Out, &'static str, Option<String>) {
    let path = root().join("tests/real-outputs").join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let p: Arc<str> = Arc::from(name);
    ingest_file(&p, &data, None)
}

fn events(out: &Out) -> Vec<&Event> {
    out.facts
        .iter()
        .filter_map(|f| match f {
            Fact::Event(e) => Some(e.as_ref()),
            _ => None,
        })
        .collect()
}

fn vault_errors(out: &Out) -> Vec<&VaultError> {
    out.facts
        .iter()
        .filter_map(|f| match f {
            Fact::VaultError(e) => Some(&e.0),
            _ => None,
        })
        .collect()
}

fn covered(out: &Out) -> Vec<(Kind, Option<String>)> {
    out.facts
        .iter()
        .filter_map(|f| match f {
            Fact::Covered { kind, namespace } => Some((*kind, namespace.clone())),
            _ => None,
        })
        .collect()
}

type Check = fn(&Out);

/// A file, the kinds and counts it becomes, and a check of what it says.
type Case = (&'static str, &'static [(&'static str, usize)], Check);

const CASES: &[Case] = &[
    (
        "01-eso-get-externalsecret-all-namespaces-syncederror.txt",
        &[("ExternalSecret", 7)],
        |out| {
            assert_eq!(
                out.commands,
                ["kubectl get ExternalSecret --all-namespaces"]
            );
            assert_eq!(covered(out), [(Kind::ExternalSecret, None)]);
            let Fact::ExternalSecret(es) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(es.meta.namespace.as_deref(), Some("dex"));
            assert_eq!(es.store.name, "vault");
            assert_eq!(
                es.table_status
                    .as_ref()
                    .map(|t| (t.0.as_str(), t.1.as_deref())),
                Some(("SecretSyncedError", Some("False")))
            );
        },
    ),
    (
        "03-kes-legacy-get-es-invalid-role.txt",
        &[("ExternalSecret", 2)],
        |out| {
            assert!(out
                .notes
                .iter()
                .any(|n| n.contains("kubernetes-external-secrets")));
            let Fact::ExternalSecret(es) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(es.meta.namespace.as_deref(), Some("aleksf-dev-ns"));
            assert!(es
                .table_status
                .as_ref()
                .unwrap()
                .0
                .contains("invalid role name"));
        },
    ),
    ("04-vault-status-table.txt", &[("VaultStatus", 1)], |out| {
        let Fact::VaultStatus(s) = &out.facts[0] else {
            panic!()
        };
        assert_eq!(
            (s.sealed, s.version.as_deref()),
            (Some(false), Some("1.3.2"))
        );
    }),
    (
        "05-eso-secretstore-vault-valid-status-yaml.txt",
        &[("fragment:SecretStore", 1)],
        |out| {
            assert!(out.facts.is_empty(), "no name: nothing to join to");
            assert!(out.notes.iter().any(|n| n.contains("without its name")));
        },
    ),
    (
        "06-eso-clustersecretstore-events-validationfailed-403-proxy.txt",
        &[("Event", 1)],
        |out| {
            let e = events(out)[0];
            assert_eq!(
                (e.object_kind.as_str(), e.reason.as_str(), e.count),
                ("ClusterSecretStore", "ValidationFailed", 21)
            );
            let v = VaultError::parse(&e.message).expect("the Vault error in the event");
            assert_eq!(v.code, Some(403));
            assert!(v.raw_message, "a proxy answered, not Vault");
            assert_eq!(v.path.as_deref(), Some("auth/token/lookup-self"));
        },
    ),
    (
        "08-eso-clustersecretstore-yaml-validationfailed-timeout.txt",
        &[("ClusterSecretStore", 1)],
        |out| {
            let Fact::SecretStore(s) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(
                (s.kind.as_str(), s.meta.name.as_str()),
                ("ClusterSecretStore", "vault-backend")
            );
            assert_eq!(s.conditions[0].reason.as_deref(), Some("ValidationFailed"));
            assert!(s.conditions[0]
                .message
                .as_deref()
                .unwrap()
                .contains("context deadline exceeded"));
            assert!(matches!(
                s.vault.as_ref().unwrap().auth,
                VaultAuth::Token { .. }
            ));
        },
    ),
    (
        "10-vault-csi-mount-403-and-audit-fragment.txt",
        &[("VaultAudit", 1), ("VaultError", 1)],
        |out| {
            let e = vault_errors(out)[0];
            assert!(e.is_permission_denied());
            assert_eq!(
                e.path.as_deref(),
                Some("xxx/data/configuration/xxx_config/xx_config")
            );
            let a = out
                .facts
                .iter()
                .find_map(|f| match f {
                    Fact::Audit(a) => Some(a),
                    _ => None,
                })
                .unwrap();
            assert_eq!(a.path, "sear/data/configuration/xxx_config/ex_config");
            assert!(a.error.as_deref().unwrap().contains("permission"));
        },
    ),
    (
        "12-k8s-get-events-docker-unauthorized-pull-access-denied.txt",
        &[("Event", 7)],
        |out| {
            let ev = events(out);
            let failed: Vec<_> = ev
                .iter()
                .filter(|e| e.message.contains("unauthorized: authentication required"))
                .collect();
            assert_eq!(failed.len(), 1);
            assert_eq!(
                (
                    failed[0].object_kind.as_str(),
                    failed[0].object_name.as_str()
                ),
                ("Pod", "octarine-guardrails-enforcer-5888cf98bf-xzklp")
            );
            assert!(ev.iter().any(|e| e.object_kind == "ReplicaSet"));
        },
    ),
    (
        "14-k8s-describe-pod-events-ghcr-unauthenticated.txt",
        &[("Event", 5)],
        |out| {
            let ev = events(out);
            assert!(
                ev.iter().all(|e| e.object_kind == "Pod"),
                "kubelet reports about Pods"
            );
            assert!(ev
                .iter()
                .any(|e| e.message.contains("denied: unauthenticated")));
        },
    ),
    (
        "16-k8s-get-pods-and-events-couldnt-find-key.txt",
        &[("Event", 2), ("Pod", 2)],
        |out| {
            let pod = out
                .facts
                .iter()
                .find_map(|f| match f {
                    Fact::Pod(p) if p.meta.name.ends_with("vfldl") => Some(p),
                    _ => None,
                })
                .unwrap();
            assert_eq!(
                pod.table_status.as_ref().unwrap().0,
                "CreateContainerConfigError"
            );
            assert!(events(out).iter().any(|e| e.message.contains(
                "couldn't find key VALUE in Secret default/aegis-secret-aegis-workload-demo"
            )));
        },
    ),
    (
        "17-k8s-events-secrets-not-found-env-and-mount.txt",
        &[("Event", 2)],
        |out| {
            let ev = events(out);
            assert_eq!(ev[0].source, "kubelet, <redacted-address>");
            assert_eq!(ev[1].reason, "FailedMount");
            assert_eq!(ev[1].count, 8);
        },
    ),
    (
        "19-k8s-get-po-init-createcontainerconfigerror.txt",
        &[("Pod", 1)],
        |out| {
            assert_eq!(out.commands, ["kubectl get po"]);
            assert!(covered(out).is_empty(), "no -n: the namespace is unknown");
            let Fact::Pod(p) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(
                p.table_status.as_ref().unwrap().0,
                "Init:CreateContainerConfigError"
            );
        },
    ),
    (
        "20-vault-read-kv1-table-refresh-interval.txt",
        &[("VaultSecret", 1)],
        |out| {
            let Fact::VaultSecret(m) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(m.path, "secret/foo");
            assert_eq!(m.keys, ["my-value"]);
            assert_eq!(m.kv_version, Some(1));
            assert_eq!(m.refresh_interval.map(|d| d.num_hours()), Some(768));
            assert!(
                !format!("{:?}", out.facts).contains("s3cr3t"),
                "a value was kept"
            );
        },
    ),
    (
        "23-eso-event-updatefailed-dataFrom-extract.txt",
        &[("Event", 1)],
        |out| {
            let e = events(out)[0];
            assert_eq!(
                (e.object_kind.as_str(), e.reason.as_str(), e.count),
                ("ExternalSecret", "UpdateFailed", 3)
            );
            assert!(e
                .message
                .starts_with("error processing spec.dataFrom[0].extract"));
        },
    ),
    (
        "24-eso-get-secretstore-capabilities.txt",
        &[("SecretStore", 1)],
        |out| {
            let Fact::SecretStore(s) = &out.facts[0] else {
                panic!()
            };
            let t = s.table_status.as_ref().unwrap();
            assert_eq!((t.0.as_str(), t.1.as_deref()), ("Valid", Some("True")));
        },
    ),
    (
        "27-vault-read-auth-kubernetes-role.txt",
        &[("VaultRole", 1)],
        |out| {
            let Fact::VaultRole(r) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(
                (r.mount.as_str(), r.name.as_str()),
                ("kubernetes", "default")
            );
            assert_eq!(
                r.bound_sa_names,
                ["default", "vault-secrets-webhook", "vault"]
            );
            assert_eq!(r.bound_sa_namespaces, ["default", "vswh"]);
            let p: Vec<&str> = r.policies.iter().map(|p| p.0.as_str()).collect();
            assert_eq!(p, ["allow_pki", "allow_secrets"]);
            assert_eq!(r.token_ttl.map(|d| d.num_seconds()), Some(3600));
        },
    ),
    (
        "28-vault-token-lookup-accessor-modern.txt",
        &[("VaultToken", 1)],
        |out| {
            let Fact::VaultToken(t) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(t.accessor.as_deref(), Some("L9rZ36"));
            assert_eq!(t.display_name.as_deref(), Some("token-policy-for-admins"));
            assert_eq!(
                t.expire_time.map(crate::util::fmt),
                Some("2030-01-20T11:06:13Z".to_string())
            );
        },
    ),
    (
        "31-vault-audit-log-permission-denied-2017.txt",
        &[("VaultAudit", 1), ("VaultError", 1)],
        |out| {
            let e = vault_errors(out)[0];
            assert!(e.is_permission_denied());
            assert_eq!(e.path.as_deref(), Some("secret/production/databases/pg-01"));
            let a = out
                .facts
                .iter()
                .find_map(|f| match f {
                    Fact::Audit(a) => Some(a),
                    _ => None,
                })
                .unwrap();
            assert_eq!(
                (a.type_.as_str(), a.error.as_deref()),
                ("request", Some("permission denied"))
            );
            assert!(a.time.is_some());
        },
    ),
    (
        "32-vault-audit-log-request-response-2016.txt",
        &[("VaultAudit", 2)],
        |out| {
            let types: Vec<&str> = out
                .facts
                .iter()
                .filter_map(|f| match f {
                    Fact::Audit(a) => Some(a.type_.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(types, ["request", "response"]);
        },
    ),
    (
        "35-vso-event-log-vaultstaticsecret-403.txt",
        &[("Event", 1), ("VaultError", 1)],
        |out| {
            let e = events(out)[0];
            assert_eq!(
                (
                    e.object_kind.as_str(),
                    e.namespace.as_deref(),
                    e.object_name.as_str(),
                    e.reason.as_str()
                ),
                (
                    "VaultStaticSecret",
                    Some("ns"),
                    "vault-static-secret-appname",
                    "VaultClientError"
                )
            );
            let v = VaultError::parse(&e.message).unwrap();
            assert!(v.is_permission_denied());
            assert_eq!(v.path.as_deref(), Some("kv-v2/data/ns/appname"));
        },
    ),
    (
        "37-vault-read-auth-kubernetes-config.txt",
        &[("VaultAuthConfig", 1)],
        |out| {
            let Fact::VaultAuthConfig(c) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(c.mount, "kubernetes");
            assert_eq!(c.kubernetes_host.as_deref(), Some("https://$REDACTED:6443"));
            assert_eq!(c.disable_iss_validation, Some(true));
            assert!(c.has_ca_cert);
            assert!(c.issuer.is_none());
        },
    ),
    (
        "38-vault-policies-read-legacy-hcl.txt",
        &[("VaultPolicy", 1)],
        |out| {
            let Fact::VaultPolicy(p) = &out.facts[0] else {
                panic!()
            };
            assert_eq!(p.name, "admin");
            assert_eq!(p.rules.len(), 7);
            assert_eq!(p.rules[0].path, "sys/auth");
            assert_eq!(p.rules[0].loc.line, 8, "each path block keeps its line");
        },
    ),
    (
        "40-eso-externalsecret-syncederror-spec-status-yaml.txt",
        &[("fragment:ExternalSecret", 1)],
        |out| assert!(out.facts.is_empty()),
    ),
];

#[test]
fn every_real_output_becomes_what_it_is() {
    let dir = root().join("tests/real-outputs");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    files.sort();
    let listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    assert_eq!(
        files, listed,
        "every real output has a row, and every row a file"
    );
    for (name, kinds, check) in CASES {
        let (out, format, skipped) = read(name);
        assert!(skipped.is_none(), "{name} skipped: {skipped:?}");
        let want: BTreeMap<String, usize> =
            kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        assert_eq!(
            out.kinds, want,
            "{name} (read as {format}): {:?}",
            out.notes
        );
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            text.starts_with("# source: https://"),
            "{name} keeps its source line"
        );
        check(&out);
    }
}

#[test]
fn a_fragment_named_by_its_command_joins_its_object() {
    let body = std::fs::read_to_string(
        root().join("tests/real-outputs/40-eso-externalsecret-syncederror-spec-status-yaml.txt"),
    )
    .unwrap();
    let text = format!(
        "$ kubectl get externalsecret podinfo-service -n apps -o yaml | yq '.spec,.status'\n{}",
        body.lines().skip(1).collect::<Vec<_>>().join("\n")
    );
    let p: Arc<str> = Arc::from("es.txt");
    let (out, _, skipped) = ingest_file(&p, text.as_bytes(), None);
    assert!(skipped.is_none());
    let Fact::ExternalSecret(es) = &out.facts[0] else {
        panic!("{:?}", out.kinds)
    };
    assert_eq!(
        (es.meta.namespace.as_deref(), es.meta.name.as_str()),
        (Some("apps"), "podinfo-service")
    );
    assert_eq!(es.store.name, "vault-backend");
    assert_eq!(
        es.conditions[0].reason.as_deref(),
        Some("SecretSyncedError")
    );
    // a file name names a store fragment
    let body = std::fs::read_to_string(
        root().join("tests/real-outputs/05-eso-secretstore-vault-valid-status-yaml.txt"),
    )
    .unwrap();
    let p: Arc<str> = Arc::from("kubernetes/secretstore-vault.yaml");
    let (out, _, _) = ingest_file(&p, body.as_bytes(), None);
    let Fact::SecretStore(s) = &out.facts[0] else {
        panic!("{:?}", out.kinds)
    };
    assert_eq!(s.meta.name, "vault");
    assert_eq!(
        s.vault.as_ref().unwrap().path.as_deref(),
        Some("io-whitelabel/data/testing")
    );
}
