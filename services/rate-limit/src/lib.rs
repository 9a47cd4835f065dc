//! The `rate-limit` service: shared throttling for the whole fleet.
//!
//! Limits follow GCRA (the generic cell rate algorithm): a [`Policy`] admits
//! `limit` requests per `period` on average and `burst` at once, per action
//! (`auth.login.ip`, `messages.send.user`, ...) and subject (a user, an IP, a
//! phone number). Every check is one atomic script call on the cache port
//! (`chatflow_cache::gcra()`): Redis in production, so all nodes share one
//! count and N parallel requests against a limit of L admit exactly L; the
//! in-process store when embedded.
//!
//! Three ways in:
//! - [`RateLimitLayer`]: a tower layer any axum router or tonic service adds
//!   in one line, answering 429 / `RESOURCE_EXHAUSTED` with `Retry-After`
//!   and `RateLimit-*` headers;
//! - [`RateLimiter::check`]: the same decision as a call, for code that is
//!   not a tower service but links this crate and has the cache;
//! - gRPC `chatflow.ratelimit.v1.RateLimitService/Check`, served by
//!   [`RateLimitService`], for everyone else.
//!
//! Policies come from the service [`Config`] (built-in defaults overlaid by
//! the file) and, per action, from the config service's JSON flag
//! [`POLICY_FLAG`] read from a `FlagCache` at check time: **flag > file**.
//! When the cache is unreachable a policy fails open (admits, uncounted) or
//! closed (refuses with `Unavailable`); auth and one-time-code actions fail
//! closed by default, the rest open (see [`default_fail_open`]).

mod error;
mod grpc;
pub mod key;
mod launcher;
mod layer;
mod limiter;
mod live;
pub mod metrics;
mod policy;
mod service;
mod settings;

pub use error::RateLimitError;
pub use grpc::GrpcApi;
pub use launcher::RateLimitLauncher;
pub use layer::{RATELIMIT_LIMIT, RATELIMIT_REMAINING, RATELIMIT_RESET, RateLimit, RateLimitLayer};
pub use limiter::{Decision, MAX_COST, MAX_KEY_BYTES, RateLimiter};
pub use live::POLICY_FLAG;
pub use policy::{
    MAX_ACTION_LEN, MAX_BURST_FACTOR, MAX_PERIOD, Policies, Policy, PolicySpec, check_action,
    default_fail_open,
};
pub use service::{Deps, Listeners, RateLimitService};
pub use settings::{Config, default_policies};
