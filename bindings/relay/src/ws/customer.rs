//! The customer's side of a connection: `Hello`, frames, and the customer's other messages.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use cobrowse_engine::protocol::{
    self, ErrorCode, Message, Mode, ParticipantId, Reconnect, ResumeToken, Role,
};
use cobrowse_engine::session::{
    Denied, Participant, Recipient, SessionError, SessionId, SessionState,
};
use cobrowse_engine::{FrameKind, FrameMeta, FrameView, Mirror, MirrorOptions, ReplayError};

use super::codes::{CLOSE_POLICY, CUSTOMER, CUSTOMER_REFUSED, NO_SESSION};
use super::conn::{Bound, Conn, Flow};
use super::deliver::{current_mode, deliver, participants, to_point};
use super::keyframes::{forward_delta, request_customer_keyframe, send_keyframe_bytes};
use super::refusals::session_error;
use crate::audit::bump;
use crate::auth;
use crate::budget::{Budget, OverBudget};
use crate::link::{CloseReason, Outbound};
use crate::state::{SessionEntry, SessionInner};

impl Conn {
    /// A customer proves its session with the secret of `POST /api/sessions` in the query
    /// string, or with the resume token of an earlier `Joined`.
    pub(super) async fn customer_hello(
        &mut self,
        client: protocol::ClientInfo,
        resume: Option<Reconnect>,
    ) -> Flow {
        let (id, secret, resume) = match (
            self.proofs.session.as_deref(),
            self.proofs.secret.as_deref(),
            resume,
        ) {
            (Some(id), Some(secret), _) => match SessionId::parse(id) {
                Ok(id) => (id, Some(secret.to_owned()), None),
                Err(_) => {
                    self.refuse_customer();
                    return Flow::Close;
                }
            },
            (_, _, Some(r)) => (r.session_id, None, Some(r)),
            _ => {
                self.fatal(
                    ErrorCode::Unauthorized,
                    "a customer connects with ?session=<id>&secret=<customer secret> or resumes \
                     with its resume token",
                    CLOSE_POLICY,
                );
                return Flow::Close;
            }
        };
        let ip_key = format!("ip:{}", self.source);
        if self.refuse_if_over(
            &ip_key,
            &self.state.config.limits.ip_join_limits(),
            "too many failed connections from this address",
        ) {
            return Flow::Close;
        }
        let Some(entry) = self.state.session(id.value()) else {
            self.refuse_customer();
            return Flow::Close;
        };
        let state = self.state.clone();
        let mut inner = entry.lock(self.state.wake_clock()).await;
        let proven = match (&secret, &resume) {
            (Some(secret), _) => auth::secrets_match(secret, &entry.customer_secret),
            (None, Some(r)) => {
                r.participant_id == CUSTOMER && r.token == ResumeToken(inner.wire.customer_resume)
            }
            (None, None) => false,
        };
        if !proven || inner.machine.is_ended() {
            drop(inner);
            self.refuse_customer();
            return Flow::Close;
        }
        inner.wire.customer_seen = true;
        if let Some(old) = inner.links.customer.replace(self.tx.clone()) {
            let _ = old.send(Outbound::close(CloseReason::ReplacedCustomer));
        }
        inner.wire.customer_client = Some(client);
        let now = state.now();
        let _ = inner.machine.handle_customer_reconnect(now);
        let joined = Message::Joined {
            session_id: id,
            participant_id: CUSTOMER,
            participants: participants(&inner),
            role: Role::Customer,
            mode: current_mode(&inner),
            ceiling: inner.machine.policy().control_ceiling,
            paused: inner.machine.state() == SessionState::Paused,
            resume_token: ResumeToken(inner.wire.customer_resume),
            customer: None,
        };
        self.send(&joined);
        // An agent's invitation waits for the customer's answer ("Share my browser window").
        if inner.machine.state() == SessionState::Invited
            && let Some(agent) = inner
                .machine
                .agents()
                .next()
                .and_then(|a| inner.wire.pid(a.id))
        {
            self.send(&Message::Invitation { agent });
        }
        // A (re)connected customer starts its frames with a keyframe anyway; forget any
        // earlier request so a later failure asks again.
        inner.wire.keyframe_requested = false;
        deliver(&state, &entry, &mut inner);
        state.after_event(&entry, &mut inner);
        drop(inner);
        self.bound = Bound::Customer(entry);
        Flow::Continue
    }

    /// The one answer to every failed customer connection (unknown id, wrong secret or resume
    /// token, ended session): the same code and text, so that probing cannot tell a live id
    /// from none. Counted against the address's failure limits and logged.
    pub(super) fn refuse_customer(&self) {
        self.count_failure(&[&format!("ip:{}", self.source)]);
        bump(&self.state.metrics.customer_failures);
        tracing::info!(source = %self.source, "customer connection refused");
        self.fatal(ErrorCode::SessionNotFound, CUSTOMER_REFUSED, CLOSE_POLICY);
    }

    pub(super) fn refuse_missing(&self, id: u32) {
        if self.state.recently_ended(id) {
            self.fatal(
                ErrorCode::SessionEnded,
                "the session has ended",
                CLOSE_POLICY,
            );
        } else {
            self.fatal(ErrorCode::SessionNotFound, NO_SESSION, CLOSE_POLICY);
        }
    }

    pub(super) async fn customer_frame(
        &self,
        entry: &Arc<SessionEntry>,
        frame: &[u8],
        message: Bytes,
    ) {
        let state = &self.state;
        let received = Instant::now();
        let mut inner = entry.lock(self.state.wake_clock()).await;
        let inner = &mut *inner;
        // Nothing leaves a paused page, nor one whose customer has not accepted an invitation:
        // dropped unread (agents get the customer's keyframe on resume or acceptance).
        if matches!(
            inner.machine.state(),
            SessionState::Paused | SessionState::Invited | SessionState::Ended
        ) {
            return;
        }
        if !inner.wire.bucket.take(received) {
            bump(&state.metrics.rate_limited);
            self.error(ErrorCode::RateLimited, "too many frames; frame dropped");
            return;
        }
        if !inner.wire.byte_bucket.take_n(frame.len() as f64, received) {
            bump(&state.metrics.rate_limited);
            self.error(
                ErrorCode::RateLimited,
                "too many frame bytes; frame dropped",
            );
            return;
        }
        let limits = &state.config.limits;
        let budget = Budget {
            session: limits.max_mirror_bytes,
            total: limits.max_total_mirror_bytes,
        };
        // The frame is validated once; a keyframe is checked against the budgets before it
        // replaces the page (see [`crate::budget`]).
        let view = match FrameView::access(frame) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(session = entry.id.value(), "frame rejected: {e}");
                request_customer_keyframe(inner);
                return;
            }
        };
        let header = view.header();
        // After a resume the page may have changed in ways no delta describes: agents get the
        // customer's next keyframe, and a delta before it is refused with a request for one.
        if inner.wire.resumed_without_keyframe.is_some() {
            if header.kind == FrameKind::Delta {
                request_customer_keyframe(inner);
                return;
            }
            inner.wire.resumed_without_keyframe = None;
        }
        let meta = FrameMeta {
            seq: header.seq,
            base_seq: header.base_seq,
            fingerprint: header.fingerprint,
            sanitized: header.sanitized,
        };
        let keyframe = header.kind == FrameKind::Keyframe;
        // A keyframe is checked against the budgets before it replaces the page, from its
        // record count. A delta's footprint is only known once applied, but never less than
        // the mirror's slots and the frame bytes it adds: over that already, it is refused
        // unforwarded.
        let lower_bound = if keyframe {
            Budget::footprint(view.record_count(), frame.len())
        } else {
            Budget::footprint(
                inner.mirror.tree().slot_capacity(),
                inner
                    .wire
                    .frame_bytes_since_keyframe
                    .saturating_add(frame.len()),
            )
        };
        if let Err(over) = budget.check(inner.wire.mirror_bytes, lower_bound, &state.mirror_bytes) {
            if !keyframe {
                // The page went on past what the relay may hold: nothing of it is kept.
                self.drop_mirror(inner);
                request_customer_keyframe(inner);
            }
            self.refuse_over_budget(entry, over);
            return;
        }
        // A delta is forwarded **before** the mirror applies it: whether it follows the
        // mirror's page (sanitized, on the mirror's last frame) is known from its header, and
        // the agents' latency then does not include the apply. One that passes these checks
        // but does not apply (a fingerprint mismatch, a mutation naming no node) fails the
        // same way in the agents' mirrors, and the keyframe the relay asks for restores
        // everyone. A keyframe is forwarded once applied and within the budgets (it replaces
        // the page the relay serves to joining agents, so it must be known good first).
        let applied = match header.kind {
            FrameKind::Keyframe => {
                let records: Vec<_> = view.records().collect();
                inner.mirror.apply_keyframe(&meta, &records, &mut ())
            }
            FrameKind::Delta => {
                if !(meta.sanitized
                    && inner.mirror.in_sync()
                    && inner.mirror.seq() == Some(meta.base_seq))
                {
                    // What the mirror would answer (unsanitized, out of sync, a gap).
                    tracing::debug!(session = entry.id.value(), "frame rejected: off the chain");
                    request_customer_keyframe(inner);
                    return;
                }
                if inner.machine.handle_customer_frame(state.now()).is_ok() {
                    // The received message, as it is, to every agent (but those too far
                    // behind in their acknowledgements).
                    let agents = forward_delta(state, inner, &message, meta.seq);
                    self.relayed(agents, frame.len(), received);
                }
                let applied = inner.mirror.apply_delta(&meta, view.mutations(), &mut ());
                debug_assert!(
                    !matches!(
                        applied,
                        Err(ReplayError::Unsanitized
                            | ReplayError::Desynchronized
                            | ReplayError::SequenceGap { .. })
                    ),
                    "the header checks above are the mirror's own"
                );
                applied
            }
        };
        if let Err(e) = applied {
            // Error texts of the replayer carry ids and hashes, never content.
            tracing::debug!(session = entry.id.value(), "frame rejected: {e}");
            request_customer_keyframe(inner);
            return;
        }
        // The relay-made keyframe of an earlier frame will never be served again.
        if inner
            .wire
            .keyframe_cache
            .as_ref()
            .is_some_and(|(seq, ..)| *seq != meta.seq)
        {
            inner.wire.keyframe_cache = None;
        }
        let (next, frames) = Budget::after(
            &inner.mirror,
            keyframe,
            inner.wire.frame_bytes_since_keyframe,
            frame.len(),
        );
        if let Err(over) = budget.check(inner.wire.mirror_bytes, next, &state.mirror_bytes) {
            // Over budget once applied (its nodes grew the arena): nothing of it is held.
            self.drop_mirror(inner);
            self.refuse_over_budget(entry, over);
            request_customer_keyframe(inner);
            return;
        }
        inner.wire.frame_bytes_since_keyframe = frames;
        Budget::commit(&mut inner.wire.mirror_bytes, next, &state.mirror_bytes);
        inner.wire.keyframe_requested = false;
        if keyframe && inner.machine.handle_customer_frame(state.now()).is_ok() {
            let agents = send_keyframe_bytes(inner, &Recipient::AllAgents, message, Some(meta.seq));
            self.relayed(agents, frame.len(), received);
        }
        deliver(state, entry, inner);
        state.after_event(entry, inner);
    }

    /// Counts a frame of `len` bytes, received at `received`, that reached `agents` agents.
    fn relayed(&self, agents: usize, len: usize, received: Instant) {
        if agents > 0 {
            let metrics = &self.state.metrics;
            bump(&metrics.frames_relayed);
            metrics.frame_bytes.increment(len as u64);
            metrics.frame_relay_seconds.record(received.elapsed());
        }
    }

    /// Empties the session's mirror and releases its budget (a page the relay may not hold).
    fn drop_mirror(&self, inner: &mut SessionInner) {
        inner.mirror = Mirror::new(MirrorOptions::default());
        inner.wire.frame_bytes_since_keyframe = 0;
        inner.wire.keyframe_cache = None;
        Budget::commit(&mut inner.wire.mirror_bytes, 0, &self.state.mirror_bytes);
    }

    /// A frame over a memory budget: a clear error to the customer and a metric; the frame is
    /// neither held nor forwarded.
    fn refuse_over_budget(&self, entry: &SessionEntry, over: OverBudget) {
        bump(&self.state.metrics.frames_over_budget);
        tracing::warn!(session = entry.id.value(), "frame refused: {}", over.text());
        self.error(ErrorCode::TooLarge, over.text());
    }

    pub(super) async fn customer_message(
        &mut self,
        entry: &Arc<SessionEntry>,
        msg: Message,
    ) -> Flow {
        let state = self.state.clone();
        let mut guard = entry.lock(self.state.wake_clock()).await;
        let inner = &mut *guard;
        let now = state.now();
        let agent_of = |inner: &SessionInner, p: ParticipantId| inner.wire.agent(p);
        let result: Result<(), SessionError> = match msg {
            Message::Pause { .. } => inner.machine.handle_customer_stop_sharing(now),
            Message::InviteAccept => inner.machine.handle_customer_accept_invite(now),
            Message::InviteDecline => inner.machine.handle_customer_decline_invite(now),
            // The customer side's own check refused an action the relay let through: the
            // agent is told (this message, forwarded) and the denial audited.
            Message::ActionDenied {
                agent,
                action,
                target,
                reason,
            } => match agent_of(inner, agent) {
                Some(a) => {
                    inner.wire.echo = Some(Box::new(Message::ActionDenied {
                        agent,
                        action,
                        target,
                        reason,
                    }));
                    inner.machine.handle_customer_side_denial(
                        Denied {
                            agent: a,
                            kind: action,
                            target,
                            reason,
                        },
                        now,
                    )
                }
                None => {
                    self.error(ErrorCode::BadMessage, "no such agent in this session");
                    Ok(())
                }
            },
            Message::Resume => inner.machine.handle_customer_start_sharing(now),
            Message::End { .. } => inner.machine.handle_customer_end(now),
            Message::ControlApprove { agent } => match agent_of(inner, agent) {
                Some(a) => inner.machine.handle_control_approve(a, now),
                None => Err(SessionError::NoControlRequest),
            },
            Message::ControlDecline { agent } => match agent_of(inner, agent) {
                Some(a) => inner.machine.handle_control_decline(a, now),
                None => Err(SessionError::NoControlRequest),
            },
            // The customer's return-to-pointer button takes control back.
            Message::ControlRevoke
            | Message::ControlReturn
            | Message::ModeChanged {
                mode: Mode::Pointer,
                ..
            } => inner.machine.handle_customer_revoke_control(now),
            Message::ModeChanged { .. } => {
                self.error(
                    ErrorCode::BadMessage,
                    "the customer grants control with ControlApprove",
                );
                Ok(())
            }
            Message::Pointer { x, y, target, .. } => {
                inner.wire.echo = Some(Box::new(Message::Pointer {
                    from: CUSTOMER,
                    x,
                    y,
                    target,
                }));
                inner.machine.handle_customer_pointer(to_point(x, y), now)
            }
            // The customer's scrolling and window size are followed by the agents (the machine
            // has no rule about them beyond activity and forwarding).
            m @ (Message::Scroll { .. } | Message::Viewport { .. }) => {
                // The document's scroll and the viewport are remembered for agents who join
                // later (sent after their keyframe); not while nothing may leave the page.
                if matches!(
                    inner.machine.state(),
                    SessionState::Waiting | SessionState::Active
                ) {
                    match m {
                        Message::Scroll {
                            target: None, x, y, ..
                        } => inner.wire.page_scroll = Some((x, y)),
                        Message::Viewport { width, height } => {
                            inner.wire.viewport = Some((width, height));
                        }
                        _ => {}
                    }
                }
                if inner.machine.forwards_frames() {
                    let _ = inner.machine.handle_customer_activity(now);
                    inner.links.send_msg(&Recipient::AllAgents, &m);
                }
                Ok(())
            }
            Message::PageChanged { url } => {
                // A new page starts at its own scroll position.
                inner.wire.page_scroll = None;
                inner.machine.handle_customer_navigate(&url, now)
            }
            Message::Chat { text, .. } => {
                inner.machine.handle_chat(Participant::Customer, &text, now)
            }
            Message::Ping { nonce, sent_at_ms } => {
                self.send(&Message::Pong { nonce, sent_at_ms });
                Ok(())
            }
            // Latency answers and the other side's errors need no action from the relay.
            Message::Pong { .. } | Message::Error { .. } => Ok(()),
            Message::Hello { .. } => {
                self.error(ErrorCode::BadMessage, "already said Hello");
                Ok(())
            }
            _ => {
                self.error(ErrorCode::BadMessage, "unexpected message");
                Ok(())
            }
        };
        if let Err(e) = &result {
            self.send(&session_error(e, inner.machine.state()));
        }
        deliver(&state, entry, inner);
        state.after_event(entry, inner);
        Flow::Continue
    }

    // --- Agent.
}
