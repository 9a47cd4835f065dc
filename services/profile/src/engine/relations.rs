//! Contacts and blocks of the caller.
//!
//! "Contacts" is the owner's own list: whom *they* admit to fields set to
//! `contacts`. Entries come from contact discovery (each match the owner
//! finds) and from explicit adds; the other user is never asked, and the
//! list is private to its owner. Blocks are published through the outbox so
//! the router refuses delivery between the two users.

use chatflow_proto::profile::v1 as pb;
use chatflow_runtime::clock::now_ms;

use super::{Engine, timestamp};
use crate::model::{Relation, RelationPage};
use crate::store::Relations;
use crate::{ProfileError, USER_BLOCKED_TOPIC, USER_UNBLOCKED_TOPIC, validate};

/// Page size when the caller gives none.
pub const DEFAULT_PAGE: u32 = 100;

impl Engine {
    /// Adds `other` to the caller's contacts (idempotent). 404 if `other`
    /// has no profile or blocked the caller, as for viewing the profile.
    pub async fn add_contact(&self, owner: &str, other: &str) -> Result<(), ProfileError> {
        let other = other_user(owner, other, "cannot add yourself as a contact")?;
        if self.store.has(Relations::Blocks, &other, owner).await?
            || self.store.profile(&other).await?.is_none()
        {
            return Err(ProfileError::no_profile());
        }
        let mut tx = self.store.begin().await?;
        self.store
            .add_contact(&mut tx, owner, &other, "manual", now_ms())
            .await?;
        self.store.commit(tx).await
    }

    /// Removes `other` from the caller's contacts (idempotent).
    pub async fn remove_contact(&self, owner: &str, other: &str) -> Result<(), ProfileError> {
        let other = validate::id("user_id", other)?;
        let mut tx = self.store.begin().await?;
        self.store
            .remove(&mut tx, Relations::Contacts, owner, &other)
            .await?;
        self.store.commit(tx).await
    }

    /// Blocks `other`; publishes `user_blocked` only if the block is new.
    /// Returns whether it was.
    pub async fn block(&self, blocker: &str, other: &str) -> Result<bool, ProfileError> {
        let other = other_user(blocker, other, "cannot block yourself")?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let created = self.store.block(&mut tx, blocker, &other, now).await?;
        if created {
            let event = pb::UserBlocked {
                blocker_id: blocker.to_owned(),
                blocked_id: other.clone(),
                blocked_at: Some(timestamp(now)),
            };
            self.store
                .enqueue(&mut tx, USER_BLOCKED_TOPIC, blocker, &event)
                .await?;
        }
        self.store.commit(tx).await?;
        if created {
            metrics::counter!(crate::metrics::BLOCKS, "action" => "block").increment(1);
            tracing::info!(blocker_id = blocker, blocked_id = %other, "user blocked");
        }
        Ok(created)
    }

    /// Lifts a block; publishes `user_unblocked` only if there was one.
    /// Returns whether there was.
    pub async fn unblock(&self, blocker: &str, other: &str) -> Result<bool, ProfileError> {
        let other = validate::id("user_id", other)?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let removed = self
            .store
            .remove(&mut tx, Relations::Blocks, blocker, &other)
            .await?;
        if removed {
            let event = pb::UserUnblocked {
                blocker_id: blocker.to_owned(),
                unblocked_id: other.clone(),
                unblocked_at: Some(timestamp(now)),
            };
            self.store
                .enqueue(&mut tx, USER_UNBLOCKED_TOPIC, blocker, &event)
                .await?;
        }
        self.store.commit(tx).await?;
        if removed {
            metrics::counter!(crate::metrics::BLOCKS, "action" => "unblock").increment(1);
            tracing::info!(blocker_id = blocker, unblocked_id = %other, "user unblocked");
        }
        Ok(removed)
    }

    /// One page of the caller's contacts or blocks, after `cursor`.
    pub async fn list(
        &self,
        list: Relations,
        owner: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<RelationPage, ProfileError> {
        let max = self.config.max_page_size.max(1);
        let limit = limit.unwrap_or(DEFAULT_PAGE.min(max));
        if !(1..=max).contains(&limit) {
            return Err(ProfileError::field(
                "limit",
                format!("must be between 1 and {max}"),
            ));
        }
        let cursor = cursor.map(|c| validate::id("cursor", c)).transpose()?;
        let mut items: Vec<Relation> = self
            .store
            .list(list, owner, cursor.as_deref(), limit + 1)
            .await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| r.user_id.clone())
        } else {
            None
        };
        Ok(RelationPage { items, next_cursor })
    }
}

/// A valid user id other than `me`.
fn other_user(me: &str, other: &str, self_message: &str) -> Result<String, ProfileError> {
    let other = validate::id("user_id", other)?;
    if other == me {
        return Err(ProfileError::field("user_id", self_message));
    }
    Ok(other)
}
