//! What a `kafka://` URL says, and the client configuration derived from it.

use std::time::Duration;

use rdkafka::ClientConfig;

use crate::{BusError, BusOptions};

/// Connection settings shared by the producer, admin client and consumers of one bus.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Comma-separated `host:port` list.
    pub(crate) brokers: String,
    /// Replication factor for topics we create; -1 is the broker's default (KIP-464).
    pub(crate) replication_factor: i32,
    /// librdkafka debug contexts (`?debug=cgrp,fetch`), for diagnosing a cluster.
    pub(crate) debug: Option<String>,
    /// Bound of one request.
    pub(crate) timeout: Duration,
}

impl Settings {
    /// Parses `host:port[,host:port][?replication_factor=N][&debug=contexts]`.
    pub(crate) fn parse(address: &str, options: &BusOptions) -> Result<Self, BusError> {
        let (brokers, query) = address.split_once('?').unwrap_or((address, ""));
        if brokers.is_empty() || brokers.split(',').any(|b| b.trim().is_empty()) {
            return Err(BusError::InvalidArgument(format!(
                "kafka url needs host:port[,host:port], got {address:?}"
            )));
        }
        let mut settings = Self {
            brokers: brokers.to_owned(),
            replication_factor: -1,
            debug: None,
            timeout: options.request_timeout,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("replication_factor", n)) => {
                    settings.replication_factor = n.parse().map_err(|_| {
                        BusError::InvalidArgument(format!("bad replication_factor {n:?}"))
                    })?;
                }
                Some(("debug", contexts)) => settings.debug = Some(contexts.to_owned()),
                _ => {
                    return Err(BusError::InvalidArgument(format!(
                        "unknown kafka url parameter {pair:?}"
                    )));
                }
            }
        }
        Ok(settings)
    }

    /// Configuration every client of this bus starts from.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", "chatflow")
            .set(
                "socket.connection.setup.timeout.ms",
                self.timeout.as_millis().to_string(),
            );
        if let Some(debug) = &self.debug {
            config.set("debug", debug);
        }
        config
    }

    /// How long librdkafka may try to deliver a record: the request timeout
    /// less up to a second for its once-a-second expiry scan.
    pub(crate) fn delivery_timeout_ms(&self) -> String {
        let slack = (self.timeout / 2).min(Duration::from_secs(1));
        (self.timeout - slack).as_millis().max(1).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_brokers_and_parameters() {
        let options = BusOptions::default();
        let s = Settings::parse("a:9092,b:9092?replication_factor=3&debug=cgrp", &options);
        let s = s.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.brokers, "a:9092,b:9092");
        assert_eq!(s.replication_factor, 3);
        assert_eq!(s.debug.as_deref(), Some("cgrp"));
        let plain = Settings::parse("a:9092", &options).map(|s| s.replication_factor);
        assert_eq!(plain.ok(), Some(-1));
        let delivery = Settings::parse("a:9092", &options).map(|s| s.delivery_timeout_ms());
        assert_eq!(
            delivery.ok().as_deref(),
            Some("4000"),
            "5 s less the expiry scan"
        );
        for bad in ["", "a:1,", "a:1?x=1", "a:1?replication_factor=many"] {
            assert!(Settings::parse(bad, &options).is_err(), "{bad}");
        }
    }
}
