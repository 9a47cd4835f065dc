//! Layering, unknown keys, type errors and secrets in `config::load_from`.

use std::io::Write as _;

use chatflow_runtime::Secret;
use chatflow_runtime::config::{ConfigError, load, load_from};
use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    port: u16,
    from_file: String,
    from_env: String,
    from_cli: String,
    backends: Backends,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct Backends {
    bus_url: String,
    password: Secret<String>,
}

impl Default for Backends {
    fn default() -> Self {
        Self {
            bus_url: "memory://".into(),
            password: Secret::new("dev-password".into()),
        }
    }
}

/// What clap would produce: `None` means "flag not given".
#[derive(Serialize, Default)]
struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    from_cli: Option<String>,
    port: Option<u16>,
}

fn toml_file(contents: &str) -> NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn precedence_is_defaults_then_file_then_env_then_flags() {
    let file = toml_file(
        r#"
        port = 1000
        from_file = "file"
        from_env = "file"
        from_cli = "file"
        "#,
    );
    let vars = env(&[
        ("CHATFLOW_FROM_ENV", "env"),
        ("CHATFLOW_FROM_CLI", "env"),
        ("CHATFLOW_BACKENDS__BUS_URL", "kafka://broker:9092"),
    ]);
    let flags = Flags {
        from_cli: Some("cli".into()),
        port: None,
    };
    let config: Config = load_from(Some(file.path()), vars, &flags).unwrap();

    assert_eq!(config.port, 1000, "a None flag must not override the file");
    assert_eq!(config.from_file, "file");
    assert_eq!(config.from_env, "env");
    assert_eq!(config.from_cli, "cli");
    assert_eq!(config.backends.bus_url, "kafka://broker:9092");
    assert_eq!(
        config.backends.password.expose(),
        "dev-password",
        "defaults keep real secrets"
    );
}

#[test]
fn unknown_file_key_is_rejected_by_name() {
    let file = toml_file("[backends]\nbus_urll = \"kafka://typo\"\n");
    let err = load_from::<Config>(Some(file.path()), env(&[]), &()).unwrap_err();
    let ConfigError::UnknownKey { key, origin } = &err else {
        panic!("{err}")
    };
    assert_eq!(key, "backends.bus_urll");
    assert!(
        origin.contains(&file.path().display().to_string()),
        "{origin}"
    );
    assert!(err.to_string().contains("backends.bus_urll"), "{err}");
}

#[test]
fn type_errors_name_key_and_source() {
    let file = toml_file("port = \"eighty\"\n");
    let err = load_from::<Config>(Some(file.path()), env(&[]), &()).unwrap_err();
    let ConfigError::Invalid { key, origin, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(key, "port");
    assert!(
        origin.starts_with("TOML file") && origin.contains(&file.path().display().to_string()),
        "{origin}"
    );

    let err = load_from::<Config>(None, env(&[("CHATFLOW_PORT", "99999")]), &()).unwrap_err();
    assert!(
        err.to_string()
            .contains("environment variable CHATFLOW_PORT"),
        "{err}"
    );
}

#[test]
fn malformed_file_is_a_parse_error() {
    let file = toml_file("port = \n");
    let err = load_from::<Config>(Some(file.path()), env(&[]), &()).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
}

#[test]
fn secrets_load_but_never_print() {
    let vars = env(&[("CHATFLOW_BACKENDS__PASSWORD", "s3cr3t-from-env")]);
    let config: Config = load_from(None, vars, &()).unwrap();
    assert_eq!(config.backends.password.expose(), "s3cr3t-from-env");

    let debug = format!("{config:?}");
    let json = serde_json::to_string(&config).unwrap();
    for dump in [&debug, &json] {
        assert!(!dump.contains("s3cr3t"), "{dump}");
        assert!(dump.contains("[redacted]"), "{dump}");
    }
}

#[test]
fn load_reads_the_process_environment() {
    // No test sets CHATFLOW_* in the real environment; unrelated ones are ignored.
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Probe {
        it_load_probe: u32,
    }
    let file = toml_file("it_load_probe = 7\n");
    let probe: Probe = load(Some(file.path()), &()).unwrap();
    assert_eq!(probe.it_load_probe, 7);
}
