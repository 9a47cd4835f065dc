//! [`Secret`]: a config value that never shows up in logs or dumps.

use std::cell::Cell;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a [`Secret`] prints and serializes as.
pub const REDACTED: &str = "[redacted]";

thread_local! {
    /// Set only while [`super::load`] turns defaults and flags into layers:
    /// a default password must reach the merged config as itself, not as
    /// `"[redacted]"`. Scoped to one synchronous call on one thread.
    static EXPOSE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with secrets serializing as their real values on this thread.
pub(super) fn exposed<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the previous mode even if `f` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            EXPOSE.with(|e| e.set(self.0));
        }
    }
    let _restore = Restore(EXPOSE.with(|e| e.replace(true)));
    f()
}

/// A configuration value that must not leak: passwords, API keys, signing keys.
///
/// Deserializes as the bare value, but `Debug`, `Display` and `Serialize` all
/// print `"[redacted]"`, so a whole config struct can be logged or dumped
/// safely. Call [`Secret::expose`] at the one place the value is used.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value itself; keep the call next to where it is needed.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

impl<T: Serialize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if EXPOSE.with(Cell::get) {
            self.0.serialize(serializer)
        } else {
            serializer.serialize_str(REDACTED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_json_are_redacted() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, r#""[redacted]""#);
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn deserializes_transparently() {
        let secret: Secret<String> = serde_json::from_str(r#""hunter2""#).unwrap();
        assert_eq!(secret.into_inner(), "hunter2");
    }

    #[test]
    fn exposed_mode_is_scoped_even_on_panic() {
        let secret = Secret::new(7_u32);
        let inside = exposed(|| serde_json::to_string(&secret).unwrap());
        assert_eq!(inside, "7");
        let _ = std::panic::catch_unwind(|| exposed(|| panic!("boom")));
        assert_eq!(serde_json::to_string(&secret).unwrap(), r#""[redacted]""#);
    }
}
