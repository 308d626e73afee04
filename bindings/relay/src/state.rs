//! The relay's shared state: the in-memory session store, the clock, and the timer sweep.
//!
//! Each live session holds the engine's session state machine (the spec's rules) and a
//! [`Mirror`] of the customer's page, so that a joining or reconnecting agent gets a keyframe
//! made by the relay at once. Invariants: a session id is in the store exactly while its
//! machine has not ended; ids are drawn from the OS CSPRNG and never collide with a live one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cobrowse_engine::session::{
    AgentDirectory, AuditEvent, AuditKind, Session, SessionId, SessionPolicy, SessionState,
    Timestamp,
};
use cobrowse_engine::{Mirror, MirrorOptions};
use serde_json::json;
use tokio::sync::Mutex;

use crate::audit::AuditLog;
use crate::auth;
use crate::config::RelayConfig;
use crate::metrics::{Metrics, bump};
use crate::source::AddrGroup;
use crate::token_bucket::TokenBucket;

/// One live session.
pub struct SessionEntry {
    /// Its id.
    pub id: SessionId,
    /// When it was created (a session whose customer never connects ends
    /// `limits.customer_connect_secs` after this).
    pub created: Instant,
    /// The secret that binds customer connections to it.
    pub customer_secret: String,
    /// Mutable parts, behind one lock (a session is a small actor; contention is per session).
    /// Take it with [`SessionEntry::lock`], which keeps [`SessionEntry::wake_ms`] right.
    pub inner: Mutex<SessionInner>,
    /// The earliest relay time (milliseconds of [`RelayState::now`]) at which this session may
    /// need the timer sweep: its machine's next timer, the customer's connect deadline, the
    /// wait for a keyframe after a resume. Invariant: never later than any of them; written
    /// when the lock is released ([`SessionGuard`]), so the sweep locks only sessions whose
    /// time has come instead of every session every tick. 0 until first computed.
    pub wake_ms: AtomicU64,
}

impl SessionEntry {
    /// Locks the session's mutable parts; releasing the guard records its next wake time.
    pub async fn lock(&self, clock: WakeClock) -> SessionGuard<'_> {
        SessionGuard {
            inner: self.inner.lock().await,
            entry: self,
            clock,
        }
    }
}

/// What a [`SessionGuard`] needs to turn deadlines into relay time (copied out of the
/// [`RelayState`], so that a guard borrows nothing of it).
#[derive(Clone, Copy, Debug)]
pub struct WakeClock {
    started: Instant,
    connect_deadline: Duration,
}

impl WakeClock {
    fn ms(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_millis() as u64
    }
}

/// A held session lock (derefs to [`SessionInner`]); on release it stores the session's next
/// wake time in [`SessionEntry::wake_ms`], while the lock is still held (so no later holder's
/// value is overwritten by an earlier one).
pub struct SessionGuard<'a> {
    inner: tokio::sync::MutexGuard<'a, SessionInner>,
    entry: &'a SessionEntry,
    clock: WakeClock,
}

impl std::ops::Deref for SessionGuard<'_> {
    type Target = SessionInner;
    fn deref(&self) -> &SessionInner {
        &self.inner
    }
}

impl std::ops::DerefMut for SessionGuard<'_> {
    fn deref_mut(&mut self) -> &mut SessionInner {
        &mut self.inner
    }
}

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        let inner = &*self.inner;
        let wake = if inner.machine.is_ended() {
            u64::MAX
        } else {
            let mut wake = inner.machine.poll_timeout().map_or(u64::MAX, |t| t.0);
            if !inner.wire.customer_seen {
                let deadline = self.entry.created + self.clock.connect_deadline;
                wake = wake.min(self.clock.ms(deadline));
            }
            if let Some(since) = inner.wire.resumed_without_keyframe {
                wake = wake.min(self.clock.ms(since + crate::ws::RESUME_KEYFRAME_WAIT));
            }
            wake
        };
        self.entry.wake_ms.store(wake, Ordering::Release);
    }
}

/// The mutable parts of a session.
pub struct SessionInner {
    /// The spec's rules.
    pub machine: Session,
    /// The customer's page as agents see it (empty until the first keyframe).
    pub mirror: Mirror,
    /// Where to send this session's messages.
    pub links: crate::link::Links,
    /// The wire side of the session: participant ids, resume tokens, the frame rate bucket,
    /// the relay-made keyframe cache.
    pub wire: crate::wire_state::WireState,
}

/// Everything the handlers share.
pub struct RelayState {
    /// Configuration.
    pub config: RelayConfig,
    /// The policy compiled from it.
    pub policy: SessionPolicy,
    /// The agent-token key.
    pub agent_secret: Vec<u8>,
    /// Verifies agent tokens (the configured algorithm and key).
    pub tokens: auth::TokenVerifier,
    /// The backend bearer token.
    pub backend_secret: String,
    /// Live sessions.
    pub sessions: std::sync::Mutex<HashMap<u32, Arc<SessionEntry>>>,
    /// Counters, gauges and latency histograms (see [`crate::metrics`]).
    pub metrics: Metrics,
    /// Audit events.
    pub audit: AuditLog,
    /// Failed joins per agent and per IP address (sliding hour and day windows).
    pub join_limiter: std::sync::Mutex<crate::admission::JoinLimiter>,
    /// Which sessions each agent is in (the "one session at a time" policy).
    pub directory: std::sync::Mutex<AgentDirectory>,
    /// Recently ended session ids (so a join names them "ended" rather than "unknown"),
    /// forgotten after an hour or when the id is live again.
    pub ended: std::sync::Mutex<HashMap<u32, Instant>>,
    /// Open connections per source address group and in all (see [`crate::source`]).
    pub conn_counts: Arc<crate::source::ConnCounts>,
    /// Session creations per source address group and in all.
    pub creations: std::sync::Mutex<CreationLimiter>,
    /// Bytes all mirrors hold (each session's share is in its wire state).
    pub mirror_bytes: std::sync::atomic::AtomicUsize,
    started: Instant,
}

/// Session creations per source address group and in all (token buckets).
pub struct CreationLimiter {
    per_group: HashMap<AddrGroup, TokenBucket>,
    global: TokenBucket,
}

impl CreationLimiter {
    fn new(limits: &crate::config::Limits) -> CreationLimiter {
        CreationLimiter {
            per_group: HashMap::new(),
            global: TokenBucket::new(
                limits.sessions_per_second,
                limits.sessions_per_second.saturating_mul(10),
            ),
        }
    }

    /// Takes one creation for `group`, or says which limit refused it.
    fn take(
        &mut self,
        group: AddrGroup,
        limits: &crate::config::Limits,
        now: Instant,
    ) -> Result<(), CreateError> {
        if self.per_group.len() >= 100_000 {
            // Buckets idle for a minute are full again: forgetting them changes nothing.
            self.per_group
                .retain(|_, b| now.duration_since(b.last_used()) < Duration::from_secs(60));
        }
        let per_minute = limits.sessions_per_ip_per_minute;
        let bucket = self
            .per_group
            .entry(group)
            .or_insert_with(|| TokenBucket::with_rate(f64::from(per_minute) / 60.0, per_minute));
        if !bucket.take(now) {
            return Err(CreateError::SourceLimited);
        }
        if !self.global.take(now) {
            return Err(CreateError::GlobalLimited);
        }
        Ok(())
    }
}

/// Why a session could not be created.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateError {
    /// `limits.max_live_sessions` reached.
    Full,
    /// No free id found (practically impossible below the limit).
    NoFreeId,
    /// `limits.sessions_per_ip_per_minute` reached for the caller's address.
    SourceLimited,
    /// `limits.sessions_per_second` reached.
    GlobalLimited,
}

impl RelayState {
    /// Builds the state; secrets must be present (main generates them in dev mode).
    pub fn new(
        config: RelayConfig,
        agent_secret: Vec<u8>,
        backend_secret: String,
    ) -> std::io::Result<RelayState> {
        let policy = config
            .session_policy()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let one_per_agent = policy.one_session_per_agent;
        let metrics = Metrics::new();
        let audit = AuditLog::open(
            config.audit_log.as_deref(),
            config.webhook_url.is_some(),
            metrics.webhook_dropped.clone(),
        )?;
        let creations = std::sync::Mutex::new(CreationLimiter::new(&config.limits));
        let public_key = match &config.agent_token_public_key {
            Some(path) => Some(std::fs::read(path)?),
            None => None,
        };
        let tokens = auth::TokenVerifier::from_config(
            &config.agent_token_algorithm,
            &agent_secret,
            public_key.as_deref(),
        )
        .map_err(std::io::Error::other)?;
        Ok(RelayState {
            creations,
            tokens,
            config,
            policy,
            agent_secret,
            backend_secret,
            sessions: Default::default(),
            metrics,
            audit,
            join_limiter: Default::default(),
            directory: std::sync::Mutex::new(AgentDirectory::new(one_per_agent)),
            ended: Default::default(),
            conn_counts: Default::default(),
            mirror_bytes: Default::default(),
            started: Instant::now(),
        })
    }

    /// What a session lock needs to record the session's next wake time.
    pub fn wake_clock(&self) -> WakeClock {
        WakeClock {
            started: self.started,
            connect_deadline: Duration::from_secs(self.config.limits.customer_connect_secs),
        }
    }

    /// Monotonic time for the state machines.
    pub fn now(&self) -> Timestamp {
        Timestamp(self.started.elapsed().as_millis() as u64)
    }

    /// Wall-clock milliseconds for audit records.
    pub fn unix_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// Wall-clock seconds for token expiry.
    pub fn unix_secs(&self) -> u64 {
        self.unix_ms() / 1000
    }

    /// Live sessions.
    pub fn live_sessions(&self) -> usize {
        self.sessions.lock().expect("store lock").len()
    }

    /// Whether `id` names a session that ended within the last hour (and is not live again).
    pub fn recently_ended(&self, id: u32) -> bool {
        self.ended
            .lock()
            .expect("ended lock")
            .get(&id)
            .is_some_and(|t| t.elapsed() < ENDED_MEMORY)
    }

    /// The live session with that id.
    pub fn session(&self, id: u32) -> Option<Arc<SessionEntry>> {
        self.sessions.lock().expect("store lock").get(&id).cloned()
    }

    /// Creates a session for a customer at `source`, within the creation limits.
    pub fn create_session(&self, source: AddrGroup) -> Result<Arc<SessionEntry>, CreateError> {
        let made = self.create_session_with(source, |id, policy, now| {
            Ok::<_, std::convert::Infallible>(Session::new(id, policy, now))
        })?;
        Ok(made.unwrap_or_else(|never| match never {}))
    }

    /// Creates a session whose machine `make` builds (a customer's, or an agent's invitation),
    /// within the creation limits. The outer error is the limits'; the inner one `make`'s
    /// refusal, in which case nothing was stored.
    pub fn create_session_with<E>(
        &self,
        source: AddrGroup,
        make: impl FnOnce(SessionId, SessionPolicy, Timestamp) -> Result<Session, E>,
    ) -> Result<Result<Arc<SessionEntry>, E>, CreateError> {
        if let Err(e) = self.creations.lock().expect("creation limiter").take(
            source,
            &self.config.limits,
            Instant::now(),
        ) {
            bump(&self.metrics.sessions_refused);
            return Err(e);
        }
        let now = self.now();
        let mut store = self.sessions.lock().expect("store lock");
        if store.len() >= self.config.limits.max_live_sessions {
            bump(&self.metrics.sessions_refused);
            return Err(CreateError::Full);
        }
        let id = SessionId::allocate(auth::random_u64, |id| store.contains_key(&id.value()), 64)
            .ok_or(CreateError::NoFreeId)?;
        let mut machine = match make(id, self.policy.clone(), now) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        let events: Vec<AuditEvent> = std::iter::from_fn(|| machine.poll_event()).collect();
        let mirror = Mirror::new(MirrorOptions::default());
        let entry = Arc::new(SessionEntry {
            id,
            created: Instant::now(),
            customer_secret: auth::new_customer_secret(),
            wake_ms: AtomicU64::new(0),
            inner: Mutex::new(SessionInner {
                machine,
                mirror,
                links: Default::default(),
                wire: crate::wire_state::WireState::new(&self.config.limits),
            }),
        });
        store.insert(id.value(), entry.clone());
        drop(store);
        bump(&self.metrics.sessions_created);
        self.record_events(events);
        Ok(Ok(entry))
    }

    /// Writes machine audit events to the log.
    pub fn record_events(&self, events: impl IntoIterator<Item = AuditEvent>) {
        for e in events {
            let detail = format!("{:?}", e.kind);
            let name = detail
                .split([' ', '{', '('])
                .next()
                .unwrap_or("event")
                .to_owned();
            self.audit.record(
                self.unix_ms(),
                Some(e.session.value()),
                &snake(&name),
                json!({ "detail": detail }),
            );
        }
    }

    /// Drains a machine's audit events; removes the session from the store once it ended.
    pub fn after_event(&self, entry: &SessionEntry, inner: &mut SessionInner) {
        let events: Vec<AuditEvent> = std::iter::from_fn(|| inner.machine.poll_event()).collect();
        let is_ended = matches!(inner.machine.state(), SessionState::Ended);
        // Most calls (every relayed frame) have no event and a live session: they take no
        // relay-wide lock.
        if events.is_empty() && !is_ended {
            return;
        }
        {
            let mut directory = self.directory.lock().expect("directory lock");
            for e in &events {
                if let AuditKind::AgentLeft { agent, .. } = e.kind {
                    directory.release(agent, entry.id);
                }
            }
            if is_ended {
                directory.release_session(entry.id);
            }
        }
        self.record_events(events);
        if is_ended {
            let removed = self
                .sessions
                .lock()
                .expect("store lock")
                .remove(&entry.id.value());
            if removed.is_some() {
                let held = std::mem::take(&mut inner.wire.mirror_bytes);
                self.mirror_bytes
                    .fetch_sub(held, std::sync::atomic::Ordering::AcqRel);
                inner.mirror = Mirror::new(MirrorOptions::default());
                bump(&self.metrics.sessions_ended);
                let mut ended = self.ended.lock().expect("ended lock");
                let now = Instant::now();
                if ended.len() >= 100_000 {
                    ended.retain(|_, t| now.duration_since(*t) < ENDED_MEMORY);
                }
                ended.insert(entry.id.value(), now);
            }
        }
    }
}

/// How long an ended id is remembered as ended.
const ENDED_MEMORY: std::time::Duration = std::time::Duration::from_secs(3600);

fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
