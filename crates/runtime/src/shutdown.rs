//! Process shutdown: one signal to stop, tracked tasks to wait for, one order.
//!
//! [`Shutdown`] is passed to everything that runs until the process stops:
//! servers and consumers watch its token, background tasks are spawned on
//! its tracker. [`listen_for_signals`] triggers it on SIGTERM/SIGINT (a second
//! signal forces exit), and [`graceful`] then runs the shutdown order:
//!
//! 1. mark the service draining, so `/readyz` turns 503 and load balancers
//!    stop sending new work;
//! 2. cancel the token, so servers stop accepting and finish in-flight
//!    requests, and consumers commit offsets and stop;
//! 3. wait for tracked tasks up to the drain deadline, logging those that
//!    overran;
//! 4. flush telemetry, so the spans of the shutdown itself are exported.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

use crate::health::Health;
use crate::telemetry::TelemetryGuard;

/// The exit code of a process forced down by a second signal (128 + SIGINT).
pub const FORCED_EXIT_CODE: i32 = 130;

/// The shutdown signal plus the tasks that must finish before the process exits.
///
/// Cheap to clone; all clones share the token and the tracker.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
    running: Arc<Running>,
}

/// Names of the tasks spawned with [`Shutdown::spawn`] that have not finished,
/// so an overrun can be logged by name.
#[derive(Debug, Default)]
struct Running {
    next_id: AtomicU64,
    names: Mutex<BTreeMap<u64, &'static str>>,
}

impl Shutdown {
    /// A fresh, untriggered shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token servers and consumers watch; cancelled by [`Shutdown::trigger`].
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Starts shutting down; idempotent.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once shutdown has started; `'static`, so it can be moved into
    /// `tokio::select!` arms and spawned tasks.
    pub fn triggered(&self) -> WaitForCancellationFutureOwned {
        self.token.clone().cancelled_owned()
    }

    /// The tracker [`graceful`] waits on, for callers that track futures
    /// themselves (`tracker().track_future(..)`); prefer [`Shutdown::spawn`].
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Spawns a task that [`graceful`] waits for; `name` is logged if it
    /// overruns the drain deadline. The task should watch [`Shutdown::token`].
    pub fn spawn<F>(&self, name: &'static str, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = self.running.next_id.fetch_add(1, Ordering::Relaxed);
        self.running.names().insert(id, name);
        // Deregisters on completion, panic or abort alike.
        let guard = Deregister {
            running: self.running.clone(),
            id,
        };
        self.tracker.spawn(async move {
            let _guard = guard;
            task.await
        })
    }

    /// Names of spawned tasks still running.
    fn still_running(&self) -> Vec<&'static str> {
        self.running.names().values().copied().collect()
    }
}

impl Running {
    fn names(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, &'static str>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a task's name when its future is dropped.
struct Deregister {
    running: Arc<Running>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.running.names().remove(&self.id);
    }
}

/// Spawns the signal listener: the first SIGTERM or SIGINT triggers
/// `shutdown`, a second one exits the process with [`FORCED_EXIT_CODE`].
///
/// Must be called inside a Tokio runtime. The listener is not tracked, so it
/// never holds up [`graceful`].
pub fn listen_for_signals(shutdown: Shutdown) {
    tokio::spawn(async move {
        match signals() {
            Ok(signals) => {
                on_signals(shutdown, signals, || std::process::exit(FORCED_EXIT_CODE)).await;
            }
            Err(error) => tracing::error!(%error, "cannot listen for shutdown signals"),
        }
    });
}

/// SIGTERM and SIGINT as one stream of signal names.
#[cfg(unix)]
fn signals() -> std::io::Result<impl Stream<Item = &'static str> + Send + Unpin> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let term =
        futures::stream::poll_fn(move |cx| term.poll_recv(cx).map(|s| s.map(|()| "SIGTERM")));
    let int = futures::stream::poll_fn(move |cx| int.poll_recv(cx).map(|s| s.map(|()| "SIGINT")));
    Ok(futures::stream::select(term, int))
}

/// Ctrl-C only, where there are no Unix signals.
#[cfg(not(unix))]
fn signals() -> std::io::Result<impl Stream<Item = &'static str> + Send + Unpin> {
    Ok(Box::pin(futures::stream::unfold((), |()| async {
        tokio::signal::ctrl_c().await.ok().map(|()| ("ctrl-c", ()))
    })))
}

/// The signal policy, apart from real signals so it can be tested.
async fn on_signals(
    shutdown: Shutdown,
    mut signals: impl Stream<Item = &'static str> + Unpin,
    exit: impl FnOnce(),
) {
    let Some(signal) = signals.next().await else {
        return;
    };
    tracing::info!(
        signal,
        "shutdown signal received, draining; send it again to force exit"
    );
    shutdown.trigger();
    let Some(signal) = signals.next().await else {
        return;
    };
    tracing::warn!(
        signal,
        exit_code = FORCED_EXIT_CODE,
        "second shutdown signal, exiting now"
    );
    exit();
}

/// Shuts down in order: draining → cancel → wait for tasks (up to
/// `drain_deadline`) → flush telemetry. See the module docs.
///
/// Returns `true` when every tracked task finished before the deadline.
pub async fn graceful(
    shutdown: &Shutdown,
    health: &Health,
    drain_deadline: Duration,
    telemetry: Option<TelemetryGuard>,
) -> bool {
    health.set_draining();
    shutdown.trigger();

    shutdown.tracker.close();
    let drained = tokio::time::timeout(drain_deadline, shutdown.tracker.wait())
        .await
        .is_ok();
    if drained {
        tracing::info!("all tasks drained");
    } else {
        let named = shutdown.still_running();
        let unnamed = shutdown.tracker.len().saturating_sub(named.len());
        tracing::warn!(?drain_deadline, tasks = ?named, unnamed, "tasks overran the drain deadline");
    }

    if let Some(guard) = telemetry {
        // The exporter flush blocks; keep it off the runtime's worker threads.
        match tokio::task::spawn_blocking(move || guard.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "telemetry flush failed"),
            Err(error) => tracing::warn!(%error, "telemetry flush panicked"),
        }
    }
    drained
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_signal_triggers_second_exits() {
        let shutdown = Shutdown::new();
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let exited = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = exited.clone();
        let policy = tokio::spawn(on_signals(shutdown.clone(), rx, move || {
            flag.store(true, Ordering::SeqCst)
        }));

        tx.unbounded_send("SIGTERM").unwrap();
        shutdown.triggered().await;
        assert!(!exited.load(Ordering::SeqCst));
        tx.unbounded_send("SIGINT").unwrap();
        policy.await.unwrap();
        assert!(exited.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn graceful_waits_for_tasks_that_watch_the_token() {
        let shutdown = Shutdown::new();
        let health = Health::new();
        health.set_ready(true);
        let token = shutdown.token();
        let done = shutdown.spawn("consumer", async move {
            token.cancelled().await;
            "committed"
        });
        assert!(graceful(&shutdown, &health, Duration::from_secs(5), None).await);
        assert!(!health.is_ready());
        assert_eq!(done.await.unwrap(), "committed");
        assert!(shutdown.still_running().is_empty());
    }

    #[tokio::test]
    async fn graceful_gives_up_at_the_deadline_and_names_the_overrun() {
        let shutdown = Shutdown::new();
        let _stuck = shutdown.spawn("stuck", std::future::pending::<()>());
        let finished = graceful(&shutdown, &Health::new(), Duration::from_millis(20), None).await;
        assert!(!finished);
        assert_eq!(shutdown.still_running(), ["stuck"]);
    }
}
