//! Contact discovery: the key clients hash with, and bounded, rate-limited
//! lookups that reveal only users who consent to be found by the caller.
//!
//! Large address books are sent as several requests of at most
//! [`Engine::max_batch`] hashes each: the client pages over its own address
//! book, so the server keeps no cursor state, and each answer holds at most
//! one match per hash. Every uploaded hash costs one unit of the caller's
//! `profile.discovery.user_day` budget, matched or not, so the directory
//! cannot be enumerated faster than the budget allows. Invalid requests are
//! refused before anything is charged.

use std::collections::{HashMap, HashSet};

use chatflow_rate_limit::MAX_COST;
use chatflow_runtime::clock::now_ms;

use super::Engine;
use crate::model::{DiscoveryKeyInfo, DiscoveryMatch, DiscoveryResult, PrivacySettings};
use crate::{DISCOVERY_ACTION, ProfileError, validate};

impl Engine {
    /// Most hashes per request: the configured batch, capped by the policy's
    /// burst (a larger batch could never be admitted) and the limiter's cost cap.
    pub fn max_batch(&self) -> u32 {
        let burst = self
            .limiter
            .policy(DISCOVERY_ACTION)
            .map_or(MAX_COST, |p| p.burst);
        self.config
            .discovery
            .max_batch
            .clamp(1, burst.clamp(1, MAX_COST))
    }

    /// The key and its id, for clients to hash identifiers with.
    pub fn discovery_key(&self) -> DiscoveryKeyInfo {
        DiscoveryKeyInfo {
            key_id: self.key.id().to_owned(),
            key: self.key.to_base64(),
            algorithm: "HMAC-SHA256".to_owned(),
            max_batch: self.max_batch(),
        }
    }

    /// Looks up `hashes` (made with key `key_id`) for `requester`; the users
    /// found are recorded as the requester's contacts.
    pub async fn discover(
        &self,
        requester: &str,
        key_id: &str,
        hashes: &[String],
    ) -> Result<DiscoveryResult, ProfileError> {
        let max = self.max_batch();
        if hashes.is_empty() {
            return Err(ProfileError::field("hashes", "must hold at least one hash"));
        }
        if hashes.len() > max as usize {
            return Err(ProfileError::field(
                "hashes",
                format!(
                    "holds {} hashes; at most {max} are accepted per request \
                     (send a larger address book as several requests)",
                    hashes.len()
                ),
            ));
        }
        let hashes = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| validate::hash(&format!("hashes[{i}]"), h))
            .collect::<Result<Vec<_>, _>>()?;
        if key_id != self.key.id() {
            return Err(ProfileError::Conflict(format!(
                "key_id: the discovery key is now {}; fetch GET /v1/contacts/discovery/key and hash again",
                self.key.id()
            )));
        }
        let cost = u32::try_from(hashes.len()).unwrap_or(max);
        let decision = self
            .limiter
            .check(DISCOVERY_ACTION, &subject_key(requester), cost)
            .await?;
        if !decision.allowed {
            metrics::counter!(crate::metrics::DISCOVERY_THROTTLED).increment(1);
            tracing::info!(user_id = requester, cost, "discovery throttled");
            return Err(ProfileError::Throttled {
                retry_after: decision.retry_after,
            });
        }
        let mut seen = HashSet::new();
        let unique: Vec<String> = hashes
            .into_iter()
            .filter(|h| seen.insert(h.clone()))
            .collect();
        let default = PrivacySettings::default().discovery.as_str();
        let found: HashMap<String, String> = self
            .store
            .discoverable(requester, self.key.id(), default, &unique)
            .await?
            .into_iter()
            .collect();
        let matches: Vec<DiscoveryMatch> = unique
            .iter()
            .filter_map(|hash| {
                found.get(hash).map(|user_id| DiscoveryMatch {
                    hash: hash.clone(),
                    user_id: user_id.clone(),
                })
            })
            .collect();
        if !matches.is_empty() {
            let now = now_ms();
            let users: HashSet<&str> = matches.iter().map(|m| m.user_id.as_str()).collect();
            let mut tx = self.store.begin().await?;
            for user in users {
                self.store
                    .add_contact(&mut tx, requester, user, "discovery", now)
                    .await?;
            }
            self.store.commit(tx).await?;
        }
        let matched = matches.len() as u64;
        metrics::counter!(crate::metrics::DISCOVERY_HASHES, "outcome" => "matched")
            .increment(matched);
        metrics::counter!(crate::metrics::DISCOVERY_HASHES, "outcome" => "unmatched")
            .increment(unique.len() as u64 - matched);
        Ok(DiscoveryResult {
            matches,
            budget_remaining: decision.remaining,
        })
    }
}

/// The limiter key of a user: the id itself when it is a valid key (auth's
/// UUIDs are), else its SHA-256, so an odd token subject never fails a check.
fn subject_key(user_id: &str) -> String {
    let usable = !user_id.is_empty()
        && user_id.len() <= chatflow_rate_limit::MAX_KEY_BYTES
        && !user_id.chars().any(char::is_control);
    if usable {
        return user_id.to_owned();
    }
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(user_id.as_bytes()))
}
