//! Writes a synthetic fleet bundle for benchmarks and soak tests:
//! `cargo run --release --example synth -- --services 10000 --out DIR [--broken 0.02] [--seed 7]`.
//! The expected root causes go to `DIR.expected.json`, outside the bundle.
//! `synth --check DIR.expected.json ANALYSIS.json` compares the root causes of an
//! `analyze --format json` output with them (exit 1 on any missed or extra one).

#[path = "../tests/it/synth.rs"]
mod synth;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(expected) = get("--check") {
        let analysis = args.last().cloned().unwrap_or_default();
        std::process::exit(check(&expected, &analysis));
    }
    let services: usize = get("--services")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let broken: f64 = get("--broken").and_then(|v| v.parse().ok()).unwrap_or(0.02);
    let seed: u64 = get("--seed").and_then(|v| v.parse().ok()).unwrap_or(7);
    let out = get("--out").unwrap_or_else(|| "synth-bundle".into());
    let dir = std::path::Path::new(&out);
    let _ = std::fs::remove_dir_all(dir);
    let planted = synth::write(
        &synth::Spec {
            services,
            per_namespace: 25,
            broken,
            seed,
        },
        dir,
    );
    let expected: Vec<_> = planted
        .iter()
        .map(|p| serde_json::json!({"fm": p.fm, "root_cause": p.root_cause}))
        .collect();
    std::fs::write(
        format!("{out}.expected.json"),
        serde_json::to_string_pretty(&expected).unwrap(),
    )
    .unwrap();
    eprintln!("wrote {services} services to {out} ({} broken chains; expected answer in {out}.expected.json)", planted.len());
}

/// Planted root causes against diagnosed ones; prints the tally, returns the exit code.
fn check(expected: &str, analysis: &str) -> i32 {
    use std::collections::BTreeSet;
    let read = |p: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {p}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{p} is not JSON: {e}"))
    };
    let planted: BTreeSet<String> = read(expected)
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["root_cause"].as_str().map(str::to_string))
        .collect();
    let found: BTreeSet<String> = read(analysis)["diagnoses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| synth::subject_id(&d["root_cause"]))
        .collect();
    let missed: Vec<_> = planted.difference(&found).collect();
    let extra: Vec<_> = found.difference(&planted).collect();
    println!(
        "{} planted, {} diagnosed with the planted root cause, {} missed, {} extra",
        planted.len(),
        planted.len() - missed.len(),
        missed.len(),
        extra.len()
    );
    for m in &missed {
        println!("missed: {m}");
    }
    for e in &extra {
        println!("extra: {e}");
    }
    i32::from(!missed.is_empty() || !extra.is_empty())
}
