//! Generates Rust types and tonic services from `proto/chatflow/**`.
//!
//! `protoc` comes from the `protoc-bin-vendored` crate, so building needs no
//! system package and no download.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let protos = [
        "chatflow/events/v1/envelope.proto",
        "chatflow/config/v1/config.proto",
        "chatflow/auth/v1/events.proto",
        "chatflow/profile/v1/events.proto",
        "chatflow/profile/v1/profile.proto",
        "chatflow/receipts/v1/receipts.proto",
        "chatflow/presence/v1/presence.proto",
        "chatflow/ratelimit/v1/ratelimit.proto",
        "chatflow/groups/v1/groups.proto",
        "chatflow/groups/v1/events.proto",
        "chatflow/messages/v1/messages.proto",
        "chatflow/gateway/v1/events.proto",
    ]
    .map(|p| root.join(p));

    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    config.protoc_arg(format!(
        "--proto_path={}",
        protoc_bin_vendored::include_path()?.display()
    ));
    tonic_prost_build::configure().compile_with_config(
        config,
        &protos,
        std::slice::from_ref(&root),
    )?;
    // Each file, not only the directory: a directory's timestamp does not
    // change when a file in it is edited.
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
