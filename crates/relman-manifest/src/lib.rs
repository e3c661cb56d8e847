//! The release data model shared by every relman crate, with no I/O.
//!
//! * [`Manifest`] — `dist/<version>/manifest.json`, the spine of a release: every artifact and
//!   every destination, decided by `plan` and filled in by each stage.
//! * [`Index`] — `index.json`, the installer's view of one release (a projection of the manifest).
//! * [`Failure`] and [`ErrorClass`] — the expected-error type and the stable exit-code table.
//!
//! Both documents carry a `format_version`. Changes are additive; a reader refuses a document
//! whose major format is newer than it knows.

mod channels;
mod error;
pub mod hash;
mod index;
mod manifest;
pub mod time;
mod types;

pub use channels::{ChannelEntry, Channels, CHANNELS_FORMAT_VERSION, CHANNELS_PAYLOAD_TYPE, CHANNELS_SIGNED_FILE};
pub use error::{ErrorClass, Failure};
pub use index::{go_os_arch, os_arch, Index, Platform, INDEX_FORMAT_VERSION};
pub use manifest::{
    Artifact, ArtifactKind, Destination, DestinationState, ImagePlatform, ImageRecord, Manifest, Project,
    VulnerabilityCheck, MANIFEST_FORMAT_VERSION,
};
pub use types::{ArchiveFormat, Channel, Sha256};

/// JSON Schema of the manifest document, pretty-printed.
pub fn manifest_schema() -> String {
    let schema = schemars::schema_for!(Manifest);
    serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"
}

/// JSON Schema of `index.json`, pretty-printed.
pub fn index_schema() -> String {
    let schema = schemars::schema_for!(Index);
    serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"
}
