//! When a WebSocket is pinged and when it is closed for silence.
//!
//! Silence is measured from the last message of any kind (pongs included). A connection
//! silent for `idle` is closed **at** `last heard + idle` (the timer wakes then, whatever the
//! ping schedule). The relay pings every `idle / 3` so that a live client always has something
//! to answer well before that.
//!
//! The schedule: the first ping comes soon (at most [`FIRST_PING`] after the connection
//! opens; its pong gives the agents the customer's round trip at once); the second comes a
//! per-connection **phase** after the first, in `(0, idle / 3]`; every later one `idle / 3`
//! after the one before. The phases of successive connections follow a low-discrepancy
//! sequence (multiples of the golden ratio, modulo 1), so connections opened together (a
//! reconnect storm, a load test's ramp-up) ping spread evenly over the interval instead of
//! all at once every `idle / 3`: without it, each wave of pings, pongs and the customers'
//! `Latency` fan-out lands on the relay in the few seconds the connections took to open.
//!
//! Invariants (`debug_assert!`ed): the next ping is never more than `idle / 3` after the
//! last one (a live client is never left without a ping for longer); the wake-up is never
//! after the idle deadline. Receiving a message only records the time ([`Keepalive::heard`]):
//! no timer is touched per message; a wake-up at a deadline that has since moved just finds
//! nothing due and sleeps again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The latest the first ping comes after a connection opens.
pub(super) const FIRST_PING: Duration = Duration::from_secs(2);

/// What a wake-up of the connection's timer calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// Nothing yet (a deadline moved since the timer was set).
    Nothing,
    /// Send a ping.
    Ping,
    /// Silent for the whole idle timeout: close.
    Idle,
}

/// One connection's ping schedule and idle deadline (see the module docs).
#[derive(Debug)]
pub(super) struct Keepalive {
    idle: Duration,
    every: Duration,
    last_heard: Instant,
    next_ping: Instant,
    /// The delay from the first ping to the second; `None` once the second is scheduled.
    phase: Option<Duration>,
}

/// The golden ratio's fractional part in 64-bit fixed point.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The `k`-th connection's phase as a fraction of the interval, in `(0, 1]`: `1 - {k φ}`.
fn phase_fraction(k: u64) -> f64 {
    let frac = k.wrapping_mul(GOLDEN) >> 11; // 53 bits
    1.0 - frac as f64 / (1u64 << 53) as f64
}

/// Connections made so far (by every relay in this process), for their phases.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

impl Keepalive {
    /// The schedule of a connection opened `now`, taking the next phase of the sequence.
    pub(super) fn new(now: Instant, idle: Duration) -> Keepalive {
        Keepalive::with_phase_index(now, idle, CONNECTIONS.fetch_add(1, Ordering::Relaxed))
    }

    /// The schedule of the `k`-th connection (see [`Keepalive::new`]).
    pub(super) fn with_phase_index(now: Instant, idle: Duration, k: u64) -> Keepalive {
        let every = idle / 3;
        Keepalive {
            idle,
            every,
            last_heard: now,
            next_ping: now + every.min(FIRST_PING),
            phase: Some(every.mul_f64(phase_fraction(k))),
        }
    }

    /// A message (of any kind) arrived at `now`.
    pub(super) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// When the timer must wake next: the next ping or the idle deadline, the earlier.
    pub(super) fn next_wake(&self) -> Instant {
        let wake = self.next_ping.min(self.last_heard + self.idle);
        debug_assert!(wake <= self.last_heard + self.idle);
        wake
    }

    /// The timer woke at `now`: what is due. A ping due is taken (the next one scheduled from
    /// `now`, so a late wake-up delays the next ping instead of bursting to catch up).
    pub(super) fn on_timer(&mut self, now: Instant) -> Due {
        if now >= self.last_heard + self.idle {
            return Due::Idle;
        }
        if now < self.next_ping {
            return Due::Nothing;
        }
        let after = self.phase.take().unwrap_or(self.every);
        debug_assert!(after <= self.every);
        self.next_ping = now + after;
        Due::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);

    /// Runs one connection's timer from `t0` (never hearing from it) until it is closed;
    /// returns the ping times and the close time, relative to `t0`.
    fn silent_run(mut k: Keepalive, t0: Instant) -> (Vec<Duration>, Duration) {
        let mut pings = Vec::new();
        loop {
            let at = k.next_wake();
            match k.on_timer(at) {
                Due::Ping => pings.push(at - t0),
                Due::Idle => return (pings, at - t0),
                Due::Nothing => panic!("woke for nothing at {:?}", at - t0),
            }
        }
    }

    #[test]
    fn connections_opened_together_ping_spread_over_the_interval() {
        // 1,000 connections opened at the same instant: their second pings (the first after
        // the quick first one) fall evenly over the 20 s interval that follows it, 100 in
        // each tenth of it, give or take 2; every later ping keeps its phase.
        let t0 = Instant::now();
        let every = IDLE / 3;
        let mut tenths = [0u32; 10];
        for k in 0..1000 {
            let mut ka = Keepalive::with_phase_index(t0, IDLE, k);
            let first = ka.next_wake();
            assert_eq!(first - t0, FIRST_PING);
            assert_eq!(ka.on_timer(first), Due::Ping);
            ka.heard(first); // the pong
            let second = ka.next_wake();
            let after = second - first;
            assert!(after > Duration::ZERO && after <= every, "{after:?}");
            tenths[((after.as_secs_f64() / every.as_secs_f64() * 10.0) as usize).min(9)] += 1;
            assert_eq!(ka.on_timer(second), Due::Ping);
            ka.heard(second);
            assert_eq!(ka.next_wake() - second, every);
        }
        for (i, &n) in tenths.iter().enumerate() {
            assert!(
                (98..=102).contains(&n),
                "tenth {i}: {n} of 1000 ({tenths:?})"
            );
        }
    }

    #[test]
    fn a_silent_connection_is_closed_at_its_idle_deadline_exactly() {
        let t0 = Instant::now();
        for k in [0, 1, 2, 7, 1000] {
            let (pings, closed) = silent_run(Keepalive::with_phase_index(t0, IDLE, k), t0);
            assert_eq!(closed, IDLE, "phase index {k}");
            assert_eq!(pings[0], FIRST_PING);
            // Never more than a third of the idle timeout without a ping.
            for w in pings.windows(2) {
                assert!(w[1] - w[0] <= IDLE / 3, "{pings:?}");
            }
            assert!(IDLE - *pings.last().unwrap() <= IDLE / 3, "{pings:?}");
        }
    }

    #[test]
    fn a_message_moves_the_idle_deadline_without_a_new_timer() {
        let t0 = Instant::now();
        let mut ka = Keepalive::with_phase_index(t0, IDLE, 3);
        // Silent: the wake-ups before the idle deadline are pings; the timer is then set for
        // the deadline itself.
        loop {
            let at = ka.next_wake();
            if at >= t0 + IDLE {
                break;
            }
            assert_eq!(ka.on_timer(at), Due::Ping);
        }
        assert_eq!(ka.next_wake(), t0 + IDLE);
        // A message at 50 s moves the deadline: the wake-up set for 60 s finds nothing due,
        // and the connection, silent again, is closed at 110 s exactly.
        ka.heard(t0 + Duration::from_secs(50));
        assert_eq!(ka.on_timer(t0 + IDLE), Due::Nothing);
        let (_, closed) = silent_run(ka, t0);
        assert_eq!(closed, Duration::from_secs(110));
    }
}
