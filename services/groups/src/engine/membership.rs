//! Adding, removing and leaving; roles and ownership.
//!
//! When the owner leaves, ownership passes to the longest-standing admin, or
//! if there is none to the longest-standing member (two events: an
//! automatic `OWNERSHIP_TRANSFERRED` with `owner_left`, then `MEMBER_LEFT`).
//! An owner who is the last member leaves an empty group behind.

use chatflow_groups_client::{Action, Role};
use chatflow_proto::groups::v1::MembershipChanged;
use chatflow_proto::groups::v1::membership_changed::Kind;

use super::{Engine, events, now_ms};
use crate::model::MembershipResult;
use crate::store::{ConversationRow, MemberRow, conversations, members};
use crate::{GroupsError, policy, validate};

impl Engine {
    /// Adds users to a group (current members are skipped); all or nothing.
    pub async fn add_members(
        &self,
        actor: &str,
        id: &str,
        user_ids: &[String],
    ) -> Result<MembershipResult, GroupsError> {
        let id = validate::group_id(id)?;
        let requested = self.member_list("user_ids", user_ids, None)?;
        if requested.is_empty() {
            return Err(GroupsError::field(
                "user_ids",
                "must name at least one user",
            ));
        }
        let mut tx = self.store.begin().await?;
        let (mut row, _) = self
            .locked(&mut tx, &id, actor, Action::AddMembers, "add members")
            .await?;
        let mut new = Vec::new();
        for user in requested {
            if members::role_of(&mut *tx, &id, &user).await?.is_none() {
                new.push(user);
            }
        }
        if new.is_empty() {
            return Ok(result(&row, Vec::new()));
        }
        self.check_room(&row, new.len())?;
        let now = now_ms();
        (row.membership_version, row.member_count) =
            conversations::bump(&mut tx, &id, new.len() as i64, now).await?;
        for user in &new {
            let member = MemberRow {
                user_id: user.clone(),
                role: Role::Member,
                joined_version: row.membership_version,
                joined_at_ms: now,
                added_by: actor.to_owned(),
            };
            members::insert(&mut tx, &id, &member).await?;
        }
        let event = events::event(&row, Kind::MemberAdded, actor, new.clone(), now);
        self.store.emit(&mut tx, &event).await?;
        self.store.commit(tx, &[Kind::MemberAdded]).await?;
        Ok(result(&row, new))
    }

    /// Removes another member, if the actor outranks them.
    pub async fn remove_member(
        &self,
        actor: &str,
        id: &str,
        subject: &str,
    ) -> Result<MembershipResult, GroupsError> {
        let id = validate::group_id(id)?;
        let subject = validate::user_id("user_id", subject)?;
        if subject == actor {
            return Err(GroupsError::invalid(
                "use_leave",
                "to leave a group, use POST /v1/groups/{id}/leave",
            ));
        }
        let mut tx = self.store.begin().await?;
        let (mut row, role) = self
            .locked(&mut tx, &id, actor, Action::RemoveMembers, "remove members")
            .await?;
        let subject_role = members::role_of(&mut *tx, &id, &subject)
            .await?
            .ok_or_else(|| GroupsError::NotFound(format!("{subject} is not a member")))?;
        policy::may_remove(role, subject_role)?;
        let now = now_ms();
        members::delete(&mut tx, &id, &subject).await?;
        (row.membership_version, row.member_count) =
            conversations::bump(&mut tx, &id, -1, now).await?;
        let event = events::event(&row, Kind::MemberRemoved, actor, vec![subject.clone()], now);
        self.store.emit(&mut tx, &event).await?;
        self.store.commit(tx, &[Kind::MemberRemoved]).await?;
        Ok(result(&row, vec![subject]))
    }

    /// The caller leaves a group; an owner hands ownership on first.
    pub async fn leave(&self, user: &str, id: &str) -> Result<MembershipResult, GroupsError> {
        let id = validate::group_id(id)?;
        let mut tx = self.store.begin().await?;
        let (mut row, role) = self
            .locked(&mut tx, &id, user, Action::Read, "leave")
            .await?;
        let now = now_ms();
        let mut kinds = Vec::new();
        if role == Role::Owner
            && let Some(heir) = members::successor(&mut tx, &id, user).await?
        {
            let previous = members::role_of(&mut *tx, &id, &heir)
                .await?
                .unwrap_or(Role::Member);
            members::set_role(&mut tx, &id, &heir, Role::Owner).await?;
            (row.membership_version, row.member_count) =
                conversations::bump(&mut tx, &id, 0, now).await?;
            let event = MembershipChanged {
                owner_left: true,
                ..events::role_change(
                    &row,
                    Kind::OwnershipTransferred,
                    user,
                    &heir,
                    Role::Owner,
                    previous,
                    now,
                )
            };
            self.store.emit(&mut tx, &event).await?;
            kinds.push(Kind::OwnershipTransferred);
            tracing::info!(conversation_id = %id, new_owner = %heir, "owner left; ownership passed on");
        }
        members::delete(&mut tx, &id, user).await?;
        (row.membership_version, row.member_count) =
            conversations::bump(&mut tx, &id, -1, now).await?;
        let event = events::event(&row, Kind::MemberLeft, user, vec![user.to_owned()], now);
        self.store.emit(&mut tx, &event).await?;
        kinds.push(Kind::MemberLeft);
        self.store.commit(tx, &kinds).await?;
        Ok(result(&row, vec![user.to_owned()]))
    }

    /// Makes a member an admin or an admin a member.
    pub async fn set_role(
        &self,
        actor: &str,
        id: &str,
        subject: &str,
        new: Role,
    ) -> Result<MembershipResult, GroupsError> {
        let id = validate::group_id(id)?;
        let subject = validate::user_id("user_id", subject)?;
        let mut tx = self.store.begin().await?;
        let (mut row, role) = self
            .locked(&mut tx, &id, actor, Action::ManageRoles, "change roles")
            .await?;
        let current = members::role_of(&mut *tx, &id, &subject)
            .await?
            .ok_or_else(|| GroupsError::NotFound(format!("{subject} is not a member")))?;
        if current == new {
            return Ok(result(&row, Vec::new()));
        }
        policy::may_set_role(role, current, new)?;
        let now = now_ms();
        members::set_role(&mut tx, &id, &subject, new).await?;
        (row.membership_version, row.member_count) =
            conversations::bump(&mut tx, &id, 0, now).await?;
        let event =
            events::role_change(&row, Kind::RoleChanged, actor, &subject, new, current, now);
        self.store.emit(&mut tx, &event).await?;
        self.store.commit(tx, &[Kind::RoleChanged]).await?;
        Ok(result(&row, vec![subject]))
    }

    /// The owner hands ownership to another member and becomes an admin.
    pub async fn transfer(
        &self,
        owner: &str,
        id: &str,
        heir: &str,
    ) -> Result<MembershipResult, GroupsError> {
        let id = validate::group_id(id)?;
        let heir = validate::user_id("user_id", heir)?;
        let mut tx = self.store.begin().await?;
        let (mut row, role) = self
            .locked(&mut tx, &id, owner, Action::Read, "transfer ownership")
            .await?;
        if role != Role::Owner {
            return Err(GroupsError::forbidden(
                "owner_only",
                "only the owner can transfer ownership",
            ));
        }
        if heir == owner {
            return Err(GroupsError::field("user_id", "is already the owner"));
        }
        let previous = members::role_of(&mut *tx, &id, &heir)
            .await?
            .ok_or_else(|| GroupsError::NotFound(format!("{heir} is not a member")))?;
        let now = now_ms();
        members::set_role(&mut tx, &id, &heir, Role::Owner).await?;
        members::set_role(&mut tx, &id, owner, Role::Admin).await?;
        (row.membership_version, row.member_count) =
            conversations::bump(&mut tx, &id, 0, now).await?;
        let event = events::role_change(
            &row,
            Kind::OwnershipTransferred,
            owner,
            &heir,
            Role::Owner,
            previous,
            now,
        );
        self.store.emit(&mut tx, &event).await?;
        self.store.commit(tx, &[Kind::OwnershipTransferred]).await?;
        Ok(result(&row, vec![heir, owner.to_owned()]))
    }

    /// `GroupFull` (409) unless `adding` more members fit.
    pub(crate) fn check_room(
        &self,
        row: &ConversationRow,
        adding: usize,
    ) -> Result<(), GroupsError> {
        let limit = u64::from(self.config.member_limit);
        if row.member_count + adding as u64 > limit {
            return Err(GroupsError::Conflict {
                reason: "group_full",
                message: format!(
                    "the group has {} of at most {limit} members; {adding} more do not fit",
                    row.member_count
                ),
            });
        }
        Ok(())
    }
}

/// The answer of a membership change.
fn result(row: &ConversationRow, changed: Vec<String>) -> MembershipResult {
    MembershipResult {
        changed,
        membership_version: row.membership_version,
        member_count: row.member_count,
    }
}
