//! Deterministic simulation on virtual time.
//!
//! One customer client, one to three agent clients, the relay's authoritative [`Session`] and a
//! customer-side replica, connected by FIFO links with fixed latencies. [`Simulation::drive`]
//! delivers messages and fires the relay's timers in virtual-time order until nothing is in
//! flight; [`Simulation::run_for`] also lets virtual time pass (timers fire on the way).
//!
//! How the two machines cooperate (the deployment the module docs describe):
//! - the relay handles every input (with [`TargetFacts`] from its own mirror, i.e. the DOM as
//!   of the last frame it forwarded) and forwards each one, with its timestamp, to the customer
//!   side as a sequenced log entry, ahead of the messages it produced;
//! - the customer side applies the log to its replica (checked here to reach exactly the
//!   relay's state after every entry), and before replaying an agent action checks it on a
//!   copy of the replica advanced by its own customer events not yet echoed by the relay, with
//!   the live DOM's facts. A refusal goes back to the relay as a customer-side denial.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::*;
use crate::dom::tree::WireId;

/// What the DOM says about each element (the customer side's truth, or the relay's copy).
type Dom = BTreeMap<WireId, TargetFacts>;

/// Every input a session takes, as data (so the relay can log it and the replica replay it).
#[derive(Clone, Debug)]
enum Input {
    Join(AgentJoin),
    Reconnect(AgentId),
    Disconnect(AgentId),
    Leave(AgentId),
    RequestControl(AgentId),
    Approve(AgentId),
    Decline(AgentId),
    ReturnControl(AgentId),
    Revoke,
    StopSharing,
    StartSharing,
    Navigate(String),
    /// A frame, carrying the DOM it shows (the relay's mirror takes it when forwarded).
    Frame(Dom),
    CustomerPointer(Point),
    CustomerActivity,
    Action(AgentId, AgentAction, TargetFacts),
    CustomerSideDenial(Denied),
    Chat(Participant, String),
    Link(AgentId, String),
    AcceptInvite,
    DeclineInvite,
    CustomerEnd,
    AgentEnd(AgentId),
    BackendEnd,
    Timeout,
}

/// Feeds one input to a session; whether it was accepted.
fn apply(s: &mut Session, input: &Input, now: Timestamp) -> bool {
    match input {
        Input::Join(join) => s.handle_agent_join(*join, now).is_ok(),
        Input::Reconnect(a) => s.handle_agent_reconnect(*a, now).is_ok(),
        Input::Disconnect(a) => s.handle_agent_disconnect(*a, now).is_ok(),
        Input::Leave(a) => s.handle_agent_leave(*a, now).is_ok(),
        Input::RequestControl(a) => s.handle_control_request(*a, now).is_ok(),
        Input::Approve(a) => s.handle_control_approve(*a, now).is_ok(),
        Input::Decline(a) => s.handle_control_decline(*a, now).is_ok(),
        Input::ReturnControl(a) => s.handle_agent_return_control(*a, now).is_ok(),
        Input::Revoke => s.handle_customer_revoke_control(now).is_ok(),
        Input::StopSharing => s.handle_customer_stop_sharing(now).is_ok(),
        Input::StartSharing => s.handle_customer_start_sharing(now).is_ok(),
        Input::Navigate(url) => s.handle_customer_navigate(url, now).is_ok(),
        Input::Frame(_) => s.handle_customer_frame(now).is_ok(),
        Input::CustomerPointer(at) => s.handle_customer_pointer(*at, now).is_ok(),
        Input::CustomerActivity => s.handle_customer_activity(now).is_ok(),
        Input::Action(a, action, facts) => s
            .handle_agent_action(*a, action.clone(), *facts, now)
            .is_ok(),
        Input::CustomerSideDenial(denied) => s.handle_customer_side_denial(*denied, now).is_ok(),
        Input::Chat(from, text) => s.handle_chat(*from, text, now).is_ok(),
        Input::Link(a, url) => s.handle_shared_link(*a, url, now).is_ok(),
        Input::AcceptInvite => s.handle_customer_accept_invite(now).is_ok(),
        Input::DeclineInvite => s.handle_customer_decline_invite(now).is_ok(),
        Input::CustomerEnd => s.handle_customer_end(now).is_ok(),
        Input::AgentEnd(a) => s.handle_agent_end(*a, now).is_ok(),
        Input::BackendEnd => s.handle_backend_end(now).is_ok(),
        Input::Timeout => {
            s.handle_timeout(now);
            true
        }
    }
}

/// Everything a replica must agree on with the relay.
fn digest(s: &Session) -> String {
    format!(
        "{:?}",
        (
            s.now(),
            s.state(),
            s.end_reason(),
            s.pause_reasons(),
            s.agents().collect::<Vec<_>>(),
            s.controller(),
            s.pending_control_request(),
            s.highlights().collect::<Vec<_>>(),
            s.page_url(),
            s.customer_connected(),
            s.last_activity(),
            s.poll_timeout(),
        )
    )
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Origin {
    Customer(u64),
    /// The agent, and its connection attempt (joins and reconnects count up).
    Agent(AgentId, u64),
    Backend,
    Timer,
}

#[derive(Clone, Debug)]
enum Delivery {
    ToRelay(Origin, Input),
    ToReplica {
        index: usize,
        origin: Origin,
        input: Input,
        at: Timestamp,
    },
    ToCustomer(SessionMessage),
    ToAgent(AgentId, SessionMessage),
    /// A refused join or reconnect (of that attempt), answered on the agent's raw connection.
    RefusedToAgent(AgentId, u64),
}

/// The page in the customer's browser and the customer-side replica.
#[derive(Debug)]
struct CustomerClient {
    replica: Session,
    /// Customer inputs sent to the relay and not yet seen in its log.
    pending: VecDeque<(u64, Input, Timestamp)>,
    next_seq: u64,
    dom: Dom,
    stopped_sharing: bool,
    outside: bool,
    /// Agents who may not act in control until the customer approves them again (everyone,
    /// after a local revoke).
    revoked: BTreeSet<AgentId>,
    requests: Vec<AgentId>,
    participants: u32,
    replayed: usize,
    refused_replays: usize,
    frames_sent: usize,
    ended: Option<EndReason>,
}

#[derive(Debug)]
struct AgentClient {
    id: AgentId,
    attempt: u64,
    in_session: bool,
    connected: bool,
    participants: u32,
    mode: AgentMode,
    paused: bool,
    ended: Option<EndReason>,
    /// The end message arrived while this client was disconnected.
    missed_end: bool,
    denied: usize,
    refused: usize,
    received: Vec<SessionMessage>,
}

/// An agent client's operations.
#[derive(Clone, Debug)]
pub(super) enum AgentOp {
    Join,
    JoinUnauthenticated,
    Leave,
    Disconnect,
    Reconnect,
    RequestControl,
    ReturnControl,
    Act(AgentAction),
    Chat,
    ShareLink,
    End,
}

/// The customer's operations.
#[derive(Clone, Debug)]
pub(super) enum CustomerOp {
    Approve(AgentId),
    Decline(AgentId),
    Revoke,
    StopSharing,
    StartSharing,
    Navigate(&'static str),
    Frame,
    Pointer,
    Activity,
    Chat,
    AcceptInvite,
    DeclineInvite,
    End,
    /// The page changed an element (only the customer side knows until the next frame).
    MutateDom(WireId, TargetFacts),
}

/// The simulated world.
#[derive(Debug)]
pub(super) struct Simulation {
    now: Timestamp,
    agent_latency: Duration,
    customer_latency: Duration,
    relay: Session,
    relay_dom: Dom,
    digests: Vec<String>,
    customer: CustomerClient,
    agents: Vec<AgentClient>,
    net: BTreeMap<(Timestamp, u64), Delivery>,
    seq: u64,
    audit: Vec<AuditEvent>,
    first_end: Option<EndReason>,
    ended_message_seen: bool,
    /// The session was active or paused at some point (not only invited).
    started: bool,
}

const SECRET_PREFIX: &str = "typed-secret-";
pub(super) const SHOP: &str = "https://shop.example.com/";
pub(super) const ELSEWHERE: &str = "https://elsewhere.test/private";

fn initial_dom() -> Dom {
    let mut dom = Dom::new();
    dom.insert(WireId(1), TargetFacts::PLAIN);
    dom.insert(
        WireId(2),
        TargetFacts {
            is_form_control: true,
            ..TargetFacts::PLAIN
        },
    );
    dom.insert(
        WireId(3),
        TargetFacts {
            is_form_control: true,
            masked: true,
            ..TargetFacts::PLAIN
        },
    );
    dom.insert(
        WireId(4),
        TargetFacts {
            is_form_control: true,
            disabled_for_agent: true,
            ..TargetFacts::PLAIN
        },
    );
    dom.insert(WireId(5), TargetFacts::PLAIN);
    dom
}

impl Simulation {
    /// A customer-started session with `agents` agent clients (ids 1..=agents), none joined.
    pub(super) fn new(policy: SessionPolicy, agents: usize) -> Simulation {
        let id = SessionId::new(987_654_321).expect("nine digits");
        let relay = Session::new(id, policy, Timestamp(0));
        Simulation::around(relay, agents)
    }

    /// A session agent 1 started by invitation.
    pub(super) fn invited(policy: SessionPolicy, agents: usize) -> Simulation {
        let id = SessionId::new(987_654_321).expect("nine digits");
        let relay = Session::invite(id, policy, AgentJoin::verified(AgentId(1)), Timestamp(0))
            .expect("the policy allows invitations");
        let mut sim = Simulation::around(relay, agents);
        sim.agents[0].in_session = true;
        sim.agents[0].connected = true;
        sim.flush_relay();
        sim
    }

    fn around(relay: Session, agents: usize) -> Simulation {
        let replica = relay.clone();
        let mut sim = Simulation {
            now: Timestamp(0),
            agent_latency: Duration::from_millis(30),
            customer_latency: Duration::from_millis(20),
            relay,
            relay_dom: initial_dom(),
            digests: Vec::new(),
            customer: CustomerClient {
                replica,
                pending: VecDeque::new(),
                next_seq: 0,
                dom: initial_dom(),
                stopped_sharing: false,
                outside: false,
                revoked: BTreeSet::new(),
                requests: Vec::new(),
                participants: 1,
                replayed: 0,
                refused_replays: 0,
                frames_sent: 0,
                ended: None,
            },
            agents: (1..=agents)
                .map(|i| AgentClient {
                    id: AgentId(i as u64),
                    attempt: 0,
                    in_session: false,
                    connected: false,
                    participants: 0,
                    mode: AgentMode::Pointer,
                    paused: false,
                    ended: None,
                    missed_end: false,
                    denied: 0,
                    refused: 0,
                    received: Vec::new(),
                })
                .collect(),
            net: BTreeMap::new(),
            seq: 0,
            audit: Vec::new(),
            first_end: None,
            ended_message_seen: false,
            started: false,
        };
        // Drop the replica's own copy of the creation messages.
        while sim.customer.replica.poll_transmit().is_some() {}
        while sim.customer.replica.poll_event().is_some() {}
        sim.flush_relay();
        sim
    }

    pub(super) fn relay(&self) -> &Session {
        &self.relay
    }

    pub(super) fn now(&self) -> Timestamp {
        self.now
    }

    fn agent_index(&self, id: AgentId) -> Option<usize> {
        self.agents.iter().position(|a| a.id == id)
    }

    fn push(&mut self, after: Duration, delivery: Delivery) {
        self.seq += 1;
        self.net.insert((self.now + after, self.seq), delivery);
    }

    // ----------------------------------------------------------------------------------------
    // Operations.

    /// Agent client `k` (1-based) does `op`.
    pub(super) fn agent(&mut self, k: usize, op: AgentOp) {
        let Some(client) = self.agents.get_mut(k - 1) else {
            return;
        };
        let id = client.id;
        let input = match op {
            AgentOp::Join | AgentOp::JoinUnauthenticated => {
                client.attempt += 1;
                client.in_session = true;
                client.connected = true;
                let mut join = AgentJoin::verified(id);
                join.authenticated = matches!(op, AgentOp::Join);
                Input::Join(join)
            }
            AgentOp::Leave => {
                client.in_session = false;
                Input::Leave(id)
            }
            AgentOp::Disconnect => {
                client.connected = false;
                Input::Disconnect(id)
            }
            AgentOp::Reconnect => {
                client.attempt += 1;
                client.connected = true;
                Input::Reconnect(id)
            }
            AgentOp::RequestControl => Input::RequestControl(id),
            AgentOp::ReturnControl => Input::ReturnControl(id),
            // The relay fills in the facts from its mirror.
            AgentOp::Act(action) => Input::Action(id, action, TargetFacts::MISSING),
            AgentOp::Chat => Input::Chat(Participant::Agent(id), "hello".into()),
            AgentOp::ShareLink => Input::Link(id, "https://docs.example.com/guide.pdf".into()),
            AgentOp::End => Input::AgentEnd(id),
        };
        let origin = Origin::Agent(id, client.attempt);
        self.push(self.agent_latency, Delivery::ToRelay(origin, input));
    }

    /// The customer does `op`.
    pub(super) fn customer(&mut self, op: CustomerOp) {
        let c = &mut self.customer;
        let input = match op {
            CustomerOp::Approve(a) => {
                c.requests.retain(|&r| r != a);
                c.revoked.remove(&a);
                Input::Approve(a)
            }
            CustomerOp::Decline(a) => {
                c.requests.retain(|&r| r != a);
                Input::Decline(a)
            }
            CustomerOp::Revoke => {
                c.revoked.extend(self.agents.iter().map(|a| a.id));
                Input::Revoke
            }
            CustomerOp::StopSharing => {
                c.stopped_sharing = true;
                Input::StopSharing
            }
            CustomerOp::StartSharing => {
                c.stopped_sharing = false;
                Input::StartSharing
            }
            CustomerOp::Navigate(url) => {
                c.outside = !c.replica.policy().allows_url(url);
                Input::Navigate(url.to_owned())
            }
            CustomerOp::Frame => {
                if c.stopped_sharing || c.outside {
                    return; // nothing leaves the page
                }
                c.frames_sent += 1;
                Input::Frame(c.dom.clone())
            }
            CustomerOp::Pointer => {
                if c.stopped_sharing || c.outside {
                    return;
                }
                Input::CustomerPointer(Point::new(7, 7))
            }
            CustomerOp::Activity => Input::CustomerActivity,
            CustomerOp::Chat => Input::Chat(Participant::Customer, "thanks".into()),
            CustomerOp::AcceptInvite => Input::AcceptInvite,
            CustomerOp::DeclineInvite => Input::DeclineInvite,
            CustomerOp::End => Input::CustomerEnd,
            CustomerOp::MutateDom(id, facts) => {
                c.dom.insert(id, facts);
                return;
            }
        };
        self.customer_send(input);
    }

    fn customer_send(&mut self, input: Input) {
        let seq = self.customer.next_seq;
        self.customer.next_seq += 1;
        self.customer
            .pending
            .push_back((seq, input.clone(), self.now));
        self.push(
            self.customer_latency,
            Delivery::ToRelay(Origin::Customer(seq), input),
        );
    }

    /// The vendor backend ends the session.
    pub(super) fn backend_end(&mut self) {
        self.push(
            Duration::from_millis(5),
            Delivery::ToRelay(Origin::Backend, Input::BackendEnd),
        );
    }

    // ----------------------------------------------------------------------------------------
    // Time.

    /// Delivers everything in flight (firing timers due before each delivery) until idle.
    pub(super) fn drive(&mut self) {
        let mut steps = 0;
        while !self.net.is_empty() {
            self.step(Timestamp(u64::MAX));
            steps += 1;
            assert!(steps < 100_000, "the simulation does not settle");
        }
    }

    /// Lets `duration` of virtual time pass, delivering and firing timers on the way.
    pub(super) fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    fn step(&mut self, limit: Timestamp) -> bool {
        let delivery_at = self.net.first_key_value().map(|(k, _)| k.0);
        let timer_at = self.relay.poll_timeout();
        let (at, timer) = match (delivery_at, timer_at) {
            (Some(d), Some(t)) if t < d => (t, true),
            (Some(d), _) => (d, false),
            (None, Some(t)) => (t, true),
            (None, None) => return false,
        };
        if at > limit {
            return false;
        }
        self.now = self.now.max(at);
        if timer {
            self.relay.handle_timeout(at);
            self.log_and_flush(Origin::Timer, Input::Timeout, at);
        } else if let Some((_, delivery)) = self.net.pop_first() {
            self.deliver(delivery);
        }
        self.check_invariants();
        true
    }

    fn deliver(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::ToRelay(origin, input) => self.relay_handle(origin, input),
            Delivery::ToReplica {
                index,
                origin,
                input,
                at,
            } => self.replica_apply(index, origin, input, at),
            Delivery::ToCustomer(msg) => self.customer_receive(msg),
            Delivery::ToAgent(id, msg) => {
                if let Some(i) = self.agent_index(id) {
                    if self.agents[i].connected {
                        self.agent_receive(i, msg);
                    } else if let SessionMessage::Ended { .. } = msg {
                        self.agents[i].missed_end = true;
                    }
                }
            }
            Delivery::RefusedToAgent(id, attempt) => {
                if let Some(i) = self.agent_index(id)
                    && self.agents[i].attempt == attempt
                {
                    self.agents[i].in_session = false;
                    self.agents[i].connected = false;
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // The relay.

    fn relay_handle(&mut self, origin: Origin, input: Input) {
        let now = self.now;
        let input = match input {
            Input::Action(agent, action, _) => {
                let facts = action
                    .target()
                    .and_then(|t| self.relay_dom.get(&t).copied())
                    .unwrap_or(TargetFacts::MISSING);
                Input::Action(agent, action, facts)
            }
            other => other,
        };
        let accepted = apply(&mut self.relay, &input, now);
        match (&input, accepted, origin) {
            (Input::Frame(dom), true, _) => {
                assert!(
                    self.relay.forwards_frames(),
                    "a frame was forwarded while not active"
                );
                self.relay_dom = dom.clone();
            }
            (Input::Join(_) | Input::Reconnect(_), false, Origin::Agent(agent, attempt)) => {
                self.push(self.agent_latency, Delivery::RefusedToAgent(agent, attempt));
            }
            _ => {}
        }
        self.log_and_flush(origin, input, now);
    }

    /// Sends the input to the replica (ahead of the messages it caused), then the messages.
    fn log_and_flush(&mut self, origin: Origin, input: Input, at: Timestamp) {
        let index = self.digests.len();
        self.digests.push(digest(&self.relay));
        self.push(
            self.customer_latency,
            Delivery::ToReplica {
                index,
                origin,
                input,
                at,
            },
        );
        self.flush_relay();
    }

    fn flush_relay(&mut self) {
        self.started |= matches!(
            self.relay.state(),
            SessionState::Active | SessionState::Paused
        );
        if let Some(reason) = self.relay.end_reason() {
            match self.first_end {
                None => self.first_end = Some(reason),
                Some(first) => assert_eq!(first, reason, "an ended session changed its reason"),
            }
        }
        while let Some(out) = self.relay.poll_transmit() {
            assert!(!self.ended_message_seen, "a message after the end: {out:?}");
            match &out.msg {
                SessionMessage::Ended { reason } => {
                    assert_eq!(Some(*reason), self.relay.end_reason());
                    self.ended_message_seen = true;
                }
                SessionMessage::AgentJoined { participants, .. }
                | SessionMessage::AgentLeft { participants, .. } => {
                    assert_eq!(
                        *participants,
                        self.relay.participants(),
                        "participant count"
                    );
                }
                _ => {}
            }
            if out.to.includes_customer() {
                self.push(self.customer_latency, Delivery::ToCustomer(out.msg.clone()));
            }
            let receivers: Vec<AgentId> = match out.to {
                Recipient::Agent(a) => {
                    let info = self.relay.agent(a);
                    assert!(
                        info.is_some_and(|i| i.connection.is_connected()),
                        "a message for {a}, who is not (connected) in the session: {out:?}"
                    );
                    vec![a]
                }
                Recipient::Customer => Vec::new(),
                Recipient::AllAgents | Recipient::Everyone => self
                    .relay
                    .agents()
                    .filter(|i| i.connection.is_connected())
                    .map(|i| i.id)
                    .collect(),
            };
            for a in receivers {
                self.push(self.agent_latency, Delivery::ToAgent(a, out.msg.clone()));
            }
        }
        while let Some(event) = self.relay.poll_event() {
            let shown = format!("{event:?}");
            assert!(
                !shown.contains(SECRET_PREFIX),
                "typed text in the audit: {shown}"
            );
            if let Some(last) = self.audit.last() {
                assert!(last.at <= event.at, "audit time went backwards");
            }
            self.audit.push(event);
        }
    }

    // ----------------------------------------------------------------------------------------
    // The customer side.

    fn replica_apply(&mut self, index: usize, origin: Origin, input: Input, at: Timestamp) {
        let c = &mut self.customer;
        apply(&mut c.replica, &input, at);
        while c.replica.poll_transmit().is_some() {}
        while c.replica.poll_event().is_some() {}
        assert_eq!(
            digest(&c.replica),
            self.digests[index],
            "the replica diverged at entry {index} ({input:?})"
        );
        if let Origin::Customer(seq) = origin {
            let front = c.pending.pop_front().map(|(s, ..)| s);
            assert_eq!(front, Some(seq), "customer inputs are logged in order");
        }
    }

    fn customer_receive(&mut self, msg: SessionMessage) {
        match msg {
            SessionMessage::ControlRequested { agent } => self.customer.requests.push(agent),
            SessionMessage::ControlRequestWithdrawn { agent } => {
                self.customer.requests.retain(|&a| a != agent)
            }
            SessionMessage::AgentJoined { participants, .. }
            | SessionMessage::AgentLeft { participants, .. } => {
                self.customer.participants = participants;
            }
            SessionMessage::KeyframeNeeded => self.customer(CustomerOp::Frame),
            SessionMessage::Replay { agent, action } => self.customer_replay(agent, action),
            SessionMessage::Ended { reason } => self.customer.ended = Some(reason),
            _ => {}
        }
    }

    /// The customer-side check right before replaying.
    fn customer_replay(&mut self, agent: AgentId, action: AgentAction) {
        let c = &mut self.customer;
        let mut speculative = c.replica.clone();
        for (_, input, at) in &c.pending {
            apply(&mut speculative, input, *at);
        }
        let facts = action
            .target()
            .and_then(|t| c.dom.get(&t).copied())
            .unwrap_or(TargetFacts::MISSING);
        let verdict = match speculative.check_agent_action(agent, &action, &facts) {
            Ok(AllowedAction::Replay(_)) => Ok(()),
            // Allowed, but not as a replay any more (pointer mode now): a ripple at most.
            Ok(_) => Err(Denied::of(agent, &action, DenyReason::NotInControl)),
            Err(denied) => Err(denied),
        };
        match verdict {
            Ok(()) => {
                assert!(
                    !c.stopped_sharing && !c.outside,
                    "replayed into a page that is not shared"
                );
                assert!(
                    !c.revoked.contains(&agent),
                    "replayed for {agent} after the customer revoked control"
                );
                if action.target().is_some() {
                    assert!(
                        facts.exists && !facts.disabled_for_agent,
                        "replayed on a disabled or missing element"
                    );
                }
                if let AgentAction::Input { .. } = action {
                    assert!(!facts.masked, "typed into a masked field");
                }
                c.replayed += 1;
            }
            Err(denied) => {
                c.refused_replays += 1;
                self.customer_send(Input::CustomerSideDenial(denied));
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Agents.

    fn agent_receive(&mut self, i: usize, msg: SessionMessage) {
        let client = &mut self.agents[i];
        match &msg {
            SessionMessage::Welcome(w) => {
                client.participants = w.participants;
                client.mode = w.mode;
                client.paused = w.state == SessionState::Paused;
            }
            SessionMessage::AgentJoined { participants, .. }
            | SessionMessage::AgentLeft { participants, .. } => {
                client.participants = *participants;
            }
            SessionMessage::ModeChanged { agent, mode } if *agent == client.id => {
                client.mode = *mode
            }
            SessionMessage::Paused { .. } => client.paused = true,
            SessionMessage::Resumed => client.paused = false,
            SessionMessage::Ended { reason } => client.ended = Some(*reason),
            SessionMessage::Denied(_) => client.denied += 1,
            SessionMessage::Refused(_) => client.refused += 1,
            _ => {}
        }
        client.received.push(msg);
    }

    // ----------------------------------------------------------------------------------------
    // Invariants.

    fn check_invariants(&self) {
        for (name, s) in [("relay", &self.relay), ("replica", &self.customer.replica)] {
            assert_eq!(s.invariant_violation(), None, "{name}");
        }
        let r = &self.relay;
        let controllers = r.agents().filter(|a| a.mode == AgentMode::Control).count();
        assert!(controllers <= 1, "{controllers} agents in control");
        if let Some(c) = r.controller() {
            assert!(
                r.agent(c).is_some_and(|a| a.connection.is_connected()),
                "controller {c} not connected"
            );
        }
        assert_eq!(r.participants() as usize, 1 + r.agents().count());
        if self.first_end.is_some() {
            assert_eq!(r.end_reason(), self.first_end, "ended is absorbing");
            assert_eq!(r.poll_timeout(), None);
        }
        if self.net.is_empty() {
            self.check_views();
        }
    }

    /// Once nothing is in flight, every connected agent's view matches the relay.
    fn check_views(&self) {
        let r = &self.relay;
        for info in r.agents().filter(|i| i.connection.is_connected()) {
            let Some(i) = self.agent_index(info.id) else {
                panic!("unknown agent {info:?} in the session");
            };
            let client = &self.agents[i];
            if let Some(reason) = r.end_reason() {
                // The ended session's agent list is frozen as it was at the end.
                assert!(
                    client.ended == Some(reason) || client.missed_end,
                    "{} was told of the end",
                    client.id
                );
                continue;
            }
            assert!(
                client.connected,
                "{} is connected for the relay only",
                client.id
            );
            assert_eq!(
                client.participants,
                r.participants(),
                "{} participant count",
                client.id
            );
            assert_eq!(
                Some(client.mode),
                r.agent_mode(info.id),
                "{} mode",
                client.id
            );
            assert_eq!(
                client.paused,
                r.state() == SessionState::Paused,
                "{} paused",
                client.id
            );
        }
        if self.started {
            assert_eq!(
                self.customer.participants,
                r.participants(),
                "customer participant count"
            );
        }
        if let Some(reason) = r.end_reason() {
            assert_eq!(
                self.customer.ended,
                Some(reason),
                "the customer was told of the end"
            );
        }
        assert!(self.customer.pending.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Random operations.

/// xorshift64: deterministic, no dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn random_action(rng: &mut XorShift, n: u64) -> AgentAction {
    let target = WireId(1 + rng.below(6) as u32);
    let at = Point::new(rng.below(800) as i32, rng.below(600) as i32);
    match rng.below(8) {
        0 => AgentAction::Pointer { at },
        1 => AgentAction::Highlight { target },
        2 => AgentAction::ClearHighlights,
        3 => AgentAction::Scroll {
            target: if rng.below(2) == 0 {
                None
            } else {
                Some(target)
            },
            to: at,
        },
        4 => AgentAction::Click { target, at },
        5 => AgentAction::Input {
            target,
            text: TypedText::new(format!("{SECRET_PREFIX}{n}")),
        },
        6 => AgentAction::Navigate(match rng.below(4) {
            0 => Navigation::Url(SHOP.into()),
            1 => Navigation::Url("https://phish.test/".into()),
            2 => Navigation::Url("javascript:alert(1)".into()),
            _ => Navigation::Back,
        }),
        _ => AgentAction::Submit { target },
    }
}

fn random_facts(rng: &mut XorShift) -> TargetFacts {
    TargetFacts {
        exists: rng.below(5) != 0,
        disabled_for_agent: rng.below(3) == 0,
        is_form_control: rng.below(2) == 0,
        masked: rng.below(4) == 0,
    }
}

/// One random step: an operation, then some virtual time.
fn random_step(sim: &mut Simulation, rng: &mut XorShift, n: u64) {
    let agents = sim.agents.len() as u64;
    match rng.below(100) {
        0..=44 => {
            let k = 1 + rng.below(agents) as usize;
            let client = &sim.agents[k - 1];
            let op = match (client.in_session, client.connected) {
                (false, _) if rng.below(10) == 0 => AgentOp::JoinUnauthenticated,
                (false, _) => AgentOp::Join,
                (true, false) => AgentOp::Reconnect,
                (true, true) => match rng.below(100) {
                    0..=3 => AgentOp::Leave,
                    4..=9 => AgentOp::Disconnect,
                    10..=24 => AgentOp::RequestControl,
                    25..=31 => AgentOp::ReturnControl,
                    32..=35 => AgentOp::Chat,
                    36..=37 => AgentOp::ShareLink,
                    38 if rng.below(10) == 0 => AgentOp::End,
                    _ => AgentOp::Act(random_action(rng, n)),
                },
            };
            sim.agent(k, op);
        }
        45..=84 => {
            let requests = sim.customer.requests.clone();
            let op = match rng.below(100) {
                0..=29 if !requests.is_empty() => CustomerOp::Approve(rng.pick(&requests)),
                20..=24 if !requests.is_empty() => CustomerOp::Decline(rng.pick(&requests)),
                25..=29 => CustomerOp::Revoke,
                30..=34 => CustomerOp::StopSharing,
                35..=41 => CustomerOp::StartSharing,
                42..=47 => CustomerOp::Navigate(rng.pick(&[
                    SHOP,
                    SHOP,
                    ELSEWHERE,
                    "https://example.com/a",
                ])),
                48..=59 => CustomerOp::Frame,
                60..=64 => CustomerOp::Pointer,
                65..=67 => CustomerOp::Activity,
                68..=69 => CustomerOp::Chat,
                70..=72 => CustomerOp::AcceptInvite,
                73 if rng.below(5) == 0 => CustomerOp::DeclineInvite,
                74 if rng.below(10) == 0 => CustomerOp::End,
                _ => CustomerOp::MutateDom(WireId(1 + rng.below(5) as u32), random_facts(rng)),
            };
            sim.customer(op);
        }
        85 if rng.below(10) == 0 => sim.backend_end(),
        _ => {}
    }
    let pause = match rng.below(60) {
        0 => Duration::from_millis(rng.below(25_000)), // long enough for grace periods and idling
        1..=12 => Duration::ZERO,                      // operations cross in flight
        _ => Duration::from_millis(rng.below(300)),
    };
    sim.run_for(pause);
}

fn random_policy(rng: &mut XorShift) -> SessionPolicy {
    SessionPolicy {
        control_ceiling: rng.pick(&[
            ControlCeiling::Full,
            ControlCeiling::Full,
            ControlCeiling::Partial,
            ControlCeiling::None,
        ]),
        inactivity_timeout: Some(Duration::from_secs(20)),
        agent_grace_period: Duration::from_secs(2),
        highlight_lifetime: Duration::from_secs(3),
        max_agents: 2,
        max_highlights: 4,
        agent_invites_allowed: true,
        ..SessionPolicy::default()
    }
    .with_allowed_domains(["example.com", "*.example.com"])
    .unwrap_or_default()
}

#[test]
fn random_operations_keep_the_invariants() {
    let mut totals = [0usize; 6];
    for seed in 1..=400u64 {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| random_run(seed)));
        match run {
            Ok(counts) => totals.iter_mut().zip(counts).for_each(|(t, c)| *t += c),
            Err(panic) => {
                eprintln!("random_operations_keep_the_invariants: seed {seed} failed");
                std::panic::resume_unwind(panic);
            }
        }
    }
    // The random walk reaches the interesting places.
    eprintln!(
        "random walk totals (ended, replayed, customer-side refusals, denials, frames, inputs): {totals:?}"
    );
    let [ended, replayed, refused, denied, frames, inputs] = totals;
    assert!(ended > 100, "ended {ended}");
    assert!(replayed > 50, "replayed {replayed}");
    assert!(refused > 5, "customer-side refusals {refused}");
    assert!(denied > 100, "denials {denied}");
    assert!(frames > 100, "frames {frames}");
    assert!(inputs > 10_000, "inputs {inputs}");
}

/// One seeded random walk; what it reached (see the totals above).
fn random_run(seed: u64) -> [usize; 6] {
    {
        let mut rng = XorShift::new(seed);
        let policy = random_policy(&mut rng);
        let agents = 1 + rng.below(3) as usize;
        let mut sim = if rng.below(5) == 0 {
            Simulation::invited(policy, agents)
        } else {
            Simulation::new(policy, agents)
        };
        let mut after_end = 0;
        for n in 0..600 {
            random_step(&mut sim, &mut rng, n);
            if sim.relay.is_ended() {
                after_end += 1;
                if after_end > 25 {
                    break;
                }
            }
        }
        sim.drive();
        sim.check_views();
        [
            usize::from(sim.relay.is_ended()),
            sim.customer.replayed,
            sim.customer.refused_replays,
            sim.agents.iter().map(|a| a.denied).sum::<usize>(),
            sim.customer.frames_sent,
            sim.digests.len(),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

fn policy() -> SessionPolicy {
    SessionPolicy::default()
        .with_allowed_domains(["example.com", "*.example.com"])
        .unwrap_or_default()
}

/// Agent 1 joined and in control, page on the shop.
fn in_control(agents: usize) -> Simulation {
    let mut sim = Simulation::new(policy(), agents);
    sim.customer(CustomerOp::Navigate(SHOP));
    sim.agent(1, AgentOp::Join);
    sim.drive();
    sim.agent(1, AgentOp::RequestControl);
    sim.drive();
    sim.customer(CustomerOp::Approve(AgentId(1)));
    sim.drive();
    assert_eq!(sim.relay().controller(), Some(AgentId(1)));
    sim
}

#[test]
fn sim_agent_sees_the_page_at_once_after_joining() {
    let mut sim = Simulation::new(policy(), 1);
    sim.customer(CustomerOp::Navigate(SHOP));
    sim.agent(1, AgentOp::Join);
    sim.drive();
    assert_eq!(sim.relay().state(), SessionState::Active);
    assert_eq!(
        sim.customer.frames_sent, 1,
        "the customer answered the keyframe request"
    );
    assert_eq!(
        sim.relay_dom, sim.customer.dom,
        "the relay forwarded the current page"
    );
    assert_eq!(sim.agents[0].participants, 2);
    assert_eq!(sim.customer.participants, 2);
}

#[test]
fn sim_agent_reconnecting_within_grace_keeps_the_session() {
    let mut sim = in_control(1);
    sim.agent(1, AgentOp::Disconnect);
    sim.run_for(Duration::from_secs(100));
    assert_eq!(sim.relay().state(), SessionState::Active);
    assert_eq!(sim.relay().controller(), None);
    sim.agent(1, AgentOp::Reconnect);
    sim.drive();
    assert!(sim.agents[0].connected && sim.agents[0].in_session);
    assert_eq!(sim.agents[0].mode, AgentMode::Pointer);
    sim.run_for(Duration::from_secs(600));
    assert_eq!(sim.relay().state(), SessionState::Active);
}

#[test]
fn sim_grace_period_expiry_ends_the_session_and_everyone_is_told() {
    let mut sim = in_control(2);
    sim.agent(2, AgentOp::Join);
    sim.drive();
    sim.agent(1, AgentOp::Leave);
    sim.agent(2, AgentOp::Disconnect);
    sim.run_for(Duration::from_secs(119));
    assert_eq!(sim.relay().state(), SessionState::Active);
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.relay().end_reason(), Some(EndReason::NoAgentReturned));
    assert_eq!(sim.customer.ended, Some(EndReason::NoAgentReturned));
    // Too late: the reconnect is refused and the agent is out.
    sim.agent(2, AgentOp::Reconnect);
    sim.drive();
    assert!(!sim.agents[1].in_session);
}

#[test]
fn sim_inactivity_timeout_ends_the_session_in_virtual_time() {
    let mut sim = in_control(1);
    let start = sim.now();
    sim.run_for(Duration::from_secs(29 * 60));
    sim.agent(
        1,
        AgentOp::Act(AgentAction::Pointer {
            at: Point::new(1, 1),
        }),
    );
    sim.run_for(Duration::from_secs(29 * 60));
    assert_eq!(
        sim.relay().state(),
        SessionState::Active,
        "activity postponed the timeout"
    );
    sim.run_for(Duration::from_secs(2 * 60));
    assert_eq!(sim.relay().end_reason(), Some(EndReason::InactivityTimeout));
    assert_eq!(sim.agents[0].ended, Some(EndReason::InactivityTimeout));
    assert!(sim.now() > start);
}

#[test]
fn sim_customer_revoke_wins_over_an_in_flight_click() {
    let mut sim = in_control(1);
    // The click leaves the agent; before it arrives the customer takes control back.
    sim.agent(
        1,
        AgentOp::Act(AgentAction::Click {
            target: WireId(1),
            at: Point::new(5, 5),
        }),
    );
    // The customer's link is faster: 15 ms later, the revoke still reaches the relay after it.
    sim.run_for(Duration::from_millis(15));
    sim.customer(CustomerOp::Revoke);
    sim.drive();
    // The relay saw the click first and forwarded it; the customer side refused it.
    assert!(sim.audit.iter().any(|e| matches!(
        e.kind,
        AuditKind::ActionAllowed {
            kind: ActionKind::Click,
            ..
        }
    )));
    assert_eq!(sim.customer.replayed, 0);
    assert_eq!(sim.customer.refused_replays, 1);
    assert!(
        sim.agents[0].received.iter().any(
            |m| matches!(m, SessionMessage::Denied(d) if d.reason == DenyReason::NotInControl)
        )
    );
    assert_eq!(sim.relay().controller(), None);
}

#[test]
fn sim_stop_sharing_wins_over_an_in_flight_action() {
    let mut sim = in_control(1);
    sim.agent(
        1,
        AgentOp::Act(AgentAction::Scroll {
            target: None,
            to: Point::new(0, 400),
        }),
    );
    sim.run_for(Duration::from_millis(15));
    sim.customer(CustomerOp::StopSharing);
    sim.customer(CustomerOp::Frame); // stays on the page
    sim.drive();
    assert_eq!(sim.customer.replayed, 0);
    assert!(sim.agents[0].paused);
    assert_eq!(
        sim.customer.frames_sent, 1,
        "only the keyframe sent at join"
    );
}

#[test]
fn sim_stale_relay_facts_are_caught_by_the_customer_side() {
    let mut sim = in_control(1);
    // The page disables the element; the relay has not seen a frame since.
    sim.customer(CustomerOp::MutateDom(
        WireId(5),
        TargetFacts {
            disabled_for_agent: true,
            ..TargetFacts::PLAIN
        },
    ));
    sim.agent(
        1,
        AgentOp::Act(AgentAction::Click {
            target: WireId(5),
            at: Point::new(1, 1),
        }),
    );
    sim.drive();
    assert_eq!(sim.customer.replayed, 0);
    let denial = sim.audit.iter().find_map(|e| match e.kind {
        AuditKind::ActionDenied(d) => Some(d),
        _ => None,
    });
    assert_eq!(denial.map(|d| d.reason), Some(DenyReason::ElementDisabled));
    // After a frame the relay knows too, and refuses by itself.
    sim.customer(CustomerOp::Frame);
    sim.drive();
    sim.agent(
        1,
        AgentOp::Act(AgentAction::Click {
            target: WireId(5),
            at: Point::new(1, 1),
        }),
    );
    sim.drive();
    assert_eq!(
        sim.customer.refused_replays, 1,
        "the second click never reached the customer"
    );
    assert_eq!(sim.agents[0].denied, 2);
}

#[test]
fn sim_three_agents_share_a_session_and_pass_control() {
    let mut sim = in_control(3);
    sim.agent(2, AgentOp::Join);
    sim.agent(3, AgentOp::Join);
    sim.drive();
    assert!(sim.agents.iter().all(|a| a.participants == 4));
    sim.agent(2, AgentOp::RequestControl);
    sim.drive();
    assert_eq!(sim.agents[1].refused, 1, "agent 1 holds control");
    sim.agent(1, AgentOp::ReturnControl);
    sim.drive();
    sim.agent(2, AgentOp::RequestControl);
    sim.agent(3, AgentOp::RequestControl);
    sim.drive();
    assert_eq!(sim.agents[2].refused, 1, "one request at a time");
    sim.customer(CustomerOp::Approve(AgentId(2)));
    sim.drive();
    assert_eq!(
        sim.agents.iter().map(|a| a.mode).collect::<Vec<_>>(),
        [AgentMode::Pointer, AgentMode::Control, AgentMode::Pointer]
    );
    sim.agent(
        2,
        AgentOp::Act(AgentAction::Input {
            target: WireId(2),
            text: TypedText::new("typed-secret-x"),
        }),
    );
    sim.drive();
    assert_eq!(sim.customer.replayed, 1);
    sim.agent(3, AgentOp::Leave);
    sim.drive();
    assert!(sim.agents[..2].iter().all(|a| a.participants == 3));
}

#[test]
fn sim_navigation_outside_allowed_domains_pauses_until_return() {
    let mut sim = in_control(1);
    sim.customer(CustomerOp::Navigate(ELSEWHERE));
    sim.customer(CustomerOp::Frame); // not sent: outside
    sim.drive();
    assert!(sim.agents[0].paused);
    let leaked = sim.agents[0]
        .received
        .iter()
        .any(|m| format!("{m:?}").contains("elsewhere.test"));
    assert!(!leaked, "the agent never learns the outside address");
    sim.customer(CustomerOp::Navigate(SHOP));
    sim.drive();
    assert!(!sim.agents[0].paused);
    assert_eq!(sim.customer.frames_sent, 2, "a keyframe after resuming");
}

#[test]
fn sim_invited_customer_accepts_then_shares() {
    let policy = SessionPolicy {
        agent_invites_allowed: true,
        ..policy()
    };
    let mut sim = Simulation::invited(policy, 1);
    sim.customer(CustomerOp::Frame);
    sim.drive();
    assert_eq!(
        sim.relay_dom,
        initial_dom(),
        "nothing forwarded before acceptance"
    );
    sim.customer(CustomerOp::MutateDom(WireId(1), TargetFacts::MISSING));
    sim.customer(CustomerOp::Frame);
    sim.drive();
    assert_ne!(
        sim.relay_dom, sim.customer.dom,
        "still nothing before acceptance"
    );
    sim.customer(CustomerOp::AcceptInvite);
    sim.drive();
    assert_eq!(sim.relay().state(), SessionState::Active);
    assert_eq!(
        sim.relay_dom, sim.customer.dom,
        "the keyframe after acceptance"
    );
    assert_eq!(sim.agents[0].participants, 2);
}
