//! Accounts and the group, over REST: register, verify with the code the
//! fleet logs (development mode), log in, share last-seen with everyone
//! (the default is contacts only, which would hide every simulated user's
//! presence from the others), and create one group holding them all.

use anyhow::{Context, Result, anyhow, bail};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::fleet::Fleet;

/// The password of every generated account.
const PASSWORD: &str = "load generator password";
/// Requests in flight at once while setting up (the generator's fleet
/// hashes passwords at the cheapest argon2 cost, see `fleet::SETTINGS`).
const CONCURRENCY: usize = 32;

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user id auth assigned.
    pub user_id: String,
    /// An access token for the WebSocket.
    pub token: String,
}

/// Registers, verifies and logs in one account per email, in order.
pub async fn accounts(
    fleet: &mut Fleet,
    http: &reqwest::Client,
    emails: &[String],
) -> Result<Vec<Account>> {
    let auth = fleet.url("auth http")?.to_owned();
    let post = |path: &'static str, body: Value| {
        let request = http.post(format!("{auth}{path}")).json(&body);
        async move {
            let response = request
                .send()
                .await
                .with_context(|| format!("POST {path}"))?;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("POST {path}: {status}: {body}");
            }
            Ok(body)
        }
    };
    futures::stream::iter(emails)
        .map(|email| {
            post(
                "/v1/auth/register",
                json!({"email": email, "password": PASSWORD}),
            )
        })
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let codes = fleet.codes(emails).await?;
    futures::stream::iter(emails)
        .map(|email| {
            let code = codes.get(email).cloned().unwrap_or_default();
            post("/v1/auth/verify", json!({"email": email, "code": code}))
        })
        .buffered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    futures::stream::iter(emails)
        .map(|email| {
            let login = post(
                "/v1/auth/login",
                json!({"email": email, "password": PASSWORD}),
            );
            async move { session(&login.await?) }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// The user id and access token of a login answer.
fn session(body: &str) -> Result<Account> {
    let session: Value = serde_json::from_str(body).context("login answer is not JSON")?;
    let field = |name: &str| {
        session[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("login answer lacks `{name}`: {body}"))
    };
    Ok(Account {
        user_id: field("user_id")?,
        token: field("access_token")?,
    })
}

/// Sets every account's privacy to show last-seen (and the rest) to
/// everyone, so watchers see real statuses and presence changes.
pub async fn share_presence(
    fleet: &Fleet,
    http: &reqwest::Client,
    accounts: &[Account],
) -> Result<()> {
    let url = format!("{}/v1/profile/me/privacy", fleet.url("profile http")?);
    let everyone = json!({"last_seen": "everyone", "avatar": "everyone",
        "about": "everyone", "discovery": "everyone"});
    futures::stream::iter(accounts)
        .map(|account| {
            let request = http.put(&url).bearer_auth(&account.token).json(&everyone);
            async move {
                let response = request.send().await.context("PUT /v1/profile/me/privacy")?;
                let status = response.status();
                if !status.is_success() {
                    let body = response.text().await.unwrap_or_default();
                    bail!("PUT /v1/profile/me/privacy: {status}: {body}");
                }
                Ok(())
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// Creates a group owned by `owner` with `members`; returns its id.
pub async fn group(
    fleet: &Fleet,
    http: &reqwest::Client,
    owner: &Account,
    members: &[&Account],
) -> Result<String> {
    let url = format!("{}/v1/groups", fleet.url("groups http")?);
    let member_ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    let response = http
        .post(&url)
        .bearer_auth(&owner.token)
        .json(&json!({"name": "Load test", "member_ids": member_ids}))
        .send()
        .await
        .context("POST /v1/groups")?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("POST /v1/groups: {status}: {body}");
    }
    let group: Value = serde_json::from_str(&body).context("group answer is not JSON")?;
    group["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("group answer lacks `id`: {body}"))
}

/// Creates (or finds) the direct conversation of each `(a, b)`, as `a`;
/// returns their ids in order.
pub async fn directs(
    fleet: &Fleet,
    http: &reqwest::Client,
    pairs: &[(&Account, &Account)],
) -> Result<Vec<String>> {
    let url = format!("{}/v1/groups/direct", fleet.url("groups http")?);
    futures::stream::iter(pairs)
        .map(|(a, b)| {
            let request = http
                .post(&url)
                .bearer_auth(&a.token)
                .json(&json!({"user_id": b.user_id}));
            async move {
                let response = request.send().await.context("POST /v1/groups/direct")?;
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                if !status.is_success() {
                    bail!("POST /v1/groups/direct: {status}: {body}");
                }
                let direct: Value =
                    serde_json::from_str(&body).context("direct answer is not JSON")?;
                direct["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("direct answer lacks `id`: {body}"))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_answer_gives_the_account() -> Result<()> {
        let account = session(r#"{"user_id": "u1", "access_token": "jwt", "refresh_token": "r"}"#)?;
        assert_eq!(
            (account.user_id.as_str(), account.token.as_str()),
            ("u1", "jwt")
        );
        assert!(session(r#"{"error": "nope"}"#).is_err());
        assert!(session("not json").is_err());
        Ok(())
    }
}
