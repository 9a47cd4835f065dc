//! [`OperatorToken`]: the break-glass bearer token of admin APIs (config,
//! auth), compared in constant time.

use sha2::{Digest, Sha256};

/// A configured operator token, kept as a digest so comparison time does
/// not depend on the guess.
#[derive(Clone, Debug)]
pub struct OperatorToken {
    digest: [u8; 32],
}

impl OperatorToken {
    /// Wraps the configured token.
    pub fn new(token: &str) -> Self {
        Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// Whether `candidate` is the token, comparing fixed-size digests in full.
    pub fn matches(&self, candidate: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.digest
            .iter()
            .zip(other.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let token = OperatorToken::new("s3cret");
        assert!(token.matches("s3cret"));
        assert!(!token.matches("s3cre"));
        assert!(!token.matches("s3cret "));
        assert!(!token.matches(""));
    }
}
