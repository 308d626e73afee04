//! Which agent is in which session: [`AgentDirectory`], the cross-session half of the
//! "one session per agent" rule.
//!
//! A [`super::Session`] sees only itself, so the relay keeps one directory for all its live
//! sessions: it calls [`AgentDirectory::assign`] before handing a join (or an invitation) to a
//! session, and [`AgentDirectory::release`] / [`AgentDirectory::release_session`] when the
//! session's audit events say the agent left ([`super::AuditKind::AgentLeft`]) or the session
//! ended ([`super::AuditKind::Ended`]), or when the session refused the join.
//!
//! Invariant: with `one_session_per_agent`, every agent is assigned to at most one session.
//! Iteration is in id order (a `BTreeMap`), so the directory is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::values::{AgentId, SessionId};

/// Why an assignment was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The agent already takes part in another session and the policy allows one at a time.
    AlreadyInSession {
        /// Who.
        agent: AgentId,
        /// The session it is in.
        session: SessionId,
    },
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectoryError::AlreadyInSession { agent, session } => {
                write!(f, "{agent} is already in session {session}")
            }
        }
    }
}

impl std::error::Error for DirectoryError {}

/// Agent -> sessions, refusing a second session per agent when the policy says so.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentDirectory {
    one_session_per_agent: bool,
    sessions: BTreeMap<AgentId, BTreeSet<SessionId>>,
}

impl AgentDirectory {
    /// An empty directory; `one_session_per_agent` is [`super::SessionPolicy::one_session_per_agent`].
    pub fn new(one_session_per_agent: bool) -> AgentDirectory {
        AgentDirectory {
            one_session_per_agent,
            sessions: BTreeMap::new(),
        }
    }

    /// Records that `agent` takes part in `session`. Assigning an agent again to the session it
    /// is in succeeds (a reconnect).
    pub fn assign(&mut self, agent: AgentId, session: SessionId) -> Result<(), DirectoryError> {
        let set = self.sessions.entry(agent).or_default();
        if self.one_session_per_agent
            && let Some(&other) = set.iter().find(|&&s| s != session)
        {
            return Err(DirectoryError::AlreadyInSession {
                agent,
                session: other,
            });
        }
        set.insert(session);
        debug_assert!(!self.one_session_per_agent || set.len() == 1);
        Ok(())
    }

    /// Forgets that `agent` takes part in `session`; whether it did.
    pub fn release(&mut self, agent: AgentId, session: SessionId) -> bool {
        let Some(set) = self.sessions.get_mut(&agent) else {
            return false;
        };
        let removed = set.remove(&session);
        if set.is_empty() {
            self.sessions.remove(&agent);
        }
        removed
    }

    /// Forgets every agent of `session` (it ended); how many were released.
    pub fn release_session(&mut self, session: SessionId) -> usize {
        let mut released = 0;
        self.sessions.retain(|_, set| {
            released += usize::from(set.remove(&session));
            !set.is_empty()
        });
        released
    }

    /// The sessions `agent` takes part in, in id order.
    pub fn sessions_of(&self, agent: AgentId) -> impl Iterator<Item = SessionId> + '_ {
        self.sessions.get(&agent).into_iter().flatten().copied()
    }

    /// Whether `agent` takes part in any session.
    pub fn is_busy(&self, agent: AgentId) -> bool {
        self.sessions.contains_key(&agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(n: u32) -> SessionId {
        SessionId::new(100_000_000 + n).unwrap()
    }

    #[test]
    fn an_agent_handles_one_session_at_a_time_by_default() {
        let mut dir = AgentDirectory::new(true);
        let a = AgentId(1);
        dir.assign(a, sid(1)).unwrap();
        dir.assign(a, sid(1)).unwrap(); // reconnecting to the same session
        assert_eq!(
            dir.assign(a, sid(2)),
            Err(DirectoryError::AlreadyInSession {
                agent: a,
                session: sid(1)
            })
        );
        assert!(dir.release(a, sid(1)));
        dir.assign(a, sid(2)).unwrap();
        assert_eq!(dir.sessions_of(a).collect::<Vec<_>>(), vec![sid(2)]);
    }

    #[test]
    fn several_sessions_per_agent_when_the_policy_allows() {
        let mut dir = AgentDirectory::new(false);
        let (a, b) = (AgentId(1), AgentId(2));
        dir.assign(a, sid(1)).unwrap();
        dir.assign(a, sid(2)).unwrap();
        dir.assign(b, sid(1)).unwrap();
        assert_eq!(dir.release_session(sid(1)), 2);
        assert_eq!(dir.sessions_of(a).collect::<Vec<_>>(), vec![sid(2)]);
        assert!(!dir.is_busy(b));
        assert!(!dir.release(b, sid(1)));
    }
}
