//! Signed invite-link tokens.
//!
//! A token is `<invite id>.<expires at, unix ms>.<signature>`, where the
//! signature is base64url(HMAC-SHA256(invite key, `"chatflow-invite-v1." +
//! id + "." + expires`)). The signature is checked (in constant time) and the
//! expiry compared before the database is asked anything, so forged or
//! tampered tokens cost nothing and cannot probe for invite ids. The row
//! behind the id says which group it joins, whether it was revoked and how
//! often it was used.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::GroupsError;

/// Shortest accepted key, in bytes.
pub const MIN_KEY_BYTES: usize = 32;
/// Longest token parsed: id (32) + timestamp (≤ 15) + signature (43), with room.
const MAX_TOKEN_BYTES: usize = 128;
/// Separates these MACs from any other use of the same key.
const DOMAIN: &[u8] = b"chatflow-invite-v1.";

/// The key that signs invite tokens; cheap to clone.
#[derive(Clone)]
pub struct InviteKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for InviteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InviteKey").finish_non_exhaustive()
    }
}

/// What a token that verified says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The invite's id.
    pub id: String,
    /// When it stops working, in Unix milliseconds.
    pub expires_at_ms: i64,
}

impl InviteKey {
    /// A key from its configured form: standard base64 of at least 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, GroupsError> {
        let key = STANDARD.decode(encoded.trim()).map_err(|e| {
            GroupsError::Internal(format!("the invite key is not valid base64: {e}"))
        })?;
        if key.len() < MIN_KEY_BYTES {
            return Err(GroupsError::Internal(format!(
                "the invite key has {} bytes; it needs at least {MIN_KEY_BYTES}",
                key.len()
            )));
        }
        let mac = Hmac::<Sha256>::new_from_slice(&key)
            .map_err(|e| GroupsError::Internal(format!("invite key: {e}")))?;
        Ok(Self { mac })
    }

    /// A fresh random key, base64-encoded (for the development key file).
    pub fn generate_base64() -> String {
        STANDARD.encode(rand::random::<[u8; 32]>())
    }

    /// The token for invite `id` expiring at `expires_at_ms`.
    pub fn sign(&self, id: &str, expires_at_ms: i64) -> String {
        let signature =
            URL_SAFE_NO_PAD.encode(self.keyed(id, expires_at_ms).finalize().into_bytes());
        format!("{id}.{expires_at_ms}.{signature}")
    }

    /// Checks a token's form and signature, then its expiry against `now_ms`.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claim, GroupsError> {
        let invalid = || GroupsError::invalid("invite_invalid", "this invite link is not valid");
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid());
        }
        let mut parts = token.split('.');
        let (Some(id), Some(stamp), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let id_ok = id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let stamp_ok =
            !stamp.is_empty() && stamp.len() <= 15 && stamp.bytes().all(|b| b.is_ascii_digit());
        let expires_at_ms: i64 = match stamp.parse() {
            Ok(ms) if id_ok && stamp_ok => ms,
            _ => return Err(invalid()),
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
        // `verify_slice` compares in constant time.
        self.keyed(id, expires_at_ms)
            .verify_slice(&signature)
            .map_err(|_| invalid())?;
        if expires_at_ms <= now_ms {
            return Err(GroupsError::forbidden(
                "invite_expired",
                "this invite link has expired",
            ));
        }
        Ok(Claim {
            id: id.to_owned(),
            expires_at_ms,
        })
    }

    fn keyed(&self, id: &str, expires_at_ms: i64) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN);
        mac.update(format!("{id}.{expires_at_ms}").as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> InviteKey {
        InviteKey::from_base64(&InviteKey::generate_base64()).unwrap()
    }

    const ID: &str = "0190e4c87b1a70008000000000000001";

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let key = key();
        let token = key.sign(ID, 2_000);
        let claim = key.verify(&token, 1_000).unwrap();
        assert_eq!(
            claim,
            Claim {
                id: ID.into(),
                expires_at_ms: 2_000
            }
        );
        assert_eq!(
            key.verify(&token, 2_000).unwrap_err().reason(),
            "invite_expired"
        );
    }

    #[test]
    fn tampered_forged_and_malformed_tokens_are_invalid() {
        let key = key();
        let token = key.sign(ID, 2_000);
        let later = token.replacen(".2000.", ".9000.", 1);
        let other_key = InviteKey::from_base64(&InviteKey::generate_base64()).unwrap();
        let mut flipped = token.clone();
        let last = flipped
            .pop()
            .map(|c| if c == 'A' { 'B' } else { 'A' })
            .unwrap();
        flipped.push(last);
        for bad in [
            later,
            other_key.sign(ID, 2_000),
            flipped,
            String::new(),
            "a.b.c".into(),
            format!("{token}.x"),
            "x".repeat(500),
        ] {
            assert_eq!(
                key.verify(&bad, 1_000).unwrap_err().reason(),
                "invite_invalid",
                "{bad}"
            );
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(InviteKey::from_base64(&STANDARD.encode([1u8; 31])).is_err());
        assert!(InviteKey::from_base64("not base64!").is_err());
    }
}
