//! Errors of the groups service, mapped to HTTP and gRPC by their kind.
//!
//! Besides the shared kind, every error a client can act on carries a
//! stable `reason` (`group_full`, `invite_expired`, `admins_only`...) that
//! the REST error body includes, so clients need not parse messages.

use chatflow_errors::{ErrorKind, HasKind};
use chatflow_groups_client::{ClientError, DenyReason};

/// A failed groups-service operation.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    /// A request field breaks a documented rule; nothing changed.
    #[error("{field}: {reason}")]
    InvalidField {
        /// The JSON field (or path or query parameter) at fault.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request as a whole is not acceptable; nothing changed.
    #[error("{message}")]
    Invalid {
        /// A stable reason code.
        reason: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such conversation, or one the caller is not a member of:
    /// deliberately the same answer.
    #[error("{0}")]
    NotFound(String),
    /// The caller is a member but may not do this.
    #[error("{message}")]
    Denied {
        /// Why, as in `AuthorizeResponse.reason` or an invite problem.
        reason: &'static str,
        /// What is refused.
        message: String,
    },
    /// The expected version no longer holds, or the group is full.
    #[error("{message}")]
    Conflict {
        /// `version_conflict` or `group_full`.
        reason: &'static str,
        /// What conflicts.
        message: String,
    },
    /// The relational store failed.
    #[error(transparent)]
    Sql(#[from] chatflow_sql::SqlError),
    /// Writing an event failed.
    #[error(transparent)]
    Outbox(#[from] chatflow_outbox::OutboxError),
    /// A bug, bad configuration or corrupt stored data.
    #[error("{0}")]
    Internal(String),
}

impl From<chatflow_sql::sqlx::Error> for GroupsError {
    fn from(err: chatflow_sql::sqlx::Error) -> Self {
        Self::Sql(err.into())
    }
}

impl From<ClientError> for GroupsError {
    fn from(err: ClientError) -> Self {
        match err.kind {
            ErrorKind::InvalidArgument => Self::Invalid {
                reason: "invalid_argument",
                message: err.message,
            },
            ErrorKind::NotFound => Self::NotFound(err.message),
            _ => Self::Internal(err.message),
        }
    }
}

impl HasKind for GroupsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidField { .. } | Self::Invalid { .. } => ErrorKind::InvalidArgument,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Denied { .. } => ErrorKind::PermissionDenied,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Sql(e) => e.kind(),
            Self::Outbox(e) => e.kind(),
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl GroupsError {
    /// Shorthand for an [`GroupsError::InvalidField`].
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A request that is well-formed but not acceptable.
    pub fn invalid(reason: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            reason,
            message: message.into(),
        }
    }

    /// The same answer for "no such group" and "not a member".
    pub fn no_conversation() -> Self {
        Self::NotFound("no such conversation".into())
    }

    /// A refusal for one of the authorization reasons.
    pub fn denied(reason: DenyReason, message: impl Into<String>) -> Self {
        Self::Denied {
            reason: reason.as_str(),
            message: message.into(),
        }
    }

    /// A refusal for another reason (invites, roles).
    pub fn forbidden(reason: &'static str, message: impl Into<String>) -> Self {
        Self::Denied {
            reason,
            message: message.into(),
        }
    }

    /// A stale expected version.
    pub fn version_conflict(expected: u64, current: u64) -> Self {
        Self::Conflict {
            reason: "version_conflict",
            message: format!("the group is at version {current}, not {expected}"),
        }
    }

    /// The stable reason code clients branch on.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidField { .. } => "invalid_field",
            Self::Invalid { reason, .. }
            | Self::Denied { reason, .. }
            | Self::Conflict { reason, .. } => reason,
            Self::NotFound(_) => "not_found",
            Self::Sql(_) | Self::Outbox(_) | Self::Internal(_) => match self.kind() {
                ErrorKind::Unavailable => "unavailable",
                _ => "internal",
            },
        }
    }
}

/// For the in-process [`chatflow_groups_client::GroupsClient`].
impl From<GroupsError> for ClientError {
    fn from(err: GroupsError) -> Self {
        ClientError::new(err.kind(), err.to_string())
    }
}
