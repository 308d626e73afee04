//! The sending side of each connection: a queue bounded in messages and bytes, so that a
//! slow reader costs bounded memory and never stalls the session (it is closed with
//! [`CLOSE_TOO_SLOW`] and reconnects to a fresh keyframe).

use std::sync::Arc;

use axum::body::Bytes;
use cobrowse_engine::protocol::Message;
use cobrowse_engine::session::{AgentId, Recipient};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::small_map::SmallMap;

/// What a socket writer receives. No larger than the [`Bytes`] it mostly carries (asserted
/// by a test): each connection's queue holds its slots in blocks of 32, allocated at once.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// An encoded protocol message (frames are shared buffers: cloning is a refcount).
    Wire(Bytes),
    /// A ping or a close (one byte, stored in the room a `Wire` leaves free).
    Control(Control),
}

/// A WebSocket control message of the relay's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// A ping (keeps a live connection answering, see `limits.idle_timeout_ms`).
    Ping,
    /// Close the connection, for this reason.
    Close(CloseReason),
}

/// Why the relay closes a connection: each reason's close code and text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The session ended (1000).
    SessionEnded,
    /// Silent for `limits.idle_timeout_ms` (1001).
    Idle,
    /// A refusal: bad message, bad proof, a limit (1008).
    Refused,
    /// A message over `limits.max_message_bytes` (1009).
    TooLarge,
    /// A newer connection of the same agent took its place (4000).
    Replaced,
    /// A newer connection of the customer took its place (4000).
    ReplacedCustomer,
    /// Too far behind, see [`CLOSE_TOO_SLOW`] (4001).
    TooSlow,
}

impl CloseReason {
    /// The WebSocket close code.
    pub fn code(self) -> u16 {
        match self {
            CloseReason::SessionEnded => 1000,
            CloseReason::Idle => 1001,
            CloseReason::Refused => 1008,
            CloseReason::TooLarge => 1009,
            CloseReason::Replaced | CloseReason::ReplacedCustomer => 4000,
            CloseReason::TooSlow => CLOSE_TOO_SLOW,
        }
    }

    /// The close frame's text.
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::SessionEnded => "session ended",
            CloseReason::Idle => "idle",
            CloseReason::Refused => "refused",
            CloseReason::TooLarge => "message too large",
            CloseReason::Replaced => "replaced by a newer connection",
            CloseReason::ReplacedCustomer => "replaced by a newer customer connection",
            CloseReason::TooSlow => "too far behind",
        }
    }
}

impl Outbound {
    /// A close for `reason`.
    pub fn close(reason: CloseReason) -> Outbound {
        Outbound::Control(Control::Close(reason))
    }
}

/// Each connection's initial read buffer. tungstenite's default (128 KiB, zero-filled, so
/// resident at once) would be most of the relay's memory per session; most messages are a few
/// dozen bytes, and a large frame grows the buffer to its own length when its header arrives.
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Messages a connection may have queued before it counts as too slow.
pub const MAX_QUEUED: usize = 1024;

/// Bytes a connection may have queued before it counts as too slow (a few large keyframes).
pub const MAX_QUEUED_BYTES: usize = 16 << 20;

/// Close code for a connection that fell [`MAX_QUEUED`] messages or [`MAX_QUEUED_BYTES`]
/// bytes behind. Its client reconnects within the grace period and gets a fresh relay-made
/// keyframe, so a slow agent costs bounded memory and never stalls the others.
pub const CLOSE_TOO_SLOW: u16 = 4001;

/// What one connection has queued and not yet written.
#[derive(Debug, Default)]
pub struct Backlog {
    pub(crate) messages: AtomicUsize,
    pub(crate) bytes: AtomicUsize,
}

impl Backlog {
    /// The writer wrote a message of `len` bytes.
    pub(crate) fn written(&self, len: usize) {
        self.messages.fetch_sub(1, Ordering::AcqRel);
        self.bytes.fetch_sub(len, Ordering::AcqRel);
    }
}

/// The sending side of one connection's queue, bounded by [`MAX_QUEUED`] and
/// [`MAX_QUEUED_BYTES`].
#[derive(Clone, Debug)]
pub struct Link {
    tx: UnboundedSender<Outbound>,
    backlog: Arc<Backlog>,
    /// Set once the too-slow close was queued: nothing more is.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl Link {
    pub(crate) fn new() -> (Link, UnboundedReceiver<Outbound>, Arc<Backlog>) {
        let (tx, rx) = unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        (
            Link {
                tx,
                backlog: backlog.clone(),
                closed: Default::default(),
            },
            rx,
            backlog,
        )
    }

    /// Queues a message; a connection already too far behind gets a close instead (once)
    /// and nothing more. Returns whether the message was queued.
    pub fn send(&self, out: Outbound) -> bool {
        let len = match &out {
            Outbound::Control(_) => return self.tx.send(out).is_ok(),
            Outbound::Wire(b) => b.len(),
        };
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let messages = self.backlog.messages.fetch_add(1, Ordering::AcqRel);
        let bytes = self.backlog.bytes.fetch_add(len, Ordering::AcqRel);
        // One message is always taken into an empty queue, however large (a relay-made
        // keyframe of a big page may exceed the bound on its own).
        if messages >= MAX_QUEUED || (bytes > 0 && bytes + len > MAX_QUEUED_BYTES) {
            self.backlog.messages.fetch_sub(1, Ordering::AcqRel);
            self.backlog.bytes.fetch_sub(len, Ordering::AcqRel);
            // Exactly one close, however many messages keep coming.
            if !self.closed.swap(true, Ordering::AcqRel) {
                let _ = self.tx.send(Outbound::close(CloseReason::TooSlow));
            }
            return false;
        }
        if self.tx.send(out).is_err() {
            self.backlog.written(len);
            return false;
        }
        true
    }

    /// Whether both are the same connection.
    pub fn same_channel(&self, other: &Link) -> bool {
        self.tx.same_channel(&other.tx)
    }
}

/// The open connections of one session.
#[derive(Default)]
pub struct Links {
    /// The customer's connection.
    pub customer: Option<Link>,
    /// Each connected agent's connection.
    pub agents: SmallMap<AgentId, Link>,
}

impl Links {
    /// Sends to one recipient set; returns how many connections it reached.
    pub fn send(&self, to: &Recipient, out: &Outbound) -> usize {
        let mut n = 0;
        let mut one = |link: &Link| {
            if link.send(out.clone()) {
                n += 1;
            }
        };
        match to {
            Recipient::Customer => self.customer.iter().for_each(&mut one),
            Recipient::Agent(a) => self.agents.get(a).into_iter().for_each(&mut one),
            Recipient::AllAgents => self.agents.values().for_each(&mut one),
            Recipient::Everyone => {
                self.customer.iter().for_each(&mut one);
                self.agents.values().for_each(&mut one);
            }
        }
        n
    }

    pub(crate) fn send_msg(&self, to: &Recipient, msg: &Message) {
        self.send(to, &Outbound::Wire(Bytes::from(msg.encode())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut UnboundedReceiver<Outbound>) -> (usize, Vec<u16>) {
        let mut wires = 0;
        let mut closes = Vec::new();
        while let Ok(out) = rx.try_recv() {
            match out {
                Outbound::Wire(_) => wires += 1,
                Outbound::Control(Control::Close(reason)) => closes.push(reason.code()),
                Outbound::Control(Control::Ping) => {}
            }
        }
        (wires, closes)
    }

    #[test]
    fn an_outbound_message_is_no_larger_than_its_bytes() {
        assert_eq!(
            std::mem::size_of::<Outbound>(),
            std::mem::size_of::<Bytes>()
        );
    }

    #[test]
    fn a_connection_too_far_behind_gets_one_close_and_nothing_more() {
        let (link, mut rx, _backlog) = Link::new();
        for _ in 0..MAX_QUEUED {
            assert!(link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        }
        for _ in 0..10 {
            assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        }
        assert_eq!(drain(&mut rx), (MAX_QUEUED, vec![CLOSE_TOO_SLOW]));
        // Even once drained, a closed link takes nothing more.
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
    }

    #[test]
    fn a_connection_too_many_bytes_behind_is_closed_too() {
        let (link, mut rx, _backlog) = Link::new();
        let big = Bytes::from(vec![0u8; MAX_QUEUED_BYTES / 4]);
        for _ in 0..4 {
            assert!(link.send(Outbound::Wire(big.clone())));
        }
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        assert_eq!(drain(&mut rx), (4, vec![CLOSE_TOO_SLOW]));
    }

    #[test]
    fn one_message_larger_than_the_byte_bound_still_goes_through_an_empty_queue() {
        let (link, mut rx, backlog) = Link::new();
        let huge = Bytes::from(vec![0u8; MAX_QUEUED_BYTES + 1]);
        assert!(link.send(Outbound::Wire(huge.clone())));
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        assert_eq!(drain(&mut rx), (1, vec![CLOSE_TOO_SLOW]));
        backlog.written(huge.len());
    }

    #[test]
    fn a_draining_writer_keeps_the_connection_below_the_bound() {
        let (link, mut rx, backlog) = Link::new();
        let big = Bytes::from(vec![0u8; MAX_QUEUED_BYTES / 4]);
        for i in 0..(3 * MAX_QUEUED) {
            let b = if i % 100 == 0 {
                big.clone()
            } else {
                Bytes::from_static(b"x")
            };
            assert!(link.send(Outbound::Wire(b)));
            // What the writer does per message it sends.
            if let Ok(Outbound::Wire(b)) = rx.try_recv() {
                backlog.written(b.len());
            }
        }
        assert_eq!(backlog.messages.load(Ordering::Acquire), 0);
        assert_eq!(backlog.bytes.load(Ordering::Acquire), 0);
    }
}
