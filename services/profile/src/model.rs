//! What the API exchanges: profiles as owners and viewers see them, privacy
//! settings, contact and block entries, discovery answers.

use chatflow_proto::profile::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who may see a field, or find a user by phone number or email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every signed-in user.
    Everyone,
    /// Users the owner has in their contacts.
    Contacts,
    /// No one but the owner.
    Nobody,
}

impl Visibility {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Contacts => "contacts",
            Self::Nobody => "nobody",
        }
    }

    /// Reads a stored name; anything unknown is the safest answer, `nobody`.
    pub fn from_stored(stored: &str) -> Self {
        match stored {
            "everyone" => Self::Everyone,
            "contacts" => Self::Contacts,
            _ => Self::Nobody,
        }
    }

    /// Whether a viewer may see it, knowing whether the owner has them as a contact.
    pub fn admits(self, is_contact: bool) -> bool {
        match self {
            Self::Everyone => true,
            Self::Contacts => is_contact,
            Self::Nobody => false,
        }
    }

    /// The event form.
    pub fn to_proto(self) -> pb::Visibility {
        match self {
            Self::Everyone => pb::Visibility::Everyone,
            Self::Contacts => pb::Visibility::Contacts,
            Self::Nobody => pb::Visibility::Nobody,
        }
    }
}

/// A profile as its owner sees it (`GET/PATCH /v1/profile/me`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Profile {
    /// The owner.
    pub user_id: String,
    /// NFC-normalised, 1 to 64 characters; empty until first set.
    pub display_name: String,
    /// NFC-normalised, at most 280 characters, may hold line feeds.
    pub about: String,
    /// File id of the avatar image, if any.
    pub avatar: Option<String>,
    /// BCP 47 language tag in canonical case, if set.
    pub locale: Option<String>,
    /// IANA time zone name, if set.
    pub time_zone: Option<String>,
    /// Increases by one with each change; 0 for a profile never written.
    /// Send it back as `version` in a PATCH to update only if unchanged since.
    pub version: i64,
    /// When the profile was first stored (Unix ms; 0 if never).
    pub created_at_ms: i64,
    /// When it last changed (Unix ms; 0 if never).
    pub updated_at_ms: i64,
}

impl Profile {
    /// The profile of a user who never wrote one.
    pub fn empty(user_id: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            display_name: String::new(),
            about: String::new(),
            avatar: None,
            locale: None,
            time_zone: None,
            version: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

/// A profile as another user sees it (`GET /v1/profiles/{user_id}`): fields
/// the owner's privacy settings hide from this viewer are `null`, exactly as
/// if unset, so a viewer cannot tell "hidden" from "empty".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublicProfile {
    /// The owner.
    pub user_id: String,
    /// Always visible.
    pub display_name: String,
    /// The about text, or `null` if unset or hidden.
    pub about: Option<String>,
    /// The avatar file id, or `null` if unset or hidden.
    pub avatar: Option<String>,
    /// Whether presence will show this viewer the owner's last-seen time.
    pub last_seen_visible: bool,
}

/// Privacy settings (`PUT /v1/profile/me/privacy` replaces all four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacySettings {
    /// Who may see when the user was last online (enforced by presence).
    pub last_seen: Visibility,
    /// Who may see the avatar.
    pub avatar: Visibility,
    /// Who may see the about text.
    pub about: Visibility,
    /// Who may find the user by phone number or email.
    pub discovery: Visibility,
}

impl Default for PrivacySettings {
    /// New users: last-seen for contacts only, the rest for everyone.
    fn default() -> Self {
        Self {
            last_seen: Visibility::Contacts,
            avatar: Visibility::Everyone,
            about: Visibility::Everyone,
            discovery: Visibility::Everyone,
        }
    }
}

impl PrivacySettings {
    /// The event form.
    pub fn to_proto(self) -> pb::PrivacySettings {
        pb::PrivacySettings {
            last_seen: self.last_seen.to_proto() as i32,
            avatar: self.avatar.to_proto() as i32,
            about: self.about.to_proto() as i32,
            discovery: self.discovery.to_proto() as i32,
        }
    }
}

/// Privacy settings with their version (`GET/PUT /v1/profile/me/privacy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Privacy {
    /// The settings in effect (the defaults until first set).
    #[serde(flatten)]
    pub settings: PrivacySettings,
    /// Increases by one with each change; 0 while the defaults apply.
    pub version: i64,
    /// When they last changed (Unix ms; 0 if never).
    pub updated_at_ms: i64,
}

/// One entry of the caller's contacts or blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Relation {
    /// The other user.
    pub user_id: String,
    /// For contacts: `manual` (added with `PUT /v1/contacts/{id}`) or
    /// `discovery` (found by contact discovery); absent for blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When the entry was made (Unix ms).
    pub since_ms: i64,
}

/// One page of contacts or blocks, ordered by user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RelationPage {
    /// The entries of this page.
    pub items: Vec<Relation>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The key clients hash their address book with (`GET /v1/contacts/discovery/key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DiscoveryKeyInfo {
    /// Send it with every discovery request; a changed id means fetch the key again.
    pub key_id: String,
    /// The HMAC key, standard base64.
    pub key: String,
    /// Always `HMAC-SHA256`.
    pub algorithm: String,
    /// Most hashes accepted in one request.
    pub max_batch: u32,
}

/// One address-book entry that belongs to a user who may be found by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DiscoveryMatch {
    /// The uploaded hash (lower-case hex).
    pub hash: String,
    /// The user it belongs to.
    pub user_id: String,
}

/// The answer of `POST /v1/contacts/discover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DiscoveryResult {
    /// Matches, in the order of the request's hashes; unmatched hashes are omitted.
    pub matches: Vec<DiscoveryMatch>,
    /// Hashes the caller may still look up right now under the daily budget.
    pub budget_remaining: u32,
}
