//! What every ChatFlow service binary shares.
//!
//! A service's `main` reads roughly top to bottom through this crate:
//!
//! 1. [`config::load`] its configuration (defaults → file → `CHATFLOW_*` env → flags),
//! 2. [`telemetry::init`] logs and traces, [`metrics::install_prometheus`],
//! 3. [`serve::bind`] its listeners and run [`serve::serve_http`] /
//!    [`serve::serve_grpc`] with the routers of [`health::Health`] and
//!    [`metrics::metrics_route`] merged in,
//! 4. [`shutdown::listen_for_signals`] and, once triggered,
//!    [`shutdown::graceful`] in the documented order.
//!
//! Nothing here keeps global state of its own: the caller owns every handle
//! (the only process-wide things are the ones the ecosystem forces — the
//! tracing subscriber and the metrics recorder — and installing either twice
//! is an error, not a panic).
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use chatflow_runtime::shutdown::{self, Shutdown};
//! use chatflow_runtime::telemetry::{self, TelemetryConfig};
//! use chatflow_runtime::{Health, config, metrics, serve};
//!
//! #[derive(Default, serde::Serialize, serde::Deserialize)]
//! #[serde(default)]
//! struct Config {
//!     http_addr: String,
//!     telemetry: TelemetryConfig,
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config: Config = config::load(None, &())?;
//!     let telemetry = telemetry::init(&config.telemetry)?;
//!     let prometheus = metrics::install_prometheus()?;
//!     let (health, shutdown) = (Health::new(), Shutdown::new());
//!     shutdown::listen_for_signals(shutdown.clone());
//!
//!     let router = health.router().merge(metrics::metrics_route(prometheus));
//!     let listener = serve::bind(&config.http_addr).await?;
//!     shutdown.spawn("http", serve::serve_http(listener, router, shutdown.token()));
//!     health.set_ready(true);
//!
//!     shutdown.triggered().await;
//!     shutdown::graceful(&shutdown, &health, Duration::from_secs(20), Some(telemetry)).await;
//!     Ok(())
//! }
//! ```

// Tests may unwrap; the library itself is still linted in the normal build.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod clock;
pub mod config;
pub mod grpc;
pub mod health;
pub mod http_error;
pub mod metrics;
pub mod propagation;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
pub mod text;

mod ignored;

pub use config::Secret;
pub use health::Health;
pub use http_error::{ApiError, ApiJson};
pub use shutdown::Shutdown;
