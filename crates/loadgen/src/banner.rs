//! Reading what `chatflow up` prints on stdout: the start-up banner (one
//! `<service> <protocol> <url>` line per endpoint, ended by `Press Ctrl-C`)
//! and the auth service's development log of verification codes.
//!
//! Pure functions over lines, so the formats are pinned by unit tests.

/// What one stdout line of the child means to the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A banner endpoint: `("<service> <protocol>", url)`.
    Endpoint(String, String),
    /// The banner's last line: every listener is bound.
    BannerEnd,
    /// A logged verification code: `(destination, code)`.
    Code(String, String),
    /// Anything else (other logs).
    Other,
}

/// Classifies one stdout line of `chatflow up`.
pub fn parse(line: &str) -> Line {
    if line.contains("verification code") {
        return code(line).map_or(Line::Other, |(to, code)| Line::Code(to, code));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["ops", "http", url, ..] => {
            let ops = url.strip_suffix("/healthz").unwrap_or(url);
            Line::Endpoint("ops http".to_owned(), ops.to_owned())
        }
        [service, protocol, url] if url.contains("://") => {
            Line::Endpoint(format!("{service} {protocol}"), (*url).to_owned())
        }
        ["Press", ..] => Line::BannerEnd,
        _ => Line::Other,
    }
}

/// `destination=<email>` and `code=<code>` of a verification-code log line
/// (tracing's text format; values may be quoted).
fn code(line: &str) -> Option<(String, String)> {
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(name))
            .map(|value| value.trim_matches('"').to_owned())
    };
    Some((field("destination=")?, field("code=")?))
}

/// The environment variable of a setting a `chatflow` binary refused as
/// unknown, from its start-up error, e.g. `services.profile: unknown field:
/// found \`grpc_addr\`` → `CHATFLOW_SERVICES__PROFILE__GRPC_ADDR`.
pub fn unknown_setting(line: &str) -> Option<String> {
    let (_, section) = line.split_once("services.")?;
    let (service, rest) = section.split_once(':')?;
    let (_, found) = rest.split_once("unknown field: found `")?;
    let (key, _) = found.split_once('`')?;
    let service = service.replace('-', "_").to_uppercase();
    Some(format!(
        "CHATFLOW_SERVICES__{service}__{}",
        key.to_uppercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_lines_become_endpoints_and_the_end() {
        let banner = "ChatFlow is up (development, event bus: memory).
  data directory: /tmp/x
  auth             http  http://127.0.0.1:40111
  gateway          ws    ws://127.0.0.1:40117/v1/ws
  message-router   grpc  http://127.0.0.1:40115
  ops              http  http://127.0.0.1:40120/healthz  http://127.0.0.1:40120/readyz  http://127.0.0.1:40120/metrics
Press Ctrl-C to stop.";
        let parsed: Vec<Line> = banner.lines().map(parse).collect();
        let endpoint = |what: &str, url: &str| Line::Endpoint(what.to_owned(), url.to_owned());
        assert_eq!(
            parsed,
            [
                Line::Other,
                Line::Other,
                endpoint("auth http", "http://127.0.0.1:40111"),
                endpoint("gateway ws", "ws://127.0.0.1:40117/v1/ws"),
                endpoint("message-router grpc", "http://127.0.0.1:40115"),
                endpoint("ops http", "http://127.0.0.1:40120"),
                Line::BannerEnd,
            ]
        );
    }

    #[test]
    fn verification_code_logs_give_destination_and_code() {
        let line = "2026-01-02T03:04:05.678Z  INFO chatflow_auth::engine: verification code \
                    (development only; never logged in production) \
                    destination=sender0@load.example.com purpose=verify code=\"483920\"";
        assert_eq!(
            parse(line),
            Line::Code("sender0@load.example.com".to_owned(), "483920".to_owned())
        );
        let unquoted = "INFO verification code destination=a@b.c code=123456";
        assert_eq!(
            parse(unquoted),
            Line::Code("a@b.c".to_owned(), "123456".to_owned())
        );
    }

    #[test]
    fn refused_settings_name_their_environment_variable() {
        let error = "error: invalid configuration: services.profile: unknown field: found \
                     `grpc_addr`, expected `one of `http_addr`, `auth`` for key \
                     \"default.grpc_addr\" in crates/platform/src/platform.rs:237:51";
        assert_eq!(
            unknown_setting(error).as_deref(),
            Some("CHATFLOW_SERVICES__PROFILE__GRPC_ADDR")
        );
        let dashed = "services.rate-limit: unknown field: found `http_addr`, expected …";
        assert_eq!(
            unknown_setting(dashed).as_deref(),
            Some("CHATFLOW_SERVICES__RATE_LIMIT__HTTP_ADDR")
        );
        assert_eq!(unknown_setting("error: address in use"), None);
    }

    #[test]
    fn other_lines_are_ignored() {
        for line in [
            "",
            "2026-01-02T03:04:05Z  WARN chatflow_gateway: slow consumer closed",
            "INFO verification codes are never logged in production",
            "  data directory: ./data",
        ] {
            assert_eq!(parse(line), Line::Other, "{line}");
        }
    }
}
