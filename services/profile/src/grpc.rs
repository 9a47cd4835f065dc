//! The internal API for presence: may a viewer see each owner's online
//! status and last-seen time?
//!
//! Served over gRPC (`chatflow.profile.v1.ProfileService`, service identity
//! required, checked by an interceptor before the handler runs) and in
//! process as [`ProfileVisibilityHandle`], which the launcher publishes so a
//! presence service or gateway in the same process needs no network.
//!
//! The rule, for an owner other than the viewer: no block between the two in
//! either direction, and the owner's `last_seen` setting admits the viewer —
//! `everyone`, `contacts` (the *owner* has the viewer as a contact; the
//! default) or `nobody`. A user always sees themself. Each answer costs four
//! indexed queries per batch of owners, whatever the batch size.

use std::collections::{HashMap, HashSet};

use chatflow_authn::ServiceIdentity;
use chatflow_proto::profile::v1 as pb;
use chatflow_proto::profile::v1::profile_service_server::{
    ProfileService as ProfileRpc, ProfileServiceServer,
};
use chatflow_sql::sqlx::{self, Row};
use tonic::{Request, Response, Status};

use crate::engine::Engine;
use crate::model::{PrivacySettings, Visibility};
use crate::store::Tx;
use crate::{ProfileError, validate};

/// Most owners one question may name.
pub const MAX_VISIBILITY_OWNERS: usize = 1000;
/// Owners per SQL `IN` list: far below SQLite's and PostgreSQL's parameter limits.
const SQL_BATCH: usize = 250;

/// The profile service's answer to "may this viewer see these owners'
/// presence?", in process; cheap to clone.
#[derive(Clone)]
pub struct ProfileVisibilityHandle {
    engine: Engine,
}

impl ProfileVisibilityHandle {
    pub(crate) fn new(engine: Engine) -> Self {
        Self { engine }
    }

    /// Whether `viewer` may see each of `owners`' status and last-seen, in
    /// order; `InvalidArgument` for a malformed id or more than
    /// [`MAX_VISIBILITY_OWNERS`] owners.
    pub async fn presence_visibility(
        &self,
        viewer: &str,
        owners: &[String],
    ) -> Result<Vec<bool>, ProfileError> {
        presence_visibility(&self.engine, viewer, owners).await
    }
}

impl std::fmt::Debug for ProfileVisibilityHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileVisibilityHandle")
            .finish_non_exhaustive()
    }
}

/// The routes, with the service-identity check in front.
pub(crate) fn routes(engine: Engine, identity: &ServiceIdentity) -> tonic::service::Routes {
    let server =
        ProfileServiceServer::with_interceptor(GrpcApi { engine }, identity.server_interceptor());
    tonic::service::Routes::new(server)
}

/// Serves `chatflow.profile.v1.ProfileService` from the engine.
struct GrpcApi {
    engine: Engine,
}

#[tonic::async_trait]
impl ProfileRpc for GrpcApi {
    async fn presence_visibility(
        &self,
        request: Request<pb::PresenceVisibilityRequest>,
    ) -> Result<Response<pb::PresenceVisibilityResponse>, Status> {
        let request = request.into_inner();
        let visible = presence_visibility(&self.engine, &request.viewer_id, &request.owner_ids)
            .await
            .map_err(|e| chatflow_runtime::grpc::to_status(&e))?;
        Ok(Response::new(pb::PresenceVisibilityResponse { visible }))
    }
}

/// Checks the ids, then answers from the store in a few batched reads.
async fn presence_visibility(
    engine: &Engine,
    viewer: &str,
    owners: &[String],
) -> Result<Vec<bool>, ProfileError> {
    let viewer = validate::id("viewer_id", viewer)?;
    if owners.len() > MAX_VISIBILITY_OWNERS {
        return Err(ProfileError::field(
            "owner_ids",
            format!("at most {MAX_VISIBILITY_OWNERS} owners per call"),
        ));
    }
    for owner in owners {
        validate::id("owner_ids", owner)?;
    }
    let others: Vec<&str> = owners
        .iter()
        .map(String::as_str)
        .filter(|owner| *owner != viewer)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let facts = if others.is_empty() {
        Facts::default()
    } else {
        // One transaction, only to read on one connection; rolled back.
        let mut tx = engine.store.begin().await?;
        let mut facts = Facts::default();
        for batch in others.chunks(SQL_BATCH) {
            facts.read(&mut tx, &viewer, batch).await?;
        }
        tx.rollback().await?;
        facts
    };
    let default_last_seen = PrivacySettings::default().last_seen;
    Ok(owners
        .iter()
        .map(|owner| {
            if *owner == viewer {
                return true;
            }
            if facts.blocked.contains(owner.as_str()) {
                return false;
            }
            let setting = facts
                .last_seen
                .get(owner.as_str())
                .copied()
                .unwrap_or(default_last_seen);
            setting.admits(facts.contact_of.contains(owner.as_str()))
        })
        .collect())
}

/// What the store says about the viewer and a set of owners.
#[derive(Default)]
struct Facts {
    /// Owners' stored `last_seen` settings (absent: the default).
    last_seen: HashMap<String, Visibility>,
    /// Owners who have the viewer as a contact.
    contact_of: HashSet<String>,
    /// Owners with a block between them and the viewer, either way.
    blocked: HashSet<String>,
}

impl Facts {
    async fn read(
        &mut self,
        tx: &mut Tx,
        viewer: &str,
        owners: &[&str],
    ) -> Result<(), ProfileError> {
        let list = placeholders(owners.len());
        let settings = format!("SELECT user_id, last_seen FROM privacy WHERE user_id IN ({list})");
        for row in fetch(tx, &settings, None, owners).await? {
            let stored: String = row.try_get("last_seen")?;
            self.last_seen
                .insert(row.try_get("user_id")?, Visibility::from_stored(&stored));
        }
        let queries = [
            "SELECT owner_id AS owner FROM contacts WHERE contact_id = $1 AND owner_id IN",
            "SELECT blocker_id AS owner FROM blocks WHERE blocked_id = $1 AND blocker_id IN",
            "SELECT blocked_id AS owner FROM blocks WHERE blocker_id = $1 AND blocked_id IN",
        ];
        let shifted = placeholders_from(2, owners.len());
        for (i, query) in queries.into_iter().enumerate() {
            let sql = format!("{query} ({shifted})");
            for row in fetch(tx, &sql, Some(viewer), owners).await? {
                let owner: String = row.try_get("owner")?;
                if i == 0 {
                    self.contact_of.insert(owner);
                } else {
                    self.blocked.insert(owner);
                }
            }
        }
        Ok(())
    }
}

/// Runs `sql` with an optional first parameter and then `owners`.
async fn fetch(
    tx: &mut Tx,
    sql: &str,
    first: Option<&str>,
    owners: &[&str],
) -> Result<Vec<sqlx::any::AnyRow>, ProfileError> {
    let mut query = sqlx::query(sql);
    if let Some(first) = first {
        query = query.bind(first.to_owned());
    }
    for owner in owners {
        query = query.bind((*owner).to_owned());
    }
    Ok(query.fetch_all(&mut **tx).await?)
}

/// `$1, $2, ..., $n`.
fn placeholders(n: usize) -> String {
    placeholders_from(1, n)
}

/// `$first, ..., $(first + n - 1)`.
fn placeholders_from(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_given_position() {
        assert_eq!(placeholders(3), "$1, $2, $3");
        assert_eq!(placeholders_from(2, 2), "$2, $3");
    }
}
