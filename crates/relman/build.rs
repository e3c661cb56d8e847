fn main() {
    // The triple relman's tests treat as the host.
    println!("cargo:rustc-env=RELMAN_TEST_HOST={}", std::env::var("TARGET").expect("TARGET"));
}
