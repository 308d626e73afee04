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
use cobrowse_engine::{FrameKind, FrameMeta, FrameView, Mirror, MirrorOptions};

use super::codes::{CLOSE_POLICY, CLOSE_REPLACED, CUSTOMER, CUSTOMER_REFUSED, NO_SESSION};
use super::conn::{Bound, Conn, Flow};
use super::deliver::{current_mode, deliver, participants, to_point};
use super::keyframes::{forward_delta, request_customer_keyframe, send_keyframe_bytes};
use super::refusals::session_error;
use crate::audit::bump;
use crate::auth;
use crate::budget::{Budget, OverBudget};
use crate::link::Outbound;
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
        let mut inner = entry.inner.lock().await;
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
            let _ = old.send(Outbound::Close(
                CLOSE_REPLACED,
                "replaced by a newer customer connection",
            ));
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
        let mut inner = entry.inner.lock().await;
        let inner = &mut *inner;
        // Nothing leaves a paused page, nor one whose customer has not accepted an invitation:
        // dropped unread (agents get the customer's keyframe on resume or acceptance).
        if matches!(
            inner.machine.state(),
            SessionState::Paused | SessionState::Invited | SessionState::Ended
        ) {
            return;
        }
        if !inner.wire.bucket.take(Instant::now()) {
            bump(&state.metrics.rate_limited);
            self.error(ErrorCode::RateLimited, "too many frames; frame dropped");
            return;
        }
        if !inner
            .wire
            .byte_bucket
            .take_n(frame.len() as f64, Instant::now())
        {
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
        let applied = match header.kind {
            FrameKind::Keyframe => {
                let next = Budget::footprint(view.record_count(), frame.len());
                if let Err(over) = budget.check(inner.wire.mirror_bytes, next, &state.mirror_bytes)
                {
                    self.refuse_over_budget(entry, over);
                    return;
                }
                let records: Vec<_> = view.records().collect();
                inner.mirror.apply_keyframe(&meta, &records, &mut ())
            }
            FrameKind::Delta => inner.mirror.apply_delta(&meta, view.mutations(), &mut ()),
        };
        match applied.map(|()| header) {
            Ok(header) => {
                let (next, frames) = Budget::after(
                    &inner.mirror,
                    header.kind == FrameKind::Keyframe,
                    inner.wire.frame_bytes_since_keyframe,
                    frame.len(),
                );
                if let Err(over) = budget.check(inner.wire.mirror_bytes, next, &state.mirror_bytes)
                {
                    // Over budget after a delta: nothing of it is held.
                    inner.mirror = Mirror::new(MirrorOptions::default());
                    inner.wire.frame_bytes_since_keyframe = 0;
                    Budget::commit(&mut inner.wire.mirror_bytes, 0, &state.mirror_bytes);
                    self.refuse_over_budget(entry, over);
                    request_customer_keyframe(inner);
                    return;
                }
                inner.wire.frame_bytes_since_keyframe = frames;
                Budget::commit(&mut inner.wire.mirror_bytes, next, &state.mirror_bytes);
                inner.wire.keyframe_requested = false;
                let now = state.now();
                if inner.machine.handle_customer_frame(now).is_ok() {
                    // The received message, as it is, to every agent (but those too far
                    // behind in their acknowledgements).
                    let n = match header.kind {
                        FrameKind::Delta => forward_delta(state, inner, &message, header.seq),
                        FrameKind::Keyframe => send_keyframe_bytes(
                            inner,
                            &Recipient::AllAgents,
                            message,
                            Some(header.seq),
                        ),
                    };
                    if n > 0 {
                        bump(&state.metrics.frames_relayed);
                        state.metrics.frame_bytes.increment(frame.len() as u64);
                        state.metrics.frame_relay_seconds.record(received.elapsed());
                    }
                }
                deliver(state, entry, inner);
                state.after_event(entry, inner);
            }
            Err(e) => {
                // Error texts of the replayer carry ids and hashes, never content.
                tracing::debug!(session = entry.id.value(), "frame rejected: {e}");
                request_customer_keyframe(inner);
            }
        }
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
        let mut guard = entry.inner.lock().await;
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
                    inner.wire.echo = Some(Message::ActionDenied {
                        agent,
                        action,
                        target,
                        reason,
                    });
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
                inner.wire.echo = Some(Message::Pointer {
                    from: CUSTOMER,
                    x,
                    y,
                    target,
                });
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
                    match &m {
                        Message::Scroll { target: None, .. } => {
                            inner.wire.page_scroll = Some(m.clone());
                        }
                        Message::Viewport { .. } => inner.wire.viewport = Some(m.clone()),
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
