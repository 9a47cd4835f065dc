//! `chatflow`: runs any set of ChatFlow services in one process.
//!
//! `chatflow up` starts every service on embedded backends under `./data`
//! and prints where to connect; `chatflow serve config …` starts the named
//! ones. Adding a service is one variant and one line in [`launcher`].

use std::process::ExitCode;

use chatflow_platform::ServiceLauncher;

/// Every service the fleet has; `chatflow up` runs them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ServiceName {
    /// Feature flags and dynamic settings.
    Config,
    /// Accounts, passwords, MFA, sessions and signing keys.
    Auth,
    /// Shared throttling (GCRA) for every other service.
    RateLimit,
    /// Profiles, privacy settings, contact discovery and blocks.
    Profile,
    /// Conversations: groups, direct chats, membership, roles, invite links.
    Groups,
    /// Per-conversation ordered, durable messages; edits, deletes, reactions.
    MessageRouter,
    /// Delivered and read marks, unread counts, read-receipt privacy.
    Receipts,
    /// Online / away / offline and last-seen, replicated across nodes.
    Presence,
    /// The WebSocket edge clients connect to.
    Gateway,
}

/// The launcher of one service: the composition root, one line per service.
fn launcher(service: &ServiceName) -> Box<dyn ServiceLauncher> {
    match service {
        ServiceName::Config => Box::new(chatflow_config::ConfigLauncher),
        ServiceName::Auth => Box::new(chatflow_auth::AuthLauncher),
        ServiceName::RateLimit => Box::new(chatflow_rate_limit::RateLimitLauncher),
        ServiceName::Profile => Box::new(chatflow_profile::ProfileLauncher),
        ServiceName::Groups => Box::new(chatflow_groups::GroupsLauncher),
        ServiceName::MessageRouter => Box::new(chatflow_message_router::RouterLauncher),
        ServiceName::Receipts => Box::new(chatflow_receipts::ReceiptsLauncher),
        ServiceName::Presence => Box::new(chatflow_presence::PresenceLauncher),
        ServiceName::Gateway => Box::new(chatflow_gateway::GatewayLauncher),
    }
}

fn main() -> ExitCode {
    chatflow_platform::cli::main(<ServiceName as clap::ValueEnum>::value_variants(), launcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_a_launcher_named_like_it() {
        for service in <ServiceName as clap::ValueEnum>::value_variants() {
            let name = clap::ValueEnum::to_possible_value(service).map(|v| v.get_name().to_owned());
            assert_eq!(Some(launcher(service).name().to_owned()), name);
        }
    }
}
