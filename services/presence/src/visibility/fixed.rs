//! [`StaticVisibility`]: the profile service's rules over facts held in
//! memory, for tests and for deployments without privacy settings.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::VisibilityPort;
use crate::PresenceError;

/// An owner's `last_seen` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every signed-in user.
    Everyone,
    /// Users the owner has as contacts.
    Contacts,
    /// No one but the owner.
    Nobody,
}

/// Visibility from settings, contacts and blocks set by hand. By default
/// everyone sees everyone.
#[derive(Debug)]
pub struct StaticVisibility {
    facts: Mutex<Facts>,
    calls: AtomicU64,
    failing: AtomicBool,
}

#[derive(Debug)]
struct Facts {
    default: Audience,
    settings: HashMap<String, Audience>,
    /// (owner, contact).
    contacts: HashSet<(String, String)>,
    /// (blocker, blocked).
    blocks: HashSet<(String, String)>,
}

impl Default for StaticVisibility {
    fn default() -> Self {
        Self::with_default(Audience::Everyone)
    }
}

impl StaticVisibility {
    /// Everyone sees everyone until told otherwise.
    pub fn everyone() -> Self {
        Self::default()
    }

    /// Owners without a setting of their own use `default`.
    pub fn with_default(default: Audience) -> Self {
        Self {
            facts: Mutex::new(Facts {
                default,
                settings: HashMap::new(),
                contacts: HashSet::new(),
                blocks: HashSet::new(),
            }),
            calls: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// Sets `owner`'s `last_seen` audience.
    pub fn set_audience(&self, owner: &str, audience: Audience) {
        self.facts
            .lock()
            .settings
            .insert(owner.to_owned(), audience);
    }

    /// `owner` adds `contact` to their contacts.
    pub fn add_contact(&self, owner: &str, contact: &str) {
        self.facts
            .lock()
            .contacts
            .insert((owner.to_owned(), contact.to_owned()));
    }

    /// `blocker` blocks `blocked`.
    pub fn block(&self, blocker: &str, blocked: &str) {
        self.facts
            .lock()
            .blocks
            .insert((blocker.to_owned(), blocked.to_owned()));
    }

    /// `blocker` lifts a block of `blocked`.
    pub fn unblock(&self, blocker: &str, blocked: &str) {
        self.facts
            .lock()
            .blocks
            .remove(&(blocker.to_owned(), blocked.to_owned()));
    }

    /// Makes every later question fail (`Unavailable`) or answer again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many questions were asked so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Facts {
    fn admits(&self, viewer: &str, owner: &str) -> bool {
        if viewer == owner {
            return true;
        }
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        if self.blocks.contains(&pair(owner, viewer)) || self.blocks.contains(&pair(viewer, owner))
        {
            return false;
        }
        match self.settings.get(owner).copied().unwrap_or(self.default) {
            Audience::Everyone => true,
            Audience::Contacts => self.contacts.contains(&pair(owner, viewer)),
            Audience::Nobody => false,
        }
    }
}

#[async_trait]
impl VisibilityPort for StaticVisibility {
    async fn visible(&self, viewer: &str, owners: &[String]) -> Result<Vec<bool>, PresenceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(PresenceError::Unavailable(
                "visibility port is failing".into(),
            ));
        }
        let facts = self.facts.lock();
        Ok(owners.iter().map(|o| facts.admits(viewer, o)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rules_match_the_profile_service() {
        let port = StaticVisibility::with_default(Audience::Contacts);
        let owners = ["ann".to_owned()];
        assert_eq!(port.visible("bob", &owners).await.unwrap(), [false]);
        port.add_contact("bob", "ann"); // the viewer's contacts do not count
        assert_eq!(port.visible("bob", &owners).await.unwrap(), [false]);
        port.add_contact("ann", "bob");
        assert_eq!(port.visible("bob", &owners).await.unwrap(), [true]);
        port.block("bob", "ann");
        assert_eq!(port.visible("bob", &owners).await.unwrap(), [false]);
        port.unblock("bob", "ann");
        port.set_audience("ann", Audience::Nobody);
        assert_eq!(port.visible("bob", &owners).await.unwrap(), [false]);
        assert_eq!(port.visible("ann", &owners).await.unwrap(), [true]);
        assert_eq!(port.calls(), 6);
    }
}
