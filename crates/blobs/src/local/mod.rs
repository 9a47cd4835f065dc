//! The embedded backend: objects as files in a local directory.
//!
//! Durable (every write is fsynced before it is acknowledged) and atomic
//! (see [`files`]); keys map to paths by encoding (see [`layout`]), so no key
//! reaches outside the root. Listing walks the directory tree under the
//! prefix and sorts, so a page costs time linear in the objects under that
//! prefix: fine for a laptop, not for millions of objects.

mod files;
mod layout;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::Method;
use tokio::io::AsyncWriteExt;

use self::files::{Locks, Sidecar, TempFile};
use crate::error::bounded;
use crate::key::{self, DEFAULT_CONTENT_TYPE, KeySpace};
use crate::{
    BlobError, BlobOptions, BlobStore, BlobStream, ListEntry, ListPage, Object, ObjectMeta,
    PresignConstraints, PresignedRequest, PutOptions, UrlSigner,
};

/// A blob store in a directory.
#[derive(Debug)]
pub(crate) struct LocalStore {
    root: PathBuf,
    keys: KeySpace,
    op_timeout: Duration,
    signer: UrlSigner,
    locks: Arc<Locks>,
}

impl LocalStore {
    /// Opens (creating when missing) the directory `dir`, absolute or relative.
    pub(crate) async fn open(dir: &str, options: BlobOptions) -> Result<Self, BlobError> {
        if dir.is_empty() {
            return Err(BlobError::InvalidConfig(
                "file:// url needs a directory, e.g. file:///var/lib/chatflow/blobs".into(),
            ));
        }
        let keys = KeySpace::new(options.key_prefix.as_deref())?;
        let signer = UrlSigner::new(
            options.presign_secret.as_deref(),
            options.presign_base_url.as_deref(),
            keys.clone(),
        )?;
        let store = Self {
            root: PathBuf::from(dir),
            keys,
            op_timeout: options.op_timeout,
            signer,
            locks: Arc::new(Locks::new()),
        };
        store.ensure_bucket().await?;
        Ok(store)
    }

    /// Runs blocking file work on its own thread, bounded by the op timeout.
    /// On timeout the work still finishes (or fails) whole in the background.
    async fn run<T: Send + 'static>(
        &self,
        what: String,
        job: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
    ) -> Result<T, BlobError> {
        let task = tokio::task::spawn_blocking(job);
        bounded(self.op_timeout, &what, async {
            task.await
                .map_err(|err| BlobError::Internal(format!("{what}: {err}")))?
        })
        .await
    }

    fn path(&self, key: &str) -> Result<layout::ObjectPath, BlobError> {
        Ok(layout::object_path(&self.root, &self.keys.full(key)?))
    }
}

fn sidecar_for(options: PutOptions, size: u64) -> Sidecar {
    Sidecar {
        version: String::new(),
        size,
        content_type: options
            .content_type
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned()),
        metadata: options.metadata,
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalStore {
    fn backend(&self) -> &'static str {
        "file"
    }

    async fn ensure_bucket(&self) -> Result<(), BlobError> {
        let root = self.root.clone();
        let what = format!("create {}", root.display());
        self.run(what.clone(), move || {
            std::fs::create_dir_all(&root).map_err(|e| BlobError::from_io(&e, &what))
        })
        .await
    }

    async fn ping(&self) -> Result<(), BlobError> {
        let root = self.root.clone();
        let what = format!("read {}", root.display());
        self.run(what.clone(), move || {
            std::fs::read_dir(&root)
                .map(drop)
                .map_err(|e| BlobError::Unavailable(format!("{what}: {e}")))
        })
        .await
    }

    async fn put(&self, key: &str, bytes: Bytes, options: PutOptions) -> Result<(), BlobError> {
        let path = self.path(key)?;
        key::validate_put(&options)?;
        let (locks, key) = (self.locks.clone(), key.to_owned());
        self.run(format!("put {key}"), move || {
            let write = || {
                let (temp, mut file) = TempFile::create(&path.dir)?;
                std::io::Write::write_all(&mut file, &bytes)?;
                file.sync_all()?;
                let sidecar = sidecar_for(options, bytes.len() as u64);
                files::commit(&locks, &path, temp, sidecar)
            };
            write().map_err(|e| BlobError::from_io(&e, &key))
        })
        .await
    }

    async fn put_stream(
        &self,
        key: &str,
        mut body: BlobStream,
        options: PutOptions,
    ) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        key::validate_put(&options)?;
        let io_err = |e: std::io::Error| BlobError::from_io(&e, key);
        let dir = path.dir.clone();
        let (temp, file) = self
            .run(format!("put {key}"), move || {
                TempFile::create(&dir).map_err(|e| BlobError::from_io(&e, "temporary file"))
            })
            .await?;
        let mut file = tokio::fs::File::from_std(file);
        let mut size = 0u64;
        // Each chunk's write is bounded; waiting for the caller's stream is not.
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| BlobError::InvalidArgument(format!("upload of {key} failed: {e}")))?;
            size += chunk.len() as u64;
            bounded(self.op_timeout, &format!("put {key}"), async {
                file.write_all(&chunk).await.map_err(io_err)
            })
            .await?;
        }
        file.flush().await.map_err(io_err)?;
        let file = file.into_std().await;
        let (locks, key) = (self.locks.clone(), key.to_owned());
        self.run(format!("put {key}"), move || {
            file.sync_all()
                .and_then(|()| files::commit(&locks, &path, temp, sidecar_for(options, size)))
                .map_err(|e| BlobError::from_io(&e, &key))
        })
        .await?;
        Ok(size)
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Object, BlobError> {
        let path = self.path(key)?;
        if let Some(range) = &range {
            key::validate_range(range)?;
        }
        let key = key.to_owned();
        self.run(format!("get {key}"), move || {
            let io_err = |e: std::io::Error| BlobError::from_io(&e, &key);
            let (sidecar, mut file) = files::open(&path)
                .map_err(io_err)?
                .ok_or_else(|| BlobError::NotFound(key.clone()))?;
            let (start, end) = match range {
                None => (0, sidecar.size),
                Some(r) if r.start >= sidecar.size => {
                    return Err(BlobError::InvalidArgument(format!(
                        "range {r:?} starts past the end of {key} ({} bytes)",
                        sidecar.size
                    )));
                }
                Some(r) => (r.start, r.end.min(sidecar.size)),
            };
            let bytes = files::read_at(&mut file, start, end - start).map_err(io_err)?;
            Ok(Object {
                bytes: Bytes::from(bytes),
                content_type: sidecar.content_type,
                size: sidecar.size,
                metadata: sidecar.metadata,
            })
        })
        .await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        let path = self.path(key)?;
        let key = key.to_owned();
        self.run(format!("head {key}"), move || {
            let sidecar =
                files::read_sidecar(&path.sidecar()).map_err(|e| BlobError::from_io(&e, &key))?;
            Ok(sidecar.map(|s| ObjectMeta {
                size: s.size,
                content_type: s.content_type,
                metadata: s.metadata,
            }))
        })
        .await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, BlobError> {
        let full_prefix = self.keys.full_prefix(prefix)?;
        key::validate_limit(limit)?;
        let (root, keys) = (self.root.clone(), self.keys.clone());
        let cursor = cursor.map(str::to_owned);
        self.run(format!("list {prefix}"), move || {
            let io_err = |e: std::io::Error| BlobError::from_io(&e, &full_prefix);
            let (dir, base) = layout::walk_start(&root, &full_prefix);
            let mut found: Vec<(String, PathBuf)> = layout::walk(&dir, base)
                .map_err(io_err)?
                .into_iter()
                .filter(|(full, _)| full.starts_with(&full_prefix))
                .filter_map(|(full, sidecar)| Some((keys.strip(&full)?.to_owned(), sidecar)))
                .filter(|(key, _)| cursor.as_ref().is_none_or(|c| key > c))
                .collect();
            found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let more = found.len() > limit;
            found.truncate(limit);
            let mut entries = Vec::with_capacity(found.len());
            for (key, sidecar) in found {
                // An object deleted since the walk is simply left out.
                if let Some(sidecar) = files::read_sidecar(&sidecar).map_err(io_err)? {
                    entries.push(ListEntry {
                        key,
                        size: sidecar.size,
                    });
                }
            }
            let next = more
                .then(|| entries.last().map(|e| e.key.clone()))
                .flatten();
            Ok(ListPage { entries, next })
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let (locks, key) = (self.locks.clone(), key.to_owned());
        self.run(format!("delete {key}"), move || {
            files::remove(&locks, &path).map_err(|e| BlobError::from_io(&e, &key))
        })
        .await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        let (source, target) = (self.path(from)?, self.path(to)?);
        if from == to {
            return self
                .head(from)
                .await?
                .map(drop)
                .ok_or_else(|| BlobError::NotFound(from.to_owned()));
        }
        let (locks, from) = (self.locks.clone(), from.to_owned());
        self.run(format!("copy {from}"), move || {
            let io_err = |e: std::io::Error| BlobError::from_io(&e, &from);
            let (sidecar, mut data) = files::open(&source)
                .map_err(io_err)?
                .ok_or_else(|| BlobError::NotFound(from.clone()))?;
            let copy = || {
                let (temp, mut file) = TempFile::create(&target.dir)?;
                std::io::copy(&mut data, &mut file)?;
                file.sync_all()?;
                files::commit(&locks, &target, temp, sidecar)
            };
            copy().map_err(io_err)
        })
        .await
    }

    async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        self.signer
            .sign(Method::GET, key, expires_in, PresignConstraints::default())
    }

    async fn presign_put(
        &self,
        key: &str,
        expires_in: Duration,
        constraints: PresignConstraints,
    ) -> Result<PresignedRequest, BlobError> {
        self.signer.sign(Method::PUT, key, expires_in, constraints)
    }

    fn url_signer(&self) -> Option<&UrlSigner> {
        Some(&self.signer)
    }
}
