//! The DOM: an arena tree of documents, elements (HTML, SVG, MathML), text, comments and
//! template contents, how HTML text becomes one (html5ever, feature `html`) and how one becomes
//! HTML text again.
//!
//! Every other stage reads and edits trees through [`tree::Tree`]; nothing here knows about
//! rules, diffs or frames beyond the per-node [`view::View`] the rules write.

#[cfg(feature = "html")]
pub(crate) mod parse;
pub(crate) mod rendered;
#[cfg(feature = "html")]
pub(crate) mod serialize;
pub(crate) mod tree;
pub(crate) mod view;
pub(crate) mod wire_index;
