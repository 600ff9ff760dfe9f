//! Self-timing of one worker (protocol 2 `slices` events): a clock read every chunk of work; a gap
//! above GAP_NS between two reads means the thread was off the CPU. Batches go out about every FLUSH_NS.

use std::time::Instant;

/// Two reads further apart than this: the worker was off the CPU in between (docs/protocol.md).
pub const GAP_NS: u64 = 300_000;
/// One `slices` line per worker about this often.
pub const FLUSH_NS: u64 = 250_000_000;

/// Self-timing is on unless GILDASH_TIMELINE=0 (used only to measure what it costs).
pub fn enabled() -> bool {
    std::env::var("GILDASH_TIMELINE").map_or(true, |v| v.trim() != "0")
}

/// One worker's slices since the last flush, in nanoseconds since `origin`.
pub struct SliceTimer {
    origin: Instant,
    start: u64,
    last: u64,
    flush_at: u64,
    slices: Vec<(u64, u64)>,
}

impl SliceTimer {
    pub fn new(origin: Instant) -> SliceTimer {
        let now = Self::ns(origin);
        SliceTimer { origin, start: now, last: now, flush_at: now + FLUSH_NS, slices: Vec::new() }
    }

    fn ns(origin: Instant) -> u64 {
        Instant::now().saturating_duration_since(origin).as_nanos() as u64
    }

    /// One clock read; returns the slices (seconds) when a batch is due.
    pub fn check(&mut self) -> Option<Vec<(f64, f64)>> {
        let now = Self::ns(self.origin);
        if now - self.last > GAP_NS {
            if self.last > self.start {
                self.slices.push((self.start, self.last));
            }
            self.start = now;
        }
        self.last = now;
        (now >= self.flush_at).then(|| self.flush(now))
    }

    /// The worker's end: everything still held, the open slice included.
    pub fn close(&mut self) -> Vec<(f64, f64)> {
        let _ = self.check();
        self.flush(self.last)
    }

    fn flush(&mut self, now: u64) -> Vec<(f64, f64)> {
        // The open slice is cut here and continues in the next batch from the same instant.
        if now > self.start {
            self.slices.push((self.start, now));
            self.start = now;
        }
        self.flush_at = now + FLUSH_NS;
        // Whole microseconds, as the Python workloads send them: touching ends stay equal.
        let secs = |ns: u64| (ns / 1000) as f64 / 1e6;
        self.slices.drain(..).map(|(a, b)| (secs(a), secs(b))).filter(|(a, b)| b > a).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slice_without_gaps_and_touching_batches() {
        let mut timer = SliceTimer::new(Instant::now());
        for _ in 0..1000 {
            let _ = timer.check();
        }
        let last = timer.close();
        assert!(!last.is_empty());
        assert!(last.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(last.iter().all(|(a, b)| a < b));
    }

    #[test]
    fn a_sleep_cuts_the_slice() {
        let mut timer = SliceTimer::new(Instant::now());
        let spin = Instant::now();
        while spin.elapsed().as_micros() < 500 {
            let _ = timer.check();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        // Work after the sleep too: a slice of under a microsecond is dropped when sent (whole microseconds).
        let spin = Instant::now();
        while spin.elapsed().as_micros() < 500 {
            let _ = timer.check();
        }
        let slices = timer.close();
        assert_eq!(slices.len(), 2, "{slices:?}");
        assert!(slices[1].0 - slices[0].1 >= 0.004, "{slices:?}");
    }
}
