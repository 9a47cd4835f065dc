//! Profile rows and privacy rows, written with a compare-and-set on `version`.

use chatflow_sql::sqlx::{self, AnyConnection, Row};

use super::{ProfileStore, Tx, conn_of};
use crate::ProfileError;
use crate::model::{Privacy, PrivacySettings, Profile, Visibility};

const PROFILE_SELECT: &str = "SELECT user_id, display_name, about, avatar, locale, time_zone, \
     version, created_at_ms, updated_at_ms FROM profiles WHERE user_id = $1";
const PRIVACY_SELECT: &str = "SELECT last_seen, avatar, about, discovery, version, updated_at_ms \
     FROM privacy WHERE user_id = $1";

impl ProfileStore {
    /// The stored profile of `user_id`, if any.
    pub async fn profile(&self, user_id: &str) -> Result<Option<Profile>, ProfileError> {
        fetch_profile(&mut *self.conn().await?, user_id).await
    }

    /// The stored profile, read inside `tx`.
    pub async fn profile_in(
        &self,
        tx: &mut Tx,
        user_id: &str,
    ) -> Result<Option<Profile>, ProfileError> {
        fetch_profile(conn_of(tx), user_id).await
    }

    /// Stores `profile` if its owner has no row yet; true if it did.
    pub async fn insert_profile(&self, tx: &mut Tx, p: &Profile) -> Result<bool, ProfileError> {
        let done = sqlx::query(
            "INSERT INTO profiles (user_id, display_name, about, avatar, locale, time_zone, \
             version, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(&p.user_id)
        .bind(&p.display_name)
        .bind(&p.about)
        .bind(p.avatar.clone())
        .bind(p.locale.clone())
        .bind(p.time_zone.clone())
        .bind(p.version)
        .bind(p.created_at_ms)
        .bind(p.updated_at_ms)
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Replaces the profile if its stored version is still `expected`; true if it was.
    pub async fn update_profile(
        &self,
        tx: &mut Tx,
        p: &Profile,
        expected: i64,
    ) -> Result<bool, ProfileError> {
        let done = sqlx::query(
            "UPDATE profiles SET display_name = $1, about = $2, avatar = $3, locale = $4, \
             time_zone = $5, version = $6, updated_at_ms = $7 WHERE user_id = $8 AND version = $9",
        )
        .bind(&p.display_name)
        .bind(&p.about)
        .bind(p.avatar.clone())
        .bind(p.locale.clone())
        .bind(p.time_zone.clone())
        .bind(p.version)
        .bind(p.updated_at_ms)
        .bind(&p.user_id)
        .bind(expected)
        .execute(conn_of(tx))
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Creates an empty profile for `user_id` unless one exists.
    pub async fn ensure_profile(
        &self,
        tx: &mut Tx,
        user_id: &str,
        now: i64,
    ) -> Result<(), ProfileError> {
        let empty = Profile {
            created_at_ms: now,
            updated_at_ms: now,
            ..Profile::empty(user_id)
        };
        self.insert_profile(tx, &empty).await.map(|_| ())
    }

    /// The stored privacy settings of `user_id`, if any were ever written.
    pub async fn privacy(&self, user_id: &str) -> Result<Option<Privacy>, ProfileError> {
        fetch_privacy(&mut *self.conn().await?, user_id).await
    }

    /// The stored privacy settings, read inside `tx`.
    pub async fn privacy_in(
        &self,
        tx: &mut Tx,
        user_id: &str,
    ) -> Result<Option<Privacy>, ProfileError> {
        fetch_privacy(conn_of(tx), user_id).await
    }

    /// Writes privacy settings if their stored version is still `expected`
    /// (0: no row yet); true if they were written.
    pub async fn put_privacy(
        &self,
        tx: &mut Tx,
        user_id: &str,
        privacy: &Privacy,
        expected: i64,
    ) -> Result<bool, ProfileError> {
        let s = privacy.settings;
        let query = if expected == 0 {
            "INSERT INTO privacy (last_seen, avatar, about, discovery, version, updated_at_ms, user_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO NOTHING"
        } else {
            "UPDATE privacy SET last_seen = $1, avatar = $2, about = $3, discovery = $4, \
             version = $5, updated_at_ms = $6 WHERE user_id = $7 AND version = $8"
        };
        let mut query = sqlx::query(query)
            .bind(s.last_seen.as_str())
            .bind(s.avatar.as_str())
            .bind(s.about.as_str())
            .bind(s.discovery.as_str())
            .bind(privacy.version)
            .bind(privacy.updated_at_ms)
            .bind(user_id);
        if expected != 0 {
            query = query.bind(expected);
        }
        Ok(query.execute(conn_of(tx)).await?.rows_affected() == 1)
    }
}

async fn fetch_profile(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Option<Profile>, ProfileError> {
    let row = sqlx::query(PROFILE_SELECT)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        Ok(Profile {
            user_id: row.try_get("user_id")?,
            display_name: row.try_get("display_name")?,
            about: row.try_get("about")?,
            avatar: row.try_get("avatar")?,
            locale: row.try_get("locale")?,
            time_zone: row.try_get("time_zone")?,
            version: row.try_get("version")?,
            created_at_ms: row.try_get("created_at_ms")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
        })
    })
    .transpose()
}

async fn fetch_privacy(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Option<Privacy>, ProfileError> {
    let row = sqlx::query(PRIVACY_SELECT)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        let visibility = |column: &str| -> Result<Visibility, ProfileError> {
            Ok(Visibility::from_stored(&row.try_get::<String, _>(column)?))
        };
        Ok(Privacy {
            settings: PrivacySettings {
                last_seen: visibility("last_seen")?,
                avatar: visibility("avatar")?,
                about: visibility("about")?,
                discovery: visibility("discovery")?,
            },
            version: row.try_get("version")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
        })
    })
    .transpose()
}
