//! The agent's side of a connection: `Join`, resume, and the agent's messages.

use std::sync::Arc;
use std::time::Instant;

use cobrowse_engine::protocol::{
    self, CustomerSecret, ErrorCode, HighlightScope, Message, ParticipantId, Reconnect, ResumeToken,
};
use cobrowse_engine::session::{
    AgentAction, AgentId, AgentJoin, Participant, Recipient, Session, SessionId, SessionState,
    TargetFacts, TypedText,
};
use cobrowse_engine::{Mirror, WireId};

use super::codes::{CLOSE_POLICY, NO_SESSION};
use super::conn::{Bound, Conn, Flow};
use super::deliver::{deliver, machine_nav, to_point};
use super::keyframes::{agent_ack, send_keyframe};
use super::refusals::{error_msg, session_refusal};
use crate::admission::{self, Limit};
use crate::audit::bump;
use crate::auth::agent_id_of;
use crate::link::{CloseReason, Outbound};
use crate::state::CreateError;
use crate::state::{SessionEntry, SessionInner};

impl Conn {
    /// Refuses the connection with `RateLimited` when `key` is past `limits`.
    pub(super) fn refuse_if_over(&self, key: &str, limits: &[Limit], text: &'static str) -> bool {
        let over =
            self.state
                .join_limiter
                .lock()
                .expect("limiter lock")
                .over(key, limits, Instant::now());
        if over {
            bump(&self.state.metrics.join_failures);
            bump(&self.state.metrics.rate_limited);
            tracing::warn!(source = %self.source, "join refused: {text}");
            self.fatal(ErrorCode::RateLimited, text, CLOSE_POLICY);
        }
        over
    }

    /// Counts a failed join against `keys`.
    pub(super) fn count_failure(&self, keys: &[&str]) {
        bump(&self.state.metrics.join_failures);
        let now = Instant::now();
        let mut limiter = self.state.join_limiter.lock().expect("limiter lock");
        for k in keys {
            limiter.record(k, now);
        }
    }

    /// Verifies an agent's vendor token within the join-failure limits. Returns the agent and
    /// the limiter keys of this attempt (address, identity), or `None` when the connection
    /// was refused (an error and the close are queued).
    fn authenticate(&self, token: &str) -> Option<(AgentId, [String; 2])> {
        let state = &self.state;
        let limits = &state.config.limits;
        let ip_key = format!("ip:{}", self.source);
        let claims = match state.tokens.verify(token, state.unix_secs()) {
            Ok(c) => c,
            Err(e) => {
                if self.refuse_if_over(
                    &ip_key,
                    &limits.ip_join_limits(),
                    "too many failed joins from this address",
                ) {
                    return None;
                }
                self.count_failure(&[&ip_key]);
                tracing::info!(source = %self.source, "join refused: {e}");
                self.fatal(ErrorCode::Unauthorized, &e.to_string(), CLOSE_POLICY);
                return None;
            }
        };
        let agent_key = format!("agent:{}", claims.sub);
        if self.refuse_if_over(
            &agent_key,
            &limits.agent_join_limits(),
            "too many failed joins by this agent",
        ) {
            return None;
        }
        // A valid token whose identity has failed nothing is not refused for its address: a
        // guesser behind the same NAT or proxy cannot lock honest agents out.
        let identity_clean = !self
            .state
            .join_limiter
            .lock()
            .expect("limiter lock")
            .has_failures(&agent_key, Instant::now());
        if !identity_clean
            && self.refuse_if_over(
                &ip_key,
                &limits.ip_join_limits(),
                "too many failed joins from this address",
            )
        {
            return None;
        }
        Some((agent_id_of(&claims.sub), [ip_key, agent_key]))
    }

    /// `Join` after `Hello`: the vendor token, then [`admission::admit`].
    pub(super) async fn agent_join(&mut self, session_id: SessionId, token: &str) -> Flow {
        let received = Instant::now();
        let state = self.state.clone();
        let Some((agent, [ip_key, agent_key])) = self.authenticate(token) else {
            return Flow::Close;
        };
        let keys = [ip_key.as_str(), agent_key.as_str()];
        let Some(entry) = state.session(session_id.value()) else {
            self.count_failure(&keys);
            tracing::info!(source = %self.source, "join refused: no live session with that id");
            self.refuse_missing(session_id.value());
            return Flow::Close;
        };
        let mut guard = entry.lock(self.state.wake_clock()).await;
        let inner = &mut *guard;
        let present = inner.machine.agent(agent).is_some();
        let invited = self
            .proofs
            .invite
            .as_deref()
            .is_some_and(|i| inner.wire.invites.check(i, Instant::now()));
        let Some(admission) = admission::admit(inner.machine.state(), present, invited) else {
            drop(guard);
            self.count_failure(&keys);
            tracing::info!(
                source = %self.source,
                "join refused: the session is past its first join and no invite was shown"
            );
            self.fatal(ErrorCode::SessionNotFound, NO_SESSION, CLOSE_POLICY);
            return Flow::Close;
        };
        match self.enter(&entry, inner, agent, admission.as_str()) {
            Ok(()) => {
                state.metrics.join_seconds.record(received.elapsed());
                Flow::Continue
            }
            Err((code, message)) => {
                drop(guard);
                self.count_failure(&keys);
                tracing::info!(session = entry.id.value(), "join refused: {message}");
                self.fatal(code, message, CLOSE_POLICY);
                Flow::Close
            }
        }
    }

    /// `Invite` after `Hello`: an agent starts a session by inviting a customer, when the
    /// policy allows agent invitations (refused with `PermissionDenied(NotStarted)` otherwise,
    /// connection kept for a `Join`). The relay creates the session (within the creation
    /// limits of the agent's address), the agent gets `Joined` and `InviteCreated` with the
    /// customer's secret, and nothing is shared until the customer accepts.
    pub(super) async fn agent_invite(&mut self, token: &str) -> Flow {
        let state = self.state.clone();
        if !state.policy.agent_invites_allowed {
            self.error(
                ErrorCode::PermissionDenied(protocol::DenyReason::NotStarted),
                "agent invitations are not allowed by the policy",
            );
            return Flow::Continue;
        }
        let Some((agent, _keys)) = self.authenticate(token) else {
            return Flow::Close;
        };
        if state.policy.one_session_per_agent
            && state
                .directory
                .lock()
                .expect("directory lock")
                .is_busy(agent)
        {
            self.fatal(
                ErrorCode::AgentBusy,
                "agent is already in another session",
                CLOSE_POLICY,
            );
            return Flow::Close;
        }
        let group = self.source;
        let entry = match state.create_session_with(group, |id, policy, now| {
            Session::invite(id, policy, AgentJoin::verified(agent), now)
        }) {
            Ok(Ok(entry)) => entry,
            Ok(Err(e)) => {
                let (code, text) = session_refusal(&e, SessionState::Ended);
                self.fatal(code, text, CLOSE_POLICY);
                return Flow::Close;
            }
            Err(CreateError::SourceLimited | CreateError::GlobalLimited) => {
                self.fatal(
                    ErrorCode::RateLimited,
                    "too many sessions created",
                    CLOSE_POLICY,
                );
                return Flow::Close;
            }
            Err(_) => {
                self.fatal(
                    ErrorCode::Internal,
                    "no room for another session",
                    CLOSE_POLICY,
                );
                return Flow::Close;
            }
        };
        let mut guard = entry.lock(self.state.wake_clock()).await;
        let inner = &mut *guard;
        let _ = state
            .directory
            .lock()
            .expect("directory lock")
            .assign(agent, entry.id);
        let pid = inner.wire.slot(agent).pid;
        inner.links.agents.insert(agent, self.tx.clone());
        deliver(&state, &entry, inner);
        self.send(&Message::InviteCreated {
            session_id: entry.id,
            customer_secret: CustomerSecret::new(entry.customer_secret.clone()),
        });
        state.after_event(&entry, inner);
        tracing::info!(
            session = entry.id.value(),
            participant = pid.0,
            "session created by an agent's invitation"
        );
        drop(guard);
        self.bound = Bound::Agent(entry, agent, pid);
        Flow::Continue
    }

    /// `Hello { resume }` from an agent: back into its session with the resume token of its
    /// `Joined`, no vendor token needed, while it is still in the session (connected or within
    /// its grace period). A token that does not fit is answered `Unauthorized` and the
    /// connection stays open for a `Join`.
    pub(super) async fn agent_resume(&mut self, r: Reconnect) -> Flow {
        let state = self.state.clone();
        let ip_key = format!("ip:{}", self.source);
        if self.refuse_if_over(
            &ip_key,
            &state.config.limits.ip_join_limits(),
            "too many failed joins from this address",
        ) {
            return Flow::Close;
        }
        let Some(entry) = state.session(r.session_id.value()) else {
            self.count_failure(&[&ip_key]);
            tracing::info!(source = %self.source, "resume refused: no live session with that id");
            self.refuse_missing(r.session_id.value());
            return Flow::Close;
        };
        let mut guard = entry.lock(self.state.wake_clock()).await;
        let inner = &mut *guard;
        let agent = inner.wire.agent(r.participant_id).filter(|a| {
            inner
                .wire
                .agents
                .get(a)
                .is_some_and(|slot| ResumeToken(slot.resume) == r.token)
                && inner.machine.agent(*a).is_some()
        });
        let Some(agent) = agent else {
            drop(guard);
            self.count_failure(&[&ip_key]);
            tracing::info!(source = %self.source, "resume refused: the token does not fit");
            self.error(
                ErrorCode::Unauthorized,
                "resume token not valid for this session: join with a token",
            );
            self.bound = Bound::AgentHello;
            return Flow::Continue;
        };
        match self.enter(&entry, inner, agent, "resume") {
            Ok(()) => Flow::Continue,
            Err((code, message)) => {
                drop(guard);
                self.fatal(code, message, CLOSE_POLICY);
                Flow::Close
            }
        }
    }

    /// Puts an admitted agent into the session: this connection replaces any older one of
    /// the same agent, the one-session-per-agent policy is applied, and the machine hears of
    /// the join (a reconnect if the agent is still present). On success the agent has been
    /// sent `Joined` and a relay-made keyframe, and this connection is bound to it (`by` says
    /// how it got in, for the log). On refusal nothing has changed and the wire error is
    /// returned.
    pub(super) fn enter(
        &mut self,
        entry: &Arc<SessionEntry>,
        inner: &mut SessionInner,
        agent: AgentId,
        by: &'static str,
    ) -> Result<(), (ErrorCode, &'static str)> {
        let state = &self.state;
        let session_id = entry.id;
        let now = state.now();
        let known = inner.wire.agents.contains_key(&agent);
        // A second connection of a connected agent replaces the first (a reconnect the relay
        // has not noticed yet): the old one is closed and counts as a disconnect.
        if let Some(info) = inner.machine.agent(agent)
            && info.connection.is_connected()
        {
            if let Some(old) = inner.links.agents.remove(&agent) {
                let _ = old.send(Outbound::close(CloseReason::Replaced));
            }
            let _ = inner.machine.handle_agent_disconnect(agent, now);
        }
        // One session at a time per agent (policy): refused before anything changes here.
        let newly_assigned = {
            let mut directory = state.directory.lock().expect("directory lock");
            let already = directory.sessions_of(agent).any(|s| s == session_id);
            if directory.assign(agent, session_id).is_err() {
                return Err((ErrorCode::AgentBusy, "agent is already in another session"));
            }
            !already
        };
        let pid = inner.wire.slot(agent).pid;
        let previous = inner.links.agents.insert(agent, self.tx.clone());
        match inner
            .machine
            .handle_agent_join(AgentJoin::verified(agent), now)
        {
            Ok(()) => {
                deliver(state, entry, inner);
                state.after_event(entry, inner);
                tracing::info!(
                    session = entry.id.value(),
                    participant = pid.0,
                    by,
                    "agent joined"
                );
                self.bound = Bound::Agent(entry.clone(), agent, pid);
                Ok(())
            }
            Err(e) => {
                if newly_assigned {
                    state
                        .directory
                        .lock()
                        .expect("directory lock")
                        .release(agent, session_id);
                }
                inner.links.agents.remove(&agent);
                if let Some(p) = previous {
                    inner.links.agents.insert(agent, p);
                }
                if !known {
                    inner.wire.forget(agent);
                }
                let refusal = session_refusal(&e, inner.machine.state());
                deliver(state, entry, inner);
                state.after_event(entry, inner);
                Err(refusal)
            }
        }
    }

    pub(super) async fn agent_message(
        &mut self,
        entry: &Arc<SessionEntry>,
        agent: AgentId,
        pid: ParticipantId,
        msg: Message,
    ) -> Flow {
        let state = self.state.clone();
        let mut guard = entry.lock(self.state.wake_clock()).await;
        let inner = &mut *guard;
        let now = state.now();
        // Actions go through the machine; its refusals reach the agent as Refused / Denied.
        let action = |inner: &mut SessionInner, a: AgentAction, echo: Option<Message>| {
            let facts = target_facts(&inner.mirror, a.target());
            inner.wire.echo = echo.map(Box::new);
            let _ = inner.machine.handle_agent_action(agent, a, facts, now);
        };
        match msg {
            Message::ControlRequest { .. } => {
                let _ = inner.machine.handle_control_request(agent, now);
            }
            Message::ControlReturn => {
                let _ = inner.machine.handle_agent_return_control(agent, now);
            }
            Message::Pointer { x, y, target, .. } => action(
                inner,
                AgentAction::Pointer { at: to_point(x, y) },
                Some(Message::Pointer {
                    from: pid,
                    x,
                    y,
                    target,
                }),
            ),
            // A ripple is presence, like the pointer: no click happens.
            Message::ClickRipple { x, y, target, .. } => action(
                inner,
                AgentAction::Pointer { at: to_point(x, y) },
                Some(Message::ClickRipple {
                    from: pid,
                    x,
                    y,
                    target,
                }),
            ),
            Message::AgentClick { target, x, y } => action(
                inner,
                AgentAction::Click {
                    target,
                    at: to_point(x, y),
                },
                Some(Message::AgentClick { target, x, y }),
            ),
            Message::Highlight {
                id,
                target,
                rect,
                color,
                ..
            } => action(
                inner,
                AgentAction::Highlight { target },
                Some(Message::Highlight {
                    from: pid,
                    id,
                    target,
                    rect,
                    color,
                }),
            ),
            Message::HighlightClear {
                which: HighlightScope::All,
                ..
            } => action(inner, AgentAction::ClearHighlights, None),
            Message::HighlightClear {
                which: HighlightScope::One(wid),
                ..
            } => {
                // The machine clears an agent's highlights all at once; one highlight is
                // cleared here after the same check (the machine forgets it when it fades).
                match inner.machine.check_agent_action(
                    agent,
                    &AgentAction::ClearHighlights,
                    &TargetFacts::MISSING,
                ) {
                    Ok(_) => {
                        let key = inner
                            .wire
                            .highlights
                            .iter()
                            .find(|(_, (p, w))| *p == pid && *w == wid)
                            .map(|(k, _)| *k);
                        if let Some(k) = key {
                            inner.wire.highlights.remove(&k);
                            inner.links.send_msg(
                                &Recipient::Everyone,
                                &Message::HighlightClear {
                                    from: pid,
                                    which: HighlightScope::One(wid),
                                },
                            );
                        }
                    }
                    Err(d) => self.send(&error_msg(
                        ErrorCode::PermissionDenied(d.reason),
                        &d.reason.to_string(),
                    )),
                }
            }
            Message::Scroll { target, x, y } => action(
                inner,
                AgentAction::Scroll {
                    target,
                    to: to_point(x, y),
                },
                Some(Message::Scroll { target, x, y }),
            ),
            Message::Navigate { to } => action(inner, AgentAction::Navigate(machine_nav(to)), None),
            Message::AgentInput { target, value } => action(
                inner,
                AgentAction::Input {
                    target,
                    text: TypedText::new(value),
                },
                None,
            ),
            Message::AgentSubmit { target } => action(inner, AgentAction::Submit { target }, None),
            Message::Chat { text, .. } => {
                let _ = inner
                    .machine
                    .handle_chat(Participant::Agent(agent), &text, now);
            }
            Message::SharedLink { url, title, .. } => {
                inner.wire.echo = Some(Box::new(Message::SharedLink {
                    from: pid,
                    url: url.clone(),
                    title,
                }));
                let _ = inner.machine.handle_shared_link(agent, &url, now);
            }
            Message::End { .. } => {
                let _ = inner.machine.handle_agent_end(agent, now);
            }
            Message::KeyframeRequest { .. } => {
                send_keyframe(&state, inner, Recipient::Agent(agent));
            }
            // Gaps are detected by the agent's mirror, which asks for a keyframe; acks hold a
            // slow agent to the window (module docs).
            Message::Ack { seq } => agent_ack(&state, inner, agent, seq),
            Message::Ping { nonce, sent_at_ms } => self.send(&Message::Pong { nonce, sent_at_ms }),
            Message::Pong { .. } | Message::Error { .. } => {}
            Message::Join { .. } | Message::Hello { .. } => {
                self.error(ErrorCode::BadMessage, "already joined");
            }
            _ => self.error(ErrorCode::BadMessage, "unexpected message"),
        }
        deliver(&state, entry, inner);
        state.after_event(entry, inner);
        Flow::Continue
    }
}

/// What the relay's mirror knows about an action's target.
fn target_facts(mirror: &Mirror, target: Option<WireId>) -> TargetFacts {
    target.map_or(TargetFacts::MISSING, |w| {
        TargetFacts::in_tree(mirror.tree(), w)
    })
}
