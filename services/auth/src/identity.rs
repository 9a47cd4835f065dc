//! Account identifiers (email or E.164 phone) and the password policy.

use crate::AuthError;

/// Where an account's codes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An email address.
    Email,
    /// A phone number, reached by SMS.
    Phone,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }
}

/// A normalised account identifier: lower-case email or E.164 phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    /// Email or phone.
    pub channel: Channel,
    /// The normalised value, unique across accounts.
    pub value: String,
}

impl Identifier {
    /// Exactly one of `email` or `phone`, normalised and validated.
    pub fn from_parts(email: Option<&str>, phone: Option<&str>) -> Result<Self, AuthError> {
        match (email, phone) {
            (Some(email), None) => Self::email(email),
            (None, Some(phone)) => Self::phone(phone),
            _ => Err(AuthError::invalid("give exactly one of `email` or `phone`")),
        }
    }

    /// A trimmed, lower-cased email with one `@`, a dotted domain and sane lengths.
    pub fn email(raw: &str) -> Result<Self, AuthError> {
        let value = raw.trim().to_lowercase();
        let bad = || AuthError::invalid(format!("`email` {raw:?} is not a valid email address"));
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        let valid = !local.is_empty()
            && local.len() <= 64
            && value.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
        if !valid {
            return Err(bad());
        }
        Ok(Self {
            channel: Channel::Email,
            value,
        })
    }

    /// An E.164 number (`^\+[1-9]\d{6,14}$`); spaces, dashes, dots and parentheses are dropped first.
    pub fn phone(raw: &str) -> Result<Self, AuthError> {
        let value: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = value.strip_prefix('+').unwrap_or_default();
        let valid = value.starts_with('+')
            && (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !valid {
            return Err(AuthError::invalid(format!(
                "`phone` {raw:?} is not an E.164 number such as +14155550123"
            )));
        }
        Ok(Self {
            channel: Channel::Phone,
            value,
        })
    }

    /// A stable digest for throttle keys, so caches never hold raw identifiers.
    pub fn throttle_key(&self) -> String {
        crate::crypto::sha256_hex(self.value.as_bytes())
    }
}

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in characters (bounds hashing work).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// 10 to 256 characters, not only whitespace. Composition rules are
/// deliberately absent (NIST SP 800-63B).
pub fn check_password(field: &str, password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(AuthError::invalid(format!(
            "`{field}` must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long, not {chars}"
        )));
    }
    if password.chars().all(char::is_whitespace) {
        return Err(AuthError::invalid(format!(
            "`{field}` must not be only whitespace"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        let id = Identifier::email("  Alice@Example.COM ").ok();
        assert_eq!(id.map(|i| i.value), Some("alice@example.com".to_owned()));
        for bad in [
            "",
            "alice",
            "@example.com",
            "a@b",
            "a@.b.c",
            "a b@c.de",
            "a@@b.c",
            "a@b..c",
        ] {
            assert!(Identifier::email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn phones_must_be_e164() {
        let id = Identifier::phone("+1 (415) 555-0123").ok();
        assert_eq!(id.map(|i| i.value), Some("+14155550123".to_owned()));
        for bad in [
            "4155550123",
            "+0123456789",
            "+12345",
            "+1234567890123456",
            "+1415abc0123",
        ] {
            assert!(Identifier::phone(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Identifier::phone("+1234567").is_ok());
    }

    #[test]
    fn exactly_one_identifier() {
        assert!(Identifier::from_parts(None, None).is_err());
        assert!(Identifier::from_parts(Some("a@b.co"), Some("+14155550123")).is_err());
    }

    #[test]
    fn password_policy() {
        assert!(check_password("password", "correct horse").is_ok());
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", &" ".repeat(12)).is_err());
        assert!(check_password("password", &"x".repeat(257)).is_err());
        assert!(check_password("password", &"é".repeat(10)).is_ok());
    }
}
