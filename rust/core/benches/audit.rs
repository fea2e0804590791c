//! Audit log throughput: verifying (parse, RFC 8785 canonicalization,
//! SHA-256, chain links, Merkle root) and appending, in entries per second.
//!
//! `cargo bench -p evospikenet-core --bench audit`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use evospikenet_core::audit::{verify_file, Appender, NewEntry};
use serde_json::json;

const N: u64 = 100_000;

fn entry(i: u64) -> NewEntry {
    NewEntry {
        actor: format!("user{}", i % 17),
        action: "simulate.run".to_owned(),
        resource: format!("/runs/{i}"),
        result: "success".to_owned(),
        detail: json!({"seed": i, "model": "brunel", "outputs": {"spikes.parquet": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}),
    }
}

fn log_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("evospikenet-bench-{}-{name}", std::process::id()))
}

fn bench(c: &mut Criterion) {
    let path = log_path("verify.jsonl");
    let _ = std::fs::remove_file(&path);
    let entries: Vec<NewEntry> = (0..N).map(entry).collect();
    let mut appender = Appender::new(&path);
    for chunk in entries.chunks(10_000) {
        appender.append(chunk, false).unwrap();
    }

    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N));
    group.bench_function("verify_100k", |b| {
        b.iter(|| {
            let report = verify_file(black_box(&path), None).unwrap();
            assert!(report.valid);
        });
    });
    let append_path = log_path("append.jsonl");
    group.bench_function("append_100k_batched_no_fsync", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_file(&append_path);
                Appender::new(&append_path)
            },
            |mut appender| {
                for chunk in entries.chunks(1_000) {
                    appender.append(chunk, false).unwrap();
                }
                appender.sync().unwrap();
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&append_path);
}

criterion_group!(benches, bench);
criterion_main!(benches);
