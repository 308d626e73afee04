//! PLACEHOLDER until the servo `selectors` integration lands (helper is writing it).
use crate::tree::{NodeId, Tree};
#[derive(Clone)]
pub struct CompiledSelector {
    source: String,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    pub selector: String,
    pub message: String,
}
impl std::fmt::Display for SelectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid CSS selector `{}`: {}",
            self.selector, self.message
        )
    }
}
impl std::error::Error for SelectorError {}
#[derive(Default)]
pub struct MatchCaches;
impl CompiledSelector {
    pub fn parse(source: &str) -> Result<CompiledSelector, SelectorError> {
        Ok(CompiledSelector {
            source: source.into(),
        })
    }
    pub fn source(&self) -> &str {
        &self.source
    }
    pub fn matches(&self, tree: &Tree, id: NodeId, _c: &mut MatchCaches) -> bool {
        let Some(e) = tree.element(id) else {
            return false;
        };
        let s = self.source.as_str();
        if let Some(c) = s.strip_prefix('.') {
            return e
                .attr("class")
                .is_some_and(|v| v.split_whitespace().any(|x| x == c));
        }
        if let Some(c) = s.strip_prefix('#') {
            return e.attr("id") == Some(c);
        }
        &*e.name.local == s
    }
}
