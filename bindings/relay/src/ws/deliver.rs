//! Machine output -> wire: everything the session machine says, routed to the session's
//! connections in the protocol's words, and the timer sweep that makes the machine speak.

use std::sync::Arc;
use std::time::Duration;

use cobrowse_engine::protocol::{
    self, ErrorCode, HighlightScope, Message, Mode, ResumeToken, Role,
};
use cobrowse_engine::session::{
    AgentAction, AgentId, AgentMode, Navigation, Participant, Point, Recipient, SessionMessage,
    SessionState,
};

use super::codes::CUSTOMER;
use super::keyframes::{request_customer_keyframe, send_keyframe};
use super::refusals::{error_msg, session_error};
use crate::audit::bump;
use crate::link::{CloseReason, Outbound};
use crate::state::{RelayState, SessionEntry, SessionInner};
pub(super) fn to_f32(p: Point) -> (f32, f32) {
    (p.x as f32, p.y as f32)
}

pub(super) fn to_point(x: f32, y: f32) -> Point {
    // The protocol bounds coordinates to +-2^24, well inside i32.
    Point::new(x.round() as i32, y.round() as i32)
}

pub(super) fn wire_nav(n: Navigation) -> protocol::Navigation {
    match n {
        Navigation::Url(u) => protocol::Navigation::Url(u),
        Navigation::Back => protocol::Navigation::Back,
        Navigation::Forward => protocol::Navigation::Forward,
        Navigation::Reload => protocol::Navigation::Reload,
    }
}

pub(super) fn machine_nav(n: protocol::Navigation) -> Navigation {
    match n {
        protocol::Navigation::Url(u) => Navigation::Url(u),
        protocol::Navigation::Back => Navigation::Back,
        protocol::Navigation::Forward => Navigation::Forward,
        protocol::Navigation::Reload => Navigation::Reload,
    }
}

pub(super) fn current_mode(inner: &SessionInner) -> Mode {
    match inner.machine.controller().and_then(|a| inner.wire.pid(a)) {
        Some(pid) => Mode::Control(pid),
        None => Mode::Pointer,
    }
}

pub(super) fn participants(inner: &SessionInner) -> u16 {
    u16::try_from(inner.machine.participants()).unwrap_or(u16::MAX)
}

/// Routes everything the session machine has to say to the session's connections, in the
/// protocol's words.
pub fn deliver(state: &RelayState, _entry: &SessionEntry, inner: &mut SessionInner) {
    let ceiling = inner.machine.policy().control_ceiling;
    while let Some(out) = inner.machine.poll_transmit() {
        let to = out.to;
        let pid = |inner: &SessionInner, a: AgentId| inner.wire.pid(a);
        let msg: Option<Message> = match out.msg {
            // The customer learns its session from `Joined` on connecting: `Created` (emitted
            // before any connection exists) has no wire form.
            SessionMessage::Created { .. } => None,
            // Emitted when an agent creates the session, before any customer connection:
            // the customer is shown the invitation when it connects (`customer_hello`).
            SessionMessage::Invitation { from, .. } => {
                pid(inner, from).map(|agent| Message::Invitation { agent })
            }
            SessionMessage::Welcome(w) => {
                let Recipient::Agent(agent) = to else {
                    continue;
                };
                let Some(slot) = inner.wire.agents.get(&agent) else {
                    continue;
                };
                let joined = Message::Joined {
                    session_id: w.session,
                    participant_id: slot.pid,
                    participants: u16::try_from(w.participants).unwrap_or(u16::MAX),
                    role: Role::Agent,
                    mode: current_mode(inner),
                    ceiling: w.ceiling,
                    paused: w.state == SessionState::Paused,
                    resume_token: ResumeToken(slot.resume),
                    customer: inner.wire.customer_client.clone(),
                };
                inner.links.send_msg(&to, &joined);
                // At once, the page as the relay's mirror has it (or a request to the
                // customer when the mirror has no page yet).
                send_keyframe(state, inner, to);
                None
            }
            SessionMessage::AgentJoined {
                agent,
                participants,
            } => pid(inner, agent).map(|p| Message::PeerJoined {
                participant_id: p,
                role: Role::Agent,
                participants: u16::try_from(participants).unwrap_or(u16::MAX),
            }),
            SessionMessage::AgentLeft {
                agent,
                participants,
                ..
            } => {
                let m = pid(inner, agent).map(|p| Message::Left {
                    participant_id: p,
                    participants: u16::try_from(participants).unwrap_or(u16::MAX),
                });
                inner.wire.forget(agent);
                m
            }
            SessionMessage::AgentConnection { agent, connected } => {
                pid(inner, agent).map(|p| Message::Connection {
                    participant_id: p,
                    connected,
                })
            }
            SessionMessage::CustomerConnection { connected } => Some(Message::Connection {
                participant_id: CUSTOMER,
                connected,
            }),
            // The relay serves keyframes from its mirror; it asks the customer only when the
            // mirror has no page.
            SessionMessage::KeyframeNeeded => {
                if !inner.mirror.in_sync() {
                    request_customer_keyframe(inner);
                }
                None
            }
            SessionMessage::PageChanged { url } => Some(Message::PageChanged { url }),
            SessionMessage::ControlRequested { agent } => {
                pid(inner, agent).map(|p| Message::ControlRequest { agent: p })
            }
            // No wire form of its own: `ControlReturn` tells the customer the (single) pending
            // request or control is gone.
            SessionMessage::ControlRequestWithdrawn { .. } => Some(Message::ControlReturn),
            SessionMessage::ControlApproved { agent } => {
                pid(inner, agent).map(|p| Message::ControlApprove { agent: p })
            }
            SessionMessage::ControlDeclined { agent } => {
                pid(inner, agent).map(|p| Message::ControlDecline { agent: p })
            }
            SessionMessage::ControlRevoked { .. } => Some(Message::ControlRevoke),
            SessionMessage::ControlReturned { .. } => Some(Message::ControlReturn),
            SessionMessage::ModeChanged { agent, mode } => {
                let mode = match mode {
                    AgentMode::Control => match pid(inner, agent) {
                        Some(p) => Mode::Control(p),
                        None => continue,
                    },
                    AgentMode::Pointer => Mode::Pointer,
                };
                Some(Message::ModeChanged { mode, ceiling })
            }
            SessionMessage::Paused { reason } => Some(Message::Pause { reason }),
            // "Sharing resumed (a keyframe follows)": the customer's, not the mirror's (the
            // page changed while nothing left it). Deltas wait for it; the relay asks for
            // it when a delta comes first or none came within `RESUME_KEYFRAME_WAIT`.
            SessionMessage::Resumed => {
                inner
                    .wire
                    .resumed_without_keyframe
                    .get_or_insert_with(std::time::Instant::now);
                Some(Message::Resume)
            }
            SessionMessage::Ended { reason } => {
                inner.links.send_msg(
                    &to,
                    &Message::End {
                        reason: reason.into(),
                    },
                );
                inner
                    .links
                    .send(&to, &Outbound::close(CloseReason::SessionEnded));
                None
            }
            SessionMessage::Refused(e) => Some(session_error(&e, inner.machine.state())),
            SessionMessage::Denied(d) => match inner.wire.echo.take().map(|m| *m) {
                // A customer-side denial goes to the agent as the customer sent it.
                Some(m @ Message::ActionDenied { .. }) => Some(m),
                _ => Some(error_msg(
                    ErrorCode::PermissionDenied(d.reason),
                    &d.reason.to_string(),
                )),
            },
            SessionMessage::AgentPointer { agent, at } => {
                match inner.wire.echo.take().map(|m| *m) {
                    Some(m @ (Message::Pointer { .. } | Message::ClickRipple { .. })) => Some(m),
                    _ => pid(inner, agent).map(|p| {
                        let (x, y) = to_f32(at);
                        Message::Pointer {
                            from: p,
                            x,
                            y,
                            target: None,
                        }
                    }),
                }
            }
            SessionMessage::CustomerPointer { at } => match inner.wire.echo.take().map(|m| *m) {
                Some(m @ Message::Pointer { .. }) => Some(m),
                _ => {
                    let (x, y) = to_f32(at);
                    Some(Message::Pointer {
                        from: CUSTOMER,
                        x,
                        y,
                        target: None,
                    })
                }
            },
            SessionMessage::ClickRipple { agent, at } => {
                let Some(p) = pid(inner, agent) else { continue };
                match inner.wire.echo.take().map(|m| *m) {
                    Some(Message::AgentClick { target, x, y }) => Some(Message::ClickRipple {
                        from: p,
                        x,
                        y,
                        target: Some(target),
                    }),
                    _ => {
                        let (x, y) = to_f32(at);
                        Some(Message::ClickRipple {
                            from: p,
                            x,
                            y,
                            target: None,
                        })
                    }
                }
            }
            SessionMessage::Replay { action, .. } => {
                let echo = inner.wire.echo.take().map(|m| *m);
                match action {
                    AgentAction::Click { target, at } => match echo {
                        Some(m @ Message::AgentClick { .. }) => Some(m),
                        _ => {
                            let (x, y) = to_f32(at);
                            Some(Message::AgentClick { target, x, y })
                        }
                    },
                    AgentAction::Scroll { target, to: at } => match echo {
                        Some(m @ Message::Scroll { .. }) => Some(m),
                        _ => {
                            let (x, y) = to_f32(at);
                            Some(Message::Scroll { target, x, y })
                        }
                    },
                    AgentAction::Input { target, text } => Some(Message::AgentInput {
                        target,
                        value: text.into_string(),
                    }),
                    AgentAction::Submit { target } => Some(Message::AgentSubmit { target }),
                    AgentAction::Navigate(n) => Some(Message::Navigate { to: wire_nav(n) }),
                    // Pointer and highlights are never replayed (they have their own outputs).
                    AgentAction::Pointer { .. }
                    | AgentAction::Highlight { .. }
                    | AgentAction::ClearHighlights => None,
                }
            }
            SessionMessage::HighlightAdded(h) => {
                let Some(p) = pid(inner, h.agent) else {
                    continue;
                };
                let m = match inner.wire.echo.take().map(|m| *m) {
                    Some(Message::Highlight {
                        id,
                        target,
                        rect,
                        color,
                        ..
                    }) if target == h.target => Message::Highlight {
                        from: p,
                        id,
                        target,
                        rect,
                        color,
                    },
                    _ => Message::Highlight {
                        from: p,
                        id: h.id.0,
                        target: h.target,
                        rect: None,
                        color: None,
                    },
                };
                if let Message::Highlight { id, .. } = &m {
                    inner.wire.highlights.insert(h.id, (p, *id));
                }
                Some(m)
            }
            SessionMessage::HighlightCleared { id, .. } => {
                inner
                    .wire
                    .highlights
                    .remove(&id)
                    .map(|(from, wid)| Message::HighlightClear {
                        from,
                        which: HighlightScope::One(wid),
                    })
            }
            SessionMessage::Chat { from, text } => {
                let from = match from {
                    Participant::Customer => Some(CUSTOMER),
                    Participant::Agent(a) => pid(inner, a),
                };
                from.map(|from| Message::Chat { from, text })
            }
            SessionMessage::SharedLink { agent, url } => {
                let Some(p) = pid(inner, agent) else { continue };
                let title = match inner.wire.echo.take().map(|m| *m) {
                    Some(Message::SharedLink { title, .. }) => title,
                    _ => String::new(),
                };
                Some(Message::SharedLink {
                    from: p,
                    url,
                    title,
                })
            }
        };
        if let Some(m) = msg {
            inner.links.send_msg(&to, &m);
        }
    }
    inner.wire.echo = None;
}

/// How long after sharing resumed the relay waits for the customer's keyframe before asking
/// for one (a customer client sends it at once; an idle page would otherwise stay stale).
pub const RESUME_KEYFRAME_WAIT: Duration = Duration::from_millis(1000);

/// Fires due timers of every session (inactivity, grace periods, highlight expiry).
/// Only sessions whose recorded wake time has come are locked
/// ([`crate::state::SessionEntry::wake_ms`]): with thousands of sessions, locking each one
/// every tick was most of the relay's own CPU under load.
pub async fn sweep_timers(state: &RelayState) {
    let now = state.now();
    let entries: Vec<Arc<SessionEntry>> = state
        .sessions
        .lock()
        .expect("store lock")
        .values()
        .filter(|e| e.wake_ms.load(std::sync::atomic::Ordering::Acquire) <= now.0)
        .cloned()
        .collect();
    let connect_deadline = Duration::from_secs(state.config.limits.customer_connect_secs);
    for entry in entries {
        let mut inner = entry.lock(state.wake_clock()).await;
        if !inner.wire.customer_seen
            && !inner.machine.is_ended()
            && entry.created.elapsed() >= connect_deadline
        {
            // Nobody is waiting for a page that never came: end it (agents who joined by the
            // id get `End`), so that unused creations cannot fill the store.
            bump(&state.metrics.sessions_unconnected);
            tracing::info!("session ended: its customer never connected");
            let _ = inner.machine.handle_backend_end(now);
            deliver(state, &entry, &mut inner);
            state.after_event(&entry, &mut inner);
            continue;
        }
        if inner
            .wire
            .resumed_without_keyframe
            .is_some_and(|since| since.elapsed() >= RESUME_KEYFRAME_WAIT)
            && inner.machine.forwards_frames()
        {
            request_customer_keyframe(&mut inner);
        }
        if inner.machine.poll_timeout().is_some_and(|t| t <= now) {
            inner.machine.handle_timeout(now);
            deliver(state, &entry, &mut inner);
            state.after_event(&entry, &mut inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::config::RelayConfig;
    use crate::source::AddrGroup;

    /// The sweep locks a session only once its recorded wake time has come: a busy session
    /// (its lock held) with nothing due does not hold the sweep up, and one that is due is
    /// visited (here: its customer never connected, so it ends).
    #[tokio::test]
    async fn the_sweep_locks_only_sessions_whose_wake_time_has_come() {
        let mut config = RelayConfig::default();
        config.limits.customer_connect_secs = 1;
        let state =
            RelayState::new(config, b"agent-secret-0123456789".to_vec(), "b".repeat(24)).unwrap();
        let entry = state
            .create_session(AddrGroup::of(IpAddr::V4(Ipv4Addr::LOCALHOST)))
            .unwrap();
        // Never computed yet: the first sweep visits it and records the connect deadline.
        assert_eq!(entry.wake_ms.load(std::sync::atomic::Ordering::Acquire), 0);
        sweep_timers(&state).await;
        let wake = entry.wake_ms.load(std::sync::atomic::Ordering::Acquire);
        assert!(
            wake > state.now().0 && wake <= state.now().0 + 1000,
            "wake {wake}"
        );
        let held = entry.inner.lock().await;
        tokio::time::timeout(Duration::from_millis(500), sweep_timers(&state))
            .await
            .expect("the sweep waited for a session with nothing due");
        drop(held);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        sweep_timers(&state).await;
        assert!(entry.inner.lock().await.machine.is_ended());
        assert!(state.session(entry.id.value()).is_none());
    }
}
