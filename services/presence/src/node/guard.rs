//! The handles a node gives out: [`DeviceGuard`] (a connected device) and
//! [`Watch`] (a viewer following users). Both undo themselves when dropped.

use std::sync::Arc;

use chatflow_presence_crdt::Status;
use chatflow_runtime::clock::now_ms;
use tokio::sync::mpsc;

use super::Inner;
use super::core::DeviceKey;
use crate::PresenceView;

/// One connection of a device. While any guard of the device lives, the
/// device is online or away; dropping the last one reports it offline.
pub struct DeviceGuard {
    inner: Arc<Inner>,
    key: DeviceKey,
    conn: u64,
}

impl std::fmt::Debug for DeviceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceGuard")
            .field("user_id", &self.key.0)
            .field("device_id", &self.key.1)
            .finish_non_exhaustive()
    }
}

impl DeviceGuard {
    pub(super) fn new(inner: Arc<Inner>, key: DeviceKey, conn: u64) -> Self {
        Self { inner, key, conn }
    }

    /// The user.
    pub fn user_id(&self) -> &str {
        &self.key.0
    }

    /// The device.
    pub fn device_id(&self) -> &str {
        &self.key.1
    }

    /// The client says it is active (`Online`) or idle / in the background
    /// (`Away`). `Offline` counts as `Away`: a connected device is never
    /// offline. The device shows the best status of its connections.
    pub fn set_status(&self, status: Status) {
        let status = match status {
            Status::Offline => Status::Away,
            other => other,
        };
        let changed = self
            .inner
            .core
            .lock()
            .set_status(&self.key, self.conn, status, now_ms());
        if changed {
            self.inner.changed([&self.key.0]);
        }
    }

    /// Activity on the device: moves its last-seen forward (spread with
    /// the next snapshot, not as a delta of its own).
    pub fn touch(&self) {
        self.inner.core.lock().touch(&self.key, now_ms());
    }
}

impl Drop for DeviceGuard {
    fn drop(&mut self) {
        let changed = self
            .inner
            .core
            .lock()
            .disconnect(&self.key, self.conn, now_ms());
        if changed {
            self.inner.changed([&self.key.0]);
        }
    }
}

/// A viewer following some users' presence: [`Watch::initial`] once, then
/// [`Watch::recv`] for updates. Updates are coalesced (at most one per user
/// per `coalesce` interval, with the latest state) and dropped if left
/// unread beyond `watch_buffer`; a dropped one is offered again later, so a
/// watcher that catches up ends current. Dropping the watch unsubscribes.
pub struct Watch {
    inner: Arc<Inner>,
    id: u64,
    initial: Vec<PresenceView>,
    updates: mpsc::Receiver<PresenceView>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("id", &self.id)
            .field("users", &self.initial.len())
            .finish_non_exhaustive()
    }
}

impl Watch {
    pub(super) fn new(
        inner: Arc<Inner>,
        id: u64,
        initial: Vec<PresenceView>,
        updates: mpsc::Receiver<PresenceView>,
    ) -> Self {
        Self {
            inner,
            id,
            initial,
            updates,
        }
    }

    /// Each watched user's presence when the watch started (duplicates
    /// removed, in first-seen order).
    pub fn initial(&self) -> &[PresenceView] {
        &self.initial
    }

    /// The next update; `None` once the node has stopped.
    pub async fn recv(&mut self) -> Option<PresenceView> {
        self.updates.recv().await
    }

    /// The next update if one is waiting.
    pub fn try_recv(&mut self) -> Option<PresenceView> {
        self.updates.try_recv().ok()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.inner.watches.lock().remove(self.id);
    }
}
