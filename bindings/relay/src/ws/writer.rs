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

use std::future::Future;
use std::task::{Context, Poll};

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

/// The writing half of one connection (see the module docs).
pub(super) struct Writer {
    sink: SplitSink<WebSocket, WsMessage>,
    rx: Receiver,
    /// A message taken from the queue that the socket was not ready for yet, and whether it
    /// is the close frame.
    pending: Option<(WsMessage, bool)>,
    /// Whether messages were fed since the last flush.
    unflushed: bool,
    phase: Phase,
}

impl Writer {
    pub(super) fn new(sink: SplitSink<WebSocket, WsMessage>, rx: Receiver) -> Writer {
        Writer {
            sink,
            rx,
            pending: None,
            unflushed: false,
            phase: Phase::Writing,
        }
    }

    /// Writes what is queued; completes once nothing more will be written (a close frame sent,
    /// the queue ended, or the socket failed), else stays pending. Cancel-safe.
    pub(super) fn drive(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| self.poll_write(cx))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let done = match self.phase {
            Phase::Writing => self.poll_queue(cx),
            // Whether the flush succeeded or failed, nothing more is written.
            Phase::Closing => self.poll_flush(cx).map(|_| ()),
            Phase::Ending => self.sink.poll_close_unpin(cx).map(|_| ()),
            Phase::Done => Poll::Ready(()),
        };
        if done.is_ready() {
            self.phase = Phase::Done;
        }
        done
    }

    /// Feeds queued messages to the socket, then flushes once; `Ready` once writing ended.
    fn poll_queue(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if let Some((msg, is_close)) = self.pending.take() {
                match self.sink.poll_ready_unpin(cx) {
                    Poll::Pending => {
                        self.pending = Some((msg, is_close));
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Ready(Ok(())) => {
                        if self.sink.start_send_unpin(msg).is_err() {
                            return Poll::Ready(());
                        }
                        self.unflushed = true;
                    }
                }
                if is_close {
                    self.phase = Phase::Closing;
                    return self.poll_write(cx);
                }
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(out)) => self.pending = Some(self.message(out)),
                Poll::Ready(None) => {
                    self.phase = Phase::Ending;
                    return self.poll_write(cx);
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
        let flushed = self.sink.poll_flush_unpin(cx).map_err(|_| ());
        if flushed.is_ready() {
            self.unflushed = false;
        }
        flushed
    }

    /// The WebSocket message for a queued one, and whether it is the close frame.
    fn message(&mut self, out: Outbound) -> (WsMessage, bool) {
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
}
