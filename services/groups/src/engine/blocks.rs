//! Blocks between users, as the profile service announces them.
//!
//! A block stops posting in the pair's direct conversation. When a block
//! starts or ends and that conversation exists, its membership version is
//! bumped and a `silent` `PERMISSIONS_CHANGED` without actor or subjects is
//! published, so every cache drops its answers; nobody learns who blocked
//! whom from it.

use chatflow_groups_client::direct_conversation_id;
use chatflow_proto::groups::v1::MembershipChanged;
use chatflow_proto::groups::v1::membership_changed::Kind;

use super::{Engine, events, now_ms};
use crate::GroupsError;
use crate::store::{blocks, conversations};

impl Engine {
    /// Applies one block (`blocked == true`) or unblock that happened at
    /// `at_ms`; older than what is stored for the pair changes nothing.
    /// Returns whether the pair's state changed. Idempotent.
    pub async fn apply_block(
        &self,
        blocker: &str,
        target: &str,
        blocked: bool,
        at_ms: i64,
    ) -> Result<bool, GroupsError> {
        // Also checks both ids, and refuses a user blocking themself.
        let conversation = direct_conversation_id(blocker, target)?;
        let mut tx = self.store.begin().await?;
        // Lock the conversation (if any) first, like every change of it.
        let row = self.store.lock(&mut tx, &conversation).await?;
        if !blocks::apply(&mut tx, blocker, target, blocked, at_ms).await? {
            return Ok(false);
        }
        let mut kinds = Vec::new();
        if let Some(mut row) = row {
            let now = now_ms();
            (row.membership_version, row.member_count) =
                conversations::bump(&mut tx, &conversation, 0, now).await?;
            let event = MembershipChanged {
                silent: true,
                ..events::event(&row, Kind::PermissionsChanged, "", Vec::new(), now)
            };
            self.store.emit(&mut tx, &event).await?;
            kinds.push(Kind::PermissionsChanged);
        }
        self.store.commit(tx, &kinds).await?;
        tracing::debug!(conversation_id = %conversation, blocked, "block state changed");
        Ok(true)
    }
}
