//! One or more tests per rule of the spec's "Session lifecycle", "Control modes", "Privacy"
//! and "What each side sees" sections, named by behaviour.

use std::time::Duration;

use super::*;
use crate::dom::tree::WireId;

const A: AgentId = AgentId(1);
const B: AgentId = AgentId(2);
const C: AgentId = AgentId(3);
const FIELD: WireId = WireId(40);
const BUTTON: WireId = WireId(41);

fn t(ms: u64) -> Timestamp {
    Timestamp(ms)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn sid() -> SessionId {
    SessionId::new(123_456_789).unwrap()
}

fn drain(s: &mut Session) -> Vec<Outgoing> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn drain_audit(s: &mut Session) -> Vec<AuditKind> {
    std::iter::from_fn(|| s.poll_event())
        .map(|e| e.kind)
        .collect()
}

fn has(out: &[Outgoing], to: Recipient, msg: &SessionMessage) -> bool {
    out.iter().any(|o| o.to == to && &o.msg == msg)
}

fn field() -> TargetFacts {
    TargetFacts {
        is_form_control: true,
        ..TargetFacts::PLAIN
    }
}

fn submit_button() -> TargetFacts {
    // Submit buttons are disabled for agents by default (`DisableConfig::submit_buttons`).
    TargetFacts {
        is_form_control: true,
        disabled_for_agent: true,
        ..TargetFacts::PLAIN
    }
}

fn input(text: &str) -> AgentAction {
    AgentAction::Input {
        target: FIELD,
        text: TypedText::new(text),
    }
}

fn click(target: WireId) -> AgentAction {
    AgentAction::Click {
        target,
        at: Point::new(10, 20),
    }
}

/// A session with agent `A` joined at t=0, outputs drained.
fn active(policy: SessionPolicy) -> Session {
    let mut s = Session::new(sid(), policy, t(0));
    s.handle_agent_join(AgentJoin::verified(A), t(0)).unwrap();
    drain(&mut s);
    drain_audit(&mut s);
    s
}

#[test]
fn drained_queues_hold_no_buffer() {
    let mut s = Session::new(sid(), SessionPolicy::default(), t(0));
    s.handle_agent_join(AgentJoin::verified(A), t(0)).unwrap();
    let (transmits, events) = s.queue_capacities();
    assert!(
        transmits > 0 && events > 0,
        "a join queues messages and events"
    );
    assert!(!drain(&mut s).is_empty());
    assert!(!drain_audit(&mut s).is_empty());
    assert_eq!(s.queue_capacities(), (0, 0));
}

/// [`active`], with `A` in control.
fn controlled(policy: SessionPolicy) -> Session {
    let mut s = active(policy);
    s.handle_control_request(A, t(1)).unwrap();
    s.handle_control_approve(A, t(2)).unwrap();
    drain(&mut s);
    drain_audit(&mut s);
    s
}

fn partial() -> SessionPolicy {
    SessionPolicy {
        control_ceiling: ControlCeiling::Partial,
        ..SessionPolicy::default()
    }
}

fn view_only() -> SessionPolicy {
    SessionPolicy {
        control_ceiling: ControlCeiling::None,
        ..SessionPolicy::default()
    }
}

fn shop_policy() -> SessionPolicy {
    SessionPolicy::default()
        .with_allowed_domains(["example.com", "*.example.com"])
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Session IDs.

#[test]
fn session_ids_have_nine_digits_and_read_in_groups_of_three() {
    assert_eq!(sid().to_string(), "123 456 789");
    assert_eq!(SessionId::parse("123 456 789"), Ok(sid()));
    assert_eq!(SessionId::parse("123-456-789"), Ok(sid()));
    assert_eq!(
        SessionId::parse("12345678"),
        Err(SessionIdError::NotNineDigits)
    );
    assert_eq!(
        SessionId::parse("1234567890"),
        Err(SessionIdError::NotNineDigits)
    );
    assert_eq!(
        SessionId::parse("012345678"),
        Err(SessionIdError::LeadingZero)
    );
    assert_eq!(
        SessionId::parse(" 12a456789"),
        Err(SessionIdError::NotNineDigits)
    );
    for r in [0, 1, u64::MAX, 899_999_999, 900_000_000] {
        let id = SessionId::from_entropy(r);
        assert!((SessionId::MIN..=SessionId::MAX).contains(&id.value()));
    }
}

#[test]
fn a_start_token_in_chat_names_the_session_to_join() {
    assert_eq!(
        SessionId::from_chat("please join {start:123456789} thanks"),
        Some(sid())
    );
    assert_eq!(
        SessionId::from_chat("{start:1} {start:123456789}"),
        Some(sid())
    );
    assert_eq!(SessionId::from_chat("{start:12345678}"), None);
    assert_eq!(SessionId::from_chat("{start:123456789"), None);
    assert_eq!(SessionId::from_chat("no token"), None);
}

#[test]
fn session_ids_are_unique_among_live_sessions() {
    let mut draws = [5u64, 5, 5, 7].into_iter();
    let live = SessionId::from_entropy(5);
    let id = SessionId::allocate(|| draws.next().unwrap_or(0), |id| id == live, 10).unwrap();
    assert_eq!(id, SessionId::from_entropy(7));
    assert_eq!(SessionId::allocate(|| 5, |id| id == live, 3), None);
}

// ---------------------------------------------------------------------------------------------
// Start and join.

#[test]
fn customer_start_creates_a_waiting_session_and_shows_its_id() {
    let mut s = Session::new(sid(), SessionPolicy::default(), t(0));
    assert_eq!(s.state(), SessionState::Waiting);
    assert_eq!(s.participants(), 1);
    assert!(!s.forwards_frames());
    let out = drain(&mut s);
    assert_eq!(
        out,
        vec![Outgoing {
            to: Recipient::Customer,
            msg: SessionMessage::Created { session: sid() }
        }]
    );
    assert_eq!(
        drain_audit(&mut s),
        vec![AuditKind::Created {
            by: Participant::Customer
        }]
    );
    assert_eq!(
        s.handle_customer_frame(t(1)),
        Err(SessionError::NotForwarding {
            state: SessionState::Waiting
        })
    );
}

#[test]
fn first_authenticated_agent_join_activates_and_tells_the_customer() {
    let mut s = Session::new(sid(), SessionPolicy::default(), t(0));
    drain(&mut s);
    s.handle_customer_navigate("https://shop.test/cart", t(5))
        .unwrap();
    s.handle_agent_join(AgentJoin::verified(A), t(10)).unwrap();
    assert_eq!(s.state(), SessionState::Active);
    assert!(s.forwards_frames());
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::AgentJoined {
            agent: A,
            participants: 2
        }
    ));
    // The agent sees the customer's current page at once.
    assert!(has(
        &out,
        Recipient::Customer,
        &SessionMessage::KeyframeNeeded
    ));
    let welcome = out.iter().find_map(|o| match &o.msg {
        SessionMessage::Welcome(w) if o.to == Recipient::Agent(A) => Some(w.clone()),
        _ => None,
    });
    let welcome = welcome.expect("the agent is welcomed");
    assert_eq!(welcome.state, SessionState::Active);
    assert_eq!(welcome.mode, AgentMode::Pointer);
    assert_eq!(welcome.participants, 2);
    assert_eq!(welcome.page.as_deref(), Some("https://shop.test/cart"));
    assert!(drain_audit(&mut s).contains(&AuditKind::AgentJoined {
        agent: A,
        participants: 2
    }));
    assert_eq!(s.handle_customer_frame(t(11)), Ok(()));
}

#[test]
fn unauthenticated_or_cobrowse_disabled_agents_cannot_join() {
    let mut s = Session::new(sid(), SessionPolicy::default(), t(0));
    drain_audit(&mut s);
    let anonymous = AgentJoin {
        authenticated: false,
        ..AgentJoin::verified(A)
    };
    assert_eq!(
        s.handle_agent_join(anonymous, t(1)),
        Err(SessionError::NotAuthenticated(A))
    );
    let not_enabled = AgentJoin {
        cobrowse_enabled: false,
        ..AgentJoin::verified(A)
    };
    assert_eq!(
        s.handle_agent_join(not_enabled, t(2)),
        Err(SessionError::CobrowseNotEnabled(A))
    );
    assert_eq!(s.state(), SessionState::Waiting);
    assert_eq!(s.participants(), 1);
    let audit = drain_audit(&mut s);
    assert!(audit.contains(&AuditKind::JoinRefused {
        agent: A,
        error: SessionError::NotAuthenticated(A)
    }));
    assert!(drain(&mut s).iter().all(|o| o.to == Recipient::Customer));
}

#[test]
fn late_joiners_are_welcome_and_everyone_sees_the_participant_count() {
    let mut s = controlled(SessionPolicy::default());
    s.handle_agent_join(AgentJoin::verified(B), t(100)).unwrap();
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::AgentJoined {
            agent: B,
            participants: 3
        }
    ));
    let welcome = out.iter().find_map(|o| match &o.msg {
        SessionMessage::Welcome(w) if o.to == Recipient::Agent(B) => Some(w.clone()),
        _ => None,
    });
    let welcome = welcome.unwrap();
    assert_eq!(
        (welcome.participants, welcome.controller, welcome.mode),
        (3, Some(A), AgentMode::Pointer)
    );
    assert_eq!(s.participants(), 3);
    assert_eq!(
        s.handle_agent_join(AgentJoin::verified(B), t(101)),
        Err(SessionError::AlreadyJoined(B))
    );
}

#[test]
fn a_session_refuses_agents_beyond_the_policy_maximum() {
    let mut s = active(SessionPolicy {
        max_agents: 2,
        ..SessionPolicy::default()
    });
    s.handle_agent_join(AgentJoin::verified(B), t(1)).unwrap();
    assert_eq!(
        s.handle_agent_join(AgentJoin::verified(C), t(2)),
        Err(SessionError::SessionFull { max_agents: 2 })
    );
    assert_eq!(s.participants(), 3);
}

#[test]
fn an_agent_handles_one_session_at_a_time_through_the_directory() {
    let policy = SessionPolicy::default();
    let mut directory = AgentDirectory::new(policy.one_session_per_agent);
    let first = SessionId::new(111_111_111).unwrap();
    let second = SessionId::new(222_222_222).unwrap();
    let mut s1 = Session::new(first, policy.clone(), t(0));
    let _s2 = Session::new(second, policy, t(0));
    directory.assign(A, first).unwrap();
    s1.handle_agent_join(AgentJoin::verified(A), t(1)).unwrap();
    assert_eq!(
        directory.assign(A, second),
        Err(DirectoryError::AlreadyInSession {
            agent: A,
            session: first
        })
    );
    // The session's audit says when to release the agent.
    s1.handle_agent_leave(A, t(2)).unwrap();
    let left = std::iter::from_fn(|| s1.poll_event())
        .any(|e| matches!(e.kind, AuditKind::AgentLeft { agent: A, .. }));
    assert!(left);
    directory.release(A, first);
    directory.assign(A, second).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Pause and navigation.

#[test]
fn stop_sharing_pauses_and_nothing_from_the_page_is_forwarded() {
    let mut s = controlled(SessionPolicy::default());
    s.handle_customer_stop_sharing(t(10)).unwrap();
    assert_eq!(s.state(), SessionState::Paused);
    assert!(!s.forwards_frames());
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::Paused {
            reason: PauseReason::CustomerStoppedSharing
        }
    ));
    assert_eq!(
        s.handle_customer_frame(t(11)),
        Err(SessionError::NotForwarding {
            state: SessionState::Paused
        })
    );
    assert_eq!(
        s.handle_customer_pointer(Point::new(1, 1), t(12)),
        Err(SessionError::NotForwarding {
            state: SessionState::Paused
        })
    );
    // Nor is anything replayed into the paused page, even for the agent in control.
    let denied = s
        .handle_agent_action(A, click(BUTTON), TargetFacts::PLAIN, t(13))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::SessionPaused);
    s.handle_customer_navigate("https://shop.test/secret", t(14))
        .unwrap();
    let out = drain(&mut s);
    assert!(out.iter().all(|o| !matches!(
        o.msg,
        SessionMessage::PageChanged { .. }
            | SessionMessage::CustomerPointer { .. }
            | SessionMessage::Replay { .. }
    )));
    // Control survives the pause.
    assert_eq!(s.controller(), Some(A));
}

#[test]
fn start_sharing_resumes_the_same_session_with_a_fresh_keyframe() {
    let mut s = active(SessionPolicy::default());
    s.handle_customer_navigate("https://shop.test/a", t(5))
        .unwrap();
    s.handle_customer_stop_sharing(t(10)).unwrap();
    s.handle_customer_stop_sharing(t(11)).unwrap(); // idempotent
    drain(&mut s);
    s.handle_customer_start_sharing(t(20)).unwrap();
    assert_eq!(s.state(), SessionState::Active);
    assert_eq!(s.id(), sid());
    let out = drain(&mut s);
    assert!(has(&out, Recipient::Everyone, &SessionMessage::Resumed));
    assert!(has(
        &out,
        Recipient::Customer,
        &SessionMessage::KeyframeNeeded
    ));
    assert!(has(
        &out,
        Recipient::AllAgents,
        &SessionMessage::PageChanged {
            url: "https://shop.test/a".into()
        }
    ));
    let audit = drain_audit(&mut s);
    assert!(audit.contains(&AuditKind::Paused {
        reason: PauseReason::CustomerStoppedSharing
    }));
    assert!(audit.contains(&AuditKind::Resumed));
    assert_eq!(s.handle_customer_frame(t(21)), Ok(()));
}

#[test]
fn navigation_within_allowed_domains_is_followed() {
    let mut s = active(shop_policy());
    s.handle_customer_navigate("https://www.example.com/checkout", t(5))
        .unwrap();
    assert_eq!(s.state(), SessionState::Active);
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::AllAgents,
        &SessionMessage::PageChanged {
            url: "https://www.example.com/checkout".into()
        }
    ));
}

#[test]
fn navigation_outside_allowed_domains_pauses_until_return() {
    let mut s = active(shop_policy());
    s.handle_customer_navigate("https://example.com/", t(5))
        .unwrap();
    drain(&mut s);
    s.handle_customer_navigate("https://mail.other.test/inbox?token=secret", t(10))
        .unwrap();
    assert_eq!(s.state(), SessionState::Paused);
    assert_eq!(
        s.pause_reasons(),
        PauseReasons {
            stopped_sharing: false,
            outside_allowed_domains: true
        }
    );
    assert_eq!(s.page_url(), None);
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::Paused {
            reason: PauseReason::OutsideAllowedDomains
        }
    ));
    // Agents never see other sites, not even their address.
    assert!(!format!("{out:?}").contains("other.test"));
    assert!(s.handle_customer_frame(t(11)).is_err());
    // Non-web pages are outside too.
    s.handle_customer_navigate("file:///home/me/notes.txt", t(12))
        .unwrap();
    assert_eq!(s.state(), SessionState::Paused);
    s.handle_customer_navigate("https://shop.example.com/", t(20))
        .unwrap();
    assert_eq!(s.state(), SessionState::Active);
    let out = drain(&mut s);
    assert!(has(&out, Recipient::Everyone, &SessionMessage::Resumed));
    assert!(has(
        &out,
        Recipient::AllAgents,
        &SessionMessage::PageChanged {
            url: "https://shop.example.com/".into()
        }
    ));
}

#[test]
fn returning_to_allowed_domains_does_not_resume_if_the_customer_stopped_sharing() {
    let mut s = active(shop_policy());
    s.handle_customer_navigate("https://elsewhere.test/", t(5))
        .unwrap();
    s.handle_customer_stop_sharing(t(6)).unwrap();
    s.handle_customer_navigate("https://example.com/", t(7))
        .unwrap();
    assert_eq!(s.state(), SessionState::Paused);
    assert_eq!(
        s.pause_reasons(),
        PauseReasons {
            stopped_sharing: true,
            outside_allowed_domains: false
        }
    );
    assert!(
        !drain(&mut s)
            .iter()
            .any(|o| o.msg == SessionMessage::Resumed)
    );
    s.handle_customer_start_sharing(t(8)).unwrap();
    assert_eq!(s.state(), SessionState::Active);
}

#[test]
fn start_sharing_outside_allowed_domains_stays_paused() {
    let mut s = active(shop_policy());
    s.handle_customer_stop_sharing(t(5)).unwrap();
    s.handle_customer_navigate("https://elsewhere.test/", t(6))
        .unwrap();
    s.handle_customer_start_sharing(t(7)).unwrap();
    assert_eq!(s.state(), SessionState::Paused);
    assert!(!s.forwards_frames());
}

#[test]
fn a_session_paused_before_the_first_agent_starts_paused() {
    let mut s = Session::new(sid(), SessionPolicy::default(), t(0));
    s.handle_customer_stop_sharing(t(1)).unwrap();
    assert_eq!(s.state(), SessionState::Waiting);
    s.handle_agent_join(AgentJoin::verified(A), t(2)).unwrap();
    assert_eq!(s.state(), SessionState::Paused);
    let out = drain(&mut s);
    assert!(!has(
        &out,
        Recipient::Customer,
        &SessionMessage::KeyframeNeeded
    ));
    assert!(drain_audit(&mut s).contains(&AuditKind::Paused {
        reason: PauseReason::CustomerStoppedSharing
    }));
}

#[test]
fn customer_connection_changes_are_shown_to_agents() {
    let mut s = active(SessionPolicy::default());
    s.handle_customer_disconnect(t(5)).unwrap();
    s.handle_customer_disconnect(t(6)).unwrap();
    s.handle_customer_reconnect(t(7)).unwrap();
    assert!(s.customer_connected());
    let out = drain(&mut s);
    let connection: Vec<_> = out
        .iter()
        .filter(|o| matches!(o.msg, SessionMessage::CustomerConnection { .. }))
        .collect();
    assert_eq!(connection.len(), 2);
    assert!(has(
        &out,
        Recipient::AllAgents,
        &SessionMessage::CustomerConnection { connected: false }
    ));
}

// ---------------------------------------------------------------------------------------------
// Ending.

/// One way of ending a session.
type Ending = fn(&mut Session) -> Result<(), SessionError>;

#[test]
fn either_party_or_the_vendor_backend_ends_the_session_and_the_other_is_told_why() {
    let cases: [(Ending, EndReason); 3] = [
        (|s| s.handle_customer_end(t(50)), EndReason::CustomerEnded),
        (|s| s.handle_agent_end(A, t(50)), EndReason::AgentEnded(A)),
        (|s| s.handle_backend_end(t(50)), EndReason::VendorBackend),
    ];
    for (end, reason) in cases {
        let mut s = active(SessionPolicy::default());
        end(&mut s).unwrap();
        assert_eq!(s.state(), SessionState::Ended);
        assert_eq!(s.end_reason(), Some(reason));
        assert!(has(
            &drain(&mut s),
            Recipient::Everyone,
            &SessionMessage::Ended { reason }
        ));
        assert!(drain_audit(&mut s).contains(&AuditKind::Ended { reason }));
        assert_eq!(s.poll_timeout(), None);
    }
}

#[test]
fn ended_session_cannot_be_rejoined() {
    let mut s = active(SessionPolicy::default());
    s.handle_customer_end(t(5)).unwrap();
    drain(&mut s);
    drain_audit(&mut s);
    let ended = SessionError::SessionEnded(EndReason::CustomerEnded);
    assert_eq!(
        s.handle_agent_join(AgentJoin::verified(B), t(6)),
        Err(ended.clone())
    );
    assert_eq!(
        s.handle_agent_join(AgentJoin::verified(A), t(7)),
        Err(ended.clone())
    );
    assert_eq!(s.handle_agent_reconnect(A, t(8)), Err(ended));
    assert_eq!(s.state(), SessionState::Ended);
    assert!(drain(&mut s).is_empty());
    assert!(drain_audit(&mut s).is_empty());
}

#[test]
fn ended_is_absorbing_for_every_event() {
    let mut s = controlled(SessionPolicy {
        agent_invites_allowed: true,
        ..shop_policy()
    });
    s.handle_agent_action(
        A,
        AgentAction::Highlight { target: FIELD },
        TargetFacts::PLAIN,
        t(3),
    )
    .unwrap();
    s.handle_agent_end(A, t(5)).unwrap();
    drain(&mut s);
    drain_audit(&mut s);
    let before = format!(
        "{:?}",
        (
            s.state(),
            s.agents().collect::<Vec<_>>(),
            s.controller(),
            s.end_reason()
        )
    );
    let now = t(10);
    let refused = [
        s.handle_agent_join(AgentJoin::verified(C), now),
        s.handle_agent_reconnect(A, now),
        s.handle_agent_disconnect(A, now),
        s.handle_agent_leave(A, now),
        s.handle_customer_accept_invite(now),
        s.handle_customer_decline_invite(now),
        s.handle_control_request(A, now),
        s.handle_control_approve(A, now),
        s.handle_control_decline(A, now),
        s.handle_agent_return_control(A, now),
        s.handle_customer_revoke_control(now),
        s.handle_customer_stop_sharing(now),
        s.handle_customer_start_sharing(now),
        s.handle_customer_navigate("https://example.com/", now),
        s.handle_customer_frame(now),
        s.handle_customer_pointer(Point::default(), now),
        s.handle_customer_activity(now),
        s.handle_customer_disconnect(now),
        s.handle_customer_reconnect(now),
        s.handle_chat(Participant::Customer, "hello?", now),
        s.handle_chat(Participant::Agent(A), "hello?", now),
        s.handle_shared_link(A, "https://example.com/doc.pdf", now),
        s.handle_customer_end(now),
        s.handle_agent_end(A, now),
        s.handle_backend_end(now),
        s.handle_customer_side_denial(
            Denied::of(A, &click(BUTTON), DenyReason::ElementDisabled),
            now,
        ),
    ];
    for result in refused {
        assert_eq!(
            result,
            Err(SessionError::SessionEnded(EndReason::AgentEnded(A)))
        );
    }
    for kind_action in [
        AgentAction::Pointer {
            at: Point::default(),
        },
        click(BUTTON),
        input("x"),
    ] {
        let denied = s
            .handle_agent_action(A, kind_action, TargetFacts::PLAIN, now)
            .unwrap_err();
        assert_eq!(denied.reason, DenyReason::SessionEnded);
    }
    s.handle_timeout(t(u64::MAX));
    assert!(drain(&mut s).is_empty());
    assert!(drain_audit(&mut s).is_empty());
    assert_eq!(s.poll_timeout(), None);
    let after = format!(
        "{:?}",
        (
            s.state(),
            s.agents().collect::<Vec<_>>(),
            s.controller(),
            s.end_reason()
        )
    );
    assert_eq!(before, after);
    assert_eq!(s.highlights().count(), 0);
}

#[test]
fn inactivity_timeout_ends_session() {
    let mut s = active(SessionPolicy::default());
    let deadline = t(30 * 60 * 1000);
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(t(deadline.0 - 1));
    assert_eq!(s.state(), SessionState::Active);
    s.handle_timeout(deadline);
    assert_eq!(s.end_reason(), Some(EndReason::InactivityTimeout));
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::Ended {
            reason: EndReason::InactivityTimeout
        }
    ));
    let ended =
        std::iter::from_fn(|| s.poll_event()).find(|e| matches!(e.kind, AuditKind::Ended { .. }));
    assert_eq!(
        ended.map(|e| e.at),
        Some(deadline),
        "audited at the deadline"
    );
}

#[test]
fn inactivity_timeout_applies_while_waiting_for_an_agent() {
    let mut s = Session::new(
        sid(),
        SessionPolicy {
            inactivity_timeout: Some(secs(60)),
            ..SessionPolicy::default()
        },
        t(0),
    );
    s.handle_timeout(t(60_000));
    assert_eq!(s.end_reason(), Some(EndReason::InactivityTimeout));
}

#[test]
fn a_waiting_session_ends_when_no_agent_joins_within_the_join_window() {
    let mut s = Session::new(sid(), SessionPolicy::default(), t(0));
    drain(&mut s);
    let window = t(10 * 60 * 1000);
    assert_eq!(
        s.poll_timeout(),
        Some(window),
        "the join window comes first"
    );
    // Customer activity does not extend it: the ID is worth guessing only so long.
    s.handle_customer_activity(t(60_000)).unwrap();
    s.handle_timeout(t(window.0 - 1));
    assert_eq!(s.state(), SessionState::Waiting);
    s.handle_timeout(window);
    assert_eq!(s.end_reason(), Some(EndReason::NoAgentJoined));
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::Ended {
            reason: EndReason::NoAgentJoined
        }
    ));
    assert_eq!(
        s.handle_agent_join(AgentJoin::verified(A), t(window.0 + 1)),
        Err(SessionError::SessionEnded(EndReason::NoAgentJoined))
    );
}

#[test]
fn the_join_window_stops_counting_once_an_agent_joined() {
    let mut s = Session::new(sid(), SessionPolicy::default(), t(0));
    s.handle_agent_join(AgentJoin::verified(A), t(9 * 60 * 1000))
        .unwrap();
    s.handle_timeout(t(11 * 60 * 1000));
    assert_eq!(s.state(), SessionState::Active);
    // The last agent leaving starts the grace period, never the join window again.
    s.handle_agent_leave(A, t(12 * 60 * 1000)).unwrap();
    assert_eq!(s.poll_timeout(), Some(t(14 * 60 * 1000)));
}

#[test]
fn no_join_window_when_the_policy_has_none() {
    let s = Session::new(
        sid(),
        SessionPolicy {
            join_window: None,
            ..SessionPolicy::default()
        },
        t(0),
    );
    assert_eq!(s.poll_timeout(), Some(t(30 * 60 * 1000)), "inactivity only");
}

#[test]
fn activity_postpones_the_inactivity_timeout_but_page_frames_do_not() {
    let policy = SessionPolicy {
        inactivity_timeout: Some(secs(60)),
        ..SessionPolicy::default()
    };
    let mut s = active(policy);
    s.handle_agent_action(
        A,
        AgentAction::Pointer {
            at: Point::new(3, 3),
        },
        TargetFacts::MISSING,
        t(50_000),
    )
    .unwrap();
    assert_eq!(s.poll_timeout(), Some(t(110_000)));
    for ms in (60_000..110_000).step_by(5_000) {
        s.handle_customer_frame(t(ms)).unwrap();
    }
    assert_eq!(s.poll_timeout(), Some(t(110_000)));
    s.handle_customer_activity(t(106_000)).unwrap();
    assert_eq!(s.poll_timeout(), Some(t(166_000)));
    // Refused events are not activity.
    let _ = s.handle_agent_action(A, input("x"), field(), t(150_000));
    assert_eq!(s.poll_timeout(), Some(t(166_000)));
}

#[test]
fn no_inactivity_timeout_when_the_policy_has_none() {
    let mut s = active(SessionPolicy {
        inactivity_timeout: None,
        ..SessionPolicy::default()
    });
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(t(u64::MAX));
    assert_eq!(s.state(), SessionState::Active);
}

#[test]
fn agent_grace_period_ends_session_when_agent_does_not_return() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_leave(A, t(1_000)).unwrap();
    assert_eq!(s.participants(), 1);
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::AgentLeft {
            agent: A,
            participants: 1,
            reason: LeaveReason::Left
        }
    ));
    assert_eq!(
        s.state(),
        SessionState::Active,
        "the session waits for the grace period"
    );
    let deadline = t(1_000 + 120_000);
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(deadline);
    assert_eq!(s.end_reason(), Some(EndReason::NoAgentReturned));
}

#[test]
fn a_disconnected_agent_who_does_not_return_is_removed_and_the_session_ends() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_disconnect(A, t(1_000)).unwrap();
    assert_eq!(s.participants(), 2, "a disconnected agent keeps its place");
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::AgentConnection {
            agent: A,
            connected: false
        }
    ));
    s.handle_timeout(t(121_000));
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::AgentLeft {
            agent: A,
            participants: 1,
            reason: LeaveReason::DidNotReturn
        }
    ));
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::Ended {
            reason: EndReason::NoAgentReturned
        }
    ));
}

#[test]
fn agent_reconnecting_within_grace_keeps_session() {
    let mut s = controlled(SessionPolicy::default());
    s.handle_agent_disconnect(A, t(1_000)).unwrap();
    assert_eq!(s.controller(), None, "a disconnected agent loses control");
    drain(&mut s);
    s.handle_agent_reconnect(A, t(120_999)).unwrap();
    assert_eq!(s.state(), SessionState::Active);
    assert_eq!(s.agent_mode(A), Some(AgentMode::Pointer));
    let out = drain(&mut s);
    assert!(
        out.iter()
            .any(|o| o.to == Recipient::Agent(A) && matches!(o.msg, SessionMessage::Welcome(_)))
    );
    assert!(has(
        &out,
        Recipient::Customer,
        &SessionMessage::KeyframeNeeded
    ));
    s.handle_timeout(t(500_000));
    assert_eq!(s.state(), SessionState::Active);
    assert_eq!(s.participants(), 2);
}

#[test]
fn rejoining_with_the_same_id_within_grace_is_a_reconnect() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_disconnect(A, t(1_000)).unwrap();
    s.handle_agent_join(AgentJoin::verified(A), t(2_000))
        .unwrap();
    assert_eq!(s.participants(), 2);
    assert!(drain_audit(&mut s).contains(&AuditKind::AgentReconnected { agent: A }));
}

#[test]
fn reconnecting_at_the_grace_deadline_is_too_late() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_disconnect(A, t(1_000)).unwrap();
    // The caller did not fire the timer: the event at the deadline fires it first.
    let result = s.handle_agent_reconnect(A, t(121_000));
    assert_eq!(
        result,
        Err(SessionError::SessionEnded(EndReason::NoAgentReturned))
    );
}

#[test]
fn another_agent_joining_within_grace_keeps_the_session() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_leave(A, t(1_000)).unwrap();
    s.handle_agent_join(AgentJoin::verified(B), t(60_000))
        .unwrap();
    s.handle_timeout(t(200_000));
    assert_eq!(s.state(), SessionState::Active);
    assert_eq!(s.participants(), 2);
}

#[test]
fn other_agents_keep_the_session_when_one_leaves() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_join(AgentJoin::verified(B), t(1)).unwrap();
    s.handle_agent_leave(A, t(2)).unwrap();
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::AgentLeft {
            agent: A,
            participants: 2,
            reason: LeaveReason::Left
        }
    ));
    assert_eq!(
        s.poll_timeout(),
        Some(t(30 * 60 * 1000 + 1)),
        "only the inactivity timer"
    );
}

#[test]
fn time_never_goes_backwards() {
    let mut s = active(SessionPolicy::default());
    s.handle_customer_activity(t(10_000)).unwrap();
    s.handle_agent_leave(A, t(5_000)).unwrap();
    assert_eq!(s.now(), t(10_000));
    assert_eq!(s.poll_timeout(), Some(t(10_000 + 120_000)));
}

// ---------------------------------------------------------------------------------------------
// Invitations.

#[test]
fn invites_are_refused_unless_policy_allows() {
    let refused = Session::invite(
        sid(),
        SessionPolicy::default(),
        AgentJoin::verified(A),
        t(0),
    );
    assert_eq!(refused.unwrap_err(), SessionError::InvitesNotAllowed);
    let policy = SessionPolicy {
        agent_invites_allowed: true,
        ..SessionPolicy::default()
    };
    let anonymous = AgentJoin {
        authenticated: false,
        ..AgentJoin::verified(A)
    };
    assert_eq!(
        Session::invite(sid(), policy.clone(), anonymous, t(0)).unwrap_err(),
        SessionError::NotAuthenticated(A)
    );
    let mut s = Session::invite(sid(), policy, AgentJoin::verified(A), t(0)).unwrap();
    assert_eq!(s.state(), SessionState::Invited);
    assert!(has(
        &drain(&mut s),
        Recipient::Customer,
        &SessionMessage::Invitation {
            session: sid(),
            from: A
        }
    ));
    assert_eq!(
        drain_audit(&mut s),
        vec![AuditKind::Created {
            by: Participant::Agent(A)
        }]
    );
}

#[test]
fn nothing_is_shared_until_the_customer_accepts_the_invite() {
    let policy = SessionPolicy {
        agent_invites_allowed: true,
        ..SessionPolicy::default()
    };
    let mut s = Session::invite(sid(), policy, AgentJoin::verified(A), t(0)).unwrap();
    s.handle_customer_navigate("https://shop.test/", t(1))
        .unwrap();
    drain(&mut s);
    assert!(!s.forwards_frames());
    assert_eq!(
        s.handle_customer_frame(t(2)),
        Err(SessionError::NotForwarding {
            state: SessionState::Invited
        })
    );
    let denied = s
        .handle_agent_action(
            A,
            AgentAction::Pointer {
                at: Point::default(),
            },
            TargetFacts::MISSING,
            t(3),
        )
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::NotStarted);
    assert_eq!(
        s.handle_control_request(A, t(4)),
        Err(SessionError::InvitationPending)
    );
    assert_eq!(
        s.handle_agent_join(AgentJoin::verified(B), t(5)),
        Err(SessionError::InvitationPending)
    );
    assert!(!drain(&mut s).iter().any(|o| matches!(
        o.msg,
        SessionMessage::PageChanged { .. } | SessionMessage::Welcome(_)
    )));
    // Chat works: the invitation comes from chat.
    s.handle_chat(Participant::Customer, "what do I do?", t(6))
        .unwrap();
    s.handle_customer_accept_invite(t(10)).unwrap();
    assert_eq!(s.state(), SessionState::Active);
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::AgentJoined {
            agent: A,
            participants: 2
        }
    ));
    assert!(has(
        &out,
        Recipient::Customer,
        &SessionMessage::KeyframeNeeded
    ));
    assert!(drain_audit(&mut s).contains(&AuditKind::InviteAccepted));
    assert_eq!(
        s.handle_customer_accept_invite(t(11)),
        Err(SessionError::NotInvited)
    );
}

#[test]
fn declining_an_invite_ends_the_session() {
    let policy = SessionPolicy {
        agent_invites_allowed: true,
        ..SessionPolicy::default()
    };
    let mut s = Session::invite(sid(), policy, AgentJoin::verified(A), t(0)).unwrap();
    s.handle_customer_decline_invite(t(5)).unwrap();
    assert_eq!(s.end_reason(), Some(EndReason::InviteDeclined));
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::Ended {
            reason: EndReason::InviteDeclined
        }
    ));
}

#[test]
fn the_inviter_leaving_withdraws_the_invite() {
    let policy = SessionPolicy {
        agent_invites_allowed: true,
        ..SessionPolicy::default()
    };
    let mut s = Session::invite(sid(), policy, AgentJoin::verified(A), t(0)).unwrap();
    s.handle_agent_leave(A, t(5)).unwrap();
    assert_eq!(s.end_reason(), Some(EndReason::InviteWithdrawn));
}

#[test]
fn customer_invite_answers_need_an_invitation() {
    let mut s = active(SessionPolicy::default());
    assert_eq!(
        s.handle_customer_accept_invite(t(1)),
        Err(SessionError::NotInvited)
    );
    assert_eq!(
        s.handle_customer_decline_invite(t(1)),
        Err(SessionError::NotInvited)
    );
    assert_eq!(s.state(), SessionState::Active);
}

// ---------------------------------------------------------------------------------------------
// Control.

#[test]
fn agents_start_in_pointer_mode() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_join(AgentJoin::verified(B), t(1)).unwrap();
    assert_eq!(s.agent_mode(A), Some(AgentMode::Pointer));
    assert_eq!(s.agent_mode(B), Some(AgentMode::Pointer));
    assert_eq!(s.controller(), None);
}

#[test]
fn control_requests_are_refused_outright_under_a_no_control_ceiling() {
    let mut s = active(view_only());
    assert_eq!(
        s.handle_control_request(A, t(1)),
        Err(SessionError::ControlNotPermitted)
    );
    assert_eq!(s.pending_control_request(), None);
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Agent(A),
        &SessionMessage::Refused(SessionError::ControlNotPermitted)
    ));
    assert!(!out.iter().any(|o| o.to == Recipient::Customer));
}

#[test]
fn the_customer_approves_a_control_request() {
    let mut s = active(SessionPolicy::default());
    s.handle_control_request(A, t(1)).unwrap();
    assert_eq!(s.pending_control_request(), Some(A));
    assert!(has(
        &drain(&mut s),
        Recipient::Customer,
        &SessionMessage::ControlRequested { agent: A }
    ));
    s.handle_control_approve(A, t(2)).unwrap();
    assert_eq!(s.controller(), Some(A));
    assert_eq!(s.agent_mode(A), Some(AgentMode::Control));
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Agent(A),
        &SessionMessage::ControlApproved { agent: A }
    ));
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::ModeChanged {
            agent: A,
            mode: AgentMode::Control
        }
    ));
    let audit = drain_audit(&mut s);
    assert!(audit.contains(&AuditKind::ControlRequested { agent: A }));
    assert!(audit.contains(&AuditKind::ControlGranted { agent: A }));
    assert!(audit.contains(&AuditKind::ModeChanged {
        agent: A,
        mode: AgentMode::Control
    }));
}

#[test]
fn the_customer_declines_a_control_request() {
    let mut s = active(SessionPolicy::default());
    s.handle_control_request(A, t(1)).unwrap();
    s.handle_control_decline(A, t(2)).unwrap();
    assert_eq!(s.controller(), None);
    assert_eq!(s.pending_control_request(), None);
    assert!(has(
        &drain(&mut s),
        Recipient::Agent(A),
        &SessionMessage::ControlDeclined { agent: A }
    ));
    assert!(drain_audit(&mut s).contains(&AuditKind::ControlDeclined { agent: A }));
    assert_eq!(
        s.handle_control_approve(A, t(3)),
        Err(SessionError::NoControlRequest)
    );
}

#[test]
fn one_agent_holds_control_at_a_time() {
    let mut s = controlled(SessionPolicy::default());
    s.handle_agent_join(AgentJoin::verified(B), t(3)).unwrap();
    s.handle_agent_join(AgentJoin::verified(C), t(3)).unwrap();
    drain(&mut s);
    assert_eq!(
        s.handle_control_request(B, t(4)),
        Err(SessionError::ControlHeldByOther { holder: A })
    );
    assert!(has(
        &drain(&mut s),
        Recipient::Agent(B),
        &SessionMessage::Refused(SessionError::ControlHeldByOther { holder: A })
    ));
    assert_eq!(
        s.handle_control_request(A, t(4)),
        Err(SessionError::AlreadyInControl)
    );
    assert_eq!(
        s.handle_control_approve(B, t(5)),
        Err(SessionError::NoControlRequest)
    );
    assert_eq!(s.controller(), Some(A));
    // Once A returns, one request at a time awaits the customer.
    s.handle_agent_return_control(A, t(6)).unwrap();
    s.handle_control_request(B, t(7)).unwrap();
    assert_eq!(
        s.handle_control_request(C, t(8)),
        Err(SessionError::ControlRequestPending { by: B })
    );
    assert_eq!(
        s.handle_control_approve(C, t(9)),
        Err(SessionError::NoControlRequest)
    );
    s.handle_control_approve(B, t(10)).unwrap();
    assert_eq!(s.controller(), Some(B));
    assert_eq!(s.agent_mode(A), Some(AgentMode::Pointer));
    // A in pointer mode cannot act as if in control.
    let denied = s.handle_agent_action(
        A,
        AgentAction::Scroll {
            target: None,
            to: Point::new(0, 9),
        },
        TargetFacts::MISSING,
        t(11),
    );
    assert_eq!(denied.unwrap_err().reason, DenyReason::NotInControl);
}

#[test]
fn the_agent_returns_to_pointer_mode_at_any_time() {
    let mut s = controlled(SessionPolicy::default());
    s.handle_agent_return_control(A, t(5)).unwrap();
    assert_eq!(s.agent_mode(A), Some(AgentMode::Pointer));
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Customer,
        &SessionMessage::ControlReturned { agent: A }
    ));
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::ModeChanged {
            agent: A,
            mode: AgentMode::Pointer
        }
    ));
    assert!(drain_audit(&mut s).contains(&AuditKind::ControlReturned { agent: A }));
    assert_eq!(
        s.handle_agent_return_control(A, t(6)),
        Err(SessionError::NotInControl)
    );
    // Returning also withdraws a pending request.
    s.handle_control_request(A, t(7)).unwrap();
    s.handle_agent_return_control(A, t(8)).unwrap();
    assert_eq!(s.pending_control_request(), None);
    assert!(has(
        &drain(&mut s),
        Recipient::Customer,
        &SessionMessage::ControlRequestWithdrawn { agent: A }
    ));
}

#[test]
fn the_customer_can_revoke_control() {
    let mut s = controlled(SessionPolicy::default());
    s.handle_customer_revoke_control(t(5)).unwrap();
    assert_eq!(s.controller(), None);
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Agent(A),
        &SessionMessage::ControlRevoked { agent: A }
    ));
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::ModeChanged {
            agent: A,
            mode: AgentMode::Pointer
        }
    ));
    assert!(drain_audit(&mut s).contains(&AuditKind::ControlRevoked { agent: A }));
    assert_eq!(
        s.handle_customer_revoke_control(t(6)),
        Err(SessionError::NoAgentInControl)
    );
    let denied = s
        .handle_agent_action(A, click(BUTTON), TargetFacts::PLAIN, t(7))
        .unwrap();
    assert_eq!(denied, AllowedAction::ShowRipple, "back in pointer mode");
}

#[test]
fn an_agent_who_leaves_or_disconnects_loses_control() {
    let mut s = controlled(SessionPolicy::default());
    s.handle_agent_join(AgentJoin::verified(B), t(3)).unwrap();
    s.handle_agent_leave(A, t(4)).unwrap();
    assert_eq!(s.controller(), None);
    assert!(drain_audit(&mut s).contains(&AuditKind::ControlLost {
        agent: A,
        reason: ControlLossReason::AgentLeft
    }));
    s.handle_control_request(B, t(5)).unwrap();
    s.handle_agent_disconnect(B, t(6)).unwrap();
    assert_eq!(
        s.pending_control_request(),
        None,
        "a pending request goes too"
    );
    assert!(has(
        &drain(&mut s),
        Recipient::Customer,
        &SessionMessage::ControlRequestWithdrawn { agent: B }
    ));
    assert_eq!(
        s.handle_control_approve(B, t(7)),
        Err(SessionError::NoControlRequest)
    );
}

#[test]
fn disconnected_or_absent_agents_cannot_ask_for_control() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_disconnect(A, t(1)).unwrap();
    assert_eq!(
        s.handle_control_request(A, t(2)),
        Err(SessionError::AgentDisconnected(A))
    );
    assert_eq!(
        s.handle_control_request(B, t(2)),
        Err(SessionError::NotAParticipant(B))
    );
    assert!(
        !drain(&mut s)
            .iter()
            .any(|o| matches!(o.to, Recipient::Agent(_)))
    );
}

// ---------------------------------------------------------------------------------------------
// Permissions.

#[test]
fn pointer_and_highlight_work_whatever_the_mode() {
    for policy in [SessionPolicy::default(), partial(), view_only()] {
        let mut s = active(policy);
        let pointer = AgentAction::Pointer {
            at: Point::new(5, 6),
        };
        assert_eq!(
            s.handle_agent_action(A, pointer, TargetFacts::MISSING, t(1)),
            Ok(AllowedAction::ShowPointer)
        );
        let highlight = AgentAction::Highlight { target: BUTTON };
        assert_eq!(
            s.handle_agent_action(A, highlight, submit_button(), t(2)),
            Ok(AllowedAction::Highlight)
        );
        let out = drain(&mut s);
        assert!(has(
            &out,
            Recipient::Customer,
            &SessionMessage::AgentPointer {
                agent: A,
                at: Point::new(5, 6)
            }
        ));
        assert!(out.iter().any(|o| o.to == Recipient::Everyone
            && matches!(o.msg, SessionMessage::HighlightAdded(h) if h.target == BUTTON)));
    }
}

#[test]
fn a_pointer_mode_click_shows_a_ripple_and_clicks_nothing() {
    let mut s = active(SessionPolicy::default());
    assert_eq!(
        s.handle_agent_action(A, click(BUTTON), submit_button(), t(1)),
        Ok(AllowedAction::ShowRipple)
    );
    let out = drain(&mut s);
    assert_eq!(
        out,
        vec![Outgoing {
            to: Recipient::Customer,
            msg: SessionMessage::ClickRipple {
                agent: A,
                at: Point::new(10, 20)
            }
        }]
    );
}

#[test]
fn actions_needing_control_are_refused_in_pointer_mode() {
    let mut s = active(SessionPolicy::default());
    let actions = [
        AgentAction::Scroll {
            target: None,
            to: Point::new(0, 100),
        },
        input("hello"),
        AgentAction::Navigate(Navigation::Reload),
        AgentAction::Submit { target: BUTTON },
    ];
    for action in actions {
        let denied = s.handle_agent_action(A, action, field(), t(1)).unwrap_err();
        assert_eq!(denied.reason, DenyReason::NotInControl);
    }
}

#[test]
fn full_control_replays_clicks_scrolls_input_navigation_and_enabled_submits() {
    let mut s = controlled(SessionPolicy::default());
    let enabled_submit = TargetFacts {
        disabled_for_agent: false,
        ..submit_button()
    };
    let cases = [
        (click(BUTTON), TargetFacts::PLAIN),
        (
            AgentAction::Scroll {
                target: Some(FIELD),
                to: Point::new(0, 50),
            },
            TargetFacts::PLAIN,
        ),
        (input("Jane"), field()),
        (
            AgentAction::Navigate(Navigation::Url("https://shop.test/help".into())),
            TargetFacts::MISSING,
        ),
        (
            AgentAction::Navigate(Navigation::Back),
            TargetFacts::MISSING,
        ),
        (AgentAction::Submit { target: BUTTON }, enabled_submit),
    ];
    for (action, facts) in cases {
        let (kind, target) = (action.kind(), action.target());
        assert_eq!(
            s.handle_agent_action(A, action.clone(), facts, t(5)),
            Ok(AllowedAction::Replay(kind))
        );
        assert!(has(
            &drain(&mut s),
            Recipient::Customer,
            &SessionMessage::Replay { agent: A, action }
        ));
        assert!(drain_audit(&mut s).contains(&AuditKind::ActionAllowed {
            agent: A,
            kind,
            target
        }));
    }
}

#[test]
fn partial_control_forbids_form_input_with_the_spec_message() {
    let mut s = controlled(partial());
    let denied = s
        .handle_agent_action(A, input("Jane"), field(), t(5))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::FormsNotEditable);
    assert_eq!(
        denied.reason.to_string(),
        "Forms cannot be edited on the agent side"
    );
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Agent(A),
        &SessionMessage::Denied(denied)
    ));
    assert!(
        !out.iter()
            .any(|o| matches!(o.msg, SessionMessage::Replay { .. }))
    );
    // Clicking a form control and submitting are form editing too.
    let denied = s
        .handle_agent_action(A, click(FIELD), field(), t(6))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::FormsNotEditable);
    let enabled_submit = TargetFacts {
        disabled_for_agent: false,
        ..submit_button()
    };
    let denied = s
        .handle_agent_action(
            A,
            AgentAction::Submit { target: BUTTON },
            enabled_submit,
            t(7),
        )
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::FormsNotEditable);
}

#[test]
fn partial_control_navigates_clicks_and_scrolls() {
    let mut s = controlled(partial());
    assert!(
        s.handle_agent_action(A, click(BUTTON), TargetFacts::PLAIN, t(5))
            .is_ok()
    );
    assert!(
        s.handle_agent_action(
            A,
            AgentAction::Scroll {
                target: None,
                to: Point::new(0, 1)
            },
            TargetFacts::MISSING,
            t(5)
        )
        .is_ok()
    );
    let go = AgentAction::Navigate(Navigation::Url("https://shop.test/".into()));
    assert_eq!(
        s.handle_agent_action(A, go, TargetFacts::MISSING, t(5)),
        Ok(AllowedAction::Replay(ActionKind::Navigate))
    );
}

#[test]
fn no_control_ceiling_is_view_only_but_agents_still_point_and_highlight() {
    let mut s = active(view_only());
    assert_eq!(
        s.handle_agent_action(A, click(BUTTON), TargetFacts::PLAIN, t(1)),
        Ok(AllowedAction::ShowRipple)
    );
    let denied = s
        .handle_agent_action(
            A,
            AgentAction::Navigate(Navigation::Reload),
            TargetFacts::MISSING,
            t(2),
        )
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::ControlNotPermitted);
    assert!(
        s.handle_agent_action(A, AgentAction::Highlight { target: FIELD }, field(), t(3))
            .is_ok()
    );
}

#[test]
fn submit_on_disabled_button_is_refused() {
    let mut s = controlled(SessionPolicy::default());
    let denied = s
        .handle_agent_action(
            A,
            AgentAction::Submit { target: BUTTON },
            submit_button(),
            t(5),
        )
        .unwrap_err();
    assert_eq!(
        denied,
        Denied {
            agent: A,
            kind: ActionKind::Submit,
            target: Some(BUTTON),
            reason: DenyReason::ElementDisabled
        }
    );
    let denied = s
        .handle_agent_action(A, click(BUTTON), submit_button(), t(6))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::ElementDisabled);
}

#[test]
fn clicking_a_disabled_element_does_nothing() {
    let mut s = controlled(SessionPolicy::default());
    let disabled_link = TargetFacts {
        disabled_for_agent: true,
        ..TargetFacts::PLAIN
    };
    let denied = s
        .handle_agent_action(A, click(BUTTON), disabled_link, t(5))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::ElementDisabled);
    let out = drain(&mut s);
    assert!(!out.iter().any(|o| matches!(
        o.msg,
        SessionMessage::Replay { .. } | SessionMessage::ClickRipple { .. }
    )));
}

#[test]
fn input_into_a_masked_field_is_refused() {
    let mut s = controlled(SessionPolicy::default());
    let masked = TargetFacts {
        masked: true,
        ..field()
    };
    let denied = s
        .handle_agent_action(A, input("123-45-6789"), masked, t(5))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::MaskedField);
}

#[test]
fn agent_navigation_must_stay_inside_allowed_domains_and_be_web() {
    let mut s = controlled(shop_policy());
    let go = |u: &str| AgentAction::Navigate(Navigation::Url(u.into()));
    assert!(
        s.handle_agent_action(
            A,
            go("https://example.com/help"),
            TargetFacts::MISSING,
            t(5)
        )
        .is_ok()
    );
    let outside = s
        .handle_agent_action(A, go("https://phish.test/"), TargetFacts::MISSING, t(6))
        .unwrap_err();
    assert_eq!(outside.reason, DenyReason::OutsideAllowedDomains);
    let script = s
        .handle_agent_action(
            A,
            go("javascript:alert(document.cookie)"),
            TargetFacts::MISSING,
            t(7),
        )
        .unwrap_err();
    assert_eq!(script.reason, DenyReason::UnsafeUrl(UrlError::NotWeb));
}

#[test]
fn denials_are_reported_to_the_agent_and_audited() {
    let mut s = active(SessionPolicy::default());
    let denied = s
        .handle_agent_action(
            A,
            AgentAction::Submit { target: BUTTON },
            submit_button(),
            t(5),
        )
        .unwrap_err();
    assert!(has(
        &drain(&mut s),
        Recipient::Agent(A),
        &SessionMessage::Denied(denied)
    ));
    assert_eq!(drain_audit(&mut s), vec![AuditKind::ActionDenied(denied)]);
}

#[test]
fn actions_of_agents_not_in_the_session_are_denied_and_audited_but_not_answered() {
    let mut s = active(SessionPolicy::default());
    let denied = s
        .handle_agent_action(B, click(BUTTON), TargetFacts::PLAIN, t(5))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::NotAParticipant);
    assert!(drain(&mut s).is_empty());
    assert_eq!(drain_audit(&mut s), vec![AuditKind::ActionDenied(denied)]);
    s.handle_agent_disconnect(A, t(6)).unwrap();
    drain(&mut s);
    let denied = s
        .handle_agent_action(A, click(BUTTON), TargetFacts::PLAIN, t(7))
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::AgentDisconnected);
    assert!(drain(&mut s).is_empty());
}

#[test]
fn typed_text_never_reaches_audit_errors_or_debug_output() {
    const SECRET: &str = "hunter2-4111111111111111";
    let mut s = controlled(SessionPolicy::default());
    s.handle_agent_action(A, input(SECRET), field(), t(5))
        .unwrap();
    let masked = TargetFacts {
        masked: true,
        ..field()
    };
    let denied = s
        .handle_agent_action(A, input(SECRET), masked, t(6))
        .unwrap_err();
    let session_debug = format!("{s:?}");
    let out = drain(&mut s);
    let audit: Vec<AuditEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(audit.iter().any(|e| e.kind
        == AuditKind::ActionAllowed {
            agent: A,
            kind: ActionKind::Input,
            target: Some(FIELD)
        }));
    for shown in [
        format!("{out:?}"),
        format!("{audit:?}"),
        format!("{denied:?} {denied}"),
        session_debug,
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
    }
    // The customer side still gets the text to replay it.
    let replayed = out.iter().find_map(|o| match &o.msg {
        SessionMessage::Replay {
            action: AgentAction::Input { text, .. },
            ..
        } => Some(text.as_str().to_owned()),
        _ => None,
    });
    assert_eq!(replayed.as_deref(), Some(SECRET));
}

#[test]
fn the_customer_side_recheck_catches_what_the_relay_allowed() {
    // Same inputs on both sides; the relay's mirror still shows the button enabled, the real
    // page has disabled it since.
    let mut relay = controlled(SessionPolicy::default());
    let customer_side = relay.clone();
    let action = click(BUTTON);
    assert!(
        relay
            .handle_agent_action(A, action.clone(), TargetFacts::PLAIN, t(10))
            .is_ok()
    );
    drain(&mut relay);
    let real = TargetFacts {
        disabled_for_agent: true,
        ..TargetFacts::PLAIN
    };
    let denied = customer_side
        .check_agent_action(A, &action, &real)
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::ElementDisabled);
    relay.handle_customer_side_denial(denied, t(11)).unwrap();
    assert!(has(
        &drain(&mut relay),
        Recipient::Agent(A),
        &SessionMessage::Denied(denied)
    ));
    assert!(drain_audit(&mut relay).contains(&AuditKind::ActionDenied(denied)));
}

// ---------------------------------------------------------------------------------------------
// Highlights.

#[test]
fn highlights_fade_after_their_lifetime() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_action(
        A,
        AgentAction::Highlight { target: FIELD },
        field(),
        t(1_000),
    )
    .unwrap();
    let h = *s.highlights().next().unwrap();
    assert_eq!(h.expires_at, t(181_000));
    assert_eq!(s.poll_timeout(), Some(t(181_000)));
    drain(&mut s);
    s.handle_timeout(t(181_000));
    assert_eq!(s.highlights().count(), 0);
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::HighlightCleared {
            id: h.id,
            reason: HighlightClearReason::Expired
        }
    ));
}

#[test]
fn the_agent_clears_its_highlights() {
    let mut s = active(SessionPolicy::default());
    s.handle_agent_join(AgentJoin::verified(B), t(1)).unwrap();
    s.handle_agent_action(A, AgentAction::Highlight { target: FIELD }, field(), t(2))
        .unwrap();
    s.handle_agent_action(B, AgentAction::Highlight { target: BUTTON }, field(), t(3))
        .unwrap();
    drain(&mut s);
    assert_eq!(
        s.handle_agent_action(A, AgentAction::ClearHighlights, TargetFacts::MISSING, t(4)),
        Ok(AllowedAction::ClearHighlights)
    );
    let left: Vec<_> = s.highlights().map(|h| h.agent).collect();
    assert_eq!(left, vec![B]);
    assert!(drain(&mut s).iter().any(|o| matches!(
        o.msg,
        SessionMessage::HighlightCleared {
            reason: HighlightClearReason::ClearedByAgent,
            ..
        }
    )));
}

#[test]
fn customer_navigation_clears_highlights() {
    let mut s = active(SessionPolicy::default());
    for i in 0..3 {
        s.handle_agent_action(
            A,
            AgentAction::Highlight {
                target: WireId(i + 1),
            },
            field(),
            t(2),
        )
        .unwrap();
    }
    drain(&mut s);
    s.handle_customer_navigate("https://shop.test/next", t(3))
        .unwrap();
    assert_eq!(s.highlights().count(), 0);
    let cleared = drain(&mut s)
        .into_iter()
        .filter(|o| {
            matches!(
                o.msg,
                SessionMessage::HighlightCleared {
                    reason: HighlightClearReason::PageLeft,
                    ..
                }
            )
        })
        .count();
    assert_eq!(cleared, 3);
}

#[test]
fn highlights_beyond_the_limit_fade_the_oldest() {
    let mut s = active(SessionPolicy {
        max_highlights: 2,
        ..SessionPolicy::default()
    });
    for i in 0..3 {
        s.handle_agent_action(
            A,
            AgentAction::Highlight {
                target: WireId(i + 1),
            },
            field(),
            t(2 + u64::from(i)),
        )
        .unwrap();
    }
    let targets: Vec<_> = s.highlights().map(|h| h.target).collect();
    assert_eq!(targets, vec![WireId(2), WireId(3)]);
    assert!(drain(&mut s).iter().any(|o| matches!(
        o.msg,
        SessionMessage::HighlightCleared {
            reason: HighlightClearReason::Evicted,
            ..
        }
    )));
}

#[test]
fn highlighting_a_missing_element_is_refused() {
    let mut s = active(SessionPolicy::default());
    let denied = s
        .handle_agent_action(
            A,
            AgentAction::Highlight { target: FIELD },
            TargetFacts::MISSING,
            t(1),
        )
        .unwrap_err();
    assert_eq!(denied.reason, DenyReason::TargetMissing);
    assert_eq!(s.highlights().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Side channel.

#[test]
fn chat_passes_through_to_everyone_even_while_paused() {
    let mut s = active(SessionPolicy::default());
    s.handle_customer_stop_sharing(t(1)).unwrap();
    drain(&mut s);
    s.handle_chat(Participant::Customer, "one moment", t(2))
        .unwrap();
    s.handle_chat(Participant::Agent(A), "sure", t(3)).unwrap();
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::Chat {
            from: Participant::Customer,
            text: "one moment".into()
        }
    ));
    assert!(has(
        &out,
        Recipient::Everyone,
        &SessionMessage::Chat {
            from: Participant::Agent(A),
            text: "sure".into()
        }
    ));
}

#[test]
fn chat_refuses_empty_too_long_and_strangers_messages() {
    let mut s = active(SessionPolicy {
        max_chat_chars: 5,
        ..SessionPolicy::default()
    });
    assert_eq!(
        s.handle_chat(Participant::Customer, "  ", t(1)),
        Err(SessionError::ChatEmpty)
    );
    assert_eq!(
        s.handle_chat(Participant::Agent(A), "ééééééé", t(1)),
        Err(SessionError::ChatTooLong { max_chars: 5 })
    );
    assert_eq!(
        s.handle_chat(Participant::Agent(B), "hi", t(1)),
        Err(SessionError::NotAParticipant(B))
    );
    assert!(s.handle_chat(Participant::Agent(A), "ééééé", t(1)).is_ok());
    let out = drain(&mut s);
    assert!(has(
        &out,
        Recipient::Agent(A),
        &SessionMessage::Refused(SessionError::ChatTooLong { max_chars: 5 })
    ));
}

#[test]
fn shared_links_pass_through_when_they_are_web_addresses() {
    let mut s = active(shop_policy());
    s.handle_shared_link(A, "https://docs.vendor.test/guide.pdf", t(1))
        .unwrap();
    assert!(has(
        &drain(&mut s),
        Recipient::Everyone,
        &SessionMessage::SharedLink {
            agent: A,
            url: "https://docs.vendor.test/guide.pdf".into()
        }
    ));
    assert!(drain_audit(&mut s).contains(&AuditKind::LinkShared { agent: A }));
    assert_eq!(
        s.handle_shared_link(A, "javascript:alert(1)", t(2)),
        Err(SessionError::InvalidUrl(UrlError::NotWeb))
    );
    assert_eq!(
        s.handle_shared_link(B, "https://x.test/", t(2)),
        Err(SessionError::NotAParticipant(B))
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness.

#[test]
fn extreme_timestamps_and_durations_do_not_panic() {
    let policy = SessionPolicy {
        inactivity_timeout: Some(Duration::MAX),
        join_window: Some(Duration::MAX),
        agent_grace_period: Duration::MAX,
        highlight_lifetime: Duration::ZERO,
        max_agents: 0,
        max_highlights: 0,
        ..SessionPolicy::default()
    };
    let mut s = Session::new(sid(), policy, t(u64::MAX - 5));
    assert_eq!(
        s.handle_agent_join(AgentJoin::verified(A), t(u64::MAX - 1)),
        Err(SessionError::SessionFull { max_agents: 0 })
    );
    assert_eq!(
        s.poll_timeout(),
        Some(t(u64::MAX)),
        "saturated at the end of time"
    );
    s.handle_timeout(t(u64::MAX));
    // The join window and the inactivity timeout fall due together: the first is named.
    assert_eq!(s.end_reason(), Some(EndReason::NoAgentJoined));
    let mut s = active(SessionPolicy {
        highlight_lifetime: Duration::ZERO,
        agent_grace_period: Duration::ZERO,
        ..SessionPolicy::default()
    });
    s.handle_agent_action(A, AgentAction::Highlight { target: FIELD }, field(), t(5))
        .unwrap();
    assert_eq!(s.highlights().count(), 0, "a zero lifetime fades at once");
    s.handle_agent_leave(A, t(6)).unwrap();
    assert_eq!(
        s.end_reason(),
        Some(EndReason::NoAgentReturned),
        "a zero grace period ends at once"
    );
}
