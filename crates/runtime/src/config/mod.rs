//! Layered configuration: defaults → TOML file → `CHATFLOW_*` env → flags.
//!
//! Each layer overrides the ones before it, key by key (tables merge, scalars
//! and arrays replace):
//!
//! 1. `T::default()` — friendly for a laptop;
//! 2. an optional TOML file — naming a file that does not exist is an error;
//! 3. environment variables `CHATFLOW_*`, with `__` between nesting levels
//!    (`CHATFLOW_BACKENDS__BUS_URL` sets `backends.bus_url`);
//! 4. command-line overrides: any `Serialize` struct, typically the service's
//!    clap flags, whose `None` fields are skipped.
//!
//! Unknown keys in the file (or the flags) are rejected with their name, so a
//! typo never silently falls back to a default. Unknown `CHATFLOW_*` variables
//! are ignored: the environment is shared with other tools and services (the
//! binary's own `CHATFLOW_CONFIG`, say). A value of the wrong type is reported
//! with its key and where it came from.
//!
//! Give config structs `#[serde(default)]` (missing keys then come from
//! `Default` even inside `Option` sections) but not `deny_unknown_fields`:
//! unknown file keys are caught here already, and the attribute would also
//! reject unrelated `CHATFLOW_*` variables.

mod layer;
mod secret;

use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::{Figment, Metadata, Profile};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use layer::{ENV_NAME, Layer};
pub use secret::{REDACTED, Secret};

/// The prefix of environment variables that configure ChatFlow.
pub const ENV_PREFIX: &str = "CHATFLOW_";
/// Separates nesting levels in environment variable names.
pub const ENV_SEPARATOR: &str = "__";

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file named explicitly could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    File {
        /// The file that was asked for.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A layer is not valid syntax (a malformed TOML file).
    #[error("cannot parse {origin}: {reason}")]
    Parse {
        /// Which layer, e.g. `TOML file /etc/chatflow.toml`.
        origin: String,
        /// The parser's message.
        reason: String,
    },
    /// A key the configuration type does not have.
    #[error("unknown configuration key `{key}` in {origin}")]
    UnknownKey {
        /// Dotted path of the key, e.g. `backends.bus_urll`.
        key: String,
        /// Which layer set it.
        origin: String,
    },
    /// A key whose value does not fit its type (or a missing required key).
    #[error("invalid configuration key `{key}` from {origin}: {reason}")]
    Invalid {
        /// Dotted path of the key (empty for the top level).
        key: String,
        /// Which layer set it, e.g. `environment variable CHATFLOW_PORT`.
        origin: String,
        /// What was wrong.
        reason: String,
    },
    /// Defaults or flags could not be turned into a layer (a programming error).
    #[error("cannot use {origin} as configuration: {reason}")]
    Serialize {
        /// `defaults` or `command-line flags`.
        origin: String,
        /// What was wrong.
        reason: String,
    },
}

/// Loads `T` from defaults, `file`, the process environment and `cli_overrides`.
///
/// Pass `&()` as `cli_overrides` when there are no flags.
pub fn load<T>(file: Option<&Path>, cli_overrides: &impl Serialize) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    // Non-UTF-8 variables cannot be ours; skip them instead of panicking.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    load_from(file, env, cli_overrides)
}

/// [`load`] with the environment given explicitly, so tests need not touch
/// (and race on) the process environment.
pub fn load_from<T>(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    cli_overrides: &impl Serialize,
) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut figment = Figment::from(Layer::serialized("defaults", &T::default())?);
    if let Some(path) = file {
        // figment treats a missing file as empty; an explicit path must exist.
        std::fs::metadata(path).map_err(|source| ConfigError::File {
            path: path.to_owned(),
            source,
        })?;
        figment = figment.merge(Toml::file_exact(path));
    }
    let figment = figment
        .merge(Layer::env(env))
        .merge(Layer::serialized("command-line flags", cli_overrides)?);

    // Lossy: env values arrive as strings, and "8080" should fill a u16.
    let Tracked { value, ignored } = figment
        .extract_lossy::<Tracked<T>>()
        .map_err(from_figment)?;
    for key in ignored {
        let metadata = figment.find_metadata(&key);
        if metadata.is_some_and(|md| md.name == ENV_NAME) {
            continue; // see the module docs: the environment is shared
        }
        let origin = describe(metadata, &[]);
        return Err(ConfigError::UnknownKey { key, origin });
    }
    Ok(value)
}

/// `T` plus the keys serde ignored while deserializing it, which works
/// whether or not `T` says `#[serde(deny_unknown_fields)]`.
struct Tracked<T> {
    value: T,
    ignored: Vec<String>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tracked<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut ignored = Vec::new();
        let value = serde_ignored::deserialize(deserializer, |path| {
            ignored.push(crate::ignored::dotted(&path))
        })?;
        Ok(Self { value, ignored })
    }
}

/// Turns figment's error (which may chain several) into ours, keeping the
/// first: serde stops at the first bad value anyway.
fn from_figment(err: figment::Error) -> ConfigError {
    let Some(err) = err.into_iter().next() else {
        return ConfigError::Parse {
            origin: "configuration".to_owned(),
            reason: "unknown error".to_owned(),
        };
    };
    let origin = describe(err.metadata.as_ref(), &err.path);
    let reason = err.kind.to_string();
    if err.path.is_empty() && matches!(err.kind, figment::error::Kind::Message(_)) {
        ConfigError::Parse { origin, reason }
    } else {
        ConfigError::Invalid {
            key: err.path.join("."),
            origin,
            reason,
        }
    }
}

/// Names a layer for humans: `TOML file /etc/x.toml`, `environment variable
/// CHATFLOW_PORT`, `defaults`, `command-line flags`.
fn describe(metadata: Option<&Metadata>, path: &[String]) -> String {
    match metadata {
        None => "configuration".to_owned(),
        Some(md) if md.name == ENV_NAME && !path.is_empty() => {
            format!("{ENV_NAME} {}", md.interpolate(&Profile::Default, path))
        }
        Some(md) => match &md.source {
            Some(source) => format!("{} {source}", md.name),
            None => md.name.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Config {
        port: u16,
        name: String,
        nested: Nested,
    }

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Nested {
        url: String,
        peers: Vec<String>,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_strings_fill_typed_and_nested_fields() {
        let vars = env(&[
            ("CHATFLOW_PORT", "8080"),
            ("CHATFLOW_NAME", "123"),
            ("CHATFLOW_NESTED__URL", "kafka://b:9092"),
            ("CHATFLOW_NESTED__PEERS", "[a, b]"),
        ]);
        let config: Config = load_from(None, vars, &()).unwrap();
        assert_eq!(config.port, 8080);
        assert_eq!(config.name, "123");
        assert_eq!(config.nested.url, "kafka://b:9092");
        assert_eq!(config.nested.peers, ["a", "b"]);
    }

    #[test]
    fn type_error_names_the_env_var() {
        let err = load_from::<Config>(None, env(&[("CHATFLOW_PORT", "eighty")]), &()).unwrap_err();
        let ConfigError::Invalid { key, origin, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(key, "port");
        assert_eq!(origin, "environment variable CHATFLOW_PORT");
    }

    #[test]
    fn unknown_env_vars_are_ignored() {
        let vars = env(&[
            ("CHATFLOW_CONFIG", "/x.toml"),
            ("CHATFLOW_NESTED__NOPE", "1"),
        ]);
        assert_eq!(
            load_from::<Config>(None, vars, &()).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = load_from::<Config>(Some(Path::new("/nonexistent/chatflow.toml")), env(&[]), &())
            .unwrap_err();
        assert!(matches!(err, ConfigError::File { .. }), "{err}");
    }
}
