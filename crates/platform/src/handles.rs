//! Handles one service offers the others running in the same process.
//!
//! In all-in-one mode a service can reach a neighbour without the network:
//! auth publishes its key source here and every token verifier built by
//! [`crate::Platform::token_verifier`] reads it. Lookups happen when the
//! handle is used, not when a service starts, so launch order does not
//! matter; [`crate::run_fleet`] checks after start-up that every handle a
//! service asked for was published, and refuses to run otherwise.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

/// A typed map of in-process handles, one per type; cheap to clone.
#[derive(Clone, Default)]
pub struct Handles {
    inner: Arc<RwLock<Registry>>,
}

#[derive(Default)]
struct Registry {
    published: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    /// (handle type name, who asked), for the after-launch check.
    wanted: Vec<(TypeId, &'static str, String)>,
}

impl Handles {
    /// Offers `value` to the process; a later publish of the same type replaces it.
    pub fn publish<T: Clone + Send + Sync + 'static>(&self, value: T) {
        self.inner
            .write()
            .published
            .insert(TypeId::of::<T>(), Box::new(value));
    }

    /// The handle of type `T`, if a service published one.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.inner
            .read()
            .published
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }

    /// Records that `who` will need a `T` once the fleet is up.
    pub fn expect<T: 'static>(&self, who: impl Into<String>) {
        self.inner
            .write()
            .wanted
            .push((TypeId::of::<T>(), type_name::<T>(), who.into()));
    }

    /// Who expected a handle that nobody published: `(type, who)` pairs.
    pub fn missing(&self) -> Vec<(&'static str, String)> {
        let registry = self.inner.read();
        registry
            .wanted
            .iter()
            .filter(|(id, _, _)| !registry.published.contains_key(id))
            .map(|(_, name, who)| (*name, who.clone()))
            .collect()
    }
}

impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handles")
            .field("published", &self.inner.read().published.len())
            .finish()
    }
}

/// How a service reaches a neighbour: the handle the neighbour published in
/// this process (looked up at each call), or a client for a remote one.
#[derive(Clone)]
pub enum Reach<T> {
    /// The neighbour runs in this process and publishes its handle here.
    InProcess(Handles),
    /// The neighbour runs elsewhere.
    Remote(T),
}

impl<T: Clone> Reach<T> {
    /// The client: the remote one, or `from_handle` of the published handle
    /// `H`; `None` when the neighbour is in-process but not (yet) published.
    pub fn resolve<H: Clone + Send + Sync + 'static>(
        &self,
        from_handle: impl Fn(H) -> T,
    ) -> Option<T> {
        match self {
            Self::Remote(client) => Some(client.clone()),
            Self::InProcess(handles) => handles.get::<H>().map(from_handle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Keys(&'static str);

    #[test]
    fn a_published_handle_is_found_by_type() {
        let handles = Handles::default();
        assert_eq!(handles.get::<Keys>(), None);
        handles.publish(Keys("a"));
        assert_eq!(handles.get::<Keys>(), Some(Keys("a")));
        assert_eq!(handles.get::<String>(), None);
        handles.publish(Keys("b"));
        assert_eq!(handles.get::<Keys>(), Some(Keys("b")));
    }

    #[test]
    fn reach_resolves_a_remote_client_or_the_published_handle() {
        let handles = Handles::default();
        let local: Reach<&'static str> = Reach::InProcess(handles.clone());
        assert_eq!(local.resolve(|Keys(k)| k), None);
        handles.publish(Keys("in-process"));
        assert_eq!(local.resolve(|Keys(k)| k), Some("in-process"));
        assert_eq!(Reach::Remote("remote").resolve(|Keys(k)| k), Some("remote"));
    }

    #[test]
    fn expectations_are_missing_until_published() {
        let handles = Handles::default();
        handles.expect::<Keys>("config");
        let missing = handles.missing();
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].1, "config");
        assert!(missing[0].0.ends_with("Keys"));
        handles.publish(Keys("a"));
        assert!(handles.missing().is_empty());
    }
}
