//! Replicated troubleshoot bundles: the two real ones (healthy k3s clusters, Apache-2.0, see
//! `tests/real-bundles/SOURCE.md`) and a troubleshoot-layout copy of the reference sample.

use super::util::*;
use serde_json::{json, Value};
use std::path::Path;

fn ingest_json(p: &Path) -> Value {
    let out = std::process::Command::new(bin())
        .args(["ingest", "--format", "json"])
        .arg(p)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("ingest prints JSON")
}

fn check_healthy_troubleshoot(name: &str) {
    let p = root().join("tests/real-bundles").join(name);
    let a = analyze_path(&p);
    let v = json(&a);
    let loud: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" || f["severity"] == "warning")
        .collect();
    assert!(loud.is_empty(), "{name}: {loud:#?}");
    assert!(v["diagnoses"].as_array().unwrap().is_empty(), "{name}");

    let ing = ingest_json(&p);
    assert!(
        ing["layout"].as_str().unwrap().starts_with("troubleshoot"),
        "{name}: {}",
        ing["layout"]
    );
    let files = ing["files"].as_array().unwrap();
    let file = |path: &str| {
        files
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{name}: no {path}"))
    };
    // the per-namespace listings are read, and say what they cover, even when empty
    for ns in ["default", "kube-system"] {
        let f = file(&format!("cluster-resources/pods/{ns}.json"));
        assert!(f.get("skipped").is_none(), "{name}: {f}");
        assert_eq!(f["coverage"], json!([format!("Pod in {ns}")]));
    }
    assert!(file("cluster-resources/auth-cani-list/default.json")
        .get("skipped")
        .is_none());
    assert_eq!(file("version.yaml")["format"], "troubleshoot-version");
    let coverage: Vec<&str> = ing["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for want in [
        "Pod in kube-system",
        "Deployment in kube-system",
        "ReplicaSet in default",
        "Namespace in all namespaces",
    ] {
        assert!(coverage.contains(&want), "{name}: {coverage:?}");
    }
    // every cluster-resources listing of a kind credtrace models was read
    for f in files {
        let path = f["path"].as_str().unwrap();
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() == 3
            && parts[0] == "cluster-resources"
            && [
                "pods",
                "deployments",
                "replicasets",
                "events",
                "serviceaccounts",
            ]
            .contains(&parts[1])
        {
            assert!(f.get("skipped").is_none(), "{name}: {f}");
        }
    }
    assert!(ing["conflicts"].as_array().unwrap().is_empty(), "{name}");
}

#[test]
fn real_troubleshoot_baseline_is_read_and_healthy() {
    check_healthy_troubleshoot("troubleshoot-baseline.tar.gz");
    let p = root().join("tests/real-bundles/troubleshoot-baseline.tar.gz");
    let ing = ingest_json(&p);
    let files = ing["files"].as_array().unwrap();
    let secret_check = files
        .iter()
        .find(|f| f["path"] == "secrets/default/example-secret.json")
        .unwrap();
    assert_eq!(secret_check["format"], "troubleshoot-secret");
    let sa = files
        .iter()
        .find(|f| f["path"] == "cluster-resources/serviceaccounts/default.json")
        .unwrap();
    assert_eq!(sa["coverage"], json!(["ServiceAccount in default"]));
}

#[test]
fn real_troubleshoot_k3s_is_read_and_healthy() {
    check_healthy_troubleshoot("troubleshoot-k3s.tar.gz");
    let p = root().join("tests/real-bundles/troubleshoot-k3s.tar.gz");
    let ing = ingest_json(&p);
    // no serviceaccounts folder in this older bundle: not covered, so never "missing"
    let coverage = ing["coverage"].to_string();
    assert!(!coverage.contains("ServiceAccount"), "{coverage}");
}

/// Writes a troubleshoot-layout copy of `samples/order-service-imagepull` under `dir`:
/// object listings as bare JSON arrays in `cluster-resources/` and `custom-resources/`, pull
/// secrets as `image-pull-secrets/` (troubleshoot does not dump Secrets), Vault outputs as a
/// collection script's files with the command echoed on the first line (`+ vault ...`).
fn troubleshoot_copy(dir: &Path) {
    let sample = sample("order-service-imagepull");
    let manifest: Value =
        serde_yaml::from_str(&std::fs::read_to_string(sample.join("credtrace.yaml")).unwrap())
            .unwrap();
    let write = |rel: &str, data: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    write(
        "version.yaml",
        "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: v0.123.14\n",
    );
    for e in std::fs::read_dir(sample.join("kubernetes")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("yaml") {
            continue;
        }
        let v: Value = serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let items = v["items"].as_array().cloned().unwrap_or_default();
        let Some(kind) = items.first().and_then(|i| i["kind"].as_str()) else {
            continue;
        };
        let ns = items[0]["metadata"]["namespace"].as_str().unwrap_or("prod");
        let body = serde_json::to_string_pretty(&items).unwrap();
        match kind {
            "Secret" => {
                for s in &items {
                    if s["type"] == "kubernetes.io/dockerconfigjson" {
                        let name = s["metadata"]["name"].as_str().unwrap();
                        write(
                            &format!("cluster-resources/image-pull-secrets/{ns}/{name}.json"),
                            r#"{"registry.internal:5000":"svc-registry"}"#,
                        );
                    }
                }
            }
            "ExternalSecret" | "SecretStore" => {
                let plural = format!("{}s", kind.to_ascii_lowercase());
                write(
                    &format!(
                        "cluster-resources/custom-resources/{plural}.external-secrets.io/{ns}.json"
                    ),
                    &body,
                );
                // troubleshoot writes the YAML twin too: the same objects, merged into one
                write(
                    &format!(
                        "cluster-resources/custom-resources/{plural}.external-secrets.io/{ns}.yaml"
                    ),
                    &serde_yaml::to_string(&items).unwrap(),
                );
            }
            _ => {
                let folder = format!("{}s", kind.to_ascii_lowercase());
                write(&format!("cluster-resources/{folder}/{ns}.json"), &body);
            }
        }
    }
    for c in manifest["commands"].as_array().unwrap() {
        let out = c["output"].as_str().unwrap();
        let Some(file) = out.strip_prefix("vault/") else {
            continue;
        };
        let text = std::fs::read_to_string(sample.join(out)).unwrap();
        let body = if file == "audit.log" {
            text
        } else {
            format!("+ {}\n{text}", c["command"].as_str().unwrap())
        };
        write(&format!("vault/{file}"), &body);
    }
}

fn chain(d: &Value) -> Vec<String> {
    d["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}/{}/{} {}",
                l["kind"].as_str().unwrap_or(""),
                l["namespace"].as_str().unwrap_or(""),
                l["name"].as_str().unwrap_or(""),
                l["edge"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn troubleshoot_copy_of_the_sample_gives_the_same_diagnosis() {
    let tmp = tempdir("ts-copy");
    let top = "support-bundle-2026-03-19T10_30_00";
    let dir = tmp.join(top);
    troubleshoot_copy(&dir);
    let tgz = tmp.join(format!("{top}.tar.gz"));
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut t = tar::Builder::new(enc);
    t.append_dir_all(top, &dir).unwrap();
    std::fs::write(&tgz, t.into_inner().unwrap().finish().unwrap()).unwrap();

    let original = json(&analyze_path(&sample("order-service-imagepull")));
    let copy = json(&analyze_path(&tgz));
    // the capture time comes from the archive name: nothing better is in the bundle
    assert_eq!(copy["bundle"]["captured_at"], "2026-03-19T10:30:00Z");
    assert_eq!(copy["bundle"]["captured_at_source"], "archive_name");
    let (a, b) = (&original["diagnoses"][0], &copy["diagnoses"][0]);
    assert!(
        b.is_object(),
        "no diagnosis from the copy: {:#}",
        copy["findings"]
    );
    assert_eq!(a["root_cause"]["kind"], b["root_cause"]["kind"]);
    assert_eq!(a["root_cause"]["name"], b["root_cause"]["name"]);
    assert_eq!(a["root_cause"]["rule"], b["root_cause"]["rule"]);
    assert_eq!(a["symptom"]["name"], b["symptom"]["name"]);
    assert_eq!(chain(a), chain(b));

    let ing = ingest_json(&tgz);
    assert!(ing["layout"].as_str().unwrap().starts_with("troubleshoot"));
    assert!(
        ing["conflicts"].as_array().unwrap().is_empty(),
        "{:#}",
        ing["conflicts"]
    );
    let coverage = ing["coverage"].to_string();
    for want in [
        "ExternalSecret in prod",
        "SecretStore in prod",
        "Pod in prod",
    ] {
        assert!(coverage.contains(want), "{coverage}");
    }
}
