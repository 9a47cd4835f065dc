//! Profiles and privacy settings: the owner's view and writes, and what
//! another user may see.

use chatflow_proto::profile::v1 as pb;
use chatflow_runtime::clock::now_ms;

use super::{Engine, MAX_RACES, timestamp};
use crate::model::{Privacy, PrivacySettings, Profile, PublicProfile};
use crate::store::Relations;
use crate::validate::{self, ABOUT_MAX, DISPLAY_NAME_MAX, Lines};
use crate::{PRIVACY_CHANGED_TOPIC, PROFILE_UPDATED_TOPIC, ProfileError};

/// A partial profile update: `None` leaves a field alone; for the optional
/// fields `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New about text (empty clears it).
    pub about: Option<String>,
    /// New avatar file id, or `Some(None)` to remove it.
    pub avatar: Option<Option<String>>,
    /// New locale, or `Some(None)` to clear it.
    pub locale: Option<Option<String>>,
    /// New time zone, or `Some(None)` to clear it.
    pub time_zone: Option<Option<String>>,
    /// Apply only if the profile is still at this version.
    pub expected_version: Option<i64>,
}

impl ProfilePatch {
    /// Every field checked and canonicalised, or the first invalid one named.
    fn validated(self) -> Result<Self, ProfileError> {
        let optional = |value: Option<Option<String>>,
                        check: &dyn Fn(&str) -> Result<String, ProfileError>|
         -> Result<Option<Option<String>>, ProfileError> {
            value.map(|v| v.map(|v| check(&v)).transpose()).transpose()
        };
        Ok(Self {
            display_name: self
                .display_name
                .map(|v| validate::text("display_name", &v, Lines::Single, 1, DISPLAY_NAME_MAX))
                .transpose()?,
            about: self
                .about
                .map(|v| validate::text("about", &v, Lines::Multi, 0, ABOUT_MAX))
                .transpose()?,
            avatar: optional(self.avatar, &|v| validate::id("avatar", v))?,
            locale: optional(self.locale, &|v| validate::locale("locale", v))?,
            time_zone: optional(self.time_zone, &|v| validate::time_zone("time_zone", v))?,
            expected_version: self.expected_version,
        })
    }

    /// `base` with this (validated) patch applied; version and times untouched.
    fn apply(&self, base: &Profile) -> Profile {
        let mut next = base.clone();
        if let Some(v) = &self.display_name {
            next.display_name.clone_from(v);
        }
        if let Some(v) = &self.about {
            next.about.clone_from(v);
        }
        if let Some(v) = &self.avatar {
            next.avatar.clone_from(v);
        }
        if let Some(v) = &self.locale {
            next.locale.clone_from(v);
        }
        if let Some(v) = &self.time_zone {
            next.time_zone.clone_from(v);
        }
        next
    }
}

impl Engine {
    /// The caller's profile (an empty one, version 0, if never written).
    pub async fn my_profile(&self, user_id: &str) -> Result<Profile, ProfileError> {
        Ok(self
            .store
            .profile(user_id)
            .await?
            .unwrap_or_else(|| Profile::empty(user_id)))
    }

    /// Applies `patch` to the caller's profile. Everything is validated
    /// first; an update that changes nothing writes and publishes nothing.
    pub async fn update_profile(
        &self,
        user_id: &str,
        patch: ProfilePatch,
    ) -> Result<Profile, ProfileError> {
        let patch = patch.validated()?;
        for _ in 0..MAX_RACES {
            let mut tx = self.store.begin().await?;
            let current = self.store.profile_in(&mut tx, user_id).await?;
            let base = current.clone().unwrap_or_else(|| Profile::empty(user_id));
            if let Some(expected) = patch.expected_version
                && expected != base.version
            {
                count_write("profile", "conflict");
                return Err(ProfileError::Conflict(format!(
                    "version: the profile is at version {}, not {expected}; read it again",
                    base.version
                )));
            }
            let mut next = patch.apply(&base);
            if next == base {
                count_write("profile", "unchanged");
                return Ok(base);
            }
            let now = now_ms();
            next.version = base.version + 1;
            next.updated_at_ms = now;
            let written = match current {
                Some(_) => {
                    self.store
                        .update_profile(&mut tx, &next, base.version)
                        .await?
                }
                None => {
                    next.created_at_ms = now;
                    self.store.insert_profile(&mut tx, &next).await?
                }
            };
            if !written {
                continue; // Lost a race: read again.
            }
            let event = pb::ProfileUpdated {
                user_id: user_id.to_owned(),
                display_name: next.display_name.clone(),
                about: next.about.clone(),
                avatar_file_id: next.avatar.clone().unwrap_or_default(),
                locale: next.locale.clone().unwrap_or_default(),
                time_zone: next.time_zone.clone().unwrap_or_default(),
                version: next.version,
                updated_at: Some(timestamp(now)),
            };
            self.store
                .enqueue(&mut tx, PROFILE_UPDATED_TOPIC, user_id, &event)
                .await?;
            self.store.commit(tx).await?;
            count_write("profile", "changed");
            tracing::info!(user_id, version = next.version, "profile updated");
            return Ok(next);
        }
        Err(ProfileError::Conflict(
            "the profile is being changed concurrently; retry".into(),
        ))
    }

    /// `owner`'s profile as `viewer` may see it; 404 if there is none or
    /// `owner` blocked `viewer` (the same answer, so a block is not revealed).
    pub async fn view_profile(
        &self,
        viewer: &str,
        owner: &str,
    ) -> Result<PublicProfile, ProfileError> {
        let owner = validate::id("user_id", owner)?;
        if viewer != owner && self.store.has(Relations::Blocks, &owner, viewer).await? {
            return Err(ProfileError::no_profile());
        }
        let profile = self
            .store
            .profile(&owner)
            .await?
            .ok_or_else(ProfileError::no_profile)?;
        let (privacy, is_contact) = if viewer == owner {
            let everyone = crate::model::Visibility::Everyone;
            let all = PrivacySettings {
                last_seen: everyone,
                avatar: everyone,
                about: everyone,
                discovery: everyone,
            };
            (all, true)
        } else {
            let privacy = self.my_privacy(&owner).await?.settings;
            (
                privacy,
                self.store.has(Relations::Contacts, &owner, viewer).await?,
            )
        };
        Ok(PublicProfile {
            user_id: profile.user_id,
            display_name: profile.display_name,
            about: Some(profile.about)
                .filter(|a| !a.is_empty() && privacy.about.admits(is_contact)),
            avatar: profile.avatar.filter(|_| privacy.avatar.admits(is_contact)),
            last_seen_visible: privacy.last_seen.admits(is_contact),
        })
    }

    /// The caller's privacy settings (the defaults, version 0, if never set).
    pub async fn my_privacy(&self, user_id: &str) -> Result<Privacy, ProfileError> {
        Ok(self.store.privacy(user_id).await?.unwrap_or(Privacy {
            settings: PrivacySettings::default(),
            version: 0,
            updated_at_ms: 0,
        }))
    }

    /// Replaces the caller's privacy settings and publishes them if they changed.
    pub async fn set_privacy(
        &self,
        user_id: &str,
        settings: PrivacySettings,
    ) -> Result<Privacy, ProfileError> {
        for _ in 0..MAX_RACES {
            let mut tx = self.store.begin().await?;
            let current = self.store.privacy_in(&mut tx, user_id).await?;
            let current = current.unwrap_or(Privacy {
                settings: PrivacySettings::default(),
                version: 0,
                updated_at_ms: 0,
            });
            if current.settings == settings {
                count_write("privacy", "unchanged");
                return Ok(current);
            }
            let now = now_ms();
            let next = Privacy {
                settings,
                version: current.version + 1,
                updated_at_ms: now,
            };
            if !self
                .store
                .put_privacy(&mut tx, user_id, &next, current.version)
                .await?
            {
                continue; // Lost a race: read again.
            }
            self.store.ensure_profile(&mut tx, user_id, now).await?;
            let event = pb::PrivacyChanged {
                user_id: user_id.to_owned(),
                settings: Some(settings.to_proto()),
                version: next.version,
                changed_at: Some(timestamp(now)),
            };
            self.store
                .enqueue(&mut tx, PRIVACY_CHANGED_TOPIC, user_id, &event)
                .await?;
            self.store.commit(tx).await?;
            count_write("privacy", "changed");
            tracing::info!(user_id, version = next.version, "privacy settings changed");
            return Ok(next);
        }
        Err(ProfileError::Conflict(
            "the privacy settings are being changed concurrently; retry".into(),
        ))
    }
}

fn count_write(what: &'static str, outcome: &'static str) {
    metrics::counter!(crate::metrics::WRITES, "what" => what, "outcome" => outcome).increment(1);
}
