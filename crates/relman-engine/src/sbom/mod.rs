//! Software bills of materials: what a release is built from, read from the project's
//! lockfiles and written as SPDX 2.3 JSON and CycloneDX 1.6 JSON.
//!
//! Inputs: the project root and [`CollectOptions`] (the target, the `cargo` program, extra
//! lockfiles). [`collect`] reads `Cargo.lock` (per target via `cargo metadata` when it can run
//! offline), `package-lock.json`, `uv.lock`, `poetry.lock` and `go.sum` at the root and in
//! workspace members into an [`Inventory`]: packages with purls, the lockfiles' hashes,
//! licences where known offline, dependency edges, and notes on anything incomplete.
//! [`spdx_json`] and [`cyclonedx_json`] turn an inventory and a [`ReleaseSubject`] into the
//! documents' text.
//!
//! Container images: [`os_packages`] reads the OS packages of an image's base from its layer
//! files ([`LayerFile`]: dpkg or apk databases and os-release, whiteouts applied, streamed) into
//! an [`OsInventory`] of `deb`/`apk` packages; [`image_inventory`] (or [`Inventory::merge`])
//! joins it with the binaries' inventory so one SPDX and one CycloneDX document describe the
//! image's contents.
//!
//! Invariants: nothing here writes a file or prints; the same inputs give byte-identical
//! documents (timestamps from `SOURCE_DATE_EPOCH`, name-based UUIDs, everything sorted);
//! nothing is guessed (a licence not in a lockfile stays `NOASSERTION`, Go's `h1:` hash is not
//! passed off as a file checksum); a lockfile that cannot be parsed is a config error naming
//! the file and the line or key.

mod cargo;
mod collect;
mod cyclonedx;
mod gomod;
mod graph;
mod layers;
pub mod license;
mod lockfile;
mod model;
mod npm;
mod ospkg;
pub mod purl;
mod python;
mod spdx;
mod subject;

pub use collect::{collect, CollectOptions};
pub use cyclonedx::cyclonedx_json;
pub use gomod::H1_PROPERTY as GO_SUM_H1_PROPERTY;
pub use layers::{ImageFiles, LayerFile};
pub use model::{base64_decode, to_hex, Checksum, Distribution, Ecosystem, HashAlg, Inventory, Package, Role};
pub use ospkg::{
    image_inventory, os_packages, Distro, OsInventory, APK_INSTALLED, APK_ORIGIN_PROPERTY, DEB_SOURCE_PROPERTY,
    DEB_SOURCE_VERSION_PROPERTY, DPKG_STATUS, DPKG_STATUS_D, OS_RELEASE,
};
pub use spdx::spdx_json;
pub use subject::{rfc3339, stable_uuid, ReleaseSubject};
