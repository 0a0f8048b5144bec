//! The samples end to end: the reference diagnosis, a healthy bundle, equivalent inputs,
//! determinism, renaming, exit codes, and no secret value in any output.

use super::util::*;
use base64::Engine;
use credtrace::report::{self, Format};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn without_source(mut v: Value) -> Value {
    v["bundle"]["source"] = Value::Null;
    v
}

#[test]
fn reference_incident_is_diagnosed() {
    let a = analyze_path(&sample("order-service-imagepull"));
    let v = json(&a);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["bundle"]["captured_at"], "2026-03-19T10:30:00Z");
    assert_eq!(v["bundle"]["captured_at_inferred"], false);
    let d = &v["diagnoses"][0];
    assert_eq!(d["symptom"]["kind"], "Pod");
    assert_eq!(d["symptom"]["name"], "order-service-8c7d6e5f4-p2n8q");
    assert_eq!(d["root_cause"]["kind"], "VaultPolicy");
    assert_eq!(d["root_cause"]["name"], "order-service-registry");
    assert_eq!(d["root_cause"]["rule"], "CT-VAULT-001");
    assert_eq!(d["confidence"], "high");
    assert_eq!(
        d["domains"],
        serde_json::json!(["kubernetes", "external-secrets", "vault"])
    );
    let chain: Vec<String> = d["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}/{}",
                l["kind"].as_str().unwrap(),
                l["name"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "Pod/order-service-8c7d6e5f4-p2n8q",
        "Secret/regcred-order-service",
        "ExternalSecret/order-service-regcred",
        "VaultPolicy/order-service-registry",
    ] {
        assert!(
            chain.contains(&want.to_string()),
            "chain {chain:?} lacks {want}"
        );
    }
    // every link cites evidence as file:line
    for l in d["chain"].as_array().unwrap() {
        assert!(
            !l["evidence"].as_array().unwrap().is_empty(),
            "link without evidence: {l}"
        );
    }
    let root = d["root_cause"]["message"].as_str().unwrap();
    assert!(
        root.contains("2026-03-02T09:41:17Z") && root.contains("oidc-jane.doe"),
        "{root}"
    );
    // the stale credential: last write from managedFields, TTL from the mount
    let stale = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "CT-ESO-002")
        .expect("stale credential finding");
    let msg = stale["message"].as_str().unwrap();
    assert!(
        msg.contains("2026-01-31T14:22:00Z") && msg.contains("30d"),
        "{msg}"
    );
    // the timeline runs from the last write to the capture
    let events: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["event"].as_str().unwrap())
        .collect();
    let pos = |needle: &str| {
        events
            .iter()
            .position(|e| e.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {events:?}"))
    };
    assert!(pos("last successful sync") < pos("deleted"));
    assert!(pos("deleted") < pos("sync starts failing"));
    assert!(pos("sync starts failing") < pos("credential TTL expires"));
    assert!(pos("credential TTL expires") < pos("first image pull failure"));
    assert_eq!(*events.last().unwrap(), "bundle captured");
    let fix = d["remediation"].as_array().unwrap();
    assert!(fix[0]
        .as_str()
        .unwrap()
        .contains("vault policy write order-service-registry"));
}

#[test]
fn table_view_answers_first() {
    let a = analyze_path(&sample("order-service-imagepull"));
    let text = report::render(&a, Format::Table, false);
    let first: Vec<&str> = text.lines().take(6).collect();
    let head = first.join("\n");
    assert!(head.contains("DIAGNOSIS 1"), "{head}");
    assert!(head.contains("root cause:"), "{head}");
    assert!(text.contains("fix:"));
    assert!(!text.contains("\x1b["), "no colour when not asked");
}

#[test]
fn healthy_bundle_is_quiet() {
    let a = analyze_path(&sample("healthy"));
    let v = json(&a);
    assert_eq!(
        v["findings"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["findings"]
    );
    assert_eq!(v["diagnoses"].as_array().unwrap().len(), 0);
    assert_eq!(
        v["bundle"]["files"]["skipped"].as_array().unwrap().len(),
        0,
        "{:#}",
        v["bundle"]["files"]
    );
}

fn tar_gz_of(dir: &std::path::Path, top: &str) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut t = tar::Builder::new(enc);
    t.append_dir_all(top, dir).unwrap();
    t.into_inner().unwrap().finish().unwrap()
}

#[test]
fn directory_archive_and_stdin_agree() {
    let dir = sample("order-service-imagepull");
    let from_dir = without_source(json(&analyze_path(&dir)));
    let tmp = tempdir("equiv");
    let tgz = tmp.join("bundle.tar.gz");
    std::fs::write(&tgz, tar_gz_of(&dir, "order-service-imagepull")).unwrap();
    let from_tgz = without_source(json(&analyze_path(&tgz)));
    assert_eq!(from_dir, from_tgz, "directory and .tar.gz differ");

    let mut child = Command::new(bin())
        .args(["analyze", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&tgz).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        from_dir,
        without_source(from_stdin),
        "directory and stdin differ"
    );
}

#[test]
fn output_is_deterministic() {
    let dir = sample("order-service-imagepull");
    for f in [Format::Table, Format::Json] {
        let a = report::render(&analyze_path(&dir), f, false);
        let b = report::render(&analyze_path(&dir), f, false);
        assert_eq!(a, b);
    }
}

/// Every value a Secret in the sample holds, decoded, plus the dockerconfigjson passwords.
pub fn secret_values(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let text = std::fs::read_to_string(dir.join("kubernetes/secrets-prod.yaml")).unwrap();
    let v: Value = serde_yaml::from_str(&text).unwrap();
    for item in v["items"].as_array().unwrap() {
        for (_, val) in item["data"].as_object().unwrap() {
            let raw = val.as_str().unwrap();
            out.push(raw.to_string());
            let dec = String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .unwrap(),
            )
            .unwrap();
            if let Ok(doc) = serde_json::from_str::<Value>(&dec) {
                for (_, a) in doc["auths"].as_object().unwrap() {
                    out.push(a["password"].as_str().unwrap().to_string());
                    out.push(a["auth"].as_str().unwrap().to_string());
                }
            } else {
                out.push(dec);
            }
        }
    }
    out.retain(|s| s.len() >= 6);
    out
}

#[test]
fn no_secret_value_in_any_output() {
    let dir = sample("order-service-imagepull");
    let secrets = secret_values(&dir);
    assert!(
        secrets.len() >= 8,
        "the sample should hold secret values to look for"
    );
    let a = analyze_path(&dir);
    let mut outputs = vec![
        report::render(&a, Format::Table, true),
        report::render(&a, Format::Json, false),
    ];
    for args in [vec!["ingest", "--format", "json"], vec!["ingest"]] {
        let mut cmd = Command::new(bin());
        cmd.args(&args).arg(&dir);
        let o = cmd.output().unwrap();
        outputs.push(String::from_utf8_lossy(&o.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    for out in &outputs {
        for s in &secrets {
            assert!(
                !out.contains(s.as_str()),
                "a secret value leaked into an output"
            );
        }
    }
}

fn rename(s: &str) -> String {
    const MAP: &[(&str, &str)] = &[
        ("order-service", "billing-api"),
        ("payment-service", "ledger-svc"),
        ("inventory-service", "stock-keeper"),
        ("user-service", "accounts-svc"),
        ("regcred", "pullauth"),
        ("eso-prod", "eso-tenant"),
        ("registry-creds", "dockercreds"),
        ("jane.doe", "john.roe"),
        ("prod", "tenant7"),
    ];
    let mut s = s.to_string();
    for (a, b) in MAP {
        s = s.replace(a, b);
    }
    s
}

#[test]
fn renaming_every_object_renames_the_diagnosis() {
    let dir = sample("order-service-imagepull");
    let tmp = tempdir("renamed");
    let copy = tmp.join("renamed-bundle");
    copy_tree(&dir, &copy, &rename);
    let original = without_source(json(&analyze_path(&dir)));
    let renamed = without_source(json(&analyze_path(&copy)));
    let expected: Value = serde_json::from_str(&rename(&original.to_string())).unwrap();
    assert_eq!(renamed["diagnoses"], expected["diagnoses"]);
    assert_eq!(renamed["findings"], expected["findings"]);
    assert_eq!(renamed["timeline"], expected["timeline"]);
}

#[test]
fn exit_codes() {
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    };
    let incident = sample("order-service-imagepull");
    let healthy = sample("healthy");
    assert_eq!(run(&["analyze", incident.to_str().unwrap()]), 1);
    assert_eq!(run(&["analyze", healthy.to_str().unwrap()]), 0);
    assert_eq!(
        run(&["analyze", healthy.to_str().unwrap(), "--fail-on", "info"]),
        0
    );
    assert_eq!(run(&["analyze", "/nonexistent/bundle"]), 2);
    assert_eq!(
        run(&[
            "analyze",
            incident.to_str().unwrap(),
            "--as-of",
            "yesterday"
        ]),
        2
    );
    assert_eq!(run(&["analyze"]), 2);
    assert_eq!(run(&["explain", "CT-VAULT-001"]), 0);
    assert_eq!(run(&["explain", "CT-NOPE-999"]), 2);
}

#[test]
fn as_of_overrides_the_capture_time() {
    let out = Command::new(bin())
        .args([
            "analyze",
            sample("order-service-imagepull").to_str().unwrap(),
            "--format",
            "json",
            "--as-of",
            "2026-02-15T00:00:00Z",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["bundle"]["captured_at"], "2026-02-15T00:00:00Z");
    assert_eq!(v["bundle"]["captured_at_source"], "as_of");
}

#[test]
fn pasted_store_events_and_shared_stores_make_one_incident_each() {
    let dir = root().join("tests").join("real-outputs");
    // only a ClusterSecretStore's Events table survives in this paste: a proxy answered for Vault
    let v = json(&analyze_path(&dir.join(
        "06-eso-clustersecretstore-events-validationfailed-403-proxy.txt",
    )));
    assert_eq!(
        v["diagnoses"][0]["root_cause"]["rule"], "CT-ESO-006",
        "{:#}",
        v["diagnoses"]
    );
    assert!(!v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["subject"]["kind"] == "VaultPolicy"));
    // seven failing ExternalSecrets, two of them on the same store: six incidents, not seven
    let v = json(&analyze_path(
        &dir.join("01-eso-get-externalsecret-all-namespaces-syncederror.txt"),
    ));
    let d = v["diagnoses"].as_array().unwrap();
    assert_eq!(d.len(), 6);
    assert!(d.iter().any(
        |x| x["symptoms"].as_array().unwrap().len() == 2 && x["root_cause"]["name"] == "vault"
    ));
}

#[test]
fn delivery_paths_mixed_in_one_bundle_make_one_incident_each() {
    // ESO, VSO, the CSI driver, the Vault Agent Injector and cert-manager side by side, each
    // broken in its own way: every incident keeps its own root cause, none leaks into another
    let dir = tempdir("mixed-delivery");
    let fixtures = root().join("tests").join("fixtures");
    // one manifest for the whole bundle: every command under its folder, the latest capture time
    let mut commands: Vec<Value> = Vec::new();
    let mut captured = String::new();
    for case in [
        "CT-VAULT-001/fires-policy-deleted",
        "CT-VSO-001/fires-static-403-policy-deleted",
        "CT-CSI-001/fires-policy-without-kv2-data-segment",
        "CT-AGENT-001/fires-login-denied-sa-not-bound",
        "CT-CERT-001/fires-clusterissuer-role-policy-deleted",
    ] {
        let sub = case.replace('/', "-");
        let dst = dir.join(&sub);
        copy_tree(&fixtures.join(case).join("bundle"), &dst, &|s| {
            s.to_string()
        });
        let manifest = dst.join("credtrace.yaml");
        let m: Value = serde_yaml::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        std::fs::remove_file(manifest).unwrap();
        let at = m["captured_at"].as_str().unwrap().to_string();
        if at > captured {
            captured = at;
        }
        for c in m["commands"].as_array().unwrap() {
            // a mount list is a whole-Vault fact: keep none, as the fixtures come from
            // different Vaults
            if c["command"]
                .as_str()
                .unwrap()
                .starts_with("vault secrets list")
            {
                continue;
            }
            let mut c = c.clone();
            c["output"] = Value::String(format!("{sub}/{}", c["output"].as_str().unwrap()));
            commands.push(c);
        }
    }
    let manifest = serde_json::json!({ "captured_at": captured, "commands": commands });
    std::fs::write(
        dir.join("credtrace.yaml"),
        serde_yaml::to_string(&manifest).unwrap(),
    )
    .unwrap();
    let v = json(&analyze_path(&dir));
    let got: std::collections::BTreeSet<(String, String, String)> = v["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["symptom"]["kind"].as_str().unwrap().to_string(),
                d["root_cause"]["kind"].as_str().unwrap().to_string(),
                d["root_cause"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: std::collections::BTreeSet<(String, String, String)> = [
        ("ExternalSecret", "VaultPolicy", "fleet-gps"),
        ("VaultStaticSecret", "VaultPolicy", "ledger-db-read"),
        ("Pod", "VaultPolicy", "catalog-search-read"),
        ("Pod", "VaultRole", "kubernetes/billing-invoices"),
        ("Certificate", "VaultPolicy", "pki-edge-sign"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want, "{:#}", v["diagnoses"]);
}
