//! A blocking client for the OCI distribution spec (`/v2/` API), on one `ureq` agent.
//!
//! * [`client`]: [`ClientOptions`] (defaults chosen by measurement, see there) and [`Client`],
//!   cheap to clone and shared across threads; URLs and plain-HTTP decisions.
//! * [`send`](self): one request with authentication (Basic or Bearer tokens from the
//!   `WWW-Authenticate` challenge, cached per host and scope) and retries (5xx, 429 and I/O
//!   errors, exponential backoff). Turns refusals into [`Failure::publish`] and unreachable
//!   registries into [`Failure::network`], one line naming the registry, repository and
//!   digest or tag, never a credential, token or upload-session URL.
//! * [`blobs`](self): existence checks, uploads (mount, monolithic, chunked and resumed),
//!   downloads (streamed, hashed while written, atomic, verified).
//! * [`manifests`](self): manifests by tag or digest, tags, deletes, referrers.
//!
//! [`Failure::publish`]: relman_manifest::Failure::publish
//! [`Failure::network`]: relman_manifest::Failure::network

mod blobs;
mod client;
mod manifests;
mod send;

pub use blobs::BlobPush;
pub use client::{Client, ClientOptions};
pub use manifests::FetchedManifest;
