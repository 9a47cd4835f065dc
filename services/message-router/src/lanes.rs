//! Priority lanes: bounded queues in front of a fixed pool of workers.
//!
//! Writes are queued by [`Lane`]: `urgent` (system notices), `normal`
//! (direct conversations and small groups), `bulk` (large groups). A free
//! worker always takes the oldest urgent job, else the oldest normal one,
//! else the oldest bulk one, so under overload urgent work waits for at most
//! the jobs already running, while bulk waits for everything ahead of it. A
//! full lane refuses new work at once with a retriable `Unavailable`
//! instead of letting latency grow without bound.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::settings::LaneConfig;
use crate::{RouterError, metrics as m};

/// Which queue a write waits in; earlier variants are served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// System notices.
    Urgent,
    /// Direct conversations and small groups.
    Normal,
    /// Conversations above the member threshold.
    Bulk,
}

impl Lane {
    /// Every lane, highest priority first.
    pub const ALL: [Lane; 3] = [Lane::Urgent, Lane::Normal, Lane::Bulk];

    /// The lane's name in metrics and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::Normal => "normal",
            Self::Bulk => "bulk",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Default)]
struct Queues {
    lanes: [VecDeque<(Instant, Job)>; 3],
    closed: bool,
}

struct Inner {
    queues: Mutex<Queues>,
    capacity: [usize; 3],
    /// One permit per queued job: a worker holding one is sure to find a job.
    queued: Semaphore,
}

/// The lanes and their queued jobs; cheap to clone.
#[derive(Clone)]
pub struct Lanes {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Lanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes")
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

impl Lanes {
    /// Empty lanes holding at most `capacity[lane]` queued jobs each
    /// (urgent, normal, bulk).
    pub fn new(capacity: [usize; 3]) -> Self {
        Self {
            inner: Arc::new(Inner {
                queues: Mutex::new(Queues::default()),
                capacity,
                queued: Semaphore::new(0),
            }),
        }
    }

    /// Lanes sized as `config` says.
    pub fn from_config(config: &LaneConfig) -> Self {
        Self::new([
            config.urgent_capacity,
            config.normal_capacity,
            config.bulk_capacity,
        ])
    }

    /// Queues `job` in `lane`; the receiver gets its output once a worker ran it
    /// (or an error if the lanes closed first). A full or closed lane refuses.
    pub fn submit<F, T>(&self, lane: Lane, job: F) -> Result<oneshot::Receiver<T>, RouterError>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::pin(async move {
            // The caller may have given up; the work is done either way.
            let _ = tx.send(job.await);
        });
        let depth = {
            let mut queues = self.inner.queues.lock();
            if queues.closed {
                return Err(RouterError::ShuttingDown);
            }
            let queue = &mut queues.lanes[lane.index()];
            if queue.len() >= self.inner.capacity[lane.index()] {
                metrics::counter!(m::LANE_REJECTIONS, "lane" => lane.as_str()).increment(1);
                return Err(RouterError::Overloaded {
                    lane: lane.as_str(),
                });
            }
            queue.push_back((Instant::now(), job));
            queue.len()
        };
        metrics::gauge!(m::LANE_DEPTH, "lane" => lane.as_str()).set(depth as f64);
        self.inner.queued.add_permits(1);
        Ok(rx)
    }

    /// Jobs waiting in `lane`.
    pub fn depth(&self, lane: Lane) -> usize {
        self.inner.queues.lock().lanes[lane.index()].len()
    }

    /// Refuses new jobs and drops queued ones (their callers see the lanes closed).
    pub fn close(&self) {
        let dropped: Vec<_> = {
            let mut queues = self.inner.queues.lock();
            queues.closed = true;
            queues.lanes.iter_mut().flat_map(std::mem::take).collect()
        };
        drop(dropped);
        for lane in Lane::ALL {
            metrics::gauge!(m::LANE_DEPTH, "lane" => lane.as_str()).set(0.0);
        }
    }

    /// Starts `workers` tasks that run jobs, highest lane first, until `stop`.
    /// A worker finishes the job it is running before it stops.
    pub fn spawn_workers(&self, workers: usize, stop: CancellationToken) -> Vec<JoinHandle<()>> {
        (0..workers.max(1))
            .map(|_| {
                let (lanes, stop) = (self.clone(), stop.clone());
                tokio::spawn(async move {
                    while let Some(job) = lanes.next(&stop).await {
                        job.await;
                    }
                })
            })
            .collect()
    }

    /// Waits for a job and takes the highest-priority, oldest one.
    async fn next(&self, stop: &CancellationToken) -> Option<Job> {
        let permit = tokio::select! {
            biased;
            _ = stop.cancelled() => return None,
            permit = self.inner.queued.acquire() => permit.ok()?,
        };
        permit.forget();
        let (lane, queued_at, job, depth) = {
            let mut queues = self.inner.queues.lock();
            let lane = Lane::ALL
                .into_iter()
                .find(|lane| !queues.lanes[lane.index()].is_empty())?;
            let queue = &mut queues.lanes[lane.index()];
            let (queued_at, job) = queue.pop_front()?;
            (lane, queued_at, job, queue.len())
        };
        metrics::gauge!(m::LANE_DEPTH, "lane" => lane.as_str()).set(depth as f64);
        metrics::histogram!(m::LANE_WAIT_SECONDS, "lane" => lane.as_str())
            .record(queued_at.elapsed().as_secs_f64());
        Some(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the only worker busy and the bulk lane full, an urgent job queued
    /// last is still the first to run once the worker is free.
    #[tokio::test]
    async fn urgent_work_overtakes_a_saturated_bulk_lane() {
        let lanes = Lanes::new([4, 4, 8]);
        let order = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started_rx) = oneshot::channel();
        let (gate_tx, gate_rx) = oneshot::channel::<()>();
        let stop = CancellationToken::new();
        let workers = lanes.spawn_workers(1, stop.clone());

        let blocker = lanes
            .submit(Lane::Normal, async move {
                let _ = started_tx.send(());
                let _ = gate_rx.await;
            })
            .unwrap();
        started_rx.await.unwrap();

        let mut done = Vec::new();
        for i in 0..8 {
            let order = order.clone();
            done.push(
                lanes
                    .submit(
                        Lane::Bulk,
                        async move { order.lock().push(format!("bulk-{i}")) },
                    )
                    .unwrap(),
            );
        }
        let full = lanes.submit(Lane::Bulk, async {});
        assert!(matches!(
            full,
            Err(RouterError::Overloaded { lane: "bulk" })
        ));
        let normal = order.clone();
        done.push(
            lanes
                .submit(
                    Lane::Normal,
                    async move { normal.lock().push("normal".into()) },
                )
                .unwrap(),
        );
        let urgent = order.clone();
        done.push(
            lanes
                .submit(
                    Lane::Urgent,
                    async move { urgent.lock().push("urgent".into()) },
                )
                .unwrap(),
        );
        assert_eq!(lanes.depth(Lane::Bulk), 8);

        gate_tx.send(()).unwrap();
        blocker.await.unwrap();
        for rx in done {
            rx.await.unwrap();
        }
        let order = order.lock().clone();
        assert_eq!(order[0], "urgent");
        assert_eq!(order[1], "normal");
        let bulk: Vec<String> = (0..8).map(|i| format!("bulk-{i}")).collect();
        assert_eq!(order[2..], bulk[..], "bulk keeps its own order");
        stop.cancel();
        for worker in workers {
            worker.await.unwrap();
        }
    }

    #[tokio::test]
    async fn closed_lanes_refuse_and_drop_queued_work() {
        let lanes = Lanes::new([1, 1, 1]);
        let queued = lanes.submit(Lane::Normal, async { 7 }).unwrap();
        lanes.close();
        assert!(queued.await.is_err(), "queued job survived close");
        assert!(matches!(
            lanes.submit(Lane::Urgent, async {}),
            Err(RouterError::ShuttingDown)
        ));
    }
}
