//! The `reads_shared` setting: read, and changed together with its
//! `ReceiptSettingsChanged` event in one transaction (setting it to what it
//! already is changes and publishes nothing).

use chatflow_proto::receipts::v1::ReceiptSettingsChanged;

use super::{Engine, contention, lost_race};
use crate::store::{self, SettingsRecord, keys};
use crate::{ReceiptSettings, ReceiptsError, events, validate};

impl Engine {
    /// A user's settings (sharing read receipts unless they turned it off).
    pub(crate) async fn settings(&self, user_id: &str) -> Result<ReceiptSettings, ReceiptsError> {
        validate::user_id("user_id", user_id)?;
        let stored = self.store().settings(user_id).await?.value;
        Ok(ReceiptSettings {
            reads_shared: stored.reads_shared,
        })
    }

    /// Whether each of `user_ids` shares read receipts, in the same order.
    pub(crate) async fn shares_reads(
        &self,
        user_ids: Vec<String>,
    ) -> Result<Vec<bool>, ReceiptsError> {
        self.each(user_ids, |engine, user_id| async move {
            Ok(engine.store().settings(&user_id).await?.value.reads_shared)
        })
        .await
    }

    /// Changes a user's settings; returns them as stored.
    pub(crate) async fn set_settings(
        &self,
        user_id: &str,
        wanted: ReceiptSettings,
    ) -> Result<ReceiptSettings, ReceiptsError> {
        validate::user_id("user_id", user_id)?;
        let attempts = self.attempts();
        for _ in 0..attempts {
            let current = self.store().settings(user_id).await?;
            if current.value.reads_shared == wanted.reads_shared {
                return Ok(wanted);
            }
            let next = SettingsRecord {
                reads_shared: wanted.reads_shared,
                updated_ms: chatflow_runtime::clock::now_ms(),
            };
            let event = ReceiptSettingsChanged {
                user_id: user_id.to_owned(),
                reads_shared: next.reads_shared,
                changed_at_ms: next.updated_ms,
            };
            let sk = keys::settings_event_sk(user_id, current.next_version());
            let ops = vec![
                store::settings_op(user_id, &current, &next)?,
                store::outbox_op(sk, &events::settings_record(&event))?,
            ];
            match self.store().commit(ops).await {
                Ok(()) => {
                    self.inner.wake.wake(user_id);
                    tracing::info!(%user_id, reads_shared = next.reads_shared, "receipt settings changed");
                    return Ok(wanted);
                }
                Err(err) if lost_race(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(contention("settings", attempts))
    }
}
