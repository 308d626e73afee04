//! The session state machine: [`Session`].
//!
//! Lifecycle: `Waiting -> Active <-> Paused -> Ended` for a session the customer starts, and
//! `Invited -> Active <-> Paused -> Ended` for one an agent starts by invitation (when the
//! policy allows it). `Ended` is absorbing. `Paused` is `Active` with at least one
//! [`PauseReasons`] holding; a session whose customer stopped sharing (or left the allowed
//! domains) before the first agent joined starts out paused.
//!
//! Control: at most one agent holds control ([`Session::controller`]) and at most one control
//! request is pending ([`Session::pending_control_request`]). A request while another agent
//! holds control or has a request pending is refused ([`SessionError::ControlHeldByOther`],
//! [`SessionError::ControlRequestPending`]) rather than queued: the customer answers one
//! question at a time, and the refused agent asks again once control is free. Control survives
//! a pause (nothing can be replayed while paused anyway) and is lost when the agent leaves or
//! disconnects.
//!
//! Agents: an agent who disconnects keeps its place (and counts as a participant) for the
//! policy's grace period, in pointer mode; reconnecting in time restores it
//! ([`Session::handle_agent_reconnect`], or a join with the same id). The session ends when no
//! agent has been connected for the grace period (counted from the moment the last connected
//! agent left or disconnected); a deadline is reached at its exact millisecond, so "within the
//! grace period" means strictly before it.

use std::collections::VecDeque;

use crate::dom::tree::WireId;

use super::messages::{
    AgentMode, AuditEvent, AuditKind, ControlLossReason, EndReason, HighlightClearReason,
    LeaveReason, Outgoing, PauseReasons, Recipient, SessionError, SessionMessage, SessionState,
    Welcome,
};
use super::permissions::{
    ActionContext, AgentAction, AllowedAction, Denied, DenyReason, TargetFacts, check_action,
};
use super::policy::SessionPolicy;
use super::url::web_url_host;
use super::values::{AgentId, Highlight, HighlightId, Participant, Point, SessionId, Timestamp};

/// An agent asking to join, with what the caller verified about its credentials.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AgentJoin {
    /// Who.
    pub agent: AgentId,
    /// The vendor backend's credentials checked out.
    pub authenticated: bool,
    /// The administrator lets this agent co-browse.
    pub cobrowse_enabled: bool,
}

impl AgentJoin {
    /// An authenticated, co-browse-enabled agent.
    pub fn verified(agent: AgentId) -> AgentJoin {
        AgentJoin {
            agent,
            authenticated: true,
            cobrowse_enabled: true,
        }
    }
}

/// An agent's connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AgentConnection {
    /// Connected.
    Connected,
    /// Disconnected; the agent keeps its place until `return_by` (exclusive).
    Disconnected {
        /// When it disconnected.
        since: Timestamp,
        /// When its grace period ends.
        return_by: Timestamp,
    },
}

impl AgentConnection {
    /// Whether connected.
    pub fn is_connected(self) -> bool {
        self == AgentConnection::Connected
    }
}

/// One agent of the session, as [`Session::agents`] reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AgentInfo {
    /// Who.
    pub id: AgentId,
    /// When it joined.
    pub joined_at: Timestamp,
    /// Its connection.
    pub connection: AgentConnection,
    /// Its mode.
    pub mode: AgentMode,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Invited,
    Waiting,
    Started,
    Ended(EndReason),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Control {
    Free,
    Requested(AgentId),
    Held(AgentId),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct AgentEntry {
    id: AgentId,
    joined_at: Timestamp,
    connection: AgentConnection,
}

/// The machine's timers; the derived order breaks ties between equal deadlines.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    HighlightExpiry,
    AgentReturn(AgentId),
    NoConnectedAgent,
    JoinWindow,
    Inactivity,
}

/// One co-browsing session's rules (see the [module docs](super)).
#[derive(Clone, Debug)]
pub struct Session {
    id: SessionId,
    policy: SessionPolicy,
    phase: Phase,
    pause: PauseReasons,
    /// The customer's page, only while it is inside the allowed domains.
    page_url: Option<String>,
    customer_connected: bool,
    /// In join order.
    agents: Vec<AgentEntry>,
    control: Control,
    /// In creation order, which is also expiry order (one lifetime for all).
    highlights: VecDeque<Highlight>,
    next_highlight: u32,
    last_activity: Timestamp,
    /// When the session was created (the join window counts from it).
    created_at: Timestamp,
    /// When the last connected agent left or disconnected (started or invited sessions only).
    no_connected_agent_since: Option<Timestamp>,
    now: Timestamp,
    transmits: VecDeque<Outgoing>,
    events: VecDeque<AuditEvent>,
}

impl Session {
    fn blank(id: SessionId, policy: SessionPolicy, phase: Phase, now: Timestamp) -> Session {
        Session {
            id,
            policy,
            phase,
            pause: PauseReasons::default(),
            page_url: None,
            customer_connected: true,
            agents: Vec::new(),
            control: Control::Free,
            highlights: VecDeque::new(),
            next_highlight: 1,
            last_activity: now,
            created_at: now,
            no_connected_agent_since: None,
            now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// A session the customer started: waiting for an agent. The customer is sent
    /// [`SessionMessage::Created`] with the ID to read out.
    pub fn new(id: SessionId, policy: SessionPolicy, now: Timestamp) -> Session {
        let mut session = Session::blank(id, policy, Phase::Waiting, now);
        session.record(
            now,
            AuditKind::Created {
                by: Participant::Customer,
            },
        );
        session.send(Recipient::Customer, SessionMessage::Created { session: id });
        session.settle();
        session
    }

    /// A session an agent started by inviting the customer from chat. Refused with
    /// [`SessionError::InvitesNotAllowed`] unless [`SessionPolicy::agent_invites_allowed`].
    /// Nothing is shared until [`Session::handle_customer_accept_invite`].
    pub fn invite(
        id: SessionId,
        policy: SessionPolicy,
        inviter: AgentJoin,
        now: Timestamp,
    ) -> Result<Session, SessionError> {
        if !policy.agent_invites_allowed {
            return Err(SessionError::InvitesNotAllowed);
        }
        verify_join(&inviter)?;
        if policy.max_agents == 0 {
            return Err(SessionError::SessionFull { max_agents: 0 });
        }
        let agent = inviter.agent;
        let mut session = Session::blank(id, policy, Phase::Invited, now);
        session.agents.push(AgentEntry {
            id: agent,
            joined_at: now,
            connection: AgentConnection::Connected,
        });
        session.record(
            now,
            AuditKind::Created {
                by: Participant::Agent(agent),
            },
        );
        session.send(
            Recipient::Customer,
            SessionMessage::Invitation {
                session: id,
                from: agent,
            },
        );
        let welcome = session.welcome(agent);
        session.send(Recipient::Agent(agent), SessionMessage::Welcome(welcome));
        session.settle();
        Ok(session)
    }

    // ----------------------------------------------------------------------------------------
    // Inspection.

    /// The session's ID.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The policy it runs under.
    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// Its state.
    pub fn state(&self) -> SessionState {
        match self.phase {
            Phase::Invited => SessionState::Invited,
            Phase::Waiting => SessionState::Waiting,
            Phase::Ended(_) => SessionState::Ended,
            Phase::Started if self.pause.any() => SessionState::Paused,
            Phase::Started => SessionState::Active,
        }
    }

    /// Whether it ended.
    pub fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended(_))
    }

    /// Why it ended, if it did.
    pub fn end_reason(&self) -> Option<EndReason> {
        match self.phase {
            Phase::Ended(reason) => Some(reason),
            _ => None,
        }
    }

    /// What holds it paused (or would, once started).
    pub fn pause_reasons(&self) -> PauseReasons {
        self.pause
    }

    /// Whether frames (and the customer's pointer) go to the agents: only while
    /// [`SessionState::Active`].
    pub fn forwards_frames(&self) -> bool {
        self.state() == SessionState::Active
    }

    /// The customer plus the agents present (connected or within their grace period).
    pub fn participants(&self) -> u32 {
        1 + u32::try_from(self.agents.len()).unwrap_or(u32::MAX - 1)
    }

    /// The agents present, in join order.
    pub fn agents(&self) -> impl Iterator<Item = AgentInfo> + '_ {
        self.agents.iter().map(|e| self.info(e))
    }

    /// One agent, if present.
    pub fn agent(&self, agent: AgentId) -> Option<AgentInfo> {
        self.entry(agent).map(|e| self.info(e))
    }

    /// The agent holding control.
    pub fn controller(&self) -> Option<AgentId> {
        match self.control {
            Control::Held(a) => Some(a),
            _ => None,
        }
    }

    /// The agent whose control request awaits the customer's answer.
    pub fn pending_control_request(&self) -> Option<AgentId> {
        match self.control {
            Control::Requested(a) => Some(a),
            _ => None,
        }
    }

    /// An agent's mode, if present.
    pub fn agent_mode(&self, agent: AgentId) -> Option<AgentMode> {
        self.entry(agent).map(|_| self.mode_of(agent))
    }

    /// The highlights on the page, oldest first.
    pub fn highlights(&self) -> impl Iterator<Item = &Highlight> + '_ {
        self.highlights.iter()
    }

    /// The customer's page, while it is inside the allowed domains.
    pub fn page_url(&self) -> Option<&str> {
        self.page_url.as_deref()
    }

    /// Whether the customer is connected.
    pub fn customer_connected(&self) -> bool {
        self.customer_connected
    }

    /// The latest time the machine has seen.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The last accepted participant activity (what the inactivity timeout counts from).
    pub fn last_activity(&self) -> Timestamp {
        self.last_activity
    }

    // ----------------------------------------------------------------------------------------
    // Output.

    /// The next message to deliver. Once drained (`None`), the queue gives its buffer back: a
    /// relay holds thousands of idle sessions, and most of the time none has anything queued.
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        let next = self.transmits.pop_front();
        if next.is_none() && self.transmits.capacity() > 0 {
            self.transmits = VecDeque::new();
        }
        next
    }

    /// The next audit event for the vendor backend. Once drained (`None`), the queue gives its
    /// buffer back, like [`Session::poll_transmit`]'s.
    pub fn poll_event(&mut self) -> Option<AuditEvent> {
        let next = self.events.pop_front();
        if next.is_none() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        next
    }

    /// The capacities of the outgoing and audit queues (tests: drained queues hold no buffer).
    #[cfg(test)]
    pub(super) fn queue_capacities(&self) -> (usize, usize) {
        (self.transmits.capacity(), self.events.capacity())
    }

    /// When [`Session::handle_timeout`] should be called next (`None`: no timer; always
    /// `None` once ended).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_timer().map(|(at, _)| at)
    }

    /// Fires every timer due at `now`: highlights fade, agents who did not return are
    /// removed, and the session ends on inactivity or when no agent came back.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.begin(now);
        self.settle();
    }

    // ----------------------------------------------------------------------------------------
    // Agents joining and leaving.

    /// An agent joins (by ID, or a share link among agents). The first join starts the
    /// session: the customer is told an agent joined and sends a keyframe; everyone gets the
    /// participant count. A join by a present but disconnected agent is a reconnect. Refused
    /// joins are audited ([`AuditKind::JoinRefused`]).
    pub fn handle_agent_join(
        &mut self,
        join: AgentJoin,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        let now = self.begin(now);
        let result = self.agent_join(join, now);
        if let Err(error) = &result
            && !self.is_ended()
        {
            self.record(
                now,
                AuditKind::JoinRefused {
                    agent: join.agent,
                    error: error.clone(),
                },
            );
        }
        self.settle();
        result
    }

    /// An agent reconnects within its grace period: it gets the session's state again (in
    /// pointer mode) and the customer sends a keyframe.
    pub fn handle_agent_reconnect(
        &mut self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        let now = self.begin(now);
        let result = self.agent_reconnect(agent, now);
        self.settle();
        result
    }

    /// An agent's connection dropped: it loses control (or its pending request) and keeps its
    /// place for the grace period.
    pub fn handle_agent_disconnect(
        &mut self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        let now = self.begin(now);
        let result = self.agent_disconnect(agent, now);
        self.settle();
        result
    }

    /// An agent leaves. If it was the last connected agent, the session ends unless an agent
    /// joins within the grace period; if it was the inviter of an unanswered invitation, the
    /// session ends at once ([`EndReason::InviteWithdrawn`]).
    pub fn handle_agent_leave(
        &mut self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        let now = self.begin(now);
        let result = self.agent_leave(agent, now);
        self.settle();
        result
    }

    // ----------------------------------------------------------------------------------------
    // Invitation.

    /// The customer accepts an agent's invitation ("Share my browser window"): sharing starts.
    pub fn handle_customer_accept_invite(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, Session::accept_invite)
    }

    /// The customer declines an agent's invitation: the session ends.
    pub fn handle_customer_decline_invite(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            if s.phase != Phase::Invited {
                return Err(SessionError::NotInvited);
            }
            s.record(now, AuditKind::InviteDeclined);
            s.end(EndReason::InviteDeclined, now);
            Ok(())
        })
    }

    // ----------------------------------------------------------------------------------------
    // Control.

    /// An agent asks for control. Refused under a [`super::ControlCeiling::None`] ceiling,
    /// while another agent holds control or has a request pending, and before an invitation is
    /// accepted. Refusals are also sent to the agent ([`SessionMessage::Refused`]).
    pub fn handle_control_request(
        &mut self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.agent_request(agent, now, |s, now| {
            s.agent_may_act(agent)?;
            if s.phase == Phase::Invited {
                return Err(SessionError::InvitationPending);
            }
            if !s.policy.control_ceiling.permits_control() {
                return Err(SessionError::ControlNotPermitted);
            }
            match s.control {
                Control::Held(holder) if holder == agent => Err(SessionError::AlreadyInControl),
                Control::Held(holder) => Err(SessionError::ControlHeldByOther { holder }),
                Control::Requested(by) => Err(SessionError::ControlRequestPending { by }),
                Control::Free => {
                    s.control = Control::Requested(agent);
                    s.touch(now);
                    s.send(
                        Recipient::Customer,
                        SessionMessage::ControlRequested { agent },
                    );
                    s.record(now, AuditKind::ControlRequested { agent });
                    Ok(())
                }
            }
        })
    }

    /// The customer approves `agent`'s pending control request.
    pub fn handle_control_approve(
        &mut self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            if s.control != Control::Requested(agent) {
                return Err(SessionError::NoControlRequest);
            }
            s.control = Control::Held(agent);
            s.touch(now);
            s.send(
                Recipient::Agent(agent),
                SessionMessage::ControlApproved { agent },
            );
            s.record(now, AuditKind::ControlGranted { agent });
            s.mode_changed(agent, AgentMode::Control, now);
            Ok(())
        })
    }

    /// The customer declines `agent`'s pending control request.
    pub fn handle_control_decline(
        &mut self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            if s.control != Control::Requested(agent) {
                return Err(SessionError::NoControlRequest);
            }
            s.control = Control::Free;
            s.touch(now);
            s.send(
                Recipient::Agent(agent),
                SessionMessage::ControlDeclined { agent },
            );
            s.record(now, AuditKind::ControlDeclined { agent });
            Ok(())
        })
    }

    /// The agent returns to pointer mode (or withdraws its pending request).
    pub fn handle_agent_return_control(
        &mut self,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.agent_request(agent, now, |s, now| {
            s.agent_may_act(agent)?;
            match s.control {
                Control::Held(a) if a == agent => {
                    s.control = Control::Free;
                    s.touch(now);
                    s.send(
                        Recipient::Customer,
                        SessionMessage::ControlReturned { agent },
                    );
                    s.record(now, AuditKind::ControlReturned { agent });
                    s.mode_changed(agent, AgentMode::Pointer, now);
                    Ok(())
                }
                Control::Requested(a) if a == agent => {
                    s.control = Control::Free;
                    s.touch(now);
                    s.send(
                        Recipient::Customer,
                        SessionMessage::ControlRequestWithdrawn { agent },
                    );
                    Ok(())
                }
                _ => Err(SessionError::NotInControl),
            }
        })
    }

    /// The customer takes control back (the return-to-pointer button).
    pub fn handle_customer_revoke_control(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            let Control::Held(agent) = s.control else {
                return Err(SessionError::NoAgentInControl);
            };
            s.control = Control::Free;
            s.touch(now);
            s.send(
                Recipient::Agent(agent),
                SessionMessage::ControlRevoked { agent },
            );
            s.record(now, AuditKind::ControlRevoked { agent });
            s.mode_changed(agent, AgentMode::Pointer, now);
            Ok(())
        })
    }

    // ----------------------------------------------------------------------------------------
    // The customer's page.

    /// *Stop sharing*: the session pauses and nothing from the page is forwarded until
    /// [`Session::handle_customer_start_sharing`]. Idempotent.
    pub fn handle_customer_stop_sharing(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.touch(now);
            s.set_pause(now, |p| p.stopped_sharing = true);
            Ok(())
        })
    }

    /// *Start sharing*: resumes with the same session (unless the page is outside the allowed
    /// domains, which keeps it paused). Idempotent.
    pub fn handle_customer_start_sharing(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.touch(now);
            s.set_pause(now, |p| p.stopped_sharing = false);
            Ok(())
        })
    }

    /// The customer's page loaded `url`. Every highlight is cleared (the customer left the
    /// page). Outside the allowed domains (or not an `http(s)` URL) the session pauses and the
    /// URL is not kept; back inside, it resumes unless the customer also stopped sharing.
    pub fn handle_customer_navigate(
        &mut self,
        url: &str,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.touch(now);
            s.clear_highlights(HighlightClearReason::PageLeft, |_| true);
            let allowed = s.policy.allows_url(url);
            let was_active = s.state() == SessionState::Active;
            s.page_url = allowed.then(|| url.trim().to_owned());
            s.set_pause(now, |p| p.outside_allowed_domains = !allowed);
            if was_active
                && s.state() == SessionState::Active
                && let Some(url) = s.page_url.clone()
            {
                s.send(Recipient::AllAgents, SessionMessage::PageChanged { url });
            }
            Ok(())
        })
    }

    /// A frame is ready on the customer side. `Ok` means forward it to all agents; refused
    /// with [`SessionError::NotForwarding`] unless the session is active (in particular while
    /// paused). Frames are not activity.
    pub fn handle_customer_frame(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, _| s.ensure_forwarding())
    }

    /// The customer's pointer moved: shown to the agents while the session is active.
    pub fn handle_customer_pointer(
        &mut self,
        at: Point,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.ensure_forwarding()?;
            s.touch(now);
            s.send(Recipient::AllAgents, SessionMessage::CustomerPointer { at });
            Ok(())
        })
    }

    /// The customer did something on the page (typing, scrolling…): keeps the session alive.
    pub fn handle_customer_activity(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.touch(now);
            Ok(())
        })
    }

    /// The customer's connection dropped (a page load, a network change). Agents are told.
    pub fn handle_customer_disconnect(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, _| {
            s.set_customer_connected(false);
            Ok(())
        })
    }

    /// The customer is connected again. Agents are told.
    pub fn handle_customer_reconnect(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, _| {
            s.set_customer_connected(true);
            Ok(())
        })
    }

    // ----------------------------------------------------------------------------------------
    // Agent actions.

    /// Checks an agent action without changing anything: lifecycle (ended, not started,
    /// paused), membership (present, connected), then [`check_action`] with the facts about the
    /// target that the caller knows. The customer side calls this right before replaying an
    /// action the relay forwarded, with the real DOM's facts. Evaluated at the machine's latest
    /// time ([`Session::now`]).
    pub fn check_agent_action(
        &self,
        agent: AgentId,
        action: &AgentAction,
        facts: &TargetFacts,
    ) -> Result<AllowedAction, Denied> {
        let deny = |reason| Denied::of(agent, action, reason);
        if self.is_ended() {
            return Err(deny(DenyReason::SessionEnded));
        }
        let entry = self
            .entry(agent)
            .ok_or_else(|| deny(DenyReason::NotAParticipant))?;
        if !entry.connection.is_connected() {
            return Err(deny(DenyReason::AgentDisconnected));
        }
        if self.phase != Phase::Started {
            return Err(deny(DenyReason::NotStarted));
        }
        if self.pause.any() {
            return Err(deny(DenyReason::SessionPaused));
        }
        let ctx = ActionContext {
            policy: &self.policy,
            in_control: self.control == Control::Held(agent),
        };
        check_action(&ctx, action, facts).map_err(deny)
    }

    /// An agent acts. Allowed actions produce their message (pointer, ripple, highlight, or a
    /// [`SessionMessage::Replay`] for the customer side) and count as activity; replayed ones
    /// are audited by kind and target. Denials are sent to the agent
    /// ([`SessionMessage::Denied`]) and audited ([`AuditKind::ActionDenied`]), except once the
    /// session ended (it emits nothing any more).
    pub fn handle_agent_action(
        &mut self,
        agent: AgentId,
        action: AgentAction,
        facts: TargetFacts,
        now: Timestamp,
    ) -> Result<AllowedAction, Denied> {
        let now = self.begin(now);
        let result = self.check_agent_action(agent, &action, &facts);
        match result {
            Ok(allowed) => {
                self.touch(now);
                self.apply(agent, action, allowed, now);
            }
            Err(denied) => self.report_denial(denied, now),
        }
        self.settle();
        result
    }

    /// The customer side refused an action this machine had allowed (its facts were fresher):
    /// the agent is told and the denial audited.
    pub fn handle_customer_side_denial(
        &mut self,
        denied: Denied,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.report_denial(denied, now);
            Ok(())
        })
    }

    // ----------------------------------------------------------------------------------------
    // Side channel.

    /// A chat message (also while paused: it is the participants' own words, not the page).
    pub fn handle_chat(
        &mut self,
        from: Participant,
        text: &str,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        let body = |s: &mut Session, now| {
            if let Participant::Agent(agent) = from {
                s.agent_may_act(agent)?;
            }
            if text.trim().is_empty() {
                return Err(SessionError::ChatEmpty);
            }
            if text.chars().count() > s.policy.max_chat_chars {
                return Err(SessionError::ChatTooLong {
                    max_chars: s.policy.max_chat_chars,
                });
            }
            s.touch(now);
            s.send(
                Recipient::Everyone,
                SessionMessage::Chat {
                    from,
                    text: text.to_owned(),
                },
            );
            Ok(())
        };
        match from {
            Participant::Agent(agent) => self.agent_request(agent, now, body),
            Participant::Customer => self.customer_request(now, body),
        }
    }

    /// An agent shares a link the customer may open (any `http(s)` URL: documents may live
    /// outside the allowed domains; the customer opens it, the session does not navigate).
    pub fn handle_shared_link(
        &mut self,
        agent: AgentId,
        url: &str,
        now: Timestamp,
    ) -> Result<(), SessionError> {
        self.agent_request(agent, now, |s, now| {
            s.agent_may_act(agent)?;
            web_url_host(url).map_err(SessionError::InvalidUrl)?;
            s.touch(now);
            s.send(
                Recipient::Everyone,
                SessionMessage::SharedLink {
                    agent,
                    url: url.trim().to_owned(),
                },
            );
            s.record(now, AuditKind::LinkShared { agent });
            Ok(())
        })
    }

    // ----------------------------------------------------------------------------------------
    // Ending.

    /// The customer ends the session.
    pub fn handle_customer_end(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.end(EndReason::CustomerEnded, now);
            Ok(())
        })
    }

    /// An agent ends the session (for everyone).
    pub fn handle_agent_end(&mut self, agent: AgentId, now: Timestamp) -> Result<(), SessionError> {
        self.agent_request(agent, now, |s, now| {
            s.agent_may_act(agent)?;
            s.end(EndReason::AgentEnded(agent), now);
            Ok(())
        })
    }

    /// The vendor backend ends the session (the chat or call ended).
    pub fn handle_backend_end(&mut self, now: Timestamp) -> Result<(), SessionError> {
        self.customer_request(now, |s, now| {
            s.end(EndReason::VendorBackend, now);
            Ok(())
        })
    }

    // ----------------------------------------------------------------------------------------
    // Plumbing.

    /// Takes `now` (never earlier than the latest time seen) and fires what is due by then.
    fn begin(&mut self, now: Timestamp) -> Timestamp {
        let now = now.max(self.now);
        self.now = now;
        self.run_due_timers(now);
        now
    }

    /// Fires deadlines that became due during the call (zero durations) and checks invariants.
    fn settle(&mut self) {
        self.run_due_timers(self.now);
        debug_assert!(
            self.invariant_violation().is_none(),
            "session invariant broken: {:?}",
            self.invariant_violation()
        );
    }

    fn customer_request(
        &mut self,
        now: Timestamp,
        body: impl FnOnce(&mut Session, Timestamp) -> Result<(), SessionError>,
    ) -> Result<(), SessionError> {
        let now = self.begin(now);
        let result = self.ensure_open().and_then(|()| body(self, now));
        self.settle();
        result
    }

    /// Like [`Session::customer_request`], and a refusal is also sent to the agent (when it
    /// can receive it).
    fn agent_request(
        &mut self,
        agent: AgentId,
        now: Timestamp,
        body: impl FnOnce(&mut Session, Timestamp) -> Result<(), SessionError>,
    ) -> Result<(), SessionError> {
        let now = self.begin(now);
        let result = self.ensure_open().and_then(|()| body(self, now));
        if let Err(error) = &result
            && self.can_reach(agent)
        {
            self.send(
                Recipient::Agent(agent),
                SessionMessage::Refused(error.clone()),
            );
        }
        self.settle();
        result
    }

    fn ensure_open(&self) -> Result<(), SessionError> {
        match self.phase {
            Phase::Ended(reason) => Err(SessionError::SessionEnded(reason)),
            _ => Ok(()),
        }
    }

    fn ensure_forwarding(&self) -> Result<(), SessionError> {
        if self.forwards_frames() {
            Ok(())
        } else {
            Err(SessionError::NotForwarding {
                state: self.state(),
            })
        }
    }

    /// The agent is present and connected.
    fn agent_may_act(&self, agent: AgentId) -> Result<(), SessionError> {
        match self.entry(agent) {
            None => Err(SessionError::NotAParticipant(agent)),
            Some(e) if !e.connection.is_connected() => Err(SessionError::AgentDisconnected(agent)),
            Some(_) => Ok(()),
        }
    }

    /// Whether a message to `agent` may be queued now.
    fn can_reach(&self, agent: AgentId) -> bool {
        !self.is_ended()
            && self
                .entry(agent)
                .is_some_and(|e| e.connection.is_connected())
    }

    fn entry(&self, agent: AgentId) -> Option<&AgentEntry> {
        self.agents.iter().find(|e| e.id == agent)
    }

    fn entry_mut(&mut self, agent: AgentId) -> Option<&mut AgentEntry> {
        self.agents.iter_mut().find(|e| e.id == agent)
    }

    fn mode_of(&self, agent: AgentId) -> AgentMode {
        if self.control == Control::Held(agent) {
            AgentMode::Control
        } else {
            AgentMode::Pointer
        }
    }

    fn info(&self, e: &AgentEntry) -> AgentInfo {
        AgentInfo {
            id: e.id,
            joined_at: e.joined_at,
            connection: e.connection,
            mode: self.mode_of(e.id),
        }
    }

    fn welcome(&self, agent: AgentId) -> Welcome {
        Welcome {
            session: self.id,
            state: self.state(),
            mode: self.mode_of(agent),
            ceiling: self.policy.control_ceiling,
            participants: self.participants(),
            controller: self.controller(),
            page: if self.forwards_frames() {
                self.page_url.clone()
            } else {
                None
            },
            highlights: self.highlights.iter().copied().collect(),
        }
    }

    fn touch(&mut self, now: Timestamp) {
        self.last_activity = self.last_activity.max(now);
    }

    fn send(&mut self, to: Recipient, msg: SessionMessage) {
        debug_assert!(!self.is_ended(), "nothing is sent after the end: {msg:?}");
        if let Recipient::Agent(agent) = to {
            debug_assert!(
                self.can_reach(agent),
                "message for an absent agent: {msg:?}"
            );
            if !self.can_reach(agent) {
                return;
            }
        }
        self.transmits.push_back(Outgoing { to, msg });
    }

    fn record(&mut self, at: Timestamp, kind: AuditKind) {
        debug_assert!(
            !self.is_ended(),
            "nothing is audited after the end: {kind:?}"
        );
        self.events.push_back(AuditEvent {
            at,
            session: self.id,
            kind,
        });
    }

    fn mode_changed(&mut self, agent: AgentId, mode: AgentMode, now: Timestamp) {
        self.send(
            Recipient::Everyone,
            SessionMessage::ModeChanged { agent, mode },
        );
        self.record(now, AuditKind::ModeChanged { agent, mode });
    }

    fn set_customer_connected(&mut self, connected: bool) {
        if self.customer_connected == connected {
            return;
        }
        self.customer_connected = connected;
        if self.phase == Phase::Started {
            self.send(
                Recipient::AllAgents,
                SessionMessage::CustomerConnection { connected },
            );
        }
    }

    /// Changes the pause reasons and announces a pause or resume if the state changed.
    fn set_pause(&mut self, now: Timestamp, change: impl FnOnce(&mut PauseReasons)) {
        let before = self.state();
        change(&mut self.pause);
        match (before, self.state()) {
            (SessionState::Active, SessionState::Paused) => {
                if let Some(reason) = self.pause.first() {
                    self.send(Recipient::Everyone, SessionMessage::Paused { reason });
                    self.record(now, AuditKind::Paused { reason });
                }
            }
            (SessionState::Paused, SessionState::Active) => self.announce_resume(now),
            _ => {}
        }
    }

    fn announce_resume(&mut self, now: Timestamp) {
        self.send(Recipient::Everyone, SessionMessage::Resumed);
        self.record(now, AuditKind::Resumed);
        self.send(Recipient::Customer, SessionMessage::KeyframeNeeded);
        if let Some(url) = self.page_url.clone() {
            self.send(Recipient::AllAgents, SessionMessage::PageChanged { url });
        }
    }

    /// Tracks when the last connected agent went away (invited or started sessions only).
    fn update_presence(&mut self, now: Timestamp) {
        let tracked = matches!(self.phase, Phase::Invited | Phase::Started);
        let connected = self.agents.iter().any(|e| e.connection.is_connected());
        if !tracked || connected {
            self.no_connected_agent_since = None;
        } else if self.no_connected_agent_since.is_none() {
            self.no_connected_agent_since = Some(now);
        }
    }

    /// After the session started (first join or accepted invitation): audit a pause that was
    /// already requested, and ask for the page if it is shared.
    fn started(&mut self, now: Timestamp) {
        if let Some(reason) = self.pause.first() {
            self.record(now, AuditKind::Paused { reason });
        }
        if self.forwards_frames() {
            self.send(Recipient::Customer, SessionMessage::KeyframeNeeded);
        }
    }

    fn agent_join(&mut self, join: AgentJoin, now: Timestamp) -> Result<(), SessionError> {
        self.ensure_open()?;
        if self.phase == Phase::Invited {
            return Err(SessionError::InvitationPending);
        }
        verify_join(&join)?;
        let agent = join.agent;
        if let Some(e) = self.entry(agent) {
            if e.connection.is_connected() {
                return Err(SessionError::AlreadyJoined(agent));
            }
            return self.agent_reconnect(agent, now);
        }
        if self.agents.len() >= self.policy.max_agents {
            return Err(SessionError::SessionFull {
                max_agents: self.policy.max_agents,
            });
        }
        self.agents.push(AgentEntry {
            id: agent,
            joined_at: now,
            connection: AgentConnection::Connected,
        });
        self.touch(now);
        let first = self.phase == Phase::Waiting;
        if first {
            self.phase = Phase::Started;
        }
        self.update_presence(now);
        let participants = self.participants();
        let welcome = self.welcome(agent);
        self.send(Recipient::Agent(agent), SessionMessage::Welcome(welcome));
        self.send(
            Recipient::Everyone,
            SessionMessage::AgentJoined {
                agent,
                participants,
            },
        );
        self.record(
            now,
            AuditKind::AgentJoined {
                agent,
                participants,
            },
        );
        if first {
            self.started(now);
        } else if self.forwards_frames() {
            self.send(Recipient::Customer, SessionMessage::KeyframeNeeded);
        }
        Ok(())
    }

    fn agent_reconnect(&mut self, agent: AgentId, now: Timestamp) -> Result<(), SessionError> {
        self.ensure_open()?;
        let entry = self
            .entry_mut(agent)
            .ok_or(SessionError::NotAParticipant(agent))?;
        if entry.connection.is_connected() {
            return Err(SessionError::AlreadyJoined(agent));
        }
        entry.connection = AgentConnection::Connected;
        self.update_presence(now);
        let welcome = self.welcome(agent);
        self.send(Recipient::Agent(agent), SessionMessage::Welcome(welcome));
        self.send(
            Recipient::Everyone,
            SessionMessage::AgentConnection {
                agent,
                connected: true,
            },
        );
        self.record(now, AuditKind::AgentReconnected { agent });
        if self.forwards_frames() {
            self.send(Recipient::Customer, SessionMessage::KeyframeNeeded);
        }
        Ok(())
    }

    fn agent_disconnect(&mut self, agent: AgentId, now: Timestamp) -> Result<(), SessionError> {
        self.ensure_open()?;
        self.agent_may_act(agent)?;
        self.release_control(agent, ControlLossReason::AgentDisconnected, now);
        let return_by = now + self.policy.agent_grace_period;
        if let Some(entry) = self.entry_mut(agent) {
            entry.connection = AgentConnection::Disconnected {
                since: now,
                return_by,
            };
        }
        self.forget_messages_for(agent);
        self.update_presence(now);
        self.send(
            Recipient::Everyone,
            SessionMessage::AgentConnection {
                agent,
                connected: false,
            },
        );
        self.record(now, AuditKind::AgentDisconnected { agent });
        Ok(())
    }

    fn agent_leave(&mut self, agent: AgentId, now: Timestamp) -> Result<(), SessionError> {
        self.ensure_open()?;
        if self.entry(agent).is_none() {
            return Err(SessionError::NotAParticipant(agent));
        }
        self.remove_agent(agent, LeaveReason::Left, now);
        if self.phase == Phase::Invited && self.agents.is_empty() {
            self.end(EndReason::InviteWithdrawn, now);
        }
        Ok(())
    }

    fn remove_agent(&mut self, agent: AgentId, reason: LeaveReason, now: Timestamp) {
        self.release_control(agent, ControlLossReason::AgentLeft, now);
        self.agents.retain(|e| e.id != agent);
        self.forget_messages_for(agent);
        self.update_presence(now);
        let participants = self.participants();
        self.send(
            Recipient::Everyone,
            SessionMessage::AgentLeft {
                agent,
                participants,
                reason,
            },
        );
        self.record(
            now,
            AuditKind::AgentLeft {
                agent,
                participants,
                reason,
            },
        );
    }

    /// Drops control or the pending request of an agent who is leaving or disconnecting.
    fn release_control(&mut self, agent: AgentId, reason: ControlLossReason, now: Timestamp) {
        match self.control {
            Control::Held(a) if a == agent => {
                self.control = Control::Free;
                self.record(now, AuditKind::ControlLost { agent, reason });
                self.mode_changed(agent, AgentMode::Pointer, now);
            }
            Control::Requested(a) if a == agent => {
                self.control = Control::Free;
                self.send(
                    Recipient::Customer,
                    SessionMessage::ControlRequestWithdrawn { agent },
                );
            }
            _ => {}
        }
    }

    fn forget_messages_for(&mut self, agent: AgentId) {
        self.transmits.retain(|o| o.to != Recipient::Agent(agent));
    }

    fn accept_invite(&mut self, now: Timestamp) -> Result<(), SessionError> {
        if self.phase != Phase::Invited {
            return Err(SessionError::NotInvited);
        }
        self.phase = Phase::Started;
        self.touch(now);
        self.update_presence(now);
        self.record(now, AuditKind::InviteAccepted);
        let participants = self.participants();
        let agents: Vec<AgentId> = self.agents.iter().map(|e| e.id).collect();
        for agent in agents {
            if self.can_reach(agent) {
                let welcome = self.welcome(agent);
                self.send(Recipient::Agent(agent), SessionMessage::Welcome(welcome));
            }
            self.send(
                Recipient::Everyone,
                SessionMessage::AgentJoined {
                    agent,
                    participants,
                },
            );
            self.record(
                now,
                AuditKind::AgentJoined {
                    agent,
                    participants,
                },
            );
        }
        self.started(now);
        Ok(())
    }

    fn apply(
        &mut self,
        agent: AgentId,
        action: AgentAction,
        allowed: AllowedAction,
        now: Timestamp,
    ) {
        match (allowed, action) {
            (AllowedAction::ShowPointer, AgentAction::Pointer { at }) => {
                self.send(
                    Recipient::Customer,
                    SessionMessage::AgentPointer { agent, at },
                );
            }
            (AllowedAction::ShowRipple, AgentAction::Click { at, .. }) => {
                self.send(
                    Recipient::Customer,
                    SessionMessage::ClickRipple { agent, at },
                );
            }
            (AllowedAction::Highlight, AgentAction::Highlight { target }) => {
                self.add_highlight(agent, target, now);
            }
            (AllowedAction::ClearHighlights, _) => {
                self.clear_highlights(HighlightClearReason::ClearedByAgent, |h| h.agent == agent);
            }
            (AllowedAction::Replay(kind), action) => {
                let target = action.target();
                self.send(
                    Recipient::Customer,
                    SessionMessage::Replay { agent, action },
                );
                self.record(
                    now,
                    AuditKind::ActionAllowed {
                        agent,
                        kind,
                        target,
                    },
                );
            }
            (allowed, action) => {
                debug_assert!(false, "{allowed:?} does not fit {action:?}");
            }
        }
    }

    fn add_highlight(&mut self, agent: AgentId, target: WireId, now: Timestamp) {
        while self.highlights.len() >= self.policy.max_highlights.max(1) {
            let Some(oldest) = self.highlights.pop_front() else {
                break;
            };
            self.send(
                Recipient::Everyone,
                SessionMessage::HighlightCleared {
                    id: oldest.id,
                    reason: HighlightClearReason::Evicted,
                },
            );
        }
        let highlight = Highlight {
            id: HighlightId(self.next_highlight),
            agent,
            target,
            expires_at: now + self.policy.highlight_lifetime,
        };
        self.next_highlight = self.next_highlight.wrapping_add(1);
        self.highlights.push_back(highlight);
        self.send(
            Recipient::Everyone,
            SessionMessage::HighlightAdded(highlight),
        );
    }

    fn clear_highlights(
        &mut self,
        reason: HighlightClearReason,
        mut which: impl FnMut(&Highlight) -> bool,
    ) {
        let mut cleared = Vec::new();
        self.highlights.retain(|h| {
            let clear = which(h);
            if clear {
                cleared.push(h.id);
            }
            !clear
        });
        for id in cleared {
            self.send(
                Recipient::Everyone,
                SessionMessage::HighlightCleared { id, reason },
            );
        }
    }

    fn report_denial(&mut self, denied: Denied, now: Timestamp) {
        if self.is_ended() {
            return;
        }
        if self.can_reach(denied.agent) {
            self.send(
                Recipient::Agent(denied.agent),
                SessionMessage::Denied(denied),
            );
        }
        self.record(now, AuditKind::ActionDenied(denied));
    }

    fn end(&mut self, reason: EndReason, now: Timestamp) {
        if self.is_ended() {
            return;
        }
        self.send(Recipient::Everyone, SessionMessage::Ended { reason });
        self.record(now, AuditKind::Ended { reason });
        self.phase = Phase::Ended(reason);
        self.control = Control::Free;
        self.highlights.clear();
        self.no_connected_agent_since = None;
    }

    fn next_timer(&self) -> Option<(Timestamp, Timer)> {
        if self.is_ended() {
            return None;
        }
        let highlight = self
            .highlights
            .front()
            .map(|h| (h.expires_at, Timer::HighlightExpiry));
        let returns = self.agents.iter().filter_map(|e| match e.connection {
            AgentConnection::Disconnected { return_by, .. } => {
                Some((return_by, Timer::AgentReturn(e.id)))
            }
            AgentConnection::Connected => None,
        });
        let no_agent = self.no_connected_agent_since.map(|since| {
            (
                since + self.policy.agent_grace_period,
                Timer::NoConnectedAgent,
            )
        });
        let join_window = match self.phase {
            Phase::Waiting => self
                .policy
                .join_window
                .map(|window| (self.created_at + window, Timer::JoinWindow)),
            _ => None,
        };
        let inactivity = self
            .policy
            .inactivity_timeout
            .map(|timeout| (self.last_activity + timeout, Timer::Inactivity));
        highlight
            .into_iter()
            .chain(returns)
            .chain(no_agent)
            .chain(join_window)
            .chain(inactivity)
            .min()
    }

    fn run_due_timers(&mut self, now: Timestamp) {
        while let Some((at, timer)) = self.next_timer() {
            if at > now {
                break;
            }
            self.fire(timer, at);
        }
    }

    /// Every branch removes its timer (or ends the session), so `run_due_timers` terminates.
    fn fire(&mut self, timer: Timer, at: Timestamp) {
        match timer {
            Timer::HighlightExpiry => {
                if let Some(h) = self.highlights.pop_front() {
                    self.send(
                        Recipient::Everyone,
                        SessionMessage::HighlightCleared {
                            id: h.id,
                            reason: HighlightClearReason::Expired,
                        },
                    );
                }
            }
            Timer::AgentReturn(agent) => self.remove_agent(agent, LeaveReason::DidNotReturn, at),
            Timer::NoConnectedAgent => self.end(EndReason::NoAgentReturned, at),
            Timer::JoinWindow => self.end(EndReason::NoAgentJoined, at),
            Timer::Inactivity => self.end(EndReason::InactivityTimeout, at),
        }
    }

    /// The first broken invariant, if any (see the module docs).
    pub(crate) fn invariant_violation(&self) -> Option<&'static str> {
        let ids_unique = self
            .agents
            .iter()
            .enumerate()
            .all(|(i, a)| self.agents[..i].iter().all(|b| b.id != a.id));
        if !ids_unique {
            return Some("agent ids are not unique");
        }
        if self.agents.len() > self.policy.max_agents {
            return Some("more agents than the policy allows");
        }
        if self.phase == Phase::Waiting && !self.agents.is_empty() {
            return Some("a waiting session has agents");
        }
        match self.control {
            Control::Free => {}
            Control::Held(a) | Control::Requested(a) => {
                if self.phase != Phase::Started {
                    return Some("control outside a started session");
                }
                if !self.policy.control_ceiling.permits_control() {
                    return Some("control under a None ceiling");
                }
                if !self.entry(a).is_some_and(|e| e.connection.is_connected()) {
                    return Some("control held or requested by an absent or disconnected agent");
                }
            }
        }
        if self.is_ended()
            && (self.control != Control::Free
                || !self.highlights.is_empty()
                || self.no_connected_agent_since.is_some())
        {
            return Some("an ended session keeps control, highlights or timers");
        }
        let tracked = matches!(self.phase, Phase::Invited | Phase::Started);
        let connected = self.agents.iter().any(|e| e.connection.is_connected());
        if self.no_connected_agent_since.is_some() != (tracked && !connected) {
            return Some("no-connected-agent timer out of step with the agents");
        }
        if self.highlights.len() > self.policy.max_highlights.max(1) {
            return Some("too many highlights");
        }
        let sorted = self
            .highlights
            .iter()
            .zip(self.highlights.iter().skip(1))
            .all(|(a, b)| a.expires_at <= b.expires_at && a.id != b.id);
        if !sorted {
            return Some("highlights out of expiry order");
        }
        let reachable = self.transmits.iter().all(|o| match o.to {
            Recipient::Agent(a) => self.entry(a).is_some_and(|e| e.connection.is_connected()),
            _ => true,
        });
        if !reachable {
            return Some("a queued message names an absent or disconnected agent");
        }
        if self.last_activity > self.now {
            return Some("activity in the future");
        }
        None
    }
}

fn verify_join(join: &AgentJoin) -> Result<(), SessionError> {
    if !join.authenticated {
        return Err(SessionError::NotAuthenticated(join.agent));
    }
    if !join.cobrowse_enabled {
        return Err(SessionError::CobrowseNotEnabled(join.agent));
    }
    Ok(())
}
