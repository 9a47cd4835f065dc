//! Naming the fields serde skipped, for "unknown key" errors.

/// `backends.bus_url`, `peers.0.host`: dotted, without serde_ignored's `?`
/// markers for `Option` and newtype layers (and the form figment looks keys up by).
pub(crate) fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    let (parent, own) = match path {
        P::Root => return String::new(),
        P::Seq { parent, index } => (*parent, index.to_string()),
        P::Map { parent, key } => (*parent, key.clone()),
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            return dotted(parent);
        }
    };
    match dotted(parent) {
        prefix if prefix.is_empty() => own,
        prefix => format!("{prefix}.{own}"),
    }
}
