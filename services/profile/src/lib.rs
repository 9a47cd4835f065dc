//! The `profile` service: profiles, privacy, contacts, discovery and blocks.
//!
//! Each user has a profile (display name, about text, avatar file id,
//! locale, time zone) with an optimistic `version`; text is NFC-normalised
//! and trimmed, and control and format characters (bidi overrides and the
//! like) are refused with a 400 naming the field, never silently stripped.
//! Privacy settings say who may see the avatar, the about text and last-seen, and
//! who may find the user by phone or email (everyone, contacts, nobody);
//! `GET /v1/profiles/{id}` enforces them per viewer, and changes are
//! published for presence. Contact discovery keeps only
//! HMAC-SHA256(discovery key, identifier) of verified identifiers, fed by
//! `chatflow.auth.account_verified`; clients upload hashes in bounded,
//! rate-limited batches and learn only users who consent to be found by
//! them. Blocks hide the blocker from the blocked user and are published for
//! the router. REST lives under `/v1`, documented at `/v1/profile/openapi.json`.
//!
//! Presence asks whether a viewer may see owners' online status and
//! last-seen through `chatflow.profile.v1.ProfileService.PresenceVisibility`
//! (gRPC, service identity required) or, in the same process, through the
//! published [`ProfileVisibilityHandle`].
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod consumer;
mod engine;
mod error;
mod grpc;
mod keys;
mod launcher;
mod metrics;
mod model;
mod rest;
mod service;
mod settings;
mod store;
mod validate;

pub use error::ProfileError;
pub use grpc::{MAX_VISIBILITY_OWNERS, ProfileVisibilityHandle};
pub use keys::DiscoveryKey;
pub use launcher::ProfileLauncher;
pub use model::Visibility;
pub use rest::openapi;
pub use service::{Deps, GrpcListener, Listeners, ProfileService};
pub use settings::{Config, DiscoveryConfig};

/// Consumed: proven identifiers, hashed into the discovery directory.
pub const ACCOUNT_VERIFIED_TOPIC: &str = "chatflow.auth.account_verified";
/// Published: a user blocked another (keyed by the blocker).
pub const USER_BLOCKED_TOPIC: &str = "chatflow.profile.user_blocked";
/// Published: a user lifted a block (keyed by the blocker).
pub const USER_UNBLOCKED_TOPIC: &str = "chatflow.profile.user_unblocked";
/// Published: a user's full privacy settings after a change (keyed by user).
pub const PRIVACY_CHANGED_TOPIC: &str = "chatflow.profile.privacy_changed";
/// Published: a user's full profile after a change (keyed by user).
pub const PROFILE_UPDATED_TOPIC: &str = "chatflow.profile.profile_updated";
/// The topics this service publishes, for the launcher to ensure.
pub const PUBLISHED_TOPICS: [&str; 4] = [
    USER_BLOCKED_TOPIC,
    USER_UNBLOCKED_TOPIC,
    PRIVACY_CHANGED_TOPIC,
    PROFILE_UPDATED_TOPIC,
];
/// The rate-limit action charged one unit per uploaded discovery hash.
pub const DISCOVERY_ACTION: &str = "profile.discovery.user_day";
