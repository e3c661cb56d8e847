//! OCI for relman: the data model of image manifests and indexes, OCI image layouts on disk,
//! and a blocking distribution-spec registry client.
//!
//! Digests are always computed over the exact bytes that are stored or pushed: a manifest is
//! serialised once ([`to_canonical`]) and those bytes are what gets hashed, written and sent.
//!
//! * [`reference`] — `registry/repository[:tag][@digest]`.
//! * [`auth`] — credentials from the environment and podman/docker auth files.
//! * [`registry`] — the [`Client`] (blobs, manifests, tags, referrers; auth, retries).
//! * [`transfer`] — whole images between a [`Layout`] and a registry.
//! * `testing` (feature `testing`) — a real registry for integration tests.

pub mod auth;
pub mod cosign;
pub mod digest;
pub mod layout;
pub mod media;
pub mod reference;
pub mod registry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transfer;
pub mod types;

pub use digest::Digest;
pub use layout::Layout;
pub use reference::Reference;
pub use registry::{Client, ClientOptions};
pub use types::{Descriptor, ImageIndex, ImageManifest, Platform};

/// Serialises a manifest, index or config the one way relman ever does (compact JSON, struct
/// field order). The digest of the result is the object's identity.
pub fn to_canonical<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("OCI types always serialise")
}
