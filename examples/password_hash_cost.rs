//! What one Argon2id password hash costs on this machine, with the server's parameters.
//!
//! `cargo run --release --features ssr --example password_hash_cost [N]`
//!
//! Prints the median and spread of N (default 20) sequential hashes. Each holds 19 MiB; the
//! server runs at most `accounts::HASH_CONCURRENCY` at once on the blocking pool.

#[cfg(feature = "ssr")]
fn main() {
    use std::time::Instant;
    use switchboard::server::accounts::password::{
        ITERATIONS, MEMORY_KIB, PARALLELISM, hash_blocking,
    };

    let n: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(20)
        .max(1);
    let mut millis: Vec<f64> = (0..n)
        .map(|i| {
            let started = Instant::now();
            hash_blocking(&format!("password number {i}")).expect("hashing succeeds");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    millis.sort_by(f64::total_cmp);
    println!(
        "argon2id m={MEMORY_KIB} KiB t={ITERATIONS} p={PARALLELISM}: {n} hashes, median {:.1} ms, min {:.1} ms, max {:.1} ms",
        millis[n / 2],
        millis[0],
        millis[n - 1]
    );
}

#[cfg(not(feature = "ssr"))]
fn main() {}
