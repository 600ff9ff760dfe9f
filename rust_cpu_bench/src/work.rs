//! The CPU workloads, with the same size semantics and results as workloads/*.py.
//!
//! sum_squares: every worker sums i*i for i < size (weak scaling). primes: workers pull chunks of
//! [0, size) from a shared atomic counter and count primes by trial division (strong scaling).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sys;

/// Iterations between stop-flag checks, progress updates and timeline clock reads (~0.05-0.1 ms).
pub const SUM_CHUNK: u64 = 1 << 16;
/// Numbers between stop checks (and timeline clock reads) inside a primes work item.
pub const PRIMES_STOP_EVERY: u64 = 512;
/// Largest --size accepted: keeps i*i and every total inside u128 and the chunk counter inside u64.
pub const MAX_SIZE: u64 = 1_000_000_000_000;
/// Above this the primes check has no sieve (it would need > 60 MB); expected is then null.
const MAX_SIEVE: u64 = 1_000_000_000;

/// What one worker ended with.
pub struct Outcome {
    /// This worker's result (its sum, or its prime count).
    pub result: u128,
    /// Numbers this worker tested (primes only; 0 for sum_squares).
    pub numbers: u64,
    /// Work items this worker took (primes only; 0 for sum_squares).
    pub chunks: u64,
    /// False when a stop signal cut the work short.
    pub completed: bool,
}

/// sum of i*i for i in 0..size; black_box keeps LLVM from replacing the loop by its closed form.
pub fn sum_squares(size: u64, mut progress: impl FnMut(u64, u64)) -> Outcome {
    let mut total: u128 = 0;
    let mut i: u64 = 0;
    while i < size {
        if sys::stop_requested() {
            return Outcome { result: total, numbers: 0, chunks: 0, completed: false };
        }
        let end = size.min(i + SUM_CHUNK);
        for j in i..end {
            // Opaque per step: without it release builds fold 20M iterations into ~nothing.
            let x = black_box(j) as u128;
            total += x * x;
        }
        i = end;
        progress(i, size);
    }
    Outcome { result: total, numbers: 0, chunks: 0, completed: true }
}

/// (n-1)n(2n-1)/6: what sum_squares must return for every worker.
pub fn sum_squares_expected(size: u64) -> u128 {
    if size == 0 {
        return 0;
    }
    let n = size as u128;
    (n - 1) * n * (2 * n - 1) / 6
}

/// Trial division by odd numbers up to sqrt(n), the same test the Python workload uses.
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n < 4 {
        return true;
    }
    if n % 2 == 0 {
        return false;
    }
    let mut d: u64 = 3;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

/// Count primes below size in `chunk`-sized items pulled from `next`; `progress(numbers_by_me, size)`.
pub fn primes(size: u64, chunk: u64, next: &AtomicU64, mut progress: impl FnMut(u64, u64)) -> Outcome {
    let mut out = Outcome { result: 0, numbers: 0, chunks: 0, completed: false };
    loop {
        if sys::stop_requested() {
            return out;
        }
        // size and chunk are both <= MAX_SIZE, so the counter cannot wrap even with 1024 workers.
        let lo = next.fetch_add(chunk, Ordering::Relaxed);
        if lo >= size {
            break;
        }
        out.chunks += 1;
        let hi = size.min(lo + chunk);
        let mut start = lo;
        while start < hi {
            let stop = hi.min(start + PRIMES_STOP_EVERY);
            for k in start..stop {
                if is_prime(black_box(k)) {
                    out.result += 1;
                }
            }
            out.numbers += stop - start;
            start = stop;
            progress(out.numbers, size);
            if sys::stop_requested() {
                return out;
            }
        }
    }
    out.completed = true;
    out
}

/// Primes below size where the answer is well known (the same table as workloads/primes.py).
pub fn primes_known(size: u64) -> Option<u128> {
    const KNOWN: [(u64, u128); 6] =
        [(100, 25), (1_000, 168), (10_000, 1229), (100_000, 9592), (1_000_000, 78498), (2_000_000, 148933)];
    KNOWN.iter().find(|(n, _)| *n == size).map(|&(_, count)| count)
}

/// Primes below size by an odd-only bit sieve; None when too large to sieve in reasonable memory.
pub fn primes_sieved(size: u64) -> Option<u128> {
    (size <= MAX_SIEVE).then(|| sieve_count(size))
}

fn sieve_count(size: u64) -> u128 {
    if size <= 2 {
        return 0;
    }
    // Bit k stands for the odd number 2k+1; bit 0 (the number 1) is not prime.
    let odd_count = (size / 2) as usize; // odd numbers below size
    let mut composite = vec![0u64; odd_count / 64 + 1];
    composite[0] |= 1;
    let mut p: u64 = 3;
    while p * p < size {
        if composite[(p / 2) as usize / 64] & (1 << ((p / 2) % 64)) == 0 {
            let mut m = p * p;
            while m < size {
                let k = (m / 2) as usize;
                composite[k / 64] |= 1 << (k % 64);
                m += 2 * p;
            }
        }
        p += 2;
    }
    let odd_primes = (0..odd_count).filter(|k| composite[k / 64] & (1 << (k % 64)) == 0).count();
    1 + odd_primes as u128 // the 1 is the prime 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_matches_loop() {
        for n in [0u64, 1, 2, 3, 10, 1000, 70_000] {
            let by_loop: u128 = (0..n as u128).map(|i| i * i).sum();
            assert_eq!(sum_squares_expected(n), by_loop);
            assert_eq!(sum_squares(n, |_, _| {}).result, by_loop);
        }
    }

    #[test]
    fn sieve_agrees_with_known_and_trial_division() {
        for (n, want) in [(100u64, 25u128), (1_000, 168), (10_000, 1229), (100_000, 9592), (1_000_000, 78498)] {
            assert_eq!(sieve_count(n), want);
        }
        for n in 0..300u64 {
            let by_trial = (0..n).filter(|&k| is_prime(k)).count() as u128;
            assert_eq!(sieve_count(n), by_trial, "n={n}");
        }
    }

    #[test]
    fn primes_counts_all_chunks() {
        let next = AtomicU64::new(0);
        let out = primes(10_000, 1000, &next, |_, _| {});
        assert_eq!((out.result, out.numbers, out.chunks, out.completed), (1229, 10_000, 10, true));
    }
}
