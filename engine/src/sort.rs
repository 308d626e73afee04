//! The engine's one in-place sort: insertion sort for short slices, heapsort above.
//!
//! Why not `slice::sort_unstable`: the standard library's sorts are large generic code
//! (pattern-defeating quicksort, its small-sort networks, the driftsort for stable `sort`),
//! instantiated once per element type and comparator. The browser module shipped six of them,
//! 30 KB of its code (benches/JOURNAL.md, "Bundle size (branch `bundle9b`)"). This sort is a few
//! hundred bytes per instantiation, allocates nothing and is `O(n log n)` in every case
//! (heapsort has no quadratic input), which keeps the diff's near-linear bounds.
//!
//! Invariants: [`sort_by`] leaves the slice ordered by `less` (a strict weak order); it is
//! not stable, so callers that need stability put the original position into the key
//! ([`sort_stable_by_u32_key`]).

/// Slices this short are insertion-sorted (fewer moves and compares than heapsort).
const INSERTION_MAX: usize = 16;

/// Sorts `v` so that no element is `less` than the one before it (unstable).
pub(crate) fn sort_by<T, F: FnMut(&T, &T) -> bool>(v: &mut [T], mut less: F) {
    if v.len() <= INSERTION_MAX {
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        // Build a max-heap, then move its top behind the shrinking heap.
        for start in (0..v.len() / 2).rev() {
            sift_down(v, start, v.len(), &mut less);
        }
        for end in (1..v.len()).rev() {
            v.swap(0, end);
            sift_down(v, 0, end, &mut less);
        }
    }
    debug_assert!(v.windows(2).all(|w| !less(&w[1], &w[0])));
}

/// Moves `v[node]` down the max-heap `v[..end]` until both its children are not greater.
fn sift_down<T, F: FnMut(&T, &T) -> bool>(v: &mut [T], mut node: usize, end: usize, less: &mut F) {
    loop {
        let mut child = 2 * node + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[node], &v[child]) {
            return;
        }
        v.swap(node, child);
        node = child;
    }
}

/// Sorts `v` ascending (unstable: equal values are identical).
pub(crate) fn sort_u64(v: &mut [u64]) {
    sort_by(v, |a, b| a < b);
}

/// Sorts `v` ascending (unstable: equal values are identical).
pub(crate) fn sort_u32(v: &mut [u32]) {
    sort_by(v, |a, b| a < b);
}

/// Sorts `v` by `key`, keeping equal keys in their order (stable): the key and the original
/// position are packed into one `u64` and sorted with [`sort_u64`], then `v` is permuted.
pub(crate) fn sort_stable_by_u32_key<T: Copy>(v: &mut [T], key: impl Fn(&T) -> u32) {
    let mut keyed: Vec<u64> = v
        .iter()
        .enumerate()
        .map(|(i, x)| (u64::from(key(x)) << 32) | i as u64)
        .collect();
    debug_assert!(
        u32::try_from(v.len()).is_ok(),
        "positions fit the key's low half"
    );
    sort_u64(&mut keyed);
    let before = v.to_vec();
    for (slot, k) in v.iter_mut().zip(keyed) {
        *slot = before[(k & u64::from(u32::MAX)) as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (xorshift) with many repeats.
    fn values(n: usize, modulo: u64) -> Vec<u64> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % modulo
            })
            .collect()
    }

    #[test]
    fn sorts_like_the_standard_library_at_every_length() {
        for n in [0, 1, 2, 3, 15, 16, 17, 18, 100, 1000, 5001] {
            for modulo in [3, 1000, u64::MAX] {
                let mut ours = values(n, modulo);
                let mut std = ours.clone();
                sort_u64(&mut ours);
                std.sort_unstable();
                assert_eq!(ours, std, "n {n} modulo {modulo}");
                let mut ours32: Vec<u32> = values(n, modulo).iter().map(|&x| x as u32).collect();
                let mut std32 = ours32.clone();
                sort_u32(&mut ours32);
                std32.sort_unstable();
                assert_eq!(ours32, std32, "u32: n {n} modulo {modulo}");
            }
        }
    }

    #[test]
    fn sorts_sorted_and_reversed_input() {
        let mut up: Vec<u64> = (0..1000).collect();
        let mut down: Vec<u64> = (0..1000).rev().collect();
        sort_u64(&mut up);
        sort_u64(&mut down);
        assert_eq!(up, (0..1000).collect::<Vec<u64>>());
        assert_eq!(down, up);
    }

    #[test]
    fn sorts_by_a_comparator() {
        let mut v: Vec<(u32, u32)> = vec![(1, 9), (3, 1), (2, 5), (3, 0), (1, 2)];
        sort_by(&mut v, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).is_lt());
        assert_eq!(v, [(3, 0), (3, 1), (2, 5), (1, 2), (1, 9)]);
    }

    #[test]
    fn the_stable_sort_keeps_the_order_of_equal_keys() {
        // (key, position in the input) for 40 items with 3 keys: the positions of equal keys
        // must stay ascending.
        let input: Vec<(u32, u32)> = values(40, 3)
            .iter()
            .enumerate()
            .map(|(i, &k)| (k as u32, i as u32))
            .collect();
        let mut ours = input.clone();
        sort_stable_by_u32_key(&mut ours, |&(k, _)| k);
        let mut std = input;
        std.sort_by_key(|&(k, _)| k);
        assert_eq!(ours, std);
    }
}
