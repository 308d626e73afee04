//! Where a connection comes from: address groups (an IPv4 address, an IPv6 /64), the client
//! behind a trusted proxy, and the open connections per group that [`crate::net`] limits.
//!
//! Invariant: [`ConnCounts`] holds, per group and in all, exactly the [`Slot`]s alive.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Where a connection comes from, for per-source limits: an IPv4 address, or the /64 network
/// of an IPv6 address (one host usually holds a whole /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrGroup(IpAddr);

impl AddrGroup {
    /// The group of `ip` (IPv4-mapped IPv6 addresses count as their IPv4 address).
    pub fn of(ip: IpAddr) -> AddrGroup {
        match ip {
            IpAddr::V4(v4) => AddrGroup(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrGroup(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    AddrGroup(IpAddr::V6(bits.into()))
                }
            },
        }
    }

    /// A stable text key (the address, or the /64 network with `/64`).
    pub fn key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("{v6}/64"),
        }
    }
}

impl std::fmt::Display for AddrGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// The client's address group: the TCP peer's, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` entry that is not a trusted proxy itself.
pub fn client_group(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> AddrGroup {
    if !trusted.contains(&peer) {
        return AddrGroup::of(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    let client = forwarded
        .iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .copied()
        .unwrap_or(peer);
    AddrGroup::of(client)
}

/// Open connections per address group and in all.
#[derive(Debug, Default)]
pub struct ConnCounts {
    total: AtomicUsize,
    per_group: Mutex<HashMap<AddrGroup, usize>>,
}

impl ConnCounts {
    /// Open connections in all.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    pub(crate) fn try_take(
        self: &Arc<Self>,
        group: AddrGroup,
        per_group: usize,
        global: usize,
    ) -> Option<Slot> {
        let mut map = self.per_group.lock().expect("connection counts");
        let n = map.entry(group).or_default();
        if *n >= per_group || self.total.load(Ordering::Acquire) >= global {
            if *n == 0 {
                map.remove(&group);
            }
            return None;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::AcqRel);
        Some(Slot {
            counts: self.clone(),
            group,
        })
    }
}

/// One held connection slot; released on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    counts: Arc<ConnCounts>,
    group: AddrGroup,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.counts.per_group.lock().expect("connection counts");
        if let Some(n) = map.get_mut(&self.group) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.group);
            }
        }
        self.counts.total.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_group_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(AddrGroup::of(a), AddrGroup::of(b));
        assert_ne!(AddrGroup::of(a), AddrGroup::of(c));
        assert_eq!(AddrGroup::of(a).key(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(AddrGroup::of(mapped).key(), "10.0.0.1");
    }

    #[test]
    fn a_trusted_proxy_forwards_the_client_and_others_do_not() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.0.0.5".parse().unwrap(),
        );
        assert_eq!(client_group(proxy, &h, &[proxy]).key(), "203.0.113.7");
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_group(other, &h, &[proxy]).key(), "198.51.100.1");
        assert_eq!(
            client_group(proxy, &axum::http::HeaderMap::new(), &[proxy]).key(),
            "10.0.0.5"
        );
    }
}
