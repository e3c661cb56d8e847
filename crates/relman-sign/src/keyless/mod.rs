//! Keyless signing and verification by identity (Sigstore: Fulcio and Rekor).
//!
//! Signing, in order (the HTTP calls are the caller's; everything here is pure):
//! 1. an OIDC identity token ([`IdentityToken`]) from the CI, checked for expiry and the
//!    `sigstore` audience before anything is signed;
//! 2. an ephemeral P-256 key that never leaves memory; [`fulcio::request_body`] proves
//!    possession of it, [`fulcio::parse_chain`] reads the certificate Fulcio issued;
//! 3. a [`KeylessSigner`] signs like a key, puts the certificate in every bundle, and logs every
//!    signature through a [`LogClient`] ([`rekor::hashedrekord`], [`rekor::dsse`],
//!    [`rekor::to_bundle_entry`]).
//!
//! Verification ([`IdentityPolicy`]) needs no key: a [`TrustedRoot`] (Sigstore's
//! `trusted_root.json`) and who must have signed (identity and issuer, exact or regex).

pub mod cert;
pub mod cosign;
pub mod fulcio;
pub mod rekor;
pub mod signer;
pub mod timestamp;
pub mod token;
pub mod trust;

pub use signer::{KeylessSigner, LogClient};
pub use token::IdentityToken;
pub use trust::{IdentityPolicy, Matcher, Trust, TrustedRoot};
