//! The admin API's bearer-token check (an operator token until user roles exist).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chatflow_errors::ErrorKind;
use chatflow_runtime::ApiError;
use sha2::{Digest, Sha256};

/// The operator token, kept as a digest so comparison time does not depend on the guess.
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

/// Rejects requests without `Authorization: Bearer <operator token>`.
pub async fn require_operator(
    State(token): State<OperatorToken>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(candidate) if token.matches(candidate.trim()) => next.run(request).await,
        Some(_) => deny("invalid bearer token"),
        None => deny("missing bearer token (Authorization: Bearer <operator token>)"),
    }
}

fn deny(message: &str) -> Response {
    metrics::counter!(crate::metrics::AUTH_FAILURES).increment(1);
    let mut response = ApiError::new(ErrorKind::Unauthenticated, message).into_response();
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    response
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
