//! Choosing a backend from a URL, and the options every backend shares.

use std::sync::Arc;
use std::time::Duration;

use crate::embedded::EmbeddedBus;
use crate::namespace::Namespaced;
use crate::{BusError, EventBusRef};

/// Options that apply to every backend.
#[derive(Debug, Clone)]
pub struct BusOptions {
    /// Prepended to every topic and consumer group name, and stripped from
    /// delivered topics: tests use a unique prefix to isolate themselves on a
    /// shared broker. Must itself be made of topic characters.
    pub topic_prefix: Option<String>,
    /// Upper bound for one backend request (connect, publish, commit, ...):
    /// past it the call fails with [`BusError::Unavailable`] instead of hanging.
    pub request_timeout: Duration,
}

impl Default for BusOptions {
    fn default() -> Self {
        Self {
            topic_prefix: None,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Chooses the backend by URL: `kafka://host:port[,host:port]`, `memory://` (in-process, lost on exit), `sqlite:///abs/path/bus.db` or `sqlite://relative/path.db` (embedded, durable across restart).
///
/// Kafka URLs may carry `?replication_factor=N` for topics created by
/// [`crate::EventBus::ensure_topic`] (default: the broker's default).
/// Connecting to Kafka is lazy: an unreachable broker shows up as
/// [`BusError::Unavailable`] from the first request (or from `ping`).
pub async fn connect(url: &str, options: BusOptions) -> Result<EventBusRef, BusError> {
    if options.request_timeout.is_zero() {
        return Err(BusError::InvalidArgument(
            "request_timeout must be positive".into(),
        ));
    }
    let prefix = options.topic_prefix.clone().unwrap_or_default();
    if !prefix.is_empty() {
        crate::validate_topic(&prefix)?;
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| BusError::InvalidArgument(format!("event bus url {url:?} has no scheme")))?;
    let inner: EventBusRef = match scheme {
        "memory" => Arc::new(EmbeddedBus::open_memory(&options).await?),
        "sqlite" => {
            // `sqlite:///abs/bus.db` keeps the leading slash; `sqlite://rel.db` is relative.
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(BusError::InvalidArgument(format!(
                    "event bus url {url:?} names no sqlite file"
                )));
            }
            Arc::new(EmbeddedBus::open_file(path.as_ref(), &options).await?)
        }
        "kafka" => connect_kafka(rest, &options)?,
        other => {
            return Err(BusError::InvalidArgument(format!(
                "unknown event bus scheme {other:?}; expected kafka://, memory:// or sqlite://"
            )));
        }
    };
    tracing::info!(backend = inner.backend(), prefix = %prefix, "event bus connected");
    Ok(Arc::new(Namespaced::new(inner, prefix)))
}

#[cfg(feature = "kafka")]
fn connect_kafka(rest: &str, options: &BusOptions) -> Result<EventBusRef, BusError> {
    Ok(Arc::new(crate::kafka::KafkaBus::new(rest, options)?))
}

#[cfg(not(feature = "kafka"))]
fn connect_kafka(_rest: &str, _options: &BusOptions) -> Result<EventBusRef, BusError> {
    Err(BusError::InvalidArgument(
        "this binary was built without Kafka support (cargo feature `kafka` of chatflow-events)"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejects_unknown_schemes_and_bad_prefixes() {
        let err = connect("redis://x", BusOptions::default()).await.err();
        assert!(matches!(err, Some(BusError::InvalidArgument(_))));
        let err = connect("nothing", BusOptions::default()).await.err();
        assert!(matches!(err, Some(BusError::InvalidArgument(_))));
        let options = BusOptions {
            topic_prefix: Some("bad prefix".into()),
            ..BusOptions::default()
        };
        let err = connect("memory://", options).await.err();
        assert!(matches!(err, Some(BusError::InvalidArgument(_))));
    }

    #[cfg(not(feature = "kafka"))]
    #[tokio::test]
    async fn kafka_without_the_feature_is_explained() {
        match connect("kafka://127.0.0.1:9092", BusOptions::default()).await {
            Err(BusError::InvalidArgument(msg)) => assert!(msg.contains("without Kafka")),
            other => panic!("unexpected: {:?}", other.map(|b| b.backend())),
        }
    }
}
