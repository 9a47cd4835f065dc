//! Metric names of the auth service.

/// Counter: login attempts, by outcome (`success`, `mfa_required`, `invalid`, `unverified`, `throttled`).
pub const LOGINS: &str = "chatflow_auth_logins_total";
/// Counter: refresh-token rotations, by outcome (`rotated`, `reuse`, `invalid`).
pub const REFRESHES: &str = "chatflow_auth_refreshes_total";
/// Counter: sessions revoked, by reason.
pub const SESSIONS_REVOKED: &str = "chatflow_auth_sessions_revoked_total";
/// Counter: verification codes issued, by purpose.
pub const CODES_ISSUED: &str = "chatflow_auth_codes_issued_total";
/// Counter: MFA checks, by outcome (`ok`, `invalid`, `replay`).
pub const MFA_CHECKS: &str = "chatflow_auth_mfa_checks_total";
/// Counter: requests refused by a throttle, by throttle.
pub const THROTTLED: &str = "chatflow_auth_throttled_total";
/// Counter: signing-key rotations.
pub const KEY_ROTATIONS: &str = "chatflow_auth_key_rotations_total";

/// Registers descriptions once at start-up.
pub fn describe() {
    metrics::describe_counter!(LOGINS, "login attempts by outcome");
    metrics::describe_counter!(REFRESHES, "refresh-token uses by outcome");
    metrics::describe_counter!(SESSIONS_REVOKED, "sessions revoked by reason");
    metrics::describe_counter!(CODES_ISSUED, "verification codes issued by purpose");
    metrics::describe_counter!(MFA_CHECKS, "TOTP and recovery-code checks by outcome");
    metrics::describe_counter!(THROTTLED, "requests refused by a throttle");
    metrics::describe_counter!(KEY_ROTATIONS, "signing-key rotations");
}
