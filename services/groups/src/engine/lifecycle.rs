//! Creating groups and changing their settings (info and permissions).

use chatflow_groups_client::{Action, ConversationKind, Role};
use chatflow_proto::groups::v1::membership_changed::Kind;

use super::{Engine, events, now_ms};
use crate::model::{Group, Permissions};
use crate::requests::{CreateGroup, UpdateGroup, UpdatePermissions};
use crate::store::{ConversationRow, MemberRow, conversations, members};
use crate::{GroupsError, validate};

impl Engine {
    /// Creates a group owned by `creator` with the requested members.
    pub async fn create_group(
        &self,
        creator: &str,
        request: CreateGroup,
    ) -> Result<Group, GroupsError> {
        let name = validate::name(&request.name)?;
        let description = validate::description(&request.description)?;
        let avatar = validate::file_id(
            "avatar_file_id",
            request.avatar_file_id.as_deref().unwrap_or(""),
        )?;
        let others = self.member_list("member_ids", &request.member_ids, Some(creator))?;
        let limit = self.config.member_limit;
        if others.len() + 1 > limit as usize {
            return Err(GroupsError::invalid(
                "group_full",
                format!(
                    "a group has at most {limit} members; {} were asked for",
                    others.len() + 1
                ),
            ));
        }
        let now = now_ms();
        let row = ConversationRow {
            id: chatflow_groups_client::new_group_id(),
            kind: ConversationKind::Group,
            name,
            description,
            avatar_file_id: avatar,
            permissions: request.permissions.unwrap_or_default(),
            direct: (String::new(), String::new()),
            membership_version: 1,
            info_version: 1,
            member_count: others.len() as u64 + 1,
            created_by: creator.to_owned(),
            created_at_ms: now,
        };
        let mut tx = self.store.begin().await?;
        if !conversations::insert(&mut tx, &row, now).await? {
            return Err(GroupsError::Internal(format!(
                "group id {} collided",
                row.id
            )));
        }
        let everyone = std::iter::once((creator, Role::Owner))
            .chain(others.iter().map(|u| (u.as_str(), Role::Member)));
        for (user, role) in everyone {
            let member = MemberRow {
                user_id: user.to_owned(),
                role,
                joined_version: 1,
                joined_at_ms: now,
                added_by: creator.to_owned(),
            };
            members::insert(&mut tx, &row.id, &member).await?;
        }
        let subjects = std::iter::once(creator.to_owned()).chain(others).collect();
        self.store
            .emit(&mut tx, &events::created(&row, subjects, now))
            .await?;
        self.store.commit(tx, &[Kind::Created]).await?;
        tracing::info!(conversation_id = %row.id, creator, "group created");
        Ok(row.to_group(Role::Owner, limit))
    }

    /// Changes name, description or avatar if `request.version` is current.
    pub async fn update_info(
        &self,
        user: &str,
        id: &str,
        request: UpdateGroup,
    ) -> Result<Group, GroupsError> {
        let id = validate::group_id(id)?;
        let name = request.name.as_deref().map(validate::name).transpose()?;
        let description = request
            .description
            .as_deref()
            .map(validate::description)
            .transpose()?;
        let avatar = request
            .avatar_file_id
            .as_deref()
            .map(|a| validate::file_id("avatar_file_id", a))
            .transpose()?;
        let mut tx = self.store.begin().await?;
        let (mut row, role) = self
            .locked(
                &mut tx,
                &id,
                user,
                Action::EditInfo,
                "edit the group's info",
            )
            .await?;
        if row.info_version != request.version {
            return Err(GroupsError::version_conflict(
                request.version,
                row.info_version,
            ));
        }
        let mut changed = Vec::new();
        for (field, new, old) in [
            ("name", name, &mut row.name),
            ("description", description, &mut row.description),
            ("avatar_file_id", avatar, &mut row.avatar_file_id),
        ] {
            if let Some(new) = new.filter(|n| n != old) {
                *old = new;
                changed.push(field.to_owned());
            }
        }
        if changed.is_empty() {
            return Ok(row.to_group(role, self.config.member_limit));
        }
        let now = now_ms();
        conversations::set_settings(&mut tx, &row, now).await?;
        row.info_version += 1;
        let event = chatflow_proto::groups::v1::MembershipChanged {
            info: Some(row.info_proto()),
            changed_fields: changed,
            ..events::event(&row, Kind::InfoChanged, user, Vec::new(), now)
        };
        self.store.emit(&mut tx, &event).await?;
        self.store.commit(tx, &[Kind::InfoChanged]).await?;
        Ok(row.to_group(role, self.config.member_limit))
    }

    /// Replaces the permission settings if `request.version` is current.
    pub async fn set_permissions(
        &self,
        user: &str,
        id: &str,
        request: UpdatePermissions,
    ) -> Result<Group, GroupsError> {
        let id = validate::group_id(id)?;
        let mut tx = self.store.begin().await?;
        let (mut row, role) = self
            .locked(
                &mut tx,
                &id,
                user,
                Action::ManageRoles,
                "change permissions",
            )
            .await?;
        if row.info_version != request.version {
            return Err(GroupsError::version_conflict(
                request.version,
                row.info_version,
            ));
        }
        let permissions: Permissions = request.permissions();
        if permissions == row.permissions {
            return Ok(row.to_group(role, self.config.member_limit));
        }
        let now = now_ms();
        row.permissions = permissions;
        conversations::set_settings(&mut tx, &row, now).await?;
        (row.membership_version, row.member_count) =
            conversations::bump(&mut tx, &id, 0, now).await?;
        row.info_version += 1;
        let event = chatflow_proto::groups::v1::MembershipChanged {
            permissions: Some(conversations::permissions_proto(&permissions)),
            ..events::event(&row, Kind::PermissionsChanged, user, Vec::new(), now)
        };
        self.store.emit(&mut tx, &event).await?;
        self.store.commit(tx, &[Kind::PermissionsChanged]).await?;
        Ok(row.to_group(role, self.config.member_limit))
    }
}
