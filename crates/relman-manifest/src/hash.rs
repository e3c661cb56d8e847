//! The one SHA-256 every crate hashes with: `ring`'s (BoringSSL's assembly: SHA-NI or the ARMv8
//! SHA instructions when the CPU has them, else AVX2 / AVX / SSSE3 paths). File digests
//! (relman-install), OCI blob and manifest digests (relman-oci) and signed digests
//! (relman-sign) all come from here. Measurements: see relman-install's `hash` module.

use crate::Sha256;

/// An incremental SHA-256.
#[derive(Clone)]
pub struct Hasher(ring::digest::Context);

impl Hasher {
    pub fn new() -> Hasher {
        Hasher(ring::digest::Context::new(&ring::digest::SHA256))
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest's 32 bytes.
    pub fn finish_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }

    pub fn finish(self) -> Sha256 {
        Sha256::from_bytes(&self.finish_bytes())
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

/// The SHA-256 of a byte slice, as 32 bytes.
pub fn sha256_raw(bytes: &[u8]) -> [u8; 32] {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(Hasher::new().finish().as_str(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let mut h = Hasher::new();
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(h.finish().as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
