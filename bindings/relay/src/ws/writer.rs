//! The writing half of one connection, driven by the connection's own task (no task of its
//! own): what the session queued on the connection's [`Link`](crate::link::Link) goes to the
//! socket in queue order.
//!
//! [`Writer::drive`] is polled in the connection's `select!` next to the reader, so reading and
//! writing go on side by side as they did with a writer task: a client that does not read (its
//! socket full) stalls only this connection's writing, never its reading, its deadlines or its
//! pings. All of the writer's state is in the struct, not in the future: dropping a
//! [`Writer::drive`] future (when another branch of the `select!` wins) loses nothing.
//!
//! Messages taken from the queue are fed to the socket without a flush between them, and one
//! flush follows once the queue is empty. tungstenite's own write buffer is off
//! (`write_buffer_size(0)`, see [`super::conn::upgrade`]): each message goes to the socket as
//! it is fed, so that buffer never holds more than one message (it keeps its capacity for the
//! connection's life).
//! Invariant: a message is counted out of the queue's backlog when it is taken from the queue
//! ([`Receiver`]), so [`Link::send`](crate::link::Link::send)'s bounds see what is still
//! waiting in the queue.
//!
//! # Written at once
//!
//! The socket and the writer's state are in a [`Socket`] shared with the connection's queue,
//! so that a forwarded delta ([`Link::send_now`](crate::link::Link::send_now)) is written by
//! the sending task itself when the writer is idle (nothing pending, nothing unflushed, in
//! [`Phase::Writing`]) and the queue is empty: no wake-up and no poll of the receiving
//! connection's task per delta, and the delta is on the agent's socket before the sender goes
//! on (to the mirror's apply). Anything else is queued as before. Queue order holds: a direct
//! write happens only under the socket's lock with the queue seen empty under that lock, and
//! the writer takes from the queue only under the same lock. A direct write polls the socket
//! with a no-op waker; it is only tried when no waker of the writer is registered for a write
//! (nothing pending or unflushed), and whatever it leaves undone (a flush the socket was not
//! ready for) is handed to the writer by waking it.

use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;

use crate::link::{Control, Outbound, Receiver};

/// Where the writer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Taking messages from the queue.
    Writing,
    /// A close frame went out: flush it, then done.
    Closing,
    /// The queue ended (every sender dropped): close the socket, then done.
    Ending,
    /// Nothing more will be written (done, or the socket failed).
    Done,
}

/// The writing half of one connection's socket and where its writer is, shared by the
/// connection's [`Writer`] and its queue's senders (see the module docs).
pub(crate) struct Socket {
    state: Mutex<SocketState>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").finish_non_exhaustive()
    }
}

struct SocketState {
    /// `None` once the connection's writer is gone (the socket then closes with its task).
    sink: Option<SplitSink<WebSocket, WsMessage>>,
    /// A message taken from the queue that the socket was not ready for yet, and whether it
    /// is the close frame.
    pending: Option<(WsMessage, bool)>,
    /// Whether messages were fed since the last flush.
    unflushed: bool,
    phase: Phase,
}

/// What [`Socket::try_write`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirectWrite {
    /// Written and flushed.
    Written,
    /// Handed to the socket, whose flush was not ready: the writer must be woken to finish it.
    WrittenUnflushed,
    /// Not written (the writer busy or not idle, the queue not empty, the socket not ready or
    /// gone): queue it.
    NotNow,
}

impl Socket {
    fn lock(&self) -> MutexGuard<'_, SocketState> {
        // A panic while the lock is held leaves the state as consistent as a dropped future.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `bytes` now if the writer is idle and `queue_empty` says nothing is queued
    /// before it (asked under the socket's lock). Never waits: a busy lock is `NotNow`.
    pub(crate) fn try_write(
        &self,
        bytes: &Bytes,
        queue_empty: impl FnOnce() -> bool,
    ) -> DirectWrite {
        let Ok(mut st) = self.state.try_lock() else {
            return DirectWrite::NotNow;
        };
        let st = &mut *st;
        if st.phase != Phase::Writing || st.pending.is_some() || st.unflushed || !queue_empty() {
            return DirectWrite::NotNow;
        }
        let Some(sink) = st.sink.as_mut() else {
            return DirectWrite::NotNow;
        };
        // No waker of the writer is registered for a write here (nothing pending or
        // unflushed), so a no-op waker replaces none; what is left undone goes to the writer.
        let mut cx = Context::from_waker(Waker::noop());
        match sink.poll_ready_unpin(&mut cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) | Poll::Pending => return DirectWrite::NotNow,
        }
        if sink
            .start_send_unpin(WsMessage::Binary(bytes.clone()))
            .is_err()
        {
            // The socket failed: the writer finds out on its next poll.
            return DirectWrite::WrittenUnflushed;
        }
        match sink.poll_flush_unpin(&mut cx) {
            Poll::Ready(Ok(())) => DirectWrite::Written,
            Poll::Ready(Err(_)) | Poll::Pending => {
                st.unflushed = true;
                DirectWrite::WrittenUnflushed
            }
        }
    }
}

/// The writing half of one connection (see the module docs).
pub(super) struct Writer {
    socket: std::sync::Arc<Socket>,
    rx: Receiver,
}

impl Writer {
    pub(super) fn new(sink: SplitSink<WebSocket, WsMessage>, rx: Receiver) -> Writer {
        let socket = std::sync::Arc::new(Socket {
            state: Mutex::new(SocketState {
                sink: Some(sink),
                pending: None,
                unflushed: false,
                phase: Phase::Writing,
            }),
        });
        rx.set_socket(socket.clone());
        Writer { socket, rx }
    }

    /// Writes what is queued; completes once nothing more will be written (a close frame sent,
    /// the queue ended, or the socket failed), else stays pending. Cancel-safe.
    pub(super) fn drive(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            let mut st = self.socket.lock();
            st.poll_write(&mut self.rx, cx)
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Nothing more is written: the socket goes with the connection's task, not with the
        // last sender of its queue.
        let mut st = self.socket.lock();
        st.phase = Phase::Done;
        st.sink = None;
        st.pending = None;
    }
}

impl SocketState {
    fn poll_write(&mut self, rx: &mut Receiver, cx: &mut Context<'_>) -> Poll<()> {
        if self.sink.is_none() {
            self.phase = Phase::Done;
        }
        let done = match self.phase {
            Phase::Writing => self.poll_queue(rx, cx),
            // Whether the flush succeeded or failed, nothing more is written.
            Phase::Closing => self.poll_flush(cx).map(|_| ()),
            Phase::Ending => match self.sink.as_mut() {
                Some(sink) => sink.poll_close_unpin(cx).map(|_| ()),
                None => Poll::Ready(()),
            },
            Phase::Done => Poll::Ready(()),
        };
        if done.is_ready() {
            self.phase = Phase::Done;
        }
        done
    }

    /// Feeds queued messages to the socket, then flushes once; `Ready` once writing ended.
    fn poll_queue(&mut self, rx: &mut Receiver, cx: &mut Context<'_>) -> Poll<()> {
        let Some(sink) = self.sink.as_mut() else {
            return Poll::Ready(());
        };
        loop {
            if let Some((msg, is_close)) = self.pending.take() {
                match sink.poll_ready_unpin(cx) {
                    Poll::Pending => {
                        self.pending = Some((msg, is_close));
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Ready(Ok(())) => {
                        if sink.start_send_unpin(msg).is_err() {
                            return Poll::Ready(());
                        }
                        self.unflushed = true;
                    }
                }
                if is_close {
                    self.phase = Phase::Closing;
                    return self.poll_write(rx, cx);
                }
            }
            match rx.poll_recv(cx) {
                Poll::Ready(Some(out)) => self.pending = Some(message(out)),
                Poll::Ready(None) => {
                    self.phase = Phase::Ending;
                    return self.poll_write(rx, cx);
                }
                Poll::Pending => break,
            }
        }
        if self.unflushed {
            match self.poll_flush(cx) {
                // The socket failed: nothing more can be written.
                Poll::Ready(Err(())) => return Poll::Ready(()),
                // Flushed, or busy (polled again when it can take more): more may come.
                Poll::Ready(Ok(())) | Poll::Pending => {}
            }
        }
        Poll::Pending
    }

    /// Flushes what was fed to the socket.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        let Some(sink) = self.sink.as_mut() else {
            return Poll::Ready(Err(()));
        };
        let flushed = sink.poll_flush_unpin(cx).map_err(|_| ());
        if flushed.is_ready() {
            self.unflushed = false;
        }
        flushed
    }
}

/// The WebSocket message for a queued one, and whether it is the close frame.
fn message(out: Outbound) -> (WsMessage, bool) {
    match out {
        Outbound::Wire(b) => (WsMessage::Binary(b), false),
        Outbound::Control(Control::Ping) => (WsMessage::Ping(Bytes::new()), false),
        Outbound::Control(Control::Close(reason)) => (
            WsMessage::Close(Some(CloseFrame {
                code: reason.code(),
                reason: reason.text().into(),
            })),
            true,
        ),
    }
}
