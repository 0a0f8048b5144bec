//! Planted secret values (KV data, Secret data, tokens, dynamic credentials, troubleshoot's
//! secret collector) never reach any output: analyze or ingest, table or JSON.

use super::util::*;
use base64::Engine;
use std::process::Command;

const PLANTED: &[&str] = &[
    "zz-planted-kv-table",
    "zz-planted-kv-json",
    "zz-planted-kv1-read",
    "zz-planted-secret-data",
    "zz-planted-string-data",
    "zz-planted-token-id",
    "zz-planted-db-password",
    "zz-planted-troubleshoot",
    "zz-planted-odd-read",
    "zz-planted-tls-key",
];

/// A real certificate chain (public) beside a planted `tls.key`.
const TLS_CRT: &str = include_str!("../certs/expired.pem");
const TLS_KEY: &str =
    "-----BEGIN EC PRIVATE KEY-----\nzz-planted-tls-key\n-----END EC PRIVATE KEY-----\n";

fn bundle(dir: &std::path::Path) {
    let w = |rel: &str, s: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w(
        "vault/kv-get.txt",
        "$ vault kv get secret/app/db\n======= Secret Path =======\nsecret/data/app/db\n\n======= Metadata =======\nKey                Value\n---                -----\ncreated_time       2026-03-01T00:00:00Z\ndeletion_time      n/a\ndestroyed          false\nversion            2\n\n====== Data ======\nKey         Value\n---         -----\npassword    zz-planted-kv-table\n",
    );
    w(
        "vault/kv-get.json",
        "$ vault kv get -format=json secret/app/api\n{\n  \"request_id\": \"1\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 0,\n  \"renewable\": false,\n  \"data\": {\n    \"data\": {\"api_key\": \"zz-planted-kv-json\"},\n    \"metadata\": {\"created_time\": \"2026-03-01T00:00:00Z\", \"deletion_time\": \"\", \"destroyed\": false, \"version\": 1}\n  },\n  \"warnings\": null\n}\n",
    );
    w(
        "vault/kv1.txt",
        "$ vault read secret/legacy\nKey                 Value\n---                 -----\nrefresh_interval    768h\nconn                zz-planted-kv1-read\n",
    );
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    w(
        "kubernetes/secrets.yaml",
        &format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s1\n    namespace: prod\n  type: Opaque\n  data:\n    key: {}\n  stringData:\n    other: zz-planted-string-data\n",
            b64("zz-planted-secret-data")
        ),
    );
    w(
        "vault/token.txt",
        "$ vault token lookup\nKey                 Value\n---                 -----\naccessor            abc\ncreation_ttl        768h\ndisplay_name        token\nexpire_time         2026-04-01T00:00:00Z\nid                  zz-planted-token-id\npolicies            [default]\nttl                 700h\n",
    );
    w(
        "vault/creds.txt",
        "$ vault read database/creds/app\nKey                Value\n---                -----\nlease_id           database/creds/app/xyz\nlease_duration     1h\nlease_renewable    true\npassword           zz-planted-db-password\nusername           v-app\n",
    );
    w(
        "kubernetes/tls.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-tls\n  namespace: prod\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
            b64(TLS_CRT),
            b64(TLS_KEY)
        ),
    );
    // a Secret printed as compact JSON: its data shares the line with its name
    w(
        "kubernetes/secret-compact.json",
        &format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"s3\",\"namespace\":\"prod\"}},\"type\":\"Opaque\",\"data\":{{\"k\":\"{}\"}}}}\n",
            b64("zz-planted-compact")
        ),
    );
    w(
        "vault/creds-compact.json",
        "$ vault read -format=json database/creds/app\n{\"request_id\":\"1\",\"lease_id\":\"database/creds/app/abc\",\"lease_duration\":3600,\"renewable\":true,\"data\":{\"password\":\"zz-planted-compact-pw\",\"username\":\"v-app\"}}\n",
    );
    w(
        "secrets/prod/s2.json",
        "{\"namespace\":\"prod\",\"name\":\"s2\",\"key\":\"k\",\"secretExists\":true,\"keyExists\":true,\"value\":\"zz-planted-troubleshoot\"}",
    );
    w(
        "vault/other-read.txt",
        "$ vault read sys/something/odd\nKey      Value\n---      -----\nsecret   zz-planted-odd-read\n",
    );
}

#[test]
fn planted_values_reach_no_output() {
    let tmp = tempdir("planted");
    let dir = tmp.join("b");
    bundle(&dir);
    let mut outputs = Vec::new();
    for args in [
        vec!["analyze", "--format", "json"],
        vec!["analyze"],
        vec!["ingest", "--format", "json"],
        vec!["ingest"],
    ] {
        let o = Command::new(bin()).args(&args).arg(&dir).output().unwrap();
        outputs.push(String::from_utf8_lossy(&o.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    // the files were read, not skipped (a skipped file proves nothing)
    let ing: serde_json::Value = serde_json::from_str(&outputs[4]).unwrap();
    for f in ing["files"].as_array().unwrap() {
        assert!(f.get("skipped").is_none(), "{f}");
    }
    let mut encoded: Vec<String> = [
        "zz-planted-compact",
        "zz-planted-secret-data",
        TLS_CRT,
        TLS_KEY,
    ]
    .iter()
    .map(|v| base64::engine::general_purpose::STANDARD.encode(v))
    .collect();
    // the certificate's own base64 (DER) is not printed either: only its subject and dates
    encoded.extend(TLS_CRT.lines().nth(1).map(str::to_string));
    for out in &outputs {
        for e in &encoded {
            assert!(!out.contains(e.as_str()), "encoded Secret data leaked");
        }
        for v in PLANTED {
            assert!(!out.contains(v), "{v} leaked");
        }
        assert!(!out.contains("zz-planted"), "a planted value leaked");
    }
    // and they never entered the model
    let a = analyze_path(&dir);
    let model = format!("{:?}", a.snapshot);
    for v in PLANTED {
        assert!(!model.contains(v), "{v} is in the model");
    }
    for e in &encoded {
        assert!(
            !model.contains(e.as_str()),
            "encoded Secret data is in the model"
        );
    }
    // the certificate was read (so the test above proves something about it)
    let tls = a
        .snapshot
        .secrets
        .iter()
        .find(|s| s.meta.name == "web-tls")
        .unwrap();
    assert_eq!(tls.certs.len(), 2, "{:?}", tls.cert_error);
}
