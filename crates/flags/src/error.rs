//! The crate's error type and the per-field problems validation reports.

use std::fmt;

use chatflow_errors::{ErrorKind, HasKind};
use serde::{Deserialize, Serialize};

/// One problem found in a [`FlagSpec`](crate::FlagSpec), located by a path.
///
/// Paths read like the JSON they point into: `variants.beta`,
/// `rules[2].serve.buckets`, `rules[0].conditions[1].values[0]`. A REST edge
/// returns the list as-is so an admin UI can highlight every bad field at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Violation {
    /// Where the problem is, e.g. `rules[2].serve.buckets`.
    pub path: String,
    /// What is wrong there, lowercase, e.g. `weights sum to 9000, expected 10000`.
    pub message: String,
}

impl Violation {
    /// Builds a violation at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Everything that can go wrong in this crate; all of it is the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// A flag key does not match `^[a-z][a-z0-9_.-]{0,127}$`.
    #[error("invalid flag key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key, verbatim.
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The JSON could not be decoded into a spec (syntax, unknown field, wrong type).
    #[error("malformed flag spec: {0}")]
    Malformed(String),
    /// The spec decoded but breaks one or more rules; every problem is listed.
    #[error("invalid flag spec: {}", join(.0))]
    Invalid(Vec<Violation>),
}

impl FlagError {
    /// The per-field problems, empty for errors that are not about a spec's content.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Invalid(violations) => violations,
            Self::InvalidKey { .. } | Self::Malformed(_) => &[],
        }
    }
}

impl HasKind for FlagError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidKey { .. } | Self::Malformed(_) | Self::Invalid(_) => {
                ErrorKind::InvalidArgument
            }
        }
    }
}

fn join(violations: &[Violation]) -> String {
    let parts: Vec<String> = violations.iter().map(Violation::to_string).collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_every_violation_and_is_invalid_argument() {
        let err = FlagError::Invalid(vec![
            Violation::new("default_variant", "unknown variant \"x\""),
            Violation::new(
                "rules[2].serve.buckets",
                "weights sum to 9000, expected 10000",
            ),
        ]);
        assert_eq!(
            err.to_string(),
            "invalid flag spec: default_variant: unknown variant \"x\"; \
             rules[2].serve.buckets: weights sum to 9000, expected 10000"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(err.violations().len(), 2);
    }
}
