//! Integration tests for `chatflow-flags`, one binary (links once).

mod cache;
mod evaluate;
mod props;
mod support;
mod validate;
mod wire;
