//! Random secrets and their digests: opaque tokens, numeric codes, recovery
//! codes, and constant-time comparison.
//!
//! Every secret comes from the operating system's CSPRNG (`rand::rng()` is
//! a ChaCha12 generator seeded and periodically reseeded from the OS).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Prefix of refresh tokens, so leaked ones are recognisable by scanners.
pub const REFRESH_PREFIX: &str = "cfr_";
/// Prefix of MFA tickets.
pub const TICKET_PREFIX: &str = "cfm_";

/// `n` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    rand::rng().random()
}

/// An opaque 256-bit token: `prefix` + base64url of 32 random bytes.
pub fn opaque_token(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// SHA-256 as lower-case hex; for high-entropy secrets, which need no salt.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A six-digit decimal code, uniform over 000000..=999999.
pub fn six_digit_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// SHA-256 of a per-code salt followed by the code.
pub fn salted_hash(salt: &[u8], code: &str) -> Vec<u8> {
    let mut digest = Sha256::new();
    digest.update(salt);
    digest.update(code.as_bytes());
    digest.finalize().to_vec()
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The alphabet of recovery codes: lower-case RFC 4648 base32 (no 0/1/8/9 to confuse).
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A recovery code of 80 random bits, shown as `xxxx-xxxx-xxxx-xxxx`.
pub fn recovery_code() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..16)
        .map(|_| char::from(RECOVERY_ALPHABET[rng.random_range(0..32)]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// What users may type for a recovery code: case, dashes and spaces ignored.
pub fn normalize_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The stored digest of a recovery code, bound to its user.
pub fn recovery_code_hash(user_id: &str, code: &str) -> String {
    sha256_hex(format!("{user_id}:{}", normalize_recovery_code(code)).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_codes_have_their_shapes() {
        let token = opaque_token(REFRESH_PREFIX);
        assert!(
            token.starts_with("cfr_") && token.len() == 4 + 43,
            "{token}"
        );
        assert_ne!(token, opaque_token(REFRESH_PREFIX));
        let code = six_digit_code();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
        let recovery = recovery_code();
        assert_eq!(recovery.len(), 19);
        assert_eq!(normalize_recovery_code(&recovery.to_uppercase()).len(), 16);
    }

    #[test]
    fn recovery_hash_ignores_formatting_but_not_the_user() {
        let code = "abcd-efgh-ijkl-mnop";
        assert_eq!(
            recovery_code_hash("u1", code),
            recovery_code_hash("u1", "ABCD EFGH IJKL MNOP")
        );
        assert_ne!(
            recovery_code_hash("u1", code),
            recovery_code_hash("u2", code)
        );
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
