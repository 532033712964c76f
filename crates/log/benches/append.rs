//! Group-commit cost: one `append` of a batch plus one `sync`, with fsync on, as the partition
//! thread does per batch of commands. Throughput is in records.

use std::hint::black_box;
use std::time::Duration;

use baton_log::{Log, Options};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const PAYLOAD_BYTES: usize = 200;

fn append_sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_sync");
    group.measurement_time(Duration::from_secs(5));
    for batch_len in [1usize, 64, 1024] {
        group.throughput(Throughput::Elements(batch_len as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch_len), &batch_len, |b, &batch_len| {
            let dir = tempfile::tempdir().expect("create temp dir");
            let (mut log, _) = Log::open(dir.path(), Options { fsync: true, ..Options::default() }).expect("open log");
            let payload = vec![0xA5u8; PAYLOAD_BYTES];
            let mut batch: Vec<(u64, &[u8])> = (0..batch_len).map(|_| (0, payload.as_slice())).collect();
            let mut next = 1u64;
            b.iter(|| {
                for (position, _) in &mut batch {
                    *position = next;
                    next += 1;
                }
                log.append(black_box(&batch)).expect("append");
                log.sync().expect("sync");
                // Bounds disk use over long runs; only ever removes rolled-over segments.
                if next % (1 << 20) < batch_len as u64 {
                    log.delete_below(next).expect("delete old segments");
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, append_sync);
criterion_main!(benches);
