//! How keys become paths under the store's root.
//!
//! Each `/`-separated segment of a key becomes one directory level, its bytes
//! percent-encoded except `[a-z0-9_-]` and a `.` that is not first. The
//! encoded alphabet has no `/`, no upper case and no leading `.`, so no key
//! can name `..`, an absolute path, a temporary file or a name that collides
//! on a case-insensitive file system: traversal is impossible by
//! construction, whatever the key. Encoded names longer than
//! [`MAX_CHUNK`] are split over directories marked with a trailing `+`.
//!
//! For a key `a/b` the object lives in `root/a/` as `b=m` (the sidecar: JSON
//! with content type, metadata, size and data version) and `b=d<version>`
//! (the bytes). Temporary files start with `.`; no encoded name does.

use std::path::{Path, PathBuf};

/// The longest encoded piece in one file name, leaving room for `=d<32 hex>`
/// within the usual 255-byte limit.
const MAX_CHUNK: usize = 200;
/// Marks a directory that continues the same segment.
const CONTINUED: char = '+';
/// Ends the sidecar's name.
const SIDECAR: &str = "=m";
/// Starts the data file's suffix, followed by the version.
const DATA: &str = "=d";

/// Where one object's files live.
#[derive(Debug, Clone)]
pub(crate) struct ObjectPath {
    /// The directory holding the sidecar and data files.
    pub dir: PathBuf,
    /// The encoded last piece of the key.
    stem: String,
}

impl ObjectPath {
    /// The sidecar: its presence is the object's existence.
    pub(crate) fn sidecar(&self) -> PathBuf {
        self.dir.join(format!("{}{SIDECAR}", self.stem))
    }

    /// The bytes of one version of the object.
    pub(crate) fn data(&self, version: &str) -> PathBuf {
        self.dir.join(format!("{}{DATA}{version}", self.stem))
    }
}

/// The files of `key` (already validated) under `root`.
pub(crate) fn object_path(root: &Path, key: &str) -> ObjectPath {
    let (parents, last) = match key.rsplit_once('/') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, key),
    };
    let mut dir = match parents {
        Some(parents) => segments_dir(root, parents),
        None => root.to_path_buf(),
    };
    let mut chunks = chunks(&encode_segment(last));
    let stem = chunks.pop().unwrap_or_default();
    for chunk in chunks {
        dir.push(format!("{chunk}{CONTINUED}"));
    }
    ObjectPath { dir, stem }
}

/// The directory under which every key starting with `prefix` lives, and the
/// key text that directory stands for (the prefix up to its last `/`).
pub(crate) fn walk_start<'a>(root: &Path, prefix: &'a str) -> (PathBuf, &'a str) {
    match prefix.rfind('/') {
        Some(i) => (segments_dir(root, &prefix[..i]), &prefix[..=i]),
        None => (root.to_path_buf(), ""),
    }
}

/// Every object under `dir`, whose path stands for the key text `base`, as
/// (key, sidecar path) pairs in no particular order.
pub(crate) fn walk(dir: &Path, base: &str) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), base.as_bytes().to_vec())];
    while let Some((dir, key)) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            // Names we did not write (temporaries, strays) are skipped.
            let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) else {
                continue;
            };
            if let Some(stem) = name.strip_suffix(SIDECAR) {
                if let Some(key) = decode_into(&key, stem).and_then(|k| String::from_utf8(k).ok()) {
                    found.push((key, entry.path()));
                }
            } else if name.contains(DATA) {
                continue;
            } else if entry.file_type()?.is_dir() {
                let (stem, separator) = match name.strip_suffix(CONTINUED) {
                    Some(stem) => (stem, None),
                    None => (name, Some(b'/')),
                };
                if let Some(mut child) = decode_into(&key, stem) {
                    child.extend(separator);
                    pending.push((entry.path(), child));
                }
            }
        }
    }
    Ok(found)
}

fn segments_dir(root: &Path, segments: &str) -> PathBuf {
    let mut dir = root.to_path_buf();
    for segment in segments.split('/') {
        let mut chunks = chunks(&encode_segment(segment));
        let last = chunks.pop().unwrap_or_default();
        for chunk in chunks {
            dir.push(format!("{chunk}{CONTINUED}"));
        }
        dir.push(last);
    }
    dir
}

fn encode_segment(segment: &str) -> String {
    crate::key::percent_encode(segment, |i, b| {
        b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || b == b'_'
            || b == b'-'
            || (b == b'.' && i > 0)
    })
}

/// Splits an encoded segment into pieces of at most [`MAX_CHUNK`] bytes,
/// never inside a `%XX` escape.
fn chunks(encoded: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = encoded;
    while rest.len() > MAX_CHUNK {
        let mut cut = MAX_CHUNK;
        // An escape starting in the last two bytes would be split: cut before it.
        if let Some(i) = rest[cut - 2..cut].find('%') {
            cut = cut - 2 + i;
        }
        out.push(rest[..cut].to_owned());
        rest = &rest[cut..];
    }
    out.push(rest.to_owned());
    out
}

/// Appends the bytes an encoded name stands for; `None` if we never wrote it.
fn decode_into(prefix: &[u8], encoded: &str) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    let mut bytes = encoded.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_segments_encode_to_plain_names() {
        assert_eq!(encode_segment(".."), "%2E.");
        assert_eq!(encode_segment("Photo.JPG"), "%50hoto.%4A%50%47");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn objects_stay_under_the_root() {
        let root = Path::new("/data");
        for key in [
            "a",
            "x/y/z.txt",
            "../..",
            "/etc/passwd",
            "a/../../b",
            "C:\\x",
        ] {
            let path = object_path(root, key);
            assert!(path.sidecar().starts_with(root));
            assert!(
                path.sidecar().components().all(|c| matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::RootDir
                )),
                "{key:?} -> {:?}",
                path.sidecar()
            );
        }
    }

    #[test]
    fn long_segments_split_without_breaking_escapes() {
        let segment = format!("{}é{}", "a".repeat(198), "B".repeat(300));
        let encoded = encode_segment(&segment);
        let pieces = chunks(&encoded);
        assert!(pieces.iter().all(|p| p.len() <= MAX_CHUNK));
        assert_eq!(pieces.concat(), encoded);
        for piece in &pieces {
            assert!(decode_into(&[], piece).is_some(), "{piece}");
        }
    }

    #[test]
    fn walking_recovers_the_keys() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("{}Ü", "L".repeat(150));
        let keys = ["a", "a/b", "Dir/x.txt", long.as_str(), "q/..z/.hidden"];
        for key in keys {
            let path = object_path(dir.path(), key);
            std::fs::create_dir_all(&path.dir).unwrap();
            std::fs::write(path.sidecar(), b"{}").unwrap();
            std::fs::write(path.data("v1"), b"x").unwrap();
        }
        std::fs::write(dir.path().join(".tmp-stray"), b"").unwrap();
        let mut found: Vec<String> = walk(dir.path(), "")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        found.sort();
        let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(found, expected);

        let (start, base) = walk_start(dir.path(), "Dir/x");
        assert_eq!(base, "Dir/");
        let found: Vec<String> = walk(&start, base)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(found, ["Dir/x.txt"]);
    }
}
