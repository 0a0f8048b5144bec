//! The secrets canary: distinctive values planted where secrets live in a bundle (Secret
//! data, dockerconfigjson passwords, last-applied annotations, Vault tokens and passwords in
//! `vault token lookup`, `vault read`, `vault kv get`, `-format=json`, audit log fields,
//! command lines, broken files) must reach no output: stdout or stderr, any command, any
//! format, any error message.

use super::util::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::Path;

/// Every planted value holds this marker (in some case); no output may hold it.
const MARKER: &str = "cnry";

const TOKEN: &str = "hvs.CAESICnry0vaultTOKEN1abcdefGHIJ2345";
const BATCH_TOKEN: &str = "hvb.AAAAAQJCnry9batchTokenXYZ0123456789abcdef";
const DB_PASSWORD: &str = "A1a-Cnry7PwQx9ZkT2vB";
const KV_PASSWORD: &str = "correct-horse-cnry-staple";
const KV_APIKEY: &str = "sk_live_Cnry51HxYz0123";
const DOCKER_PASSWORD: &str = "dckr_pat_Cnry3xYzAbC0123";
const OPAQUE: &str = "opaque-secret-cnry-value";
const SECRET_ID: &str = "9b1f-cnry-4c2e-secret-id";

fn b64(s: &str) -> String {
    B64.encode(s)
}

fn plant(dir: &Path) {
    let w = |p: &str, s: String| {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, s).unwrap();
    };
    let docker = format!(
        r#"{{"auths":{{"registry.example:5000":{{"username":"robot","password":"{DOCKER_PASSWORD}","auth":"{}"}}}}}}"#,
        b64(&format!("robot:{DOCKER_PASSWORD}"))
    );
    let last_applied = format!(
        r#"{{"apiVersion":"v1","data":{{"password":"{}"}},"kind":"Secret","metadata":{{"name":"app","namespace":"shop"}},"stringData":{{"token":"{OPAQUE}"}}}}"#,
        b64(OPAQUE)
    );
    w(
        "kubernetes/secrets-shop.yaml",
        format!(
            r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: app
    namespace: shop
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {last_applied}
  type: Opaque
  data:
    password: {}
    db-url: {}
  stringData:
    token: {OPAQUE}
- apiVersion: v1
  kind: Secret
  metadata:
    name: regcred
    namespace: shop
  type: kubernetes.io/dockerconfigjson
  data:
    .dockerconfigjson: {}
"#,
            b64(OPAQUE),
            b64(&format!("postgres://app:{DB_PASSWORD}@db:5432/app")),
            b64(&docker)
        ),
    );
    w(
        "kubernetes/secret-regcred.json",
        format!(
            r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"regcred2","namespace":"shop"}},"type":"kubernetes.io/dockerconfigjson","data":{{".dockerconfigjson":"{}"}}}}"#,
            b64(&docker)
        ),
    );
    w(
        "vault/token-lookup.txt",
        format!(
            "$ vault token lookup\nKey                 Value\n---                 -----\naccessor            8609694a-cdbc-db9b-d345-e782dbb562ed\ncreation_time       1773916200\ndisplay_name        kubernetes-shop-eso\nexpire_time         2026-03-20T10:30:00Z\nid                  {TOKEN}\npolicies            [default shop-read]\nttl                 23h59m\n"
        ),
    );
    w(
        "vault/read-db-creds.txt",
        format!(
            "$ vault read database/creds/app\nKey                Value\n---                -----\nlease_id           database/creds/app/Hq2nDkP\nlease_duration     1h\nlease_renewable    true\npassword           {DB_PASSWORD}\nusername           v-kubernet-app-x1y2z3\n"
        ),
    );
    w(
        "vault/read-db-creds.json",
        format!(
            "$ vault read -format=json database/creds/app\n{{\n  \"request_id\": \"5d6b\",\n  \"lease_id\": \"database/creds/app/Zz9\",\n  \"lease_duration\": 3600,\n  \"renewable\": true,\n  \"data\": {{\n    \"password\": \"{DB_PASSWORD}\",\n    \"username\": \"v-app\",\n    \"token\": \"{BATCH_TOKEN}\"\n  }}\n}}\n"
        ),
    );
    w(
        "vault/kv-get.txt",
        format!(
            "$ vault kv get secret/shop/app\n====== Secret Path ======\nsecret/data/shop/app\n\n======= Metadata =======\nKey                Value\n---                -----\ncreated_time       2026-03-01T10:00:00Z\nversion            3\n\n====== Data ======\nKey            Value\n---            -----\ndb_password    {KV_PASSWORD}\nstripe_key     {KV_APIKEY}\n"
        ),
    );
    w(
        "vault/approle.txt",
        format!(
            "$ vault write -f auth/approle/role/app/secret-id\nKey                   Value\n---                   -----\nsecret_id             {SECRET_ID}\nsecret_id_accessor    84896a0c-1347-aa90-a4f6-aca8b7558780\n"
        ),
    );
    let audit = [
        format!(
            r#"{{"time":"2026-03-02T09:00:04Z","type":"request","auth":{{"client_token":"{TOKEN}","accessor":"x","display_name":"kubernetes-shop-eso","policies":["default"]}},"request":{{"id":"1","operation":"read","path":"database/creds/app","client_token":"{TOKEN}","remote_address":"10.0.0.1"}}}}"#
        ),
        format!(
            r#"{{"time":"2026-03-02T09:00:05Z","type":"response","auth":{{"client_token":"{TOKEN}","policies":["default"]}},"request":{{"id":"1","operation":"read","path":"database/creds/app"}},"response":{{"data":{{"password":"{DB_PASSWORD}","username":"v-app"}},"secret":{{"lease_id":"database/creds/app/Hq2nDkP"}}}}}}"#
        ),
        format!(
            r#"{{"time":"2026-03-02T09:00:06Z","type":"response","auth":{{"client_token":"{TOKEN}","policies":["default"]}},"request":{{"id":"2","operation":"update","path":"auth/kubernetes/login","data":{{"jwt":"{TOKEN}"}}}},"response":{{"auth":{{"client_token":"{BATCH_TOKEN}","accessor":"y"}}}},"error":"permission denied"}}"#
        ),
    ];
    w("vault/audit.log", audit.join("\n") + "\n");
    // command lines that carry a secret
    w(
        "vault/login.txt",
        format!(
            "$ vault login {TOKEN}\nSuccess! You are now authenticated.\n$ kubectl create secret generic app -n shop --from-literal=password={KV_PASSWORD}\nsecret/app created\n$ VAULT_TOKEN={TOKEN} vault read sys/mounts/secret/tune\nKey Value\n--- -----\ndefault_lease_ttl 768h\n"
        ),
    );
    // broken files whose error messages could quote their content
    w(
        "kubernetes/broken.json",
        format!("{{\"kind\": \"Secret\", \"data\": {{\"password\": \"{OPAQUE}\" \"x\": 1}}}}\n"),
    );
    w(
        "kubernetes/broken.yaml",
        format!("apiVersion: v1\nkind: Secret\ndata:\n  password: {OPAQUE}\n   token: [{TOKEN}\n"),
    );
    w(
        "credtrace.yaml",
        format!(
            "captured_at: 2026-03-19T10:30:00Z\ncluster: shop-1\ncommands:\n- command: vault login {TOKEN}\n  output: vault/login.txt\n  exit_code: 0\n"
        ),
    );
}

fn planted() -> Vec<String> {
    let mut v: Vec<String> = [
        TOKEN,
        BATCH_TOKEN,
        DB_PASSWORD,
        KV_PASSWORD,
        KV_APIKEY,
        DOCKER_PASSWORD,
        OPAQUE,
        SECRET_ID,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(b64(OPAQUE));
    v.push(b64(&format!("robot:{DOCKER_PASSWORD}")));
    v
}

fn assert_clean(what: &str, text: &str) {
    for s in planted() {
        assert!(
            !text.contains(&s),
            "{what}: a planted secret leaked ({s})\n{text}"
        );
    }
    if let Some(i) = text.to_ascii_lowercase().find(MARKER) {
        let from = text[..i].char_indices().rev().nth(80).map_or(0, |(k, _)| k);
        panic!(
            "{what}: part of a planted secret leaked: ...{}...",
            &text[from..(i + 40).min(text.len())]
        );
    }
}

#[test]
fn no_planted_secret_reaches_any_output() {
    let dir = tempdir("canary");
    let b = dir.join("bundle");
    plant(&b);
    let tgz = dir.join("bundle.tgz");
    {
        let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut t = tar::Builder::new(enc);
        t.append_dir_all("bundle", &b).unwrap();
        std::fs::write(&tgz, t.into_inner().unwrap().finish().unwrap()).unwrap();
    }
    let bp = b.to_str().unwrap();
    let tp = tgz.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["analyze", bp],
        vec!["analyze", bp, "--format", "json"],
        vec!["analyze", bp, "--color", "always"],
        vec!["analyze", tp, "--format", "json"],
        vec!["ingest", bp],
        vec!["ingest", bp, "--format", "json"],
        vec!["ingest", tp],
        vec!["rules"],
        vec!["rules", "--format", "json"],
        vec!["explain", "CT-VAULT-001"],
        // limits that skip files: their reasons must not quote content either
        vec!["ingest", bp, "--format", "json", "--max-line-length", "64"],
        vec!["ingest", bp, "--max-depth", "1"],
    ];
    let mut ran = 0;
    for args in &runs {
        let o = run(args, None);
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_clean(&format!("{args:?} stdout"), &stdout(&o));
        assert_clean(&format!("{args:?} stderr"), &stderr(&o));
        ran += 1;
    }
    // stdin, and error paths: a usage error naming the bundle, an unreadable bundle
    let o = run(
        &["analyze", "-", "--format", "json"],
        Some(&std::fs::read(&tgz).unwrap()),
    );
    assert_clean("stdin", &(stdout(&o) + &stderr(&o)));
    for (name, data) in [
        ("only-token.txt", format!("{TOKEN}\n")),
        (
            "only-broken.json",
            format!("{{\"password\": \"{OPAQUE}\", \n"),
        ),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        for fmt in ["table", "json"] {
            let o = run(&["analyze", p.to_str().unwrap(), "--format", fmt], None);
            assert_eq!(o.status.code(), Some(2));
            assert_clean(name, &(stdout(&o) + &stderr(&o)));
        }
    }
    assert!(ran == runs.len());
    // and the bundle was read: the canary is not passing because nothing was parsed
    let (v, _) = ingest_json(&b, &[]);
    let read = read_files(&v);
    for f in [
        "kubernetes/secrets-shop.yaml",
        "vault/token-lookup.txt",
        "vault/read-db-creds.txt",
        "vault/audit.log",
    ] {
        assert!(read.iter().any(|(p, _)| p == f), "{f} not read: {read:?}");
    }
}
