//! What the customer's browser reported about an element's rendered box: the facts a blocked
//! element's placeholder is made from (see `crate::rules::placeholder`, which decides what the
//! agent sees of them).
//!
//! Only a capture from a live page knows these (the browser measures them); a tree parsed from
//! HTML text has none, and its blocked elements keep the placeholder without a box.
//!
//! Units: lengths are hundredths of a CSS pixel, rounded (a browser's layout unit is 1/64 px, so
//! nothing visible is lost). Invariants (debug-asserted by [`RenderedBox::new`], enforced by
//! clamping): sizes are at most [`MAX_LENGTH`], margins within ±[`MAX_LENGTH`].

/// The largest length kept, in hundredths of a CSS pixel (100,000 px); larger values are
/// clamped.
pub const MAX_LENGTH: u32 = 10_000_000;

/// The element's computed `display`, reduced to what a placeholder needs to take the same
/// place in the layout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RenderedDisplay {
    /// `none`: no box.
    None,
    /// `contents`: no box of its own (its children's boxes were measured together).
    Contents,
    /// `inline` (a plain inline box: for a non-replaced element, its vertical margins do not
    /// apply).
    Inline,
    /// Any other inline-level display (`inline-block`, `inline-flex`, `inline-grid`,
    /// `inline-table`, `ruby`, ...).
    InlineBlock,
    /// `list-item`.
    ListItem,
    /// `table-row-group`.
    TableRowGroup,
    /// `table-header-group`.
    TableHeaderGroup,
    /// `table-footer-group`.
    TableFooterGroup,
    /// `table-row`.
    TableRow,
    /// `table-cell`.
    TableCell,
    /// `table-column-group`.
    TableColumnGroup,
    /// `table-column`.
    TableColumn,
    /// `table-caption`.
    TableCaption,
    /// Any other block-level display (`block`, `flex`, `grid`, `table`, `flow-root`, ...).
    Block,
}

impl RenderedDisplay {
    /// Reduces a computed `display` value (one keyword or the two-keyword syntax) as a browser
    /// reports it. Unknown values are block-level.
    pub fn from_computed(display: &str) -> RenderedDisplay {
        let d = display.trim().to_ascii_lowercase();
        let words: Vec<&str> = d.split_ascii_whitespace().collect();
        match words.as_slice() {
            ["none"] => RenderedDisplay::None,
            ["contents"] => RenderedDisplay::Contents,
            ["inline"] | ["inline", "flow"] => RenderedDisplay::Inline,
            ["list-item"] | [.., "list-item"] | ["list-item", ..] if !words.contains(&"inline") => {
                RenderedDisplay::ListItem
            }
            ["table-row-group"] => RenderedDisplay::TableRowGroup,
            ["table-header-group"] => RenderedDisplay::TableHeaderGroup,
            ["table-footer-group"] => RenderedDisplay::TableFooterGroup,
            ["table-row"] => RenderedDisplay::TableRow,
            ["table-cell"] => RenderedDisplay::TableCell,
            ["table-column-group"] => RenderedDisplay::TableColumnGroup,
            ["table-column"] => RenderedDisplay::TableColumn,
            ["table-caption"] => RenderedDisplay::TableCaption,
            [one] if one.starts_with("inline-") || one.starts_with("ruby") => {
                RenderedDisplay::InlineBlock
            }
            [first, ..] if *first == "inline" || first.starts_with("ruby") => {
                RenderedDisplay::InlineBlock
            }
            _ => RenderedDisplay::Block,
        }
    }
}

/// An element's border box as laid out (CSS pixels, transforms not applied, independent of
/// scrolling), its used margins and its display.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RenderedBox {
    /// The computed display.
    pub display: RenderedDisplay,
    /// Border-box width, hundredths of a CSS pixel.
    pub width: u32,
    /// Border-box height, hundredths of a CSS pixel.
    pub height: u32,
    /// Used margins (top, right, bottom, left), hundredths of a CSS pixel.
    pub margin: [i32; 4],
}

impl RenderedBox {
    /// A box with every length clamped into range.
    pub fn new(display: RenderedDisplay, width: u32, height: u32, margin: [i32; 4]) -> Self {
        let max = MAX_LENGTH as i32;
        let b = RenderedBox {
            display,
            width: width.min(MAX_LENGTH),
            height: height.min(MAX_LENGTH),
            margin: margin.map(|m| m.clamp(-max, max)),
        };
        debug_assert!(b.width <= MAX_LENGTH && b.height <= MAX_LENGTH);
        b
    }
}

/// What the page reported for an element, kept on the live tree (never sent as such).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rendered {
    /// The page was asked and could not measure it (not laid out, e.g. inside a template), or
    /// its answer is pending: the placeholder has no box, as when nothing is known.
    Unknown,
    /// The measured box.
    Box(RenderedBox),
}

impl Rendered {
    /// The box, when one is known.
    pub fn known(self) -> Option<RenderedBox> {
        match self {
            Rendered::Unknown => None,
            Rendered::Box(b) => Some(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_displays_reduce_to_placeholder_kinds() {
        use RenderedDisplay as D;
        for (css, want) in [
            ("none", D::None),
            ("contents", D::Contents),
            ("inline", D::Inline),
            ("inline flow", D::Inline),
            ("inline-block", D::InlineBlock),
            ("inline flow-root", D::InlineBlock),
            ("inline-flex", D::InlineBlock),
            ("inline-table", D::InlineBlock),
            ("ruby", D::InlineBlock),
            ("block", D::Block),
            ("flex", D::Block),
            ("grid", D::Block),
            ("table", D::Block),
            ("flow-root", D::Block),
            ("block flow", D::Block),
            ("list-item", D::ListItem),
            ("block flow list-item", D::ListItem),
            ("table-cell", D::TableCell),
            ("table-row", D::TableRow),
            ("TABLE-CAPTION", D::TableCaption),
            ("", D::Block),
            ("something-new", D::Block),
        ] {
            assert_eq!(RenderedDisplay::from_computed(css), want, "{css:?}");
        }
    }

    #[test]
    fn lengths_are_clamped() {
        let b = RenderedBox::new(
            RenderedDisplay::Block,
            u32::MAX,
            5,
            [i32::MIN, i32::MAX, 0, -1],
        );
        assert_eq!(b.width, MAX_LENGTH);
        assert_eq!(b.height, 5);
        assert_eq!(b.margin, [-(MAX_LENGTH as i32), MAX_LENGTH as i32, 0, -1]);
    }
}
