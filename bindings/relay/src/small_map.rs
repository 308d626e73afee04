//! A map for the few entries a session holds per agent (at most `max_agents`, 8 by default):
//! a vector of pairs searched in order, grown one entry at a time.
//!
//! A `HashMap` allocates room for 3 entries plus control bytes on its first insert and keeps
//! it; with one agent per session (the common case) that was most of a session's per-agent
//! bytes, three maps over. Here one entry costs exactly one pair.
//!
//! Invariants: keys are unique; the capacity never exceeds the length by more than what a
//! removal left (growth is exact, see [`SmallMap::insert`]); iteration is in insertion order.

/// A vector-backed map with unique keys (see the module docs).
#[derive(Debug)]
pub struct SmallMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap {
            entries: Vec::new(),
        }
    }
}

impl<K: Eq, V> SmallMap<K, V> {
    fn position(&self, key: &K) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_some()
    }

    /// Sets the value of `key`; returns the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        // Exact growth: a `Vec`'s doubling would hold room for 4 entries after the first.
        self.entries.reserve_exact(1);
        self.entries.push((key, value));
        debug_assert!(self.entries.capacity() <= self.entries.len().max(4) * 2);
        None
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        if self.entries.is_empty() {
            // A session whose agents all left holds nothing for them.
            self.entries = Vec::new();
        }
        Some(v)
    }

    /// Keeps the entries `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entries, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The entries, in insertion order, values mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The values, in insertion order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_unique_in_insertion_order_and_growth_is_exact() {
        let mut m = SmallMap::default();
        assert_eq!(m.insert(7u64, "a"), None);
        assert_eq!(m.entries.capacity(), 1);
        assert_eq!(m.insert(3, "b"), None);
        assert_eq!(m.insert(7, "c"), Some("a"));
        assert_eq!(m.entries.capacity(), 2);
        assert_eq!(
            m.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            vec![(7, "c"), (3, "b")]
        );
        assert_eq!(m.get(&3), Some(&"b"));
        assert!(m.contains_key(&7));
        if let Some(v) = m.get_mut(&3) {
            *v = "d";
        }
        assert_eq!(m.remove(&7), Some("c"));
        assert_eq!(m.remove(&7), None);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), vec!["d"]);
        assert_eq!(m.len(), 1);
        assert_eq!(m.remove(&3), Some("d"));
        assert!(m.is_empty());
        assert_eq!(m.entries.capacity(), 0);
    }
}
