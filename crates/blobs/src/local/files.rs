//! Blocking file operations of the local store: atomic writes, versioned
//! reads and removal. Each call runs on a blocking thread.
//!
//! A write goes to a temporary file in the object's directory, is fsynced and
//! renamed to a new data version; then a new sidecar naming that version is
//! written the same way and renamed over the old one, which is the commit
//! point; the directory is fsynced and the old version removed. Readers open
//! the version the sidecar names, so they see whole objects only. A crash
//! may leave an unreferenced data file or temporary file behind; they are
//! never listed or read.

use std::collections::BTreeMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::layout::ObjectPath;

/// What the sidecar file records about an object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    /// Which data file holds the bytes.
    pub version: String,
    /// The size of the data file.
    pub size: u64,
    /// The MIME type given at write time.
    pub content_type: String,
    /// The user metadata given at write time.
    pub metadata: BTreeMap<String, String>,
}

/// Serialises writers of the same key within one store (striped by path).
/// Correctness does not depend on it: a racing writer elsewhere can at worst
/// leave an unreferenced data file, never remove the current one.
pub(crate) struct Locks([Mutex<()>; 64]);

impl std::fmt::Debug for Locks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Locks")
    }
}

impl Locks {
    /// A set of unlocked stripes.
    pub(crate) fn new() -> Self {
        Self(std::array::from_fn(|_| Mutex::new(())))
    }

    fn lock(&self, path: &Path) -> MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        path.hash(&mut hasher);
        let stripe = &self.0[(hasher.finish() % 64) as usize];
        // A panic while holding the lock leaves no state to repair.
        stripe
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A temporary file in an object's directory, removed on drop unless renamed.
pub(crate) struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// Creates `dir` when needed and a fresh temporary file in it.
    pub(crate) fn create(dir: &Path) -> io::Result<(Self, File)> {
        create_dirs_durably(dir)?;
        let path = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((Self { path: Some(path) }, file))
    }

    /// Renames the file to `target`, replacing it atomically.
    fn persist(mut self, target: &Path) -> io::Result<()> {
        if let Some(path) = &self.path {
            std::fs::rename(path, target)?;
        }
        self.path = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Creates `dir` and its missing parents, fsyncing each new entry's parent so
/// the directories survive a crash along with the files put in them.
fn create_dirs_durably(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent)?.sync_all()?;
        }
    }
    Ok(())
}

/// Makes the fsynced `temp` the object at `path` with `sidecar`'s attributes.
pub(crate) fn commit(
    locks: &Locks,
    path: &ObjectPath,
    temp: TempFile,
    mut sidecar: Sidecar,
) -> io::Result<()> {
    let version = uuid::Uuid::new_v4().simple().to_string();
    sidecar.version.clone_from(&version);
    let data = path.data(&version);
    let _guard = locks.lock(&path.sidecar());
    let previous = read_sidecar(&path.sidecar())?;
    temp.persist(&data)?;
    let written = write_sidecar(path, &sidecar);
    if written.is_err() {
        let _ = std::fs::remove_file(&data);
        return written;
    }
    if let Some(previous) = previous.filter(|p| p.version != version) {
        let _ = std::fs::remove_file(path.data(&previous.version));
    }
    Ok(())
}

fn write_sidecar(path: &ObjectPath, sidecar: &Sidecar) -> io::Result<()> {
    let (temp, mut file) = TempFile::create(&path.dir)?;
    file.write_all(&serde_json::to_vec(sidecar)?)?;
    file.sync_all()?;
    temp.persist(&path.sidecar())?;
    File::open(&path.dir)?.sync_all()
}

/// The sidecar at `path`, `None` when the object does not exist.
pub(crate) fn read_sidecar(path: &Path) -> io::Result<Option<Sidecar>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// The object's attributes and its open data file, `None` when missing.
/// An overwrite between reading the sidecar and opening the data is retried.
pub(crate) fn open(path: &ObjectPath) -> io::Result<Option<(Sidecar, File)>> {
    for _ in 0..16 {
        let Some(sidecar) = read_sidecar(&path.sidecar())? else {
            return Ok(None);
        };
        match File::open(path.data(&sidecar.version)) {
            Ok(file) => return Ok(Some((sidecar, file))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::other(
        "object replaced too often while opening it",
    ))
}

/// Reads `len` bytes at `start` of an open data file.
pub(crate) fn read_at(file: &mut File, start: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).map_err(io::Error::other)?);
    file.take(len).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "data file shorter than its sidecar says",
        ));
    }
    Ok(bytes)
}

/// Removes the object at `path`; a missing object is not an error.
pub(crate) fn remove(locks: &Locks, path: &ObjectPath) -> io::Result<()> {
    let _guard = locks.lock(&path.sidecar());
    let Some(sidecar) = read_sidecar(&path.sidecar())? else {
        return Ok(());
    };
    std::fs::remove_file(path.sidecar())?;
    File::open(&path.dir)?.sync_all()?;
    let _ = std::fs::remove_file(path.data(&sidecar.version));
    Ok(())
}
