//! Topic naming rules, shared by every backend so that a name accepted by the
//! embedded bus in development is also accepted by Kafka in production.

use crate::BusError;

/// Longest topic name Kafka accepts.
const MAX_TOPIC_LEN: usize = 249;

/// Suffix of the dead-letter topic that [`crate::run_consumer`] writes to.
const DEAD_LETTER_SUFFIX: &str = ".dlq";

/// Checks a (full, already prefixed) topic name against Kafka's rules:
/// 1 to 249 characters from `[a-zA-Z0-9._-]`, and not `.` or `..`.
pub fn validate_topic(topic: &str) -> Result<(), BusError> {
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
        return Err(BusError::InvalidArgument(format!(
            "topic name must be 1 to {MAX_TOPIC_LEN} characters, got {}",
            topic.len()
        )));
    }
    if topic == "." || topic == ".." {
        return Err(BusError::InvalidArgument(format!(
            "topic name {topic:?} is reserved"
        )));
    }
    if let Some(bad) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(BusError::InvalidArgument(format!(
            "topic name {topic:?} contains {bad:?}; allowed are [a-zA-Z0-9._-]"
        )));
    }
    Ok(())
}

/// Checks a consumer group name: non-empty, at most 255 bytes, no control characters.
pub(crate) fn validate_group(group: &str) -> Result<(), BusError> {
    if group.is_empty() || group.len() > 255 || group.chars().any(char::is_control) {
        return Err(BusError::InvalidArgument(format!(
            "consumer group {group:?} must be 1 to 255 printable characters"
        )));
    }
    Ok(())
}

/// The dead-letter topic for `topic`: `<topic>.dlq`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}{DEAD_LETTER_SUFFIX}")
}

/// Rejects an empty topic list, which would make a consumer wait forever.
pub(crate) fn validate_topic_list(topics: &[String]) -> Result<(), BusError> {
    if topics.is_empty() {
        return Err(BusError::InvalidArgument(
            "at least one topic is required".into(),
        ));
    }
    topics.iter().try_for_each(|t| validate_topic(t))
}

/// Rejects partition counts Kafka would refuse (it stores them as i32).
pub(crate) fn validate_partitions(partitions: u32) -> Result<(), BusError> {
    if partitions == 0 || partitions > i32::MAX as u32 {
        return Err(BusError::InvalidArgument(format!(
            "partition count must be at least 1, got {partitions}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kafka_style_names() {
        for ok in [
            "chatflow.messages.created",
            "a",
            "A-b_c.9",
            &"x".repeat(249),
        ] {
            assert!(validate_topic(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "slash/topic",
            "ü",
            &"x".repeat(250),
        ] {
            assert!(
                matches!(validate_topic(bad), Err(BusError::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn dead_letter_topic_appends_suffix() {
        assert_eq!(dead_letter_topic("a.b"), "a.b.dlq");
    }

    #[test]
    fn groups_and_partitions_are_checked() {
        assert!(validate_group("g-1").is_ok());
        assert!(validate_group("").is_err());
        assert!(validate_partitions(0).is_err());
        assert!(validate_partitions(12).is_ok());
        assert!(validate_topic_list(&[]).is_err());
    }
}
