//! Test helper shared by the wasm crate's browser tests: batches encoded as the web package's
//! capture (`bindings/web/src/capture.ts`) encodes them.

use cobrowse_engine::capture_batch::{OP_ELEMENT, OP_SET_CHILDREN};

/// A batch being written: the op words and the text they index.
#[derive(Default)]
pub(crate) struct Enc {
    /// The op words.
    pub ops: Vec<u32>,
    /// The text the string operands index.
    pub text: String,
}

impl Enc {
    /// A word.
    pub(crate) fn u(&mut self, v: u32) -> &mut Self {
        self.ops.push(v);
        self
    }
    /// A string (its UTF-16 length, then its text).
    pub(crate) fn s(&mut self, s: &str) -> &mut Self {
        self.ops.push(s.encode_utf16().count() as u32);
        self.text.push_str(s);
        self
    }
    /// An HTML element with attributes in order.
    pub(crate) fn el(&mut self, h: u32, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.u(OP_ELEMENT).u(h).u(1).s(name).u(attrs.len() as u32);
        for (n, v) in attrs {
            self.u(0).s(n).s(v);
        }
        self
    }
    /// The children of `p`.
    pub(crate) fn kids(&mut self, p: u32, k: &[u32]) -> &mut Self {
        self.u(OP_SET_CHILDREN).u(p).u(k.len() as u32);
        for &c in k {
            self.u(c);
        }
        self
    }
}
