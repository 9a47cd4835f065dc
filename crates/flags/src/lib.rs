//! Feature flags for ChatFlow: the definition model, its validation, local
//! evaluation and a client-side cache.
//!
//! The `config` service stores [`StoredFlag`]s and serves them over REST/gRPC;
//! every other service embeds a [`FlagCache`] and evaluates locally, with the
//! same deterministic [`evaluate`] the service uses. This crate does no I/O.
//!
//! ```
//! use chatflow_flags::{EvaluationContext, FlagCache, StoredFlag, parse_spec};
//!
//! let spec = parse_spec(br#"{
//!     "kind": "boolean",
//!     "variants": {"on": true, "off": false},
//!     "default_variant": "off",
//!     "enabled": true,
//!     "rules": [{
//!         "conditions": [{"type": "attribute", "attribute": "platform", "op": "eq", "values": ["ios"]}],
//!         "serve": {"type": "variant", "variant": "on"}
//!     }]
//! }"#)?;
//! let cache = FlagCache::new();
//! cache.apply(StoredFlag {
//!     key: "chat.new_composer".parse()?,
//!     spec,
//!     version: 1,
//!     updated_at_ms: 0,
//!     updated_by: "admin".into(),
//!     deleted: false,
//! });
//! let ios = EvaluationContext::for_user("u1").with_attribute("platform", "ios");
//! assert!(cache.bool_value("chat.new_composer", &ios, false));
//! # Ok::<(), chatflow_flags::FlagError>(())
//! ```

mod cache;
mod error;
mod evaluate;
mod key;
mod model;
mod validate;

pub use cache::FlagCache;
pub use error::{FlagError, Violation};
pub use evaluate::{Evaluation, EvaluationContext, Reason, evaluate, rollout_bucket};
pub use key::{FlagKey, MAX_KEY_LEN};
pub use model::{
    AttributeOp, Bucket, Condition, FlagKind, FlagSpec, Rule, Serve, StoredFlag, attributes,
};
pub use validate::{
    MAX_ATTRIBUTE_NAME_LEN, MAX_ATTRIBUTE_VALUE_BYTES, MAX_ATTRIBUTE_VALUES,
    MAX_CONDITIONS_PER_RULE, MAX_DESCRIPTION_CHARS, MAX_JSON_VALUE_BYTES, MAX_RULES,
    MAX_STRING_VALUE_BYTES, MAX_USER_ID_BYTES, MAX_USER_IDS, MAX_VARIANT_NAME_LEN, MAX_VARIANTS,
    TOTAL_WEIGHT, is_valid_attribute_name, is_valid_variant_name, parse_spec, validate,
};
