//! relman's signatures checked by implementations relman did not write.
//!
//! * `sigstore_js`: sigstore-js (`@sigstore/verify`, npm's provenance verifier) verifies relman's
//!   message-signature and DSSE bundles offline and rejects tampered ones; relman verifies
//!   bundles sigstore-js wrote.
//! * `securesystemslib`: the Python DSSE reference (in-toto's) verifies relman's envelopes.
//! * `keys`: keys relman writes load in the `sigstore` crate and in Python (`cryptography` +
//!   PyNaCl + `hashlib.scrypt`); keys they and OpenSSL wrote (`tests/fixtures/`) load in relman
//!   and sign what they verify.
//!
//! The tools come from `scripts/setup-test-deps` (`.tools/node_modules`, `.venv`). A missing
//! tool fails the test with that instruction: nothing is skipped. Every test works in its own
//! temporary directory, so they run in parallel.

mod keys;
mod securesystemslib;
mod sigstore_js;
mod support;
