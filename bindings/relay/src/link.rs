//! The sending side of each connection: a queue bounded in messages and bytes, so that a
//! slow reader costs bounded memory and never stalls the session (it is closed with
//! [`CLOSE_TOO_SLOW`] and reconnects to a fresh keyframe).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use axum::body::Bytes;
use cobrowse_engine::protocol::Message;
use cobrowse_engine::session::{AgentId, Recipient};
use futures_util::task::AtomicWaker;

use crate::small_map::SmallMap;
use crate::ws::writer::{DirectWrite, Socket};

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
    /// A ping (a silent connection's keepalive, see `limits.idle_timeout_ms`; a customer's
    /// round-trip probe, see `limits.customer_rtt_probe_ms`).
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

/// One connection's queue, shared by its [`Link`]s (the senders) and its [`Receiver`] (the
/// writer): the queued messages, what of them is still unwritten, and who is still there.
///
/// One heap block per connection (about 120 bytes, the queue's buffer apart): a tokio
/// unbounded channel costs a 512-byte channel header and a first 32-slot block (1,056 bytes)
/// per connection whether anything waits or not, plus two `Arc`s for the backlog and the
/// too-slow flag. The queue is empty almost always (a delta is written as soon as it is
/// queued), so its buffer is given back once drained past [`KEPT_SLOTS`].
///
/// Invariants: `messages` and `bytes` count the [`Outbound::Wire`] messages in `items` (added
/// before a message is pushed, taken off when the receiver pops it); `senders` is the number
/// of live [`Link`]s; once it is 0 nothing more is pushed.
#[derive(Debug, Default)]
struct Queue {
    items: Mutex<VecDeque<Outbound>>,
    /// The writer waiting for a message or for the last sender to go.
    waker: AtomicWaker,
    messages: AtomicUsize,
    bytes: AtomicUsize,
    /// Live [`Link`]s.
    senders: AtomicUsize,
    /// Set once the too-slow close was queued: nothing more is.
    closed: AtomicBool,
    /// Set once the receiver is gone: sends fail.
    receiver_gone: AtomicBool,
    /// The connection's socket, for [`Link::send_now`] (unset in tests without a socket).
    socket: OnceLock<Arc<Socket>>,
}

/// Queue slots kept after the queue drains (a burst's larger buffer is given back).
const KEPT_SLOTS: usize = 8;

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        // A panic while the lock is held leaves the queue itself consistent.
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pushes unless the receiver is gone; wakes the writer.
    fn push(&self, out: Outbound) -> bool {
        if self.receiver_gone.load(Ordering::Acquire) {
            return false;
        }
        self.lock().push_back(out);
        self.waker.wake();
        true
    }

    /// A message of `len` bytes left the queue.
    fn written(&self, len: usize) {
        self.messages.fetch_sub(1, Ordering::AcqRel);
        self.bytes.fetch_sub(len, Ordering::AcqRel);
    }
}

/// The sending side of one connection's queue, bounded by [`MAX_QUEUED`] and
/// [`MAX_QUEUED_BYTES`]. Cloning makes another sender of the same queue.
#[derive(Debug)]
pub struct Link {
    queue: Arc<Queue>,
}

impl Clone for Link {
    fn clone(&self) -> Link {
        self.queue.senders.fetch_add(1, Ordering::AcqRel);
        Link {
            queue: self.queue.clone(),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // The last sender gone: the writer sees the queue end once it is drained.
        if self.queue.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.queue.waker.wake();
        }
    }
}

impl Link {
    pub(crate) fn new() -> (Link, Receiver) {
        let queue = Arc::new(Queue {
            senders: AtomicUsize::new(1),
            ..Queue::default()
        });
        (
            Link {
                queue: queue.clone(),
            },
            Receiver { queue },
        )
    }

    /// Queues a message; a connection already too far behind gets a close instead (once)
    /// and nothing more. Returns whether the message was queued.
    pub fn send(&self, out: Outbound) -> bool {
        let q = &*self.queue;
        let len = match &out {
            Outbound::Control(_) => return q.push(out),
            Outbound::Wire(b) => b.len(),
        };
        if q.closed.load(Ordering::Acquire) {
            return false;
        }
        let messages = q.messages.fetch_add(1, Ordering::AcqRel);
        let bytes = q.bytes.fetch_add(len, Ordering::AcqRel);
        // One message is always taken into an empty queue, however large (a relay-made
        // keyframe of a big page may exceed the bound on its own).
        if messages >= MAX_QUEUED || (bytes > 0 && bytes + len > MAX_QUEUED_BYTES) {
            q.written(len);
            // Exactly one close, however many messages keep coming.
            if !q.closed.swap(true, Ordering::AcqRel) {
                q.push(Outbound::close(CloseReason::TooSlow));
            }
            return false;
        }
        if !q.push(out) {
            q.written(len);
            return false;
        }
        true
    }

    /// Like [`Link::send`] for a forwarded frame, but written to the socket at once by the
    /// calling task when the connection's writer is idle and nothing is queued before it
    /// (see [`crate::ws::writer`]'s "Written at once"); queued otherwise. Returns whether the
    /// message was written or queued.
    pub fn send_now(&self, bytes: &Bytes) -> bool {
        let q = &*self.queue;
        if let Some(socket) = q.socket.get()
            && !q.closed.load(Ordering::Acquire)
            && !q.receiver_gone.load(Ordering::Acquire)
        {
            match socket.try_write(bytes, || q.lock().is_empty()) {
                DirectWrite::Written => return true,
                DirectWrite::WrittenUnflushed => {
                    q.waker.wake();
                    return true;
                }
                DirectWrite::NotNow => {}
            }
        }
        self.send(Outbound::Wire(bytes.clone()))
    }

    /// Whether both are the same connection.
    pub fn same_channel(&self, other: &Link) -> bool {
        Arc::ptr_eq(&self.queue, &other.queue)
    }
}

/// The receiving side of one connection's queue (its writer). Taking a message counts it out
/// of the backlog that [`Link::send`]'s bounds see.
#[derive(Debug)]
pub struct Receiver {
    queue: Arc<Queue>,
}

impl Receiver {
    /// Lets the queue's senders write to `socket` directly ([`Link::send_now`]).
    pub(crate) fn set_socket(&self, socket: Arc<Socket>) {
        let _ = self.queue.socket.set(socket);
    }

    /// The next queued message; `None` once every [`Link`] is gone and the queue is drained.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outbound>> {
        if let Some(out) = self.pop() {
            return Poll::Ready(Some(out));
        }
        self.queue.waker.register(cx.waker());
        // Read before popping: a sender's last push happens before its drop.
        let ended = self.queue.senders.load(Ordering::Acquire) == 0;
        match self.pop() {
            Some(out) => Poll::Ready(Some(out)),
            None if ended => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    /// The next queued message if there is one (tests).
    #[cfg(test)]
    fn try_recv(&mut self) -> Option<Outbound> {
        self.pop()
    }

    /// Messages and bytes queued and not yet taken.
    #[cfg(test)]
    fn backlog(&self) -> (usize, usize) {
        (
            self.queue.messages.load(Ordering::Acquire),
            self.queue.bytes.load(Ordering::Acquire),
        )
    }

    fn pop(&mut self) -> Option<Outbound> {
        let mut items = self.queue.lock();
        let out = items.pop_front()?;
        if items.is_empty() && items.capacity() > KEPT_SLOTS {
            items.shrink_to(KEPT_SLOTS);
        }
        drop(items);
        if let Outbound::Wire(b) = &out {
            self.queue.written(b.len());
        }
        Some(out)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.queue.receiver_gone.store(true, Ordering::Release);
        // What was queued is never written: give it back now, not when the last sender goes.
        let items = std::mem::take(&mut *self.queue.lock());
        for out in &items {
            if let Outbound::Wire(b) = out {
                self.queue.written(b.len());
            }
        }
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

    fn drain(rx: &mut Receiver) -> (usize, Vec<u16>) {
        let mut wires = 0;
        let mut closes = Vec::new();
        while let Some(out) = rx.try_recv() {
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
        let (link, mut rx) = Link::new();
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
        let (link, mut rx) = Link::new();
        let big = Bytes::from(vec![0u8; MAX_QUEUED_BYTES / 4]);
        for _ in 0..4 {
            assert!(link.send(Outbound::Wire(big.clone())));
        }
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        assert_eq!(drain(&mut rx), (4, vec![CLOSE_TOO_SLOW]));
    }

    #[test]
    fn one_message_larger_than_the_byte_bound_still_goes_through_an_empty_queue() {
        let (link, mut rx) = Link::new();
        let huge = Bytes::from(vec![0u8; MAX_QUEUED_BYTES + 1]);
        assert!(link.send(Outbound::Wire(huge.clone())));
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        assert_eq!(drain(&mut rx), (1, vec![CLOSE_TOO_SLOW]));
        assert_eq!(rx.backlog(), (0, 0));
    }

    #[test]
    fn a_draining_writer_keeps_the_connection_below_the_bound() {
        let (link, mut rx) = Link::new();
        let big = Bytes::from(vec![0u8; MAX_QUEUED_BYTES / 4]);
        for i in 0..(3 * MAX_QUEUED) {
            let b = if i % 100 == 0 {
                big.clone()
            } else {
                Bytes::from_static(b"x")
            };
            assert!(link.send(Outbound::Wire(b)));
            // What the writer does per message it sends (taking it counts it out).
            assert!(matches!(rx.try_recv(), Some(Outbound::Wire(_))));
        }
        assert_eq!(rx.backlog(), (0, 0));
    }

    /// Counts its wake-ups.
    struct Wakes(AtomicUsize);

    impl futures_util::task::ArcWake for Wakes {
        fn wake_by_ref(me: &Arc<Self>) {
            me.0.fetch_add(1, Ordering::AcqRel);
        }
    }

    #[test]
    fn the_queue_wakes_its_writer_and_ends_once_every_link_is_gone_and_it_is_drained() {
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = futures_util::task::waker(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let (link, mut rx) = Link::new();
        let second = link.clone();
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert!(link.send(Outbound::Wire(Bytes::from_static(b"a"))));
        assert_eq!(wakes.0.load(Ordering::Acquire), 1);
        drop(link);
        // One sender is left: no wake, and the queued message still comes first.
        assert_eq!(wakes.0.load(Ordering::Acquire), 1);
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Outbound::Wire(b))) if b == Bytes::from_static(b"a")
        ));
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert!(second.send(Outbound::Control(Control::Ping)));
        assert_eq!(wakes.0.load(Ordering::Acquire), 2);
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Outbound::Control(Control::Ping)))
        ));
        assert!(rx.poll_recv(&mut cx).is_pending());
        // The last sender going wakes the writer, which then sees the queue end.
        drop(second);
        assert_eq!(wakes.0.load(Ordering::Acquire), 3);
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_drained_queue_gives_its_buffer_back_and_a_gone_writer_takes_nothing() {
        let (link, mut rx) = Link::new();
        for _ in 0..100 {
            assert!(link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        }
        assert!(rx.queue.lock().capacity() >= 100);
        assert_eq!(drain(&mut rx), (100, vec![]));
        assert!(rx.queue.lock().capacity() <= KEPT_SLOTS);
        assert!(link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        drop(rx);
        assert!(!link.send(Outbound::Wire(Bytes::from_static(b"x"))));
        assert!(!link.send(Outbound::Control(Control::Ping)));
        assert_eq!(link.queue.messages.load(Ordering::Acquire), 0);
        assert_eq!(link.queue.bytes.load(Ordering::Acquire), 0);
    }
}
