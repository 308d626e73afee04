#!/usr/bin/env python3
"""Regenerate the machine-generated DOM-diff test cases in corpus/cases/.

Most cases under corpus/cases/ are hand-written. The ones listed in CASES
below are too large or too repetitive to write by hand, so they are produced
by this script. The generated from.html / to.html files ARE committed; this
script only exists so they can be regenerated or checked.

Usage:
    python3 corpus/cases/gen_cases.py          # (re)write the generated cases
    python3 corpus/cases/gen_cases.py --check  # exit 1 if a committed file differs

Output is deterministic (no randomness, no timestamps), uses "\\n" line
endings and UTF-8, and works from any current directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def page(title: str, body: str, head_extra: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        f"{head_extra}"
        "</head>\n"
        "<body>\n"
        f"{body}"
        "</body>\n"
        "</html>\n"
    )


# --------------------------------------------------------------------------
# deep-nesting: 500 nested <div>s; the deepest element's text and attributes
# change. <html>, <body>, <main>, 500 divs and the leaf <p> make 504 open
# elements, which stays under Chromium's HTML parser depth cap of 512 (past
# it the parser starts making children into siblings), so a browser builds
# the same tree as a spec parser without such a cap.
# --------------------------------------------------------------------------
DEPTH = 500


def deep_nesting(variant: str) -> str:
    opens = []
    for level in range(1, DEPTH + 1):
        cls = "wrap" if level % 50 else "wrap checkpoint"
        opens.append(f'<div class="{cls}" data-depth="{level}">')
    closes = "</div>" * DEPTH
    if variant == "from":
        leaf = '<p id="leaf" class="leaf" data-state="idle" title="deepest node">Deepest text: before</p>'
    else:
        leaf = '<p id="leaf" class="leaf active" data-state="done" title="deepest node" aria-live="polite">Deepest text: after</p>'
    body = (
        '<header><h1>Deep nesting</h1><p>500 nested divs; only the deepest node changes.</p></header>\n'
        '<main id="root">\n'
        + "\n".join("".join(opens[i : i + 10]) for i in range(0, DEPTH, 10))
        + "\n"
        + leaf
        + "\n"
        + "\n".join(closes[i : i + 60] for i in range(0, len(closes), 60))
        + "\n</main>\n"
        '<footer><p>Footer after the deep chain (unchanged).</p></footer>\n'
    )
    return page("Deep nesting (500 levels)", body)


# --------------------------------------------------------------------------
# long-list-one-move: a <ul> with 5,000 distinct <li>s; to.html moves exactly
# one item (data-i="3") from near the start to just before the last three.
# Every <li> sits on its own line, so the list also holds 5,001 identical "\n"
# whitespace text nodes; a minimal diff is a single move.
# --------------------------------------------------------------------------
N_ITEMS = 5000
MOVED = 3
MOVE_BEFORE = N_ITEMS - 3  # the item lands right before data-i="4997"


def long_list(variant: str) -> str:
    order = list(range(N_ITEMS))
    if variant == "to":
        order.remove(MOVED)
        order.insert(order.index(MOVE_BEFORE), MOVED)
    items = "".join(f'<li data-i="{i}">Item {i}</li>\n' for i in order)
    body = (
        "<h1>Long list</h1>\n"
        f"<p>{N_ITEMS} list items; item {MOVED} moves to near the end.</p>\n"
        '<ul id="items">\n' + items + "</ul>\n"
        "<p>After the list.</p>\n"
    )
    return page(f"Long list ({N_ITEMS} items, one move)", body)


# --------------------------------------------------------------------------
# duplicate-siblings: runs of identical siblings (identical <li>x</li>,
# identical <p> blocks, identical <tr>s, and elements sharing one id, as real
# pages do) with some inserted and some removed in the middle of each run.
# --------------------------------------------------------------------------
def duplicate_siblings(variant: str) -> str:
    # 50 identical <li>x</li>; to.html removes 5 at index 20..24 and inserts
    # 3 at index 35 (in from.html's numbering). Nothing distinguishes them,
    # so any matching is as good as any other: the diff must only get the
    # count and positions right.
    li = ["<li>x</li>"] * 50
    if variant == "to":
        li = li[:20] + li[25:35] + ["<li>x</li>"] * 3 + li[35:]
    assert len(li) == (50 if variant == "from" else 48)

    # Identical paragraph blocks, with one different block as an anchor.
    block = (
        '<div class="card">\n'
        '<p class="meta">Sponsored</p>\n'
        '<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n'
        "</div>\n"
    )
    anchor = '<div class="card" id="anchor">\n<p>The one different card.</p>\n</div>\n'
    if variant == "from":
        cards = block * 6 + anchor + block * 6
    else:
        # two removed before the anchor, three added after it
        cards = block * 4 + anchor + block * 9

    # Duplicate ids, as they occur on real pages (copy-pasted widgets).
    dup_ids_from = (
        '<section id="dups">\n'
        '<div id="promo" class="promo">Promo</div>\n'
        '<div id="promo" class="promo">Promo</div>\n'
        '<div id="promo" class="promo">Promo</div>\n'
        '<button id="buy">Buy</button>\n'
        '<button id="buy">Buy</button>\n'
        "</section>\n"
    )
    dup_ids_to = (
        '<section id="dups">\n'
        '<div id="promo" class="promo">Promo</div>\n'
        '<button id="buy">Buy</button>\n'
        '<div id="promo" class="promo">Promo</div>\n'
        '<div id="promo" class="promo">Promo</div>\n'
        '<div id="promo" class="promo">Promo</div>\n'
        '<button id="buy">Buy</button>\n'
        "</section>\n"
    )

    # Identical rows in a table body.
    row = "<tr><td>-</td><td>-</td></tr>\n"
    rows = row * (8 if variant == "from" else 5)

    # Identical empty elements and identical text runs separated by <br>.
    brs = "same<br>" * (10 if variant == "from" else 12)

    body = (
        "<h1>Duplicate siblings</h1>\n"
        '<ul id="xs">\n' + "\n".join(li) + "\n</ul>\n"
        '<div id="cards">\n' + cards + "</div>\n"
        + (dup_ids_from if variant == "from" else dup_ids_to)
        + '<table id="blank"><tbody>\n' + rows + "</tbody></table>\n"
        '<p id="brs">' + brs + "</p>\n"
        '<p>Trailing identical spans: ' + "<span>.</span>" * (7 if variant == "from" else 4) + "</p>\n"
    )
    return page("Duplicate siblings", body)


CASES = {
    "deep-nesting": deep_nesting,
    "long-list-one-move": long_list,
    "duplicate-siblings": duplicate_siblings,
}


def main(argv: list[str]) -> int:
    check = "--check" in argv[1:]
    stale = []
    for name, fn in CASES.items():
        for variant in ("from", "to"):
            path = HERE / name / f"{variant}.html"
            text = fn(variant)
            if check:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    stale.append(str(path.relative_to(HERE)))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(text)
    if check:
        if stale:
            print("out of date (run gen_cases.py): " + ", ".join(stale), file=sys.stderr)
            return 1
        print(f"generated cases up to date: {', '.join(CASES)}")
        return 0
    print(f"wrote {2 * len(CASES)} files: {', '.join(CASES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
