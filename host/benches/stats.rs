//! Sampling and percentiles shared by the report-style benchmarks (latency, polyglot_load).

use std::time::{Duration, Instant};

/// Runs `f` `n` times after `n / 10` warm-up runs; returns sorted durations.
pub fn sample(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..n / 10 {
        f();
    }
    let mut d: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    d.sort();
    d
}

/// The `p` quantile (0.0..=1.0) of sorted durations.
pub fn pct(d: &[Duration], p: f64) -> Duration {
    let i = ((d.len() as f64 - 1.0) * p).round() as usize;
    d[i]
}
