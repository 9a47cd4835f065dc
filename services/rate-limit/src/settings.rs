//! The `services.rate-limit` configuration section.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::PolicySpec;

/// Settings of the rate-limit service; defaults suit a laptop.
///
/// Policies written here are the baseline; the config service's JSON flag
/// `ratelimit.policies` overrides them per action, live (flag > file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC (`Check`) address.
    pub grpc_addr: String,
    /// The config service's gRPC URL for live policy flags, e.g.
    /// `http://config:7081`. Unset: the config service in this process, or
    /// else the `services.config.grpc_addr` of this fleet's configuration
    /// (or its default). Empty: no live flags.
    pub flags_url: Option<String>,
    /// Policies by action name. Entries are laid over [`default_policies`]
    /// per action: a file adds actions or replaces a default one whole.
    pub policies: BTreeMap<String, PolicySpec>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            grpc_addr: "127.0.0.1:7121".to_owned(),
            flags_url: None,
            policies: default_policies(),
        }
    }
}

/// The policies a fresh config starts with, one per well-known action.
pub fn default_policies() -> BTreeMap<String, PolicySpec> {
    const MINUTE: u64 = 60_000;
    [
        // Password guesses against one account, from anywhere.
        ("auth.login.account", PolicySpec::new(10, 15 * MINUTE)),
        // Logins from one address; generous for NAT and offices.
        (
            "auth.login.ip",
            PolicySpec::new(100, 15 * MINUTE).with_burst(30),
        ),
        // Verification codes sent to one phone number.
        (
            "auth.verify.phone",
            PolicySpec::new(5, 60 * MINUTE).with_burst(3),
        ),
        // Contact-discovery identifiers looked up by one user per day.
        (
            "profile.discovery.user_day",
            PolicySpec::new(2000, 24 * 60 * MINUTE).with_burst(1000),
        ),
        // Messages sent by one user: 10 per second, bursts of 30.
        (
            "messages.send.user",
            PolicySpec::new(10, 1000).with_burst(30),
        ),
    ]
    .into_iter()
    .map(|(action, spec)| (action.to_owned(), spec))
    .collect()
}
