//! How the agent sees one node: the privacy and sanitizer verdicts that the rules compute once
//! per node (see [`crate::rules`]) and that fingerprints, snapshots and diffs all read.
//!
//! A node's view is a pure function of the rules and the node's context in the tree, so both the
//! old and the new tree of a diff carry the verdicts they were captured with.

/// Verdict flags for one node, plus the index of the attribute-mask set that applies to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct View {
    flags: u8,
    /// Index into the rules' table of masked attribute-name sets (0 = none).
    pub(crate) attr_mask: u32,
}

impl View {
    /// Nothing hidden, nothing rewritten.
    pub const PLAIN: View = View {
        flags: 0,
        attr_mask: 0,
    };
    /// The node does not exist for the agent (script, refresh meta, base, ...).
    pub const DROPPED: u8 = 1;
    /// The element is replaced by a placeholder keeping its tag and size attributes.
    pub const BLOCKED: u8 = 2;
    /// Character data, and for form controls their value, are shown as asterisks.
    pub const MASKED: u8 = 4;
    /// The agent may not act on this element.
    pub const DISABLED: u8 = 8;

    /// A view with only the wire-visible flags of `flags` (as received in a frame).
    pub fn from_wire(flags: u8) -> View {
        View {
            flags: flags & (Self::BLOCKED | Self::MASKED | Self::DISABLED),
            attr_mask: 0,
        }
    }

    pub(crate) fn with(mut self, flag: u8) -> View {
        self.flags |= flag;
        self
    }
    /// Whether `flag` is set.
    #[inline]
    pub fn has(self, flag: u8) -> bool {
        self.flags & flag != 0
    }
    /// The raw flags.
    pub fn flags(self) -> u8 {
        self.flags
    }
    /// Whether the node is dropped.
    #[inline]
    pub fn is_dropped(self) -> bool {
        self.has(Self::DROPPED)
    }
    /// Whether the element is blocked.
    #[inline]
    pub fn is_blocked(self) -> bool {
        self.has(Self::BLOCKED)
    }
    /// Whether text/value is masked.
    #[inline]
    pub fn is_masked(self) -> bool {
        self.has(Self::MASKED)
    }
    /// Whether the agent may not act on it.
    #[inline]
    pub fn is_disabled(self) -> bool {
        self.has(Self::DISABLED)
    }
}
