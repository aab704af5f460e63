//! Persistence at scale: saving (snapshot of the session table, then the atomic JSON write)
//! and restoring (parse, then rebuilding the table) 10 k, 100 k and 1 M sessions, and the
//! save of a flush after hits alone (the hit record, whatever the sessions).
//! `cargo bench --features stage3 --bench persistence`; it also prints the state file's size.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use session_lab::store::session_table::{SessionTable, new_session_id};
use session_lab::store::{JsonFileStore, SessionRecord, SnapshotStore, State};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A table of `count` live sessions with real (random) ids.
fn table(count: usize) -> SessionTable {
    let records = (0..count)
        .map(|_| SessionRecord {
            id: new_session_id().unwrap(),
            user: "alice".into(),
            last_seen: now(),
        })
        .collect();
    SessionTable::from_records(3600, records, now())
}

fn persistence(c: &mut Criterion) {
    let mut group = c.benchmark_group("persistence");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    for count in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileStore::new(dir.path().join("sessions.json"));
        let sessions = table(count);
        let snapshot = || State {
            hits: 123_456,
            sessions: sessions.records(),
        };
        store.save(&snapshot()).unwrap();
        let size = std::fs::metadata(store.path()).unwrap().len();
        eprintln!(
            "{count} sessions: state file {:.1} MB, {} bytes per session",
            size as f64 / 1e6,
            size / count as u64
        );
        group.bench_with_input(BenchmarkId::new("save", count), &count, |b, _| {
            b.iter(|| store.save(&snapshot()).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("restore", count), &count, |b, _| {
            b.iter(|| {
                SessionTable::from_records(3600, store.load().unwrap().unwrap().sessions, now())
            });
        });
        group.bench_with_input(BenchmarkId::new("save_hits", count), &count, |b, _| {
            b.iter(|| store.save_hits(123_457).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, persistence);
criterion_main!(benches);
