//! Order-preserving alignment of two short sequences: the pairs `(a, b)`, increasing in both
//! coordinates, that maximize the sum of their weights (a weighted longest common
//! subsequence). The matcher uses it among the unmatched children between two children that
//! stay in place, so that equal or similar siblings are paired in order instead of crosswise
//! (a crosswise pair costs a move the edit never made).
//!
//! Cost: `a_len * b_len` weight calls and table cells; callers bound the product.
//! Invariant (debug-asserted): the returned pairs increase strictly in both coordinates and
//! every one has a positive weight.

/// The alignment of `0..a_len` with `0..b_len` of greatest total weight, where `weight(a, b)`
/// is 0 for a pair that may not be made. Ties prefer pairing earlier elements of `a` with
/// earlier elements of `b` (so equal candidates keep their order).
pub(crate) fn align(
    a_len: usize,
    b_len: usize,
    mut weight: impl FnMut(usize, usize) -> u32,
) -> Vec<(usize, usize)> {
    if a_len == 0 || b_len == 0 {
        return Vec::new();
    }
    // Suffix table: best[i][j] = best total for a[i..], b[j..]. Filled backwards so that the
    // forward walk below picks the earliest pairs on ties.
    let w = b_len + 1;
    let mut best = vec![0u32; (a_len + 1) * w];
    let mut pair_w = vec![0u32; a_len * b_len];
    for i in (0..a_len).rev() {
        for j in (0..b_len).rev() {
            let pw = weight(i, j);
            pair_w[i * b_len + j] = pw;
            let diag = if pw > 0 {
                best[(i + 1) * w + j + 1] + pw
            } else {
                0
            };
            best[i * w + j] = diag.max(best[(i + 1) * w + j]).max(best[i * w + j + 1]);
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a_len && j < b_len {
        let pw = pair_w[i * b_len + j];
        let here = best[i * w + j];
        if pw > 0 && here == best[(i + 1) * w + j + 1] + pw {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if here == best[(i + 1) * w + j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    debug_assert!(
        out.windows(2).all(|p| p[0].0 < p[1].0 && p[0].1 < p[1].1),
        "alignment pairs out of order"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(a: &[char], b: &[char]) -> Vec<(usize, usize)> {
        align(a.len(), b.len(), |i, j| u32::from(a[i] == b[j]))
    }

    #[test]
    fn equal_elements_pair_in_order_not_crosswise() {
        // old: ws P1 ws P1 P0 X   new: ws P0 ws P1 P0 X  (the first P1 lost its text)
        let a: Vec<char> = "w1w10x".chars().collect();
        let b: Vec<char> = "w0w10x".chars().collect();
        assert_eq!(eq(&a, &b), [(0, 0), (2, 2), (3, 3), (4, 4), (5, 5)]);
    }

    #[test]
    fn ties_pair_the_earliest_elements() {
        let a: Vec<char> = "aa".chars().collect();
        let b: Vec<char> = "a".chars().collect();
        assert_eq!(eq(&a, &b), [(0, 0)]);
        assert_eq!(eq(&[], &b), []);
    }

    #[test]
    fn heavier_pairs_win_over_more_pairs_only_by_weight() {
        // Pairing (0,1) weighs 5; pairing (0,0) and (1,1) weighs 2 + 2.
        let w = |i: usize, j: usize| match (i, j) {
            (0, 1) => 5,
            (0, 0) | (1, 1) => 2,
            _ => 0,
        };
        assert_eq!(align(2, 2, w), [(0, 1)]);
        let w = |i: usize, j: usize| match (i, j) {
            (0, 1) => 3,
            (0, 0) | (1, 1) => 2,
            _ => 0,
        };
        assert_eq!(align(2, 2, w), [(0, 0), (1, 1)]);
    }
}
