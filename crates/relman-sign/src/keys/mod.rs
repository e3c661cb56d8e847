//! Keys: cosign-compatible ECDSA P-256 key pairs (see `signing` for what is read, `encrypted`
//! for cosign's encrypted format, `public` for the public key and its hint).

mod algorithm;
mod encrypted;
mod file;
mod public;
mod signing;

pub use encrypted::{COSIGN_LABEL, READ_SCRYPT_N, SIGSTORE_LABEL, WRITE_SCRYPT_N};
pub use file::{key_file_warning, PRIVATE_KEY_MODE};
pub use public::{PublicKey, PUBLIC_KEY_LABEL};
pub use signing::{generate, needs_passphrase, KeyPair, SigningKey};

#[cfg(test)]
pub(crate) use encrypted::encrypt_with;

#[cfg(test)]
mod tests;
