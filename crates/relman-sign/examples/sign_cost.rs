//! What signing costs, for the performance notes: `cargo run --release -p relman-sign --example sign_cost`.
//! (Hashes a 100 MiB temporary file, removed afterwards.)
use std::time::Instant;

use relman_sign::{blob, dsse, generate, SigningKey};

fn main() {
    let pair = generate().unwrap();
    let key = pair.signing_key();
    let digest = blob::sha256_bytes(b"archive");
    let n = 1000;
    let t = Instant::now();
    let mut last = None;
    for _ in 0..n {
        last = Some(blob::sign_digest(key, &digest).unwrap());
    }
    let sign = t.elapsed() / n;
    let bundle = last.unwrap().bundle_json();
    let t = Instant::now();
    for _ in 0..n {
        blob::verify_bundle(&bundle, "b", pair.public_key(), "a", &digest).unwrap();
    }
    let verify = t.elapsed() / n;
    let statement = vec![b'x'; 20_000];
    let t = Instant::now();
    for _ in 0..n {
        dsse::sign(key, dsse::INTOTO_PAYLOAD_TYPE, &statement).unwrap();
    }
    let dsse_sign = t.elapsed() / n;
    let t = Instant::now();
    let pem = pair.to_encrypted_pem(b"pw").unwrap();
    let write_key = t.elapsed();
    let t = Instant::now();
    SigningKey::from_pem(&pem, Some(b"pw"), "k").unwrap();
    let read_key = t.elapsed();
    let dir = std::env::temp_dir().join(format!("relman-sign-cost-{}.bin", std::process::id()));
    std::fs::write(&dir, vec![7u8; 100 << 20]).unwrap();
    let t = Instant::now();
    blob::sha256_file(&dir).unwrap();
    let hash = t.elapsed();
    std::fs::remove_file(&dir).unwrap();
    println!("blob sign (bundle + .sig) from a digest: {sign:?}");
    println!("blob bundle verify from a digest:       {verify:?}");
    println!("DSSE sign of a 20 kB statement:          {dsse_sign:?}");
    println!("write encrypted key (scrypt N=32768):    {write_key:?}");
    println!("read encrypted key (scrypt N=32768):     {read_key:?}");
    println!("sha256_file of 100 MiB (page cache):     {hash:?}");
}
