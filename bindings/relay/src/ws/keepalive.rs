//! When a WebSocket is pinged and when it is closed for silence.
//!
//! Silence is measured from the last message of any kind (data, pongs included). A connection
//! silent for `idle` is closed **at** `last heard + idle` (the timer wakes then, whatever the
//! ping schedule).
//!
//! **Keepalive pings go only to connections that need them.** A connection heard from within
//! the last `idle / 3` needs no ping to prove it is alive: a customer streaming frames, an
//! agent acknowledging them, are never pinged for the keepalive. A connection is pinged once it
//! has been silent for `idle / 3`, at the next point of its own **ping grid** (`phase + n ·
//! idle / 3` from its opening), so between `idle / 3` and `2 · idle / 3` of silence, and again
//! at every later point of the grid while it stays silent (each at least `idle / 3` after the
//! one before): a live client has at least `idle / 3` to answer before its deadline. A live
//! silent client answers each ping, so it is pinged every `2 · idle / 3`. The phases of
//! successive connections follow a low-discrepancy sequence (multiples of the golden ratio,
//! modulo 1), so connections opened together (a reconnect storm, a load test's ramp-up) that
//! go silent together ping spread evenly over the interval instead of all at once: without it,
//! each wave of pings and pongs lands on the relay in the few seconds the connections took to
//! open.
//!
//! **The customer's round trip** (`Latency`, the agents' "connection status", SPEC: "the round
//! trip of the relay's WebSocket pings to the customer") has its own, slower probe: a customer
//! connection is pinged [`FIRST_PING`] after it is bound (its pong gives the agents the round
//! trip at once), the second a per-connection phase after the first (the same sequence, as a
//! fraction of the probe's interval, so that customers connected together are not probed
//! together) and then every `limits.customer_rtt_probe_ms` (default 30 s), whether or not
//! it is silent (and whether or not agents are joined, so that an agent who joins gets a
//! measurement at most that old). The pong of any ping (a keepalive one too) is a
//! measurement.
//!
//! Invariants (`debug_assert!`ed): the wake-up is never after the idle deadline; a keepalive
//! ping comes at least `idle / 3` before it. Receiving a message only records the time
//! ([`Keepalive::heard`]): no timer is touched per message; a wake-up at a time that the
//! message has made early (the grid point it was set for no longer due) just finds nothing due
//! and sleeps again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The latest the first round-trip probe comes after a customer connection is bound.
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
    /// The last keepalive ping, if any.
    last_ping: Option<Instant>,
    /// A point of the connection's ping grid: its opening plus its phase, in `(0, idle / 3]`.
    grid: Instant,
    /// The connection's phase as a fraction of an interval, in `(0, 1]`.
    phase: f64,
    /// The round-trip probe (a customer's, see [`Keepalive::probe_round_trip`]).
    probe: Option<Probe>,
}

/// A connection's round-trip probe.
#[derive(Debug)]
struct Probe {
    next: Instant,
    every: Duration,
    /// The delay from the first probe to the second; `None` once the second is scheduled.
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
        let phase = phase_fraction(k);
        Keepalive {
            idle,
            every,
            last_heard: now,
            last_ping: None,
            grid: now + every.mul_f64(phase),
            phase,
            probe: None,
        }
    }

    /// From `now` on, also ping for the round trip: [`FIRST_PING`] from now (or `every`, if
    /// sooner), then the connection's phase of `every` later, then `every` after each ping.
    /// `every` zero: no probe. Called again: no change.
    /// Returns whether the probe started now (the timer must then be set again).
    pub(super) fn probe_round_trip(&mut self, now: Instant, every: Duration) -> bool {
        if self.probe.is_some() || every.is_zero() {
            return false;
        }
        self.probe = Some(Probe {
            next: now + every.min(FIRST_PING),
            every,
            phase: Some(every.mul_f64(self.phase)),
        });
        true
    }

    /// A message (of any kind) arrived at `now`.
    pub(super) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// The first point of the ping grid at or after `t`.
    fn grid_at_or_after(&self, t: Instant) -> Instant {
        if t <= self.grid || self.every.is_zero() {
            return t.max(self.grid);
        }
        let every = self.every.as_nanos();
        let steps = (t - self.grid).as_nanos().div_ceil(every);
        let after = u64::try_from(steps * every).unwrap_or(u64::MAX);
        self.grid + Duration::from_nanos(after)
    }

    /// The next keepalive ping: the first grid point at which the connection has been silent
    /// for `idle / 3`, and `idle / 3` after the last keepalive ping.
    fn next_keepalive_ping(&self) -> Instant {
        let mut from = self.last_heard + self.every;
        if let Some(pinged) = self.last_ping {
            from = from.max(pinged + self.every);
        }
        let ping = self.grid_at_or_after(from);
        debug_assert!(self.every.is_zero() || ping < from + self.every);
        ping
    }

    /// When the timer must wake next: the next ping (keepalive or probe) or the idle
    /// deadline, the earliest.
    pub(super) fn next_wake(&self) -> Instant {
        let deadline = self.last_heard + self.idle;
        let mut wake = self.next_keepalive_ping().min(deadline);
        if let Some(probe) = &self.probe {
            wake = wake.min(probe.next);
        }
        debug_assert!(wake <= deadline);
        wake
    }

    /// The timer woke at `now`: what is due. A ping due is taken (the next one scheduled from
    /// `now`, so a late wake-up delays the next ping instead of bursting to catch up). One
    /// ping serves both the keepalive and the probe when both are due; any ping restarts the
    /// probe's interval (its pong is a measurement).
    pub(super) fn on_timer(&mut self, now: Instant) -> Due {
        if now >= self.last_heard + self.idle {
            return Due::Idle;
        }
        let keepalive = now >= self.next_keepalive_ping();
        let probe = matches!(&self.probe, Some(p) if now >= p.next);
        if !keepalive && !probe {
            return Due::Nothing;
        }
        if keepalive {
            self.last_ping = Some(now);
        }
        if let Some(p) = &mut self.probe {
            p.next = now + p.phase.take().unwrap_or(p.every);
        }
        Due::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);
    const EVERY: Duration = Duration::from_secs(20);

    /// Runs one connection's timer from `t0` until `until` or its close, hearing from it at
    /// the times `heard` says (relative to `t0`, ascending) and, when `answer` is set, that
    /// long after each ping (a pong); returns the ping times and the close time (if closed),
    /// relative to `t0`.
    fn run(
        mut k: Keepalive,
        t0: Instant,
        heard: &[Duration],
        answer: Option<Duration>,
        until: Duration,
    ) -> (Vec<Duration>, Option<Duration>) {
        let mut heard: Vec<Duration> = heard.to_vec();
        let mut pings = Vec::new();
        loop {
            let at = k.next_wake();
            if at - t0 > until {
                return (pings, None);
            }
            // Messages that arrive before the wake-up are recorded first.
            while let Some(&h) = heard.first() {
                if t0 + h > at {
                    break;
                }
                k.heard(t0 + h);
                heard.remove(0);
            }
            match k.on_timer(at) {
                Due::Ping => {
                    pings.push(at - t0);
                    if let Some(rtt) = answer {
                        let pong = at - t0 + rtt;
                        let i = heard.partition_point(|&h| h < pong);
                        heard.insert(i, pong);
                    }
                }
                Due::Idle => return (pings, Some(at - t0)),
                Due::Nothing => {}
            }
        }
    }

    fn phase(k: u64) -> Duration {
        EVERY.mul_f64(phase_fraction(k))
    }

    #[test]
    fn a_connection_heard_every_second_is_never_pinged() {
        let t0 = Instant::now();
        let each_second: Vec<Duration> = (1..=600).map(Duration::from_secs).collect();
        for k in [0, 1, 2, 7, 1000] {
            let ka = Keepalive::with_phase_index(t0, IDLE, k);
            let (pings, closed) = run(ka, t0, &each_second, None, Duration::from_secs(600));
            assert_eq!((pings, closed), (Vec::new(), None), "phase index {k}");
        }
    }

    #[test]
    fn a_silent_connection_is_pinged_after_a_third_of_the_timeout_and_closed_at_it() {
        let t0 = Instant::now();
        for k in [0, 1, 2, 7, 1000] {
            let ka = Keepalive::with_phase_index(t0, IDLE, k);
            let (pings, closed) = run(ka, t0, &[], None, IDLE * 2);
            // Its grid's points are `phase + n · 20 s`; the first at or after 20 s of silence
            // and the next one; the one after would be at or past the deadline.
            let first = if phase(k) == EVERY {
                EVERY
            } else {
                phase(k) + EVERY
            };
            assert_eq!(pings, vec![first, first + EVERY], "phase index {k}");
            assert_eq!(closed, Some(IDLE), "phase index {k}");
        }
        // Silent after a message at 7 s: the same, from 7 s (k = 0: phase 20 s, points at
        // 20, 40, 60 s...): pinged at 40 s and 60 s, closed at 67 s.
        let ka = Keepalive::with_phase_index(t0, IDLE, 0);
        let (pings, closed) = run(ka, t0, &[Duration::from_secs(7)], None, IDLE * 2);
        assert_eq!(
            pings,
            vec![Duration::from_secs(40), Duration::from_secs(60)]
        );
        assert_eq!(closed, Some(Duration::from_secs(67)));
    }

    #[test]
    fn a_silent_client_that_answers_is_pinged_every_two_thirds_of_the_timeout() {
        let t0 = Instant::now();
        let rtt = Duration::from_millis(5);
        let ka = Keepalive::with_phase_index(t0, IDLE, 0);
        let (pings, closed) = run(ka, t0, &[], Some(rtt), Duration::from_secs(200));
        let secs = |s| Duration::from_secs(s);
        assert_eq!(
            pings,
            vec![secs(20), secs(60), secs(100), secs(140), secs(180)]
        );
        assert_eq!(closed, None);
    }

    #[test]
    fn connections_opened_together_ping_spread_over_the_interval() {
        // 1,000 connections opened at the same instant and silent: their first pings fall
        // evenly over the 20 s after the first 20 s, 100 in each tenth of it, give or take 2;
        // the next one 20 s later.
        let t0 = Instant::now();
        let mut tenths = [0u32; 10];
        for k in 0..1000 {
            let mut ka = Keepalive::with_phase_index(t0, IDLE, k);
            let first = ka.next_wake();
            let after = first - (t0 + EVERY);
            assert!(after < EVERY, "{after:?}");
            tenths[((after.as_secs_f64() / EVERY.as_secs_f64() * 10.0) as usize).min(9)] += 1;
            assert_eq!(ka.on_timer(first), Due::Ping);
            assert_eq!(ka.next_wake() - first, EVERY);
        }
        for (i, &n) in tenths.iter().enumerate() {
            assert!(
                (98..=102).contains(&n),
                "tenth {i}: {n} of 1000 ({tenths:?})"
            );
        }
        // The same for customers' round-trip probes: the first together 2 s after, the second
        // spread over the 30 s after that (an idle timeout of 10 minutes keeps the keepalive's
        // pings out of the way).
        let every = Duration::from_secs(30);
        let mut tenths = [0u32; 10];
        for k in 0..1000 {
            let mut ka = Keepalive::with_phase_index(t0, IDLE * 10, k);
            assert!(ka.probe_round_trip(t0, every));
            let first = ka.next_wake();
            assert_eq!(first - t0, FIRST_PING);
            assert_eq!(ka.on_timer(first), Due::Ping);
            ka.heard(first);
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
                "probes, tenth {i}: {n} of 1000 ({tenths:?})"
            );
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
        let (_, closed) = run(ka, t0, &[], None, IDLE * 3);
        assert_eq!(closed, Some(Duration::from_secs(110)));
    }

    #[test]
    fn a_customer_is_probed_for_its_round_trip_at_its_own_cadence() {
        let t0 = Instant::now();
        let secs = |s| Duration::from_secs(s);
        // Heard every second, probing every 30 s from its binding at 1 s: pinged at 3 s, then
        // every 30 s; never for the keepalive.
        let each_second: Vec<Duration> = (1..=200).map(Duration::from_secs).collect();
        let mut ka = Keepalive::with_phase_index(t0, IDLE, 0);
        assert!(ka.probe_round_trip(t0 + secs(1), secs(30)));
        assert!(!ka.probe_round_trip(t0 + secs(1), secs(5))); // no change
        let (pings, closed) = run(ka, t0, &each_second, None, secs(200));
        assert_eq!(
            pings,
            vec![
                secs(3),
                secs(33),
                secs(63),
                secs(93),
                secs(123),
                secs(153),
                secs(183)
            ]
        );
        assert_eq!(closed, None);
        // Silent (answering nothing), probed every 30 s from 0: the probe at 2 s, then the
        // keepalive pings at 20 s and 40 s, each restarting the probe's interval (its next
        // would be at 70 s, past the deadline): closed at 60 s.
        let mut ka = Keepalive::with_phase_index(t0, IDLE, 0);
        assert!(ka.probe_round_trip(t0, secs(30)));
        let (pings, closed) = run(ka, t0, &[], None, secs(200));
        assert_eq!(pings, vec![secs(2), secs(20), secs(40)]);
        assert_eq!(closed, Some(IDLE));
        // Phase index 1: the second probe comes 38.2 % of the interval after the first.
        let mut ka = Keepalive::with_phase_index(t0, IDLE, 1);
        assert!(ka.probe_round_trip(t0 + secs(1), secs(30)));
        let (pings, _) = run(ka, t0, &each_second, None, secs(100));
        let second = secs(3) + secs(30).mul_f64(phase_fraction(1));
        assert_eq!(
            pings,
            vec![secs(3), second, second + secs(30), second + secs(60)]
        );
        // A zero cadence: no probe.
        let mut ka = Keepalive::with_phase_index(t0, IDLE, 0);
        assert!(!ka.probe_round_trip(t0, Duration::ZERO));
        let (pings, _) = run(ka, t0, &each_second, None, secs(200));
        assert_eq!(pings, Vec::<Duration>::new());
    }
}
