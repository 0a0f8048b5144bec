//! Writes a synthetic fleet bundle for benchmarks and soak tests:
//! `cargo run --release --example synth -- --services 10000 --out DIR [--broken 0.02] [--seed 7]`.
//! The expected root causes go to `DIR.expected.json`, outside the bundle.

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
