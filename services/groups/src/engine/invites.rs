//! Invite links: create, list, revoke, join.
//!
//! A link works while it is unexpired, unrevoked, under its use limit, and
//! its creator may still invite (still a member allowed to add members):
//! removing or demoting the creator quietly retires their links. Joining
//! twice is harmless and does not use the link again.

use chatflow_groups_client::{Action, Role};
use chatflow_proto::groups::v1::MembershipChanged;
use chatflow_proto::groups::v1::membership_changed::Kind;

use super::{Engine, events, now_ms};
use crate::model::{Group, Invite, InviteList};
use crate::requests::CreateInvite;
use crate::store::{InviteRow, MemberRow, conversations, invites, members};
use crate::{GroupsError, policy, validate};

impl Engine {
    /// Creates a link to join group `id`; the answer carries the token.
    pub async fn create_invite(
        &self,
        user: &str,
        id: &str,
        request: CreateInvite,
    ) -> Result<Invite, GroupsError> {
        let id = validate::group_id(id)?;
        let max_ttl = self.config.invite_max_ttl_secs;
        let ttl = request
            .expires_in_secs
            .unwrap_or(self.config.invite_default_ttl_secs);
        if ttl == 0 || ttl > max_ttl {
            return Err(GroupsError::field(
                "expires_in_secs",
                format!("must be between 1 and {max_ttl}"),
            ));
        }
        if request.max_uses == Some(0) {
            return Err(GroupsError::field(
                "max_uses",
                "must be at least 1 (omit it for unlimited)",
            ));
        }
        let mut tx = self.store.begin().await?;
        self.locked(
            &mut tx,
            &id,
            user,
            Action::CreateInvite,
            "create invite links",
        )
        .await?;
        let now = now_ms();
        let row = InviteRow {
            id: uuid::Uuid::now_v7().simple().to_string(),
            conversation_id: id,
            created_by: user.to_owned(),
            created_at_ms: now,
            expires_at_ms: now
                .saturating_add(i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX)),
            max_uses: request.max_uses,
            uses: 0,
            revoked_at_ms: None,
        };
        invites::insert(&mut tx, &row).await?;
        self.store.commit(tx, &[]).await?;
        let token = self.invites.sign(&row.id, row.expires_at_ms);
        Ok(row.to_invite(Some(token)))
    }

    /// The group's working links, for members who may invite.
    pub async fn list_invites(&self, user: &str, id: &str) -> Result<InviteList, GroupsError> {
        let id = validate::group_id(id)?;
        let decision = self.authorize(user, &id, Action::CreateInvite).await?;
        policy::require(&decision, "see invite links")?;
        let rows = invites::active(self.store.pool(), &id, now_ms()).await?;
        Ok(InviteList {
            invites: rows.iter().map(|r| r.to_invite(None)).collect(),
        })
    }

    /// Revokes a link; its creator or an admin may. Revoking twice is fine.
    pub async fn revoke_invite(
        &self,
        user: &str,
        id: &str,
        invite_id: &str,
    ) -> Result<(), GroupsError> {
        let id = validate::group_id(id)?;
        let mut tx = self.store.begin().await?;
        let (_, role) = self
            .locked(&mut tx, &id, user, Action::Read, "revoke invite links")
            .await?;
        let invite = invites::fetch(&mut *tx, invite_id)
            .await?
            .filter(|i| i.conversation_id == id)
            .ok_or_else(|| GroupsError::NotFound("no such invite link".into()))?;
        if invite.created_by != user && role < Role::Admin {
            return Err(GroupsError::forbidden(
                "insufficient_role",
                "only its creator or an admin can revoke a link",
            ));
        }
        invites::revoke(&mut tx, &invite.id, now_ms()).await?;
        self.store.commit(tx, &[]).await
    }

    /// Joins the group behind `token`.
    pub async fn join(&self, user: &str, token: &str) -> Result<Group, GroupsError> {
        let now = now_ms();
        let claim = self
            .invites
            .verify(token, now)
            .inspect_err(|e| joined(e.reason()))?;
        // The link's group, then the group's lock, then the link again: its
        // uses and revocation are read under the lock.
        let group_id = invites::fetch(self.store.pool(), &claim.id)
            .await?
            .map(|i| i.conversation_id)
            .ok_or_else(|| {
                GroupsError::invalid("invite_invalid", "this invite link is not valid")
            })?;
        let mut tx = self.store.begin().await?;
        let mut row = self
            .store
            .lock(&mut tx, &group_id)
            .await?
            .ok_or_else(GroupsError::no_conversation)?;
        let invite = invites::fetch(&mut *tx, &claim.id).await?.ok_or_else(|| {
            GroupsError::invalid("invite_invalid", "this invite link is not valid")
        })?;
        if let Some(role) = members::role_of(&mut *tx, &group_id, user).await? {
            joined("already_member");
            return Ok(row.to_group(role, self.config.member_limit));
        }
        let creator = members::role_of(&mut *tx, &group_id, &invite.created_by).await?;
        let creator_may =
            policy::decide(Some(&row.facts()), creator, false, Action::CreateInvite).allowed;
        if invite.revoked_at_ms.is_some() || !creator_may {
            joined("invite_revoked");
            return Err(GroupsError::forbidden(
                "invite_revoked",
                "this invite link was revoked",
            ));
        }
        if invite.max_uses.is_some_and(|max| invite.uses >= max) {
            joined("invite_exhausted");
            return Err(GroupsError::forbidden(
                "invite_exhausted",
                "this invite link has been used up",
            ));
        }
        self.check_room(&row, 1)
            .inspect_err(|e| joined(e.reason()))?;
        (row.membership_version, row.member_count) =
            conversations::bump(&mut tx, &group_id, 1, now).await?;
        let member = MemberRow {
            user_id: user.to_owned(),
            role: Role::Member,
            joined_version: row.membership_version,
            joined_at_ms: now,
            added_by: user.to_owned(),
        };
        members::insert(&mut tx, &group_id, &member).await?;
        invites::record_use(&mut tx, &invite.id).await?;
        let event = MembershipChanged {
            invite_id: invite.id.clone(),
            ..events::event(&row, Kind::MemberAdded, user, vec![user.to_owned()], now)
        };
        self.store.emit(&mut tx, &event).await?;
        self.store.commit(tx, &[Kind::MemberAdded]).await?;
        joined("joined");
        Ok(row.to_group(Role::Member, self.config.member_limit))
    }
}

/// Counts a join attempt by outcome.
fn joined(outcome: &'static str) {
    metrics::counter!(crate::metrics::INVITE_JOINS, "outcome" => outcome).increment(1);
}
