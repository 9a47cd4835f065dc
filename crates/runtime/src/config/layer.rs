//! The figment providers behind [`super::load_from`]: serialized values
//! (defaults, command-line flags) and `CHATFLOW_*` environment variables.
//!
//! figment's own `Env` reads the process environment directly; this one takes
//! the pairs it is given, so tests can pass env vars without touching (and
//! racing on) the real environment.

use figment::value::{Dict, Empty, Map, Value};
use figment::{Metadata, Profile, Provider};
use serde::Serialize;

use super::{ConfigError, ENV_PREFIX, ENV_SEPARATOR, secret};

/// The provider name figment reports for environment variables; also how
/// [`super::load_from`] recognises keys that came from the environment.
pub(super) const ENV_NAME: &str = "environment variable";

/// One layer of configuration, already turned into figment's value tree.
pub(super) struct Layer {
    metadata: Metadata,
    dict: Dict,
}

impl Layer {
    /// A layer from a serializable value such as `T::default()` or a flags
    /// struct. `None` fields are dropped, so they never override lower layers.
    pub(super) fn serialized(
        name: &'static str,
        value: &impl Serialize,
    ) -> Result<Self, ConfigError> {
        // Secrets serialize as themselves here: they are merged, not shown.
        let value = secret::exposed(|| Value::serialize(value).map_err(|e| e.kind.to_string()))
            .map_err(|reason| ConfigError::Serialize {
                origin: name.to_owned(),
                reason,
            })?;
        let dict = match strip_empty(value) {
            None => Dict::new(),
            Some(Value::Dict(_, dict)) => dict,
            Some(_) => {
                return Err(ConfigError::Serialize {
                    origin: name.to_owned(),
                    reason: "expected a struct or map at the top level".to_owned(),
                });
            }
        };
        Ok(Self {
            metadata: Metadata::named(name),
            dict,
        })
    }

    /// A layer from `CHATFLOW_*` pairs: `CHATFLOW_BACKENDS__BUS_URL=x` becomes
    /// `backends.bus_url = "x"`. Other variables are ignored.
    ///
    /// Scalars stay strings (extraction is lossy, so `"8080"` still fills a
    /// `u16` and a numeric-looking password stays a string); `[a, b]` and
    /// `{k = v}` parse as arrays and tables.
    pub(super) fn env(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        // Sorted so that conflicting names (`A` vs `A__B`) resolve the same way every run.
        let mut pairs: Vec<(Vec<String>, String)> = vars
            .into_iter()
            .filter_map(|(name, value)| Some((env_path(&name)?, value)))
            .collect();
        pairs.sort();

        let mut dict = Dict::new();
        for (path, raw) in pairs {
            let value = match raw.parse::<Value>() {
                Ok(parsed @ (Value::Array(..) | Value::Dict(..))) => parsed,
                _ => Value::from(raw),
            };
            insert(&mut dict, &path, value);
        }

        let metadata = Metadata::named(ENV_NAME).interpolater(|_: &Profile, keys: &[&str]| {
            format!(
                "{ENV_PREFIX}{}",
                keys.join(ENV_SEPARATOR).to_ascii_uppercase()
            )
        });
        Self { metadata, dict }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// `CHATFLOW_BACKENDS__BUS_URL` → `["backends", "bus_url"]`; `None` for
/// variables without the prefix or with an empty segment.
fn env_path(name: &str) -> Option<Vec<String>> {
    let prefix = name.get(..ENV_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
        return None;
    }
    let path: Vec<String> = name[ENV_PREFIX.len()..]
        .split(ENV_SEPARATOR)
        .map(str::to_ascii_lowercase)
        .collect();
    path.iter()
        .all(|segment| !segment.is_empty())
        .then_some(path)
}

/// Sets `path` in `dict`, creating (or replacing non-table) parents.
fn insert(dict: &mut Dict, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = dict;
    for key in parents {
        let slot = current
            .entry(key.clone())
            .or_insert_with(|| Value::from(Dict::new()));
        if !matches!(slot, Value::Dict(..)) {
            *slot = Value::from(Dict::new());
        }
        match slot {
            Value::Dict(_, next) => current = next,
            _ => return, // cannot happen: the slot was just made a table
        }
    }
    current.insert(last.clone(), value);
}

/// Drops `None`/unit values (recursively) so they do not override lower layers.
fn strip_empty(value: Value) -> Option<Value> {
    match value {
        Value::Empty(_, Empty::None | Empty::Unit) => None,
        Value::Dict(tag, dict) => Some(Value::Dict(
            tag,
            dict.into_iter()
                .filter_map(|(k, v)| Some((k, strip_empty(v)?)))
                .collect(),
        )),
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_map_to_nested_lowercase_paths() {
        assert_eq!(
            env_path("CHATFLOW_BACKENDS__BUS_URL"),
            Some(vec!["backends".to_owned(), "bus_url".to_owned()])
        );
        assert_eq!(env_path("chatflow_port"), Some(vec!["port".to_owned()]));
        assert_eq!(env_path("CHATFLOW_A____B"), None);
        assert_eq!(env_path("CHATFLOW_"), None);
        assert_eq!(env_path("HOME"), None);
    }

    #[test]
    fn scalars_stay_strings_and_arrays_parse() {
        let layer = Layer::env([
            ("CHATFLOW_PASSWORD".to_owned(), "0123".to_owned()),
            ("CHATFLOW_PEERS".to_owned(), "[a, b]".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(layer.dict.len(), 2);
        assert_eq!(layer.dict["password"].as_str(), Some("0123"));
        assert_eq!(layer.dict["peers"].as_array().map(<[_]>::len), Some(2));
    }

    #[test]
    fn none_fields_are_dropped_from_serialized_layers() {
        #[derive(Serialize)]
        struct Flags {
            port: Option<u16>,
            name: Option<String>,
        }
        let layer = Layer::serialized(
            "flags",
            &Flags {
                port: Some(1),
                name: None,
            },
        )
        .unwrap();
        assert_eq!(layer.dict.keys().collect::<Vec<_>>(), ["port"]);
        assert!(Layer::serialized("flags", &()).unwrap().dict.is_empty());
        assert!(Layer::serialized("flags", &5).is_err());
    }
}
