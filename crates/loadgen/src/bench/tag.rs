//! The text of a benchmark message: who sent it, when it was due and its
//! place in its pair's stream, padded to the wanted size, so the receiver
//! can time and check it with no shared state but the generator's clock.
//!
//! `t=<due ns since the generator's origin> s=<step> p=<pair> k=<index> ....`

/// What a receiver reads back from a message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// When it was due to be sent, in nanoseconds since the origin.
    pub due_ns: u64,
    /// The rate step it belongs to.
    pub step: u32,
    /// The pair that sent it.
    pub pair: u32,
    /// Its index in the pair's stream in that step.
    pub k: u64,
}

/// The message text for `tag`, padded with `.` to `bytes` (longer if the
/// tag itself needs more).
pub fn encode(tag: Tag, bytes: usize) -> String {
    let mut text = format!(
        "t={} s={} p={} k={} ",
        tag.due_ns, tag.step, tag.pair, tag.k
    );
    if text.len() < bytes {
        text.extend(std::iter::repeat_n('.', bytes - text.len()));
    }
    text
}

/// The tag of a message text, if it is one of ours.
pub fn decode(text: &str) -> Option<Tag> {
    let mut words = text.split(' ');
    let mut field = |name: &str| -> Option<u64> { words.next()?.strip_prefix(name)?.parse().ok() };
    Some(Tag {
        due_ns: field("t=")?,
        step: u32::try_from(field("s=")?).ok()?,
        pair: u32::try_from(field("p=")?).ok()?,
        k: field("k=")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_at_the_wanted_size() {
        let tag = Tag {
            due_ns: 12_345_678_901,
            step: 2,
            pair: 499,
            k: 41,
        };
        let text = encode(tag, 100);
        assert_eq!(text.len(), 100);
        assert_eq!(decode(&text), Some(tag));
        // Too small a size never truncates the tag.
        assert_eq!(decode(&encode(tag, 10)), Some(tag));
    }

    #[test]
    fn foreign_texts_are_not_tags() {
        for text in [
            "",
            "hello",
            "t=1 s=2 p=3",
            "t=x s=1 p=1 k=1",
            "{\"event\":\"created\"}",
        ] {
            assert_eq!(decode(text), None, "{text}");
        }
    }
}
