//! The contact-discovery key: HMAC-SHA256 over normalised identifiers.
//!
//! The directory stores only `HMAC(key, identifier)`, never an identifier.
//! Clients receive the key (any signed-in user may) and hash their address
//! book the same way, so the server matches hashes without ever seeing a
//! phone number or email of someone who is not a user. The key protects a
//! leaked database against offline dictionary attacks; against a signed-in
//! client, who holds the key, the per-user rate limit is what bounds
//! enumeration (phone numbers are a small space).
//!
//! Rotation: every directory row records the id of the key that hashed it
//! and lookups use only the current key's rows, so after a key change the
//! directory is rebuilt by replaying `chatflow.auth.account_verified` from
//! the beginning (reset the consumer group's offsets; keep that topic's
//! retention unlimited or compacted).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::ProfileError;

/// Shortest accepted key, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The discovery key and its public id; cheap to clone.
#[derive(Clone)]
pub struct DiscoveryKey {
    key: Vec<u8>,
    id: String,
}

impl std::fmt::Debug for DiscoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoveryKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DiscoveryKey {
    /// A key from raw bytes (at least [`MIN_KEY_BYTES`]).
    pub fn from_bytes(key: Vec<u8>) -> Result<Self, ProfileError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(ProfileError::Internal(format!(
                "the discovery key has {} bytes; it needs at least {MIN_KEY_BYTES}",
                key.len()
            )));
        }
        // A digest of the key: names it without revealing it.
        let id = hex::encode(&Sha256::digest(&key)[..8]);
        Ok(Self { key, id })
    }

    /// A key from its configured form: standard base64.
    pub fn from_base64(encoded: &str) -> Result<Self, ProfileError> {
        let key = STANDARD.decode(encoded.trim()).map_err(|e| {
            ProfileError::Internal(format!("the discovery key is not valid base64: {e}"))
        })?;
        Self::from_bytes(key)
    }

    /// A fresh random key, base64-encoded (for the development key file).
    pub fn generate_base64() -> String {
        STANDARD.encode(rand::random::<[u8; 32]>())
    }

    /// The key's public id: 16 hex characters of its SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as clients receive it: standard base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.key)
    }

    /// Lower-case hex of `HMAC-SHA256(key, identifier)`.
    pub fn hash(&self, identifier: &str) -> String {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(identifier.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hmac_sha256_and_ids_are_stable() {
        // Against an independent computation of the primitive.
        let key = DiscoveryKey::from_bytes(vec![0x0b; 32]).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&[0x0b; 32]).unwrap();
        mac.update(b"+14155550123");
        assert_eq!(
            key.hash("+14155550123"),
            hex::encode(mac.finalize().into_bytes())
        );
        assert_eq!(key.hash("a").len(), 64);
        assert_eq!(key.id().len(), 16);
        let again = DiscoveryKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.id(), key.id());
    }

    #[test]
    fn short_or_malformed_keys_are_refused() {
        assert!(DiscoveryKey::from_bytes(vec![1; 31]).is_err());
        assert!(DiscoveryKey::from_base64("not base64!").is_err());
        assert!(DiscoveryKey::from_base64(&DiscoveryKey::generate_base64()).is_ok());
    }
}
