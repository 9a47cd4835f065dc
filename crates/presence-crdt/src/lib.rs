//! Presence as a state-based CRDT, for the presence service and the
//! gateways to replicate between nodes.
//!
//! Every device report carries a hybrid-logical-clock [`Stamp`] and an
//! expiry; [`PresenceState::merge`] keeps, per (user, device), the report
//! with the greatest stamp. Replicas exchange whole states or deltas in any
//! order, any number of times, and end equal; a node that vanishes stops
//! refreshing its devices, which then read as offline everywhere once their
//! TTL passes. The property tests in `tests/` check exactly that.

mod hlc;
mod state;

pub use hlc::{Clock, Stamp};
pub use state::{DeviceEntry, PresenceState, Status, UserPresence};
