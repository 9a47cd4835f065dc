//! Running a set of services in one process, from start-up to graceful exit.

use std::time::Duration;

use chatflow_runtime::{Health, Shutdown, metrics, serve, shutdown, telemetry};

use crate::{Endpoint, Platform, PlatformConfig, PlatformError, ServiceLauncher};

/// Starts telemetry, the shared backends, every launcher and the ops server,
/// prints where everything listens, then waits for SIGTERM/SIGINT and shuts
/// down in order (not ready → drain → stop → flush telemetry).
pub async fn run_fleet(
    config: PlatformConfig,
    launchers: Vec<Box<dyn ServiceLauncher>>,
) -> Result<(), PlatformError> {
    let telemetry_guard = telemetry::init(&config.telemetry)
        .map_err(|e| PlatformError::Config(format!("telemetry: {e}")))?;
    let prometheus = metrics::install_prometheus()
        .map_err(|e| PlatformError::Config(format!("metrics: {e}")))?;
    let drain_deadline = Duration::from_secs(config.drain_deadline_secs);
    let ops_addr = config.ops_addr.clone();

    let shutdown = Shutdown::new();
    shutdown::listen_for_signals(shutdown.clone());
    let health = Health::new();
    let platform = Platform::connect(config, health.clone(), shutdown.clone()).await?;

    let mut endpoints = Vec::new();
    for launcher in &launchers {
        endpoints.extend(launcher.launch(&platform).await?);
    }
    refuse_missing_handles(&platform)?;

    let ops_listener = serve::bind(&ops_addr)
        .await
        .map_err(|e| PlatformError::Bind {
            addr: ops_addr.clone(),
            reason: e.to_string(),
        })?;
    let ops_url = format!("http://{}", local_addr(&ops_listener));
    let ops_router = health.router().merge(metrics::metrics_route(prometheus));
    // The ops server outlives the drain so probes keep seeing 503 until exit.
    let ops_stop = tokio_util::sync::CancellationToken::new();
    let ops_task = tokio::spawn(serve::serve_http(
        ops_listener,
        ops_router,
        ops_stop.clone(),
    ));

    health.set_ready(true);
    print_banner(&platform, &endpoints, &ops_url);

    shutdown.triggered().await;
    tracing::info!("shutting down");
    let drained =
        shutdown::graceful(&shutdown, &health, drain_deadline, Some(telemetry_guard)).await;
    ops_stop.cancel();
    let _ = ops_task.await;
    if !drained {
        tracing::warn!("some tasks did not finish before the drain deadline");
    }
    Ok(())
}

/// Fails start-up when a service relies on a neighbour that is not running
/// here (e.g. it verifies tokens in-process but auth runs elsewhere).
fn refuse_missing_handles(platform: &Platform) -> Result<(), PlatformError> {
    let missing = platform.handles().missing();
    if missing.is_empty() {
        return Ok(());
    }
    let needs: Vec<String> = missing
        .into_iter()
        .map(|(handle, setting)| format!("{setting} (no {handle} in this process)"))
        .collect();
    Err(PlatformError::Config(format!("set {}", needs.join(", "))))
}

fn local_addr(listener: &tokio::net::TcpListener) -> String {
    listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// The start-up summary a newcomer reads: what runs, where, on which backends.
fn print_banner(platform: &Platform, endpoints: &[Endpoint], ops_url: &str) {
    let config = platform.config();
    let mode = if config.production {
        "production"
    } else {
        "development"
    };
    println!(
        "ChatFlow is up ({mode}, event bus: {}).",
        platform.bus().backend()
    );
    if !config.production {
        println!("  data directory: {}", config.data_dir.display());
    }
    for endpoint in endpoints {
        println!(
            "  {:<16} {:<5} {}",
            endpoint.service, endpoint.protocol, endpoint.url
        );
    }
    println!(
        "  {:<16} {:<5} {ops_url}/healthz  {ops_url}/readyz  {ops_url}/metrics",
        "ops", "http"
    );
    println!("Press Ctrl-C to stop.");
}
