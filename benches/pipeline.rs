//! Benchmarks of each stage on synthetic fleets (tests/it/synth.rs): parser throughput in
//! MB/s, graph build, the rule passes, and end to end on 1k and 10k services, as a
//! directory and as .tar.gz. `benches/README.md` has the figures and the floors.
//!
//! `cargo bench --bench pipeline` (all), `cargo bench --bench pipeline -- e2e/1k` (one group).

#[path = "../tests/it/synth.rs"]
mod synth;

use credtrace::bundle::{self, Limits};
use credtrace::graph::Graph;
use credtrace::ingest::{self, text::Command};
use credtrace::model::build::ClockPolicy;
use credtrace::model::Snapshot;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The allocator the `credtrace` binary runs with (see its `main.rs`): with the system's, the
/// end-to-end runs measured here took nearly twice as long as the binary's on a fleet.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fleet(services: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data")
        .join(format!("fleet-{services}"));
    if !dir.join("credtrace.yaml").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        synth::write(
            &synth::Spec {
                services,
                per_namespace: 25,
                broken: 0.02,
                seed: 7,
            },
            &dir,
        );
    }
    dir
}

fn tar_gz(dir: &Path) -> PathBuf {
    let out = dir.with_extension("tar.gz");
    if !out.exists() {
        let enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&out).unwrap(),
            flate2::Compression::default(),
        );
        let mut t = tar::Builder::new(enc);
        t.append_dir_all("bundle", dir).unwrap();
        t.into_inner().unwrap().finish().unwrap();
    }
    out
}

fn limits() -> Limits {
    Limits {
        max_total_bytes: 8 << 30,
        max_entry_bytes: 1 << 30,
        ..Limits::default()
    }
}

fn parsers(c: &mut Criterion) {
    let dir = fleet(1000);
    let mut g = c.benchmark_group("ingest");
    let cases: Vec<(&str, PathBuf, Option<&str>)> = vec![
        (
            "pods-json-list",
            dir.join("kubernetes/pods-team-000.json"),
            Some("kubectl get pods -n team-000 -o json"),
        ),
        (
            "secrets-json-list",
            dir.join("kubernetes/secrets-team-000.json"),
            Some("kubectl get secrets -n team-000 -o json"),
        ),
        (
            "externalsecrets-json-list",
            dir.join("kubernetes/externalsecrets-team-000.json"),
            None,
        ),
        ("vault-role-table", dir.join("vault/role-eso.txt"), None),
    ];
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/order-service-imagepull");
    let mut cases = cases;
    cases.push((
        "sample-describe-externalsecret",
        sample.join("kubernetes/describe-externalsecret-order-service-regcred.txt"),
        None,
    ));
    cases.push(("sample-audit-log", sample.join("vault/audit.log"), None));
    cases.push((
        "sample-pods-yaml",
        sample.join("kubernetes/pods-prod.yaml"),
        None,
    ));
    for (name, path, hint) in cases {
        let data = std::fs::read(&path).unwrap();
        let p: Arc<str> = Arc::from(name);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| ingest::ingest_file(&p, &data, hint.map(Command::parse)))
        });
    }
    g.finish();
}

fn stages(c: &mut Criterion) {
    let dir = fleet(1000);
    let b = bundle::open(dir.to_str().unwrap(), limits()).unwrap();
    let facts = ingest::ingest(&b).facts;
    let snap = Snapshot::build(facts.clone(), ClockPolicy::default());
    let graph = Graph::build(&snap);
    let mut g = c.benchmark_group("stages-1k");
    g.sample_size(20);
    g.bench_function("ingest", |bch| bch.iter(|| ingest::ingest(&b)));
    // the facts are copied for each run outside the timing: the stage takes them by value
    g.bench_function("model", |bch| {
        bch.iter_batched(
            || facts.clone(),
            |f| Snapshot::build(f, ClockPolicy::default()),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("graph", |bch| bch.iter(|| Graph::build(&snap)));
    g.bench_function("rules", |bch| {
        bch.iter(|| credtrace::rules::run(&snap, &graph))
    });
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    for services in [1000usize, 10_000] {
        let dir = fleet(services);
        let tgz = tar_gz(&dir);
        let mut g = c.benchmark_group(format!("e2e/{}k", services / 1000));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(if services > 1000 { 60 } else { 15 }));
        for (label, path) in [("dir", dir.clone()), ("tar.gz", tgz)] {
            g.bench_with_input(BenchmarkId::from_parameter(label), &path, |bch, p| {
                bch.iter(|| {
                    let b = bundle::open(p.to_str().unwrap(), limits()).unwrap();
                    credtrace::analyze(
                        &b,
                        &credtrace::Options {
                            limits: limits(),
                            ..Default::default()
                        },
                    )
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, parsers, stages, end_to_end);
criterion_main!(benches);
