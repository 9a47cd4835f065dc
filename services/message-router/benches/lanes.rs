//! Queueing latency of an urgent write versus a bulk write while the bulk
//! lane is saturated: the measured time is from submitting the probe job to
//! a worker starting it. Two workers run jobs that each take ~20 µs of CPU
//! (a stand-in for a store write), behind 255 queued bulk jobs.
//!
//! Besides criterion's report, a summary line prints p50/p99 of both and
//! their ratio (`cargo bench -p chatflow-message-router --bench lanes`).
//! Nothing is asserted: the deterministic ordering test lives in `lanes.rs`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chatflow_message_router::{Lane, Lanes};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

const WORKERS: usize = 2;
const BULK_CAPACITY: usize = 256;
const JOB_COST: Duration = Duration::from_micros(20);

/// Burns `JOB_COST` of CPU, as a store write would take time.
fn work() {
    let until = Instant::now() + JOB_COST;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Running lanes with their workers.
struct Setup {
    runtime: Runtime,
    lanes: Lanes,
    stop: CancellationToken,
}

impl Setup {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap();
        let lanes = Lanes::new([BULK_CAPACITY, BULK_CAPACITY, BULK_CAPACITY]);
        let stop = CancellationToken::new();
        {
            let _guard = runtime.enter();
            drop(lanes.spawn_workers(WORKERS, stop.clone()));
        }
        Self {
            runtime,
            lanes,
            stop,
        }
    }

    /// Saturates the bulk lane, queues a probe in `lane`, and returns how
    /// long the probe waited for a worker; waits until every job is done.
    fn probe(&self, lane: Lane) -> Duration {
        self.runtime.block_on(async {
            let mut done = Vec::with_capacity(BULK_CAPACITY);
            for _ in 0..BULK_CAPACITY - 1 {
                done.push(self.lanes.submit(Lane::Bulk, async { work() }).unwrap());
            }
            let (started_tx, started_rx) = oneshot::channel();
            let submitted = Instant::now();
            let probe = self
                .lanes
                .submit(lane, async move {
                    let _ = started_tx.send(Instant::now());
                    work();
                })
                .unwrap();
            let started = started_rx.await.unwrap();
            probe.await.unwrap();
            for rx in done {
                rx.await.unwrap();
            }
            started.duration_since(submitted)
        })
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Prints p50/p99 of both probes and the bulk/urgent ratio.
fn summary(setup: &Setup) {
    const TRIALS: usize = 200;
    let mut stats = Vec::new();
    for lane in [Lane::Urgent, Lane::Bulk] {
        let mut waits: Vec<Duration> = (0..TRIALS).map(|_| setup.probe(lane)).collect();
        waits.sort_unstable();
        stats.push((percentile(&waits, 0.5), percentile(&waits, 0.99)));
    }
    let ((u50, u99), (b50, b99)) = (stats[0], stats[1]);
    println!(
        "lanes summary ({TRIALS} trials, {WORKERS} workers, {} queued bulk jobs of {JOB_COST:?}): \
         urgent p50 {u50:?} p99 {u99:?}; bulk p50 {b50:?} p99 {b99:?}; \
         bulk/urgent p50 ratio {:.0}x, p99 ratio {:.0}x",
        BULK_CAPACITY - 1,
        b50.as_secs_f64() / u50.as_secs_f64().max(1e-9),
        b99.as_secs_f64() / u99.as_secs_f64().max(1e-9),
    );
}

fn lanes(c: &mut Criterion) {
    let setup = Setup::new();
    summary(&setup);
    let mut group = c.benchmark_group("queue_wait_with_bulk_saturated");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for (name, lane) in [("urgent", Lane::Urgent), ("bulk", Lane::Bulk)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| black_box(setup.probe(lane))).sum())
        });
    }
    group.finish();
}

criterion_group!(benches, lanes);
criterion_main!(benches);
