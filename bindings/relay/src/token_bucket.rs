//! A token bucket: frames and frame bytes per second per session, session creations per
//! second per source and in all.

use std::time::Instant;

/// A token bucket: `rate` tokens a second, at most `burst` saved.
pub(crate) struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: u32, burst: u32) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            tokens: burst,
            rate: f64::from(rate),
            burst,
            last: Instant::now(),
        }
    }

    /// A bucket refilled at a fractional rate (tokens a second).
    pub(crate) fn with_rate(rate: f64, burst: u32) -> TokenBucket {
        let mut b = TokenBucket::new(0, burst);
        b.rate = rate;
        b
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.take_n(1.0, now)
    }

    /// Takes `n` tokens if there are that many; a request larger than the burst is granted
    /// from a full bucket (leaving it in debt), so that no single request is refused forever.
    pub(crate) fn take_n(&mut self, n: f64, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= n.min(self.burst) {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// When it was last used.
    pub(crate) fn last_used(&self) -> Instant {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_grants_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 3);
        assert_eq!(
            (0..5).map(|_| b.take(t0)).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
        let t1 = t0 + Duration::from_millis(100);
        assert!(b.take(t1));
        assert!(!b.take(t1));
    }

    #[test]
    fn a_request_over_the_burst_goes_through_a_full_bucket_and_leaves_a_debt() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 100);
        assert!(b.take_n(250.0, t0));
        assert!(!b.take_n(1.0, t0 + Duration::from_millis(1000)));
        assert!(b.take_n(1.0, t0 + Duration::from_millis(1600)));
    }
}
