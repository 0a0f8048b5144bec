//! The report formats on the reference sample: snapshots of every format, the Markdown
//! parses and holds the key facts, SARIF validates against the schema kept in the repo, DOT
//! renders with Graphviz, diff finds the vanished policy, suppressions and overrides, the
//! collection script (shellcheck, and run against stub kubectl/vault), the README's rule
//! list, and no secret value in any of it.

use super::e2e::secret_values;
use super::util::*;
use credtrace::bundle::{self, Limits};
use credtrace::report::{self, graph, Format};
use credtrace::suppress::Policy;
use credtrace::{analyze, Analysis, Options};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SAMPLE: &str = "samples/order-service-imagepull";

/// Analyses a bundle by its path relative to the crate root, so `source` in every output is
/// the same on every machine.
fn analyze_rel(rel: &str, policy: Policy) -> Analysis {
    let b = bundle::open(rel, Limits::default()).expect("bundle opens");
    analyze(
        &b,
        &Options {
            policy,
            ..Options::default()
        },
    )
}

fn sample_analysis() -> Analysis {
    analyze_rel(SAMPLE, Policy::default())
}

fn run(args: &[&str]) -> (String, String, i32) {
    let o = Command::new(bin())
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

#[test]
fn snapshots_of_every_format() {
    let a = sample_analysis();
    insta::assert_snapshot!("analyze_table", report::render(&a, Format::Table, false));
    insta::assert_snapshot!("analyze_json", report::render(&a, Format::Json, false));
    insta::assert_snapshot!(
        "analyze_markdown",
        report::render(&a, Format::Markdown, false)
    );
    insta::assert_snapshot!("analyze_sarif", report::render(&a, Format::Sarif, false));
    let whole = graph::select(&a.graph, None, None);
    insta::assert_snapshot!("graph_dot", graph::render(&whole, graph::GraphFormat::Dot));
    insta::assert_snapshot!(
        "graph_mermaid",
        graph::render(&whole, graph::GraphFormat::Mermaid)
    );
    insta::assert_snapshot!(
        "graph_json",
        graph::render(&whole, graph::GraphFormat::Json)
    );
    let focus = graph::resolve(&a.graph, "pod/prod/order-service-8c7d6e5f4-p2n8q").unwrap();
    let near = graph::select(&a.graph, Some(focus), Some(2));
    insta::assert_snapshot!(
        "graph_focus_svg",
        graph::render(&near, graph::GraphFormat::Svg)
    );
    insta::assert_snapshot!("rules_table", report::rules::list_as("table"));
    insta::assert_snapshot!("rules_markdown", report::rules::list_as("markdown"));
    insta::assert_snapshot!(
        "collect_script",
        report::collect::script(&report::collect::CollectSpec {
            namespaces: vec!["prod".into()],
            vault_mounts: vec!["registry-creds".into()],
        })
    );
    let (old, new) = diff_pair();
    let d = report::diff::diff(&old, &new);
    insta::assert_snapshot!("diff_table", report::diff::render_text(&d, false));
    insta::assert_snapshot!("diff_json", report::diff::render_json(&d));
}

#[test]
fn every_format_is_deterministic() {
    let render_all = || {
        let a = sample_analysis();
        let whole = graph::select(&a.graph, None, None);
        let mut v: Vec<String> = [Format::Table, Format::Json, Format::Markdown, Format::Sarif]
            .iter()
            .map(|f| report::render(&a, *f, false))
            .collect();
        for f in [
            graph::GraphFormat::Dot,
            graph::GraphFormat::Mermaid,
            graph::GraphFormat::Json,
            graph::GraphFormat::Svg,
        ] {
            v.push(graph::render(&whole, f));
        }
        v
    };
    assert_eq!(render_all(), render_all());
}

#[test]
fn markdown_parses_and_holds_the_key_facts() {
    use pulldown_cmark::{Event, Options as MdOptions, Parser, Tag, TagEnd};
    let a = sample_analysis();
    let md = report::render(&a, Format::Markdown, false);
    let mut headings: Vec<String> = Vec::new();
    let mut in_heading = false;
    let mut tables = 0;
    let mut codes: Vec<String> = Vec::new();
    let mut plain = String::new();
    for ev in Parser::new_ext(&md, MdOptions::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Heading { .. }) => {
                in_heading = true;
                headings.push(String::new());
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Start(Tag::Table(_)) => tables += 1,
            Event::Start(Tag::HtmlBlock) | Event::Html(_) | Event::InlineHtml(_) => {
                panic!("the postmortem holds raw HTML")
            }
            Event::Text(t) => {
                if in_heading {
                    headings.last_mut().unwrap().push_str(&t);
                }
                plain.push_str(&t);
                plain.push(' ');
            }
            Event::Code(c) => {
                codes.push(c.to_string());
                plain.push_str(&c);
                plain.push(' ');
            }
            _ => {}
        }
    }
    assert!(headings[0].starts_with("Postmortem draft"), "{headings:?}");
    for h in [
        "Summary",
        "Impact",
        "Timeline (UTC)",
        "Root-cause chain",
        "Contributing factors",
        "Remediation",
    ] {
        assert!(
            headings.iter().any(|x| x == h),
            "no heading {h}: {headings:?}"
        );
    }
    assert!(tables >= 2, "summary and timeline are tables");
    // summary: symptom, root cause, since when, blast radius
    for fact in [
        "ImagePullBackOff",
        "order-service-registry",
        "oidc-jane.doe",
        "2026-03-02T09:41:17Z (17d before capture)",
        "Deployment prod/order-service",
        "1 Pod",
    ] {
        assert!(plain.contains(fact), "the postmortem lacks {fact:?}");
    }
    // evidence as file:line, remediation as commands
    for cite in [
        "vault/audit.log:15",
        "vault/policy-read-order-service-registry.txt:2",
        "kubernetes/secrets-prod.yaml:108",
    ] {
        assert!(codes.iter().any(|c| c == cite), "no citation {cite}");
    }
    assert!(codes
        .iter()
        .any(|c| c.starts_with("vault policy write order-service-registry")));
    // the timeline reads in order
    let pos = |s: &str| md.find(s).unwrap_or_else(|| panic!("no {s}"));
    assert!(pos("| 2026-03-02T09:41:17Z |") < pos("| 2026-03-19T10:26:00Z |"));
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/schemas/sarif-2.1.0.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

#[test]
fn sarif_validates_against_the_schema() {
    let v = schema();
    for (bundle, policy) in [
        (SAMPLE, Policy::default()),
        ("samples/healthy", Policy::default()),
        (
            SAMPLE,
            Policy::parse(
                "ignore.yaml",
                "ignore:\n- rule: CT-K8S-002\n  subject: Secret/prod/*\n  reason: known\n",
            )
            .unwrap(),
        ),
    ] {
        let a = analyze_rel(bundle, policy);
        let sarif: Value = serde_json::from_str(&report::render(&a, Format::Sarif, false)).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&sarif)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{bundle}: {errors:#?}");
    }
    let a = sample_analysis();
    let sarif: Value = serde_json::from_str(&report::render(&a, Format::Sarif, false)).unwrap();
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), credtrace::rules::registry().len());
    let root = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "CT-VAULT-001")
        .unwrap();
    assert_eq!(root["level"], "error");
    let loc = &root["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "vault/audit.log");
    assert_eq!(loc["region"]["startLine"], 15);
    assert!(run["tool"]["driver"]["rules"][0]["help"]["text"]
        .as_str()
        .unwrap()
        .contains("## What it checks"));
}

#[test]
fn sarif_schema_rejects_what_sarif_forbids() {
    let v = schema();
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"ruleId": "X", "level": "fatal", "message": {"text": "m"}}]}]});
    assert!(!v.is_valid(&bad), "level fatal is not SARIF");
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"ruleId": "X", "message": {"text": "m"}, "locations": [{"physicalLocation":
        {"artifactLocation": {"uri": "a"}, "region": {"startLine": 0}}}]}]}]});
    assert!(!v.is_valid(&bad), "lines start at 1");
}

fn dot_available() -> bool {
    Command::new("dot").arg("-V").output().is_ok()
}

#[test]
fn dot_renders_with_graphviz() {
    if !dot_available() {
        eprintln!("NOTICE: Graphviz `dot` is not installed; skipping the dot -Tsvg check (.ci/run installs it)");
        return;
    }
    let tmp = tempdir("dot");
    for args in [
        vec!["graph", SAMPLE],
        vec![
            "graph",
            SAMPLE,
            "--focus",
            "VaultPolicy/order-service-registry",
            "--depth",
            "1",
        ],
        vec!["graph", "samples/healthy"],
    ] {
        let (out, err, code) = run(&args);
        assert_eq!(code, 0, "{err}");
        let f = tmp.join("g.dot");
        std::fs::write(&f, &out).unwrap();
        let o = Command::new("dot").arg("-Tsvg").arg(&f).output().unwrap();
        assert!(
            o.status.success(),
            "dot -Tsvg failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("<svg"));
    }
}

#[test]
fn graph_marks_broken_and_stale_edges_and_focus_limits_it() {
    let a = sample_analysis();
    let whole = graph::select(&a.graph, None, None);
    let dot = graph::dot(&whole);
    let broken = dot
        .lines()
        .find(|l| {
            l.contains("policy\\norder-service-registry does not exist")
                || l.contains("order-service-registry does not exist")
        })
        .expect("the broken role -> policy edge");
    assert!(
        broken.contains("style=dashed") && broken.contains("#dc2626"),
        "{broken}"
    );
    let stale = dot
        .lines()
        .find(|l| l.contains("STALE"))
        .expect("a stale edge");
    assert!(stale.contains("#d97706"), "{stale}");
    let focus = graph::resolve(&a.graph, "VaultPolicy/order-service-registry").unwrap();
    let near = graph::select(&a.graph, Some(focus.clone()), Some(1));
    assert!(near.nodes.len() < whole.nodes.len());
    assert!(near
        .nodes
        .iter()
        .any(|(n, _)| n.name == "kubernetes/eso-prod"));
    assert!(!near
        .nodes
        .iter()
        .any(|(n, _)| n.kind == credtrace::model::Kind::Pod));
    // slashes in Vault names resolve
    assert!(graph::resolve(&a.graph, "VaultRole/kubernetes/eso-prod").is_ok());
    let err = graph::resolve(&a.graph, "Pod/prod/nope").err().unwrap();
    assert!(err.contains("nodes of that kind"), "{err}");
    let (_, err, code) = run(&["graph", SAMPLE, "--focus", "Pod/prod/nope"]);
    assert_eq!(code, 2, "{err}");
}

/// An older capture of the sample in which the policy still existed.
fn diff_pair() -> (Analysis, Analysis) {
    let tmp = tempdir("diff-old");
    let old = tmp.join("old");
    copy_tree(&root().join(SAMPLE), &old, &|s: &str| s.to_string());
    let list = old.join("vault/policy-list.txt");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(
        &list,
        text.replace(
            "inventory-service-registry\n",
            "inventory-service-registry\norder-service-registry\n",
        ),
    )
    .unwrap();
    std::fs::write(
        old.join("vault/policy-read-order-service-registry.txt"),
        "$ vault policy read order-service-registry\npath \"registry-creds/creds/order-service\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    let mut a = analyze_rel(old.to_str().unwrap(), Policy::default());
    // the temporary path differs per run; snapshots need a stable name
    a.source = "order-service-imagepull-earlier".into();
    (a, sample_analysis())
}

#[test]
fn diff_headlines_the_vanished_policy() {
    let (old, new) = diff_pair();
    let d = report::diff::diff(&old, &new);
    assert!(
        d.headline[0].starts_with("Vault policy order-service-registry vanished"),
        "{:?}",
        d.headline
    );
    assert!(d.headline[0].contains("VaultRole kubernetes/eso-prod"));
    assert!(d
        .objects_vanished
        .iter()
        .any(|o| o.name == "order-service-registry"));
    let json = report::diff::to_json(&d);
    assert!(json["findings"]["new"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "CT-VAULT-001"));
    // the same bundle twice: nothing changed
    let same = report::diff::diff(&new, &new);
    assert!(same.headline.is_empty() && same.findings_new.is_empty());
    let (out, _, code) = run(&["diff", SAMPLE, SAMPLE]);
    assert_eq!(code, 0);
    assert!(out.contains("No change"), "{out}");
}

#[test]
fn suppressions_overrides_and_expiry() {
    let tmp = tempdir("ignore");
    let file = tmp.join("ignore.yaml");
    std::fs::write(
        &file,
        "severity:\n  CT-ESO-002: warning\nignore:\n\
         - rule: secret-sibling-outlier\n  subject: Secret/prod/regcred-*\n  reason: rotated by hand until the migration\n  expires: 2026-04-30\n\
         - rule: CT-ESO-001\n  subject: ExternalSecret/prod/order-service-regcred\n  reason: old ticket\n  expires: 2026-03-01\n",
    )
    .unwrap();
    let policy = Policy::parse("ignore.yaml", &std::fs::read_to_string(&file).unwrap()).unwrap();
    let a = analyze_rel(SAMPLE, policy);
    let v: Value = serde_json::from_str(&report::render(&a, Format::Json, false)).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(!rules.contains(&"CT-K8S-002"), "suppressed: {rules:?}");
    // expired before the capture (2026-03-19): still reported, and listed as expired
    assert!(rules.contains(&"CT-ESO-001"));
    assert_eq!(v["suppressions_expired"][0]["rule"], "CT-ESO-001");
    assert_eq!(
        v["suppressed"][0]["reason"],
        "rotated by hand until the migration"
    );
    let eso2 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "CT-ESO-002")
        .unwrap();
    assert_eq!(eso2["severity"], "warning");
    // the diagnosis is untouched
    assert_eq!(v["diagnoses"][0]["root_cause"]["rule"], "CT-VAULT-001");
    let table = report::render(&a, Format::Table, false);
    assert!(table.contains("expired"), "{table}");

    // flags: a severity override changes the exit code
    let f = file.to_str().unwrap();
    let (_, err, code) = run(&["analyze", "samples/healthy", "--ignore-file", f]);
    assert_eq!(code, 0, "{err}");
    let (_, _, code) = run(&[
        "analyze",
        SAMPLE,
        "--severity",
        "CT-VAULT-001=info",
        "--severity",
        "CT-ESO-001=info",
        "--severity",
        "CT-ESO-002=info",
        "--severity",
        "CT-K8S-001=info",
    ]);
    assert_eq!(code, 0, "every error lowered to info");
    let (_, err, code) = run(&["analyze", SAMPLE, "--severity", "CT-NOPE-1=error"]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule"), "{err}");
    std::fs::write(
        &file,
        "ignore:\n- rule: CT-K8S-002\n  subject: Secret/prod/x\n",
    )
    .unwrap();
    let (_, err, code) = run(&["analyze", SAMPLE, "--ignore-file", f]);
    assert_eq!(code, 2);
    assert!(err.contains("reason"), "{err}");
}

#[test]
fn several_outputs_in_one_run() {
    let tmp = tempdir("outputs");
    let (j, m, s) = (tmp.join("out.json"), tmp.join("pm.md"), tmp.join("r.sarif"));
    let (out, err, code) = run(&[
        "analyze",
        SAMPLE,
        "--output",
        &format!("json={}", j.display()),
        "--output",
        &format!("markdown={}", m.display()),
        "-o",
        &format!("sarif={}", s.display()),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "stdout stays empty with --output");
    let a = sample_analysis();
    let json: Value = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
    assert_eq!(
        json["diagnoses"][0]["root_cause"]["name"],
        "order-service-registry"
    );
    assert_eq!(
        std::fs::read_to_string(&m).unwrap(),
        report::render(&a, Format::Markdown, false)
    );
    assert!(std::fs::read_to_string(&s)
        .unwrap()
        .contains("\"version\": \"2.1.0\""));
    let (out, _, _) = run(&["analyze", SAMPLE, "--output", "markdown=-"]);
    assert!(out.starts_with("# Postmortem draft"));
    let (_, err, code) = run(&["analyze", SAMPLE, "--output", "pdf=x.pdf"]);
    assert_eq!(code, 2, "{err}");
}

fn write_stub(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Stub `kubectl` and `vault` that answer from the sample's files.
fn stubs(dir: &Path, sample: &Path) {
    let s = sample.display();
    write_stub(
        dir,
        "kubectl",
        &format!(
            r#"#!/bin/sh
S='{s}'
printf '%s\n' "kubectl $*" >> "$STUB_LOG"
strip() {{ sed '1{{/^\$ /d;}}' "$1"; }}
case "$*" in
  "config current-context") echo prod-eu-1 ;;
  "get clustersecretstores -o yaml") echo 'error: the server does not have a resource type "clustersecretstores"' >&2; exit 1 ;;
  "get pods -n prod -o wide") strip "$S/kubernetes/get-pods-prod-wide.txt" ;;
  "get externalsecrets -n prod") strip "$S/kubernetes/get-externalsecrets-prod.txt" ;;
  "get deployments -A -l "*" -o jsonpath="*) printf 'external-secrets external-secrets\n' ;;
  "get pods -n prod -o jsonpath="*) printf 'order-service-8c7d6e5f4-p2n8q \n' ;;
  "logs deployment/external-secrets -n external-secrets "*) echo '{{"level":"info","ts":"2026-03-19T10:00:00Z","msg":"reconciled"}}' ;;
  "get "*" -n prod -o yaml")
    kind=$2
    if [ -f "$S/kubernetes/$kind-prod.yaml" ]; then strip "$S/kubernetes/$kind-prod.yaml"
    else printf 'apiVersion: v1\nitems: []\nkind: List\n'; fi ;;
  "get "*) printf 'apiVersion: v1\nitems: []\nkind: List\n' ;;
  *) echo "stub kubectl: refusing $*" >&2; exit 99 ;;
esac
"#
        ),
    );
    write_stub(
        dir,
        "vault",
        &format!(
            r#"#!/bin/sh
S='{s}/vault'
echo "vault $*" >> "$STUB_LOG"
strip() {{ sed '1{{/^\$ /d;}}' "$1"; }}
case "$*" in
  "status") strip "$S/status.txt" ;;
  "secrets list -detailed") strip "$S/secrets-list-detailed.txt" ;;
  "auth list") strip "$S/auth-list.txt" ;;
  "policy list") strip "$S/policy-list.txt" ;;
  "policy read "*)
    if [ -f "$S/policy-read-$3.txt" ] && ! grep -q 'No policy named' "$S/policy-read-$3.txt"; then strip "$S/policy-read-$3.txt"
    else echo "No policy named: $3" >&2; exit 2; fi ;;
  "list auth/kubernetes/role") strip "$S/list-auth-kubernetes-role.txt" ;;
  "read auth/kubernetes/role/"*) strip "$S/read-auth-kubernetes-role-${{2##*/}}.txt" ;;
  "read sys/mounts/registry-creds/tune") strip "$S/read-sys-mounts-registry-creds-tune.txt" ;;
  "list registry-creds") printf 'Keys\n----\ncreds/\n' ;;
  *) echo "stub vault: refusing $*" >&2; exit 99 ;;
esac
"#
        ),
    );
}

#[test]
fn collect_script_passes_shellcheck() {
    let script = report::collect::script(&report::collect::CollectSpec {
        namespaces: vec!["prod".into(), "it's odd".into()],
        vault_mounts: vec!["registry-creds".into()],
    });
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("NOTICE: shellcheck is not installed; skipping it (.ci/run installs it)");
        return;
    }
    let tmp = tempdir("shellcheck");
    let f = tmp.join("collect.sh");
    std::fs::write(&f, script).unwrap();
    let o = Command::new("shellcheck")
        .args(["--shell=sh", "--severity=style"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn collect_script_against_stubs_makes_a_bundle_credtrace_reads() {
    let tmp = tempdir("collect");
    let bin_dir = tmp.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let sample_dir = root().join(SAMPLE);
    stubs(&bin_dir, &sample_dir);
    let (script, _, code) = run(&[
        "collect-script",
        "--namespace",
        "prod",
        "--vault-mount",
        "registry-creds",
    ]);
    assert_eq!(code, 0);
    let f = tmp.join("collect.sh");
    std::fs::write(&f, &script).unwrap();
    let out = tmp.join("bundle");
    let log = tmp.join("calls.log");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("sh")
        .arg(&f)
        .arg(&out)
        .env("PATH", path)
        .env("STUB_LOG", &log)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // read-only: every call is a get, a config read, or a Vault read/list
    let calls = std::fs::read_to_string(&log).unwrap();
    for c in calls.lines() {
        let ok = c.starts_with("kubectl get ")
            || c.starts_with("kubectl logs ")
            || c == "kubectl config current-context"
            || [
                "status",
                "secrets list",
                "auth list",
                "policy list",
                "policy read",
                "list ",
                "read ",
            ]
            .iter()
            .any(|p| c.strip_prefix("vault ").is_some_and(|r| r.starts_with(p)));
        assert!(ok, "not a read: {c}");
        assert!(!c.contains("/creds/"), "a dynamic credential was read: {c}");
    }
    // the manifest
    let manifest: Value =
        serde_yaml::from_str(&std::fs::read_to_string(out.join("credtrace.yaml")).unwrap())
            .unwrap();
    assert_eq!(manifest["cluster"], "prod-eu-1");
    assert!(
        credtrace::model::time::parse_rfc3339(manifest["captured_at"].as_str().unwrap()).is_some()
    );
    let cmds = manifest["commands"].as_array().unwrap();
    assert!(cmds.iter().any(|c| c["exit_code"] == 1
        && c["command"]
            .as_str()
            .unwrap()
            .contains("clustersecretstores")));
    assert!(
        cmds.iter()
            .any(|c| c["exit_code"] == 2
                && c["command"] == "vault policy read order-service-registry")
            || !calls.contains("policy read order-service-registry")
    );
    for c in cmds {
        assert!(out.join(c["output"].as_str().unwrap()).exists(), "{c}");
    }
    // no secret value reached the disk
    let secrets = secret_values(&sample_dir);
    let mut files = Vec::new();
    walk(&out, &mut files);
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret value reached {}",
                f.display()
            );
        }
    }
    let secrets_yaml = std::fs::read_to_string(out.join("kubernetes/secrets-prod.yaml")).unwrap();
    assert!(
        secrets_yaml.contains(".dockerconfigjson: sha256:"),
        "{secrets_yaml}"
    );
    // credtrace reads it and still finds the root cause (no audit log: no author)
    let b = bundle::open(out.to_str().unwrap(), Limits::default()).unwrap();
    let a = analyze(&b, &Options::default());
    let v: Value = serde_json::from_str(&report::render(&a, Format::Json, false)).unwrap();
    assert_eq!(v["bundle"]["captured_at_inferred"], false);
    assert_eq!(v["bundle"]["cluster"], "prod-eu-1");
    let d = &v["diagnoses"][0];
    assert_eq!(d["symptom"]["kind"], "Pod", "{:#}", v["diagnoses"]);
    assert_eq!(d["root_cause"]["name"], "order-service-registry", "{d:#}");
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn no_secret_value_in_any_report() {
    let secrets = secret_values(&root().join(SAMPLE));
    assert!(secrets.len() >= 8);
    let a = sample_analysis();
    let mut outputs: Vec<String> = [Format::Table, Format::Json, Format::Markdown, Format::Sarif]
        .iter()
        .map(|f| report::render(&a, *f, true))
        .collect();
    let whole = graph::select(&a.graph, None, None);
    for f in [
        graph::GraphFormat::Dot,
        graph::GraphFormat::Mermaid,
        graph::GraphFormat::Json,
        graph::GraphFormat::Svg,
    ] {
        outputs.push(graph::render(&whole, f));
    }
    let (old, new) = diff_pair();
    let d = report::diff::diff(&old, &new);
    outputs.push(report::diff::render_text(&d, true));
    outputs.push(report::diff::render_json(&d));
    let healthy = analyze_rel("samples/healthy", Policy::default());
    let d = report::diff::diff(&healthy, &new);
    outputs.push(report::diff::render_text(&d, false));
    outputs.push(report::diff::render_json(&d));
    for args in [
        vec!["graph", SAMPLE, "--format", "svg"],
        vec!["diff", "samples/healthy", SAMPLE, "--format", "json"],
        vec!["analyze", SAMPLE, "--format", "markdown"],
        vec!["analyze", SAMPLE, "--format", "sarif"],
    ] {
        let (out, err, _) = run(&args);
        outputs.push(out);
        outputs.push(err);
    }
    for out in &outputs {
        for s in &secrets {
            assert!(
                !out.contains(s.as_str()),
                "a secret value leaked into a report"
            );
        }
    }
}

#[test]
fn readme_rule_list_matches_the_registry() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let updated = report::rules::update_readme(&readme).expect("README has the rules markers");
    if updated != readme && std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, &updated).unwrap();
        return;
    }
    assert!(
        updated == readme,
        "README's rule list is out of date: run `UPDATE_README=1 cargo test readme_rule_list`"
    );
}

#[test]
fn rules_explain_completions_and_man() {
    let (out, _, code) = run(&["rules", "--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v.as_array().unwrap().len(),
        credtrace::rules::registry().len()
    );
    let (out, _, code) = run(&["rules", "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(out.contains("| `CT-VAULT-001` |"));
    let (out, _, code) = run(&["explain", "role-references-missing-policy"]);
    assert_eq!(code, 0);
    assert!(out.contains("CT-VAULT-001"));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (out, err, code) = run(&["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("collect-script"), "{shell}");
    }
    let (out, _, code) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH credtrace"),
        "{}",
        &out[..200.min(out.len())]
    );
}

#[test]
fn works_as_a_kubectl_plugin() {
    let tmp = tempdir("plugin");
    let link = tmp.join("kubectl-credtrace");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let o = Command::new(&link).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("Usage: kubectl credtrace"), "{help}");
    let o = Command::new(&link)
        .current_dir(root())
        .args(["analyze", SAMPLE, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn no_colour_unless_asked() {
    let (out, _, _) = run(&["analyze", SAMPLE]);
    assert!(!out.contains("\x1b["));
    let (out, _, _) = run(&["analyze", SAMPLE, "--color", "always"]);
    assert!(out.contains("\x1b["));
    let o = Command::new(bin())
        .current_dir(root())
        .args(["diff", "samples/healthy", SAMPLE, "--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("\x1b["));
}
