//! Hashes one file with `relman_install::hash::sha256_file` and prints the digest and time.
//! Used to compare the hashing loop on its own with `openssl dgst -sha256`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: hashfile FILE");
    let t = std::time::Instant::now();
    let (sha, n) = relman_install::hash::sha256_file(std::path::Path::new(&path)).expect("hash");
    eprintln!("{sha} {n} bytes {:.2}s", t.elapsed().as_secs_f64());
}
