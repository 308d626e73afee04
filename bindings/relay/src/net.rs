//! Connections before HTTP: who may hold a socket, and for how long.
//!
//! [`GuardedListener`] accepts TCP connections and refuses (closes at once) a connection past
//! `limits.max_connections_per_ip` from one address group ([`AddrGroup`]: an IPv4 address, or
//! an IPv6 /64) or past the global `limits.max_connections`. The global cap defaults to the
//! process's open-file limit minus [`FD_RESERVE`], so that accepting never fails for lack of
//! descriptors and the relay can still open its audit log and answer `/healthz` from other
//! addresses; [`raise_open_file_limit`] lifts the soft limit to the hard limit at start.
//!
//! Every accepted socket is a [`Guarded`] stream with a [`ConnGuard`] shared with the HTTP
//! layer ([`mark_request`]). The guard is in one of three phases:
//!
//! - **waiting for a request header** (from accept, and again after each response): the
//!   header must be complete within `limits.header_timeout_ms`, however the bytes trickle in;
//!   past the deadline the next read fails and the connection is closed. This also bounds an
//!   idle keep-alive connection;
//! - **busy** (a request is being handled): no deadline here (handlers are bounded);
//! - **upgraded** (a WebSocket): the WebSocket actor's own deadlines apply (first message,
//!   idle with pings, see [`crate::ws`]).
//!
//! Invariant: a slot of the per-address and global counts is held exactly as long as its
//! [`Guarded`] stream lives (released on drop).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

use crate::audit::bump;
use crate::source::{AddrGroup, Slot};
use crate::state::RelayState;

/// Descriptors kept free below the open-file limit when the global connection cap is derived
/// from it (the audit log, the webhook client, DNS, accept itself).
pub const FD_RESERVE: usize = 256;

/// The phase of one connection (see the module docs).
#[derive(Debug, Default)]
pub struct ConnGuard {
    phase: AtomicU8,
    /// Bumped each time a new header deadline starts.
    generation: AtomicU64,
}

const WAITING: u8 = 0;
const BUSY: u8 = 1;
const UPGRADED: u8 = 2;

impl ConnGuard {
    /// A request header arrived.
    pub fn request_started(&self) {
        let _ = self
            .phase
            .compare_exchange(WAITING, BUSY, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The response went out: the next header is due within the deadline (unless upgraded).
    pub fn response_sent(&self) {
        if self
            .phase
            .compare_exchange(BUSY, WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The connection became a WebSocket.
    pub fn upgraded(&self) {
        self.phase.store(UPGRADED, Ordering::Release);
    }
}

/// The connect info handlers see: the peer's address and its connection's guard.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The TCP peer.
    pub addr: SocketAddr,
    /// The connection's phase.
    pub guard: Arc<ConnGuard>,
}

impl Connected<IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener that enforces [`ConnLimits`] (see the module docs).
pub struct GuardedListener {
    inner: TcpListener,
    state: Arc<RelayState>,
    global: usize,
}

impl GuardedListener {
    /// Wraps `inner`; the limits are `state`'s, the global cap `global`.
    pub fn new(inner: TcpListener, state: Arc<RelayState>, global: usize) -> GuardedListener {
        GuardedListener {
            inner,
            state,
            global,
        }
    }
}

impl Listener for GuardedListener {
    type Io = Guarded;
    type Addr = Peer;

    async fn accept(&mut self) -> (Guarded, Peer) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let group = AddrGroup::of(addr.ip());
            let limits = &self.state.config.limits;
            let Some(slot) =
                self.state
                    .conn_counts
                    .try_take(group, limits.max_connections_per_ip, self.global)
            else {
                bump(&self.state.metrics.connections_refused);
                tracing::info!(source = %group.key(), "connection refused: connection limit");
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let guard = Arc::new(ConnGuard::default());
            let io = Guarded {
                inner: stream,
                guard: guard.clone(),
                timeout: limits.header_timeout(),
                deadline: Some(Box::pin(tokio::time::sleep(limits.header_timeout()))),
                seen_generation: 0,
                _slot: slot,
            };
            return (io, Peer { addr, guard });
        }
    }

    fn local_addr(&self) -> io::Result<Peer> {
        Ok(Peer {
            addr: self.inner.local_addr()?,
            guard: Arc::default(),
        })
    }
}

/// An accepted TCP stream under its [`ConnGuard`]'s deadline.
pub struct Guarded {
    inner: TcpStream,
    guard: Arc<ConnGuard>,
    timeout: Duration,
    /// The request-header deadline; dropped once the connection is upgraded (a WebSocket's
    /// deadlines are its own), so that a long-lived connection does not keep its timer.
    deadline: Option<Pin<Box<Sleep>>>,
    seen_generation: u64,
    _slot: Slot,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.guard.phase.load(Ordering::Acquire) {
            WAITING => {
                if let Some(deadline) = &mut this.deadline {
                    let generation = this.guard.generation.load(Ordering::Acquire);
                    if generation != this.seen_generation {
                        this.seen_generation = generation;
                        deadline.as_mut().reset(Instant::now() + this.timeout);
                    }
                    if deadline.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "request header deadline",
                        )));
                    }
                }
            }
            // Upgraded for good: the header deadline is never needed again.
            UPGRADED => this.deadline = None,
            _ => {}
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Raises the soft open-file limit to the hard limit where the system allows; returns the
/// soft limit in force afterwards (`None` when it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(cur), max) = (limit.current, limit.maximum)
        && max.is_none_or(|m| m > cur)
    {
        let want = limit.maximum.unwrap_or(1 << 20);
        let raised = rustix::process::Rlimit {
            current: Some(want),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit = getrlimit(Resource::Nofile);
        }
    }
    limit.current
}

/// The global connection cap: `configured` if set (non-zero), else the open-file limit minus
/// [`FD_RESERVE`] (at least 64).
pub fn global_cap(configured: usize, open_files: Option<u64>) -> usize {
    if configured > 0 {
        return configured;
    }
    let fds = open_files.map_or(1024, |n| usize::try_from(n).unwrap_or(usize::MAX));
    fds.saturating_sub(FD_RESERVE).max(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_global_cap_keeps_a_reserve_below_the_descriptor_limit() {
        assert_eq!(global_cap(0, Some(65536)), 65536 - FD_RESERVE);
        assert_eq!(global_cap(0, Some(100)), 64);
        assert_eq!(global_cap(500, Some(65536)), 500);
    }
}
