//! Metric names of the verifier, described once at start-up by [`describe`].

use crate::AuthnError;

/// Counter: tokens and service identities rejected, by `reason` ([`AuthnError::reason`]).
pub const AUTHN_REJECTED: &str = "chatflow_authn_rejected_total";
/// Counter: key-set fetches, by `outcome` (`ok` / `error`).
pub const JWKS_FETCHES: &str = "chatflow_authn_jwks_fetches_total";

/// Registers the descriptions of this crate's metrics with the recorder.
pub fn describe() {
    metrics::describe_counter!(AUTHN_REJECTED, "Credentials rejected, by reason.");
    metrics::describe_counter!(JWKS_FETCHES, "Signing key-set fetches, by outcome.");
}

/// Counts one rejection and passes the error on.
pub(crate) fn rejected(err: AuthnError) -> AuthnError {
    metrics::counter!(AUTHN_REJECTED, "reason" => err.reason()).increment(1);
    err
}

/// The `outcome` label of a fetch.
pub(crate) fn describe_fetch<T>(result: &Result<T, AuthnError>) -> &'static str {
    if result.is_ok() { "ok" } else { "error" }
}
