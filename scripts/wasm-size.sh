#!/usr/bin/env bash
# Size of an engine-only wasm32 build, with and without the default features (`html`: html5ever
# parsing and serialization; `config`: JSON/TOML rule files). BENCHMARKS.md, "Engine size for
# the browser", has the figures and the machine.
#
# A small probe program (generated under target/wasm-size/probe, outside the workspace) drives
# what a browser client uses, so the linker keeps it: it builds a page through the Tree API,
# compiles rules, captures a keyframe and a delta with `Capture`, applies both to a `Mirror`,
# asks the mirror for a keyframe and encodes/decodes a protocol message. Three variants:
#
#   no-default   engine with --no-default-features (the browser build)
#   default      engine with its default features, probe unchanged (features on but unused)
#   default+used engine with its default features, and the probe also parses HTML, reads a
#                JSON rule file and serializes the mirror (what the features cost when used)
#
# Each is built for wasm32-unknown-unknown with the profile that ships: the workspace's
# `[profile.release]` and `[profile.wasm-release]` (Cargo.toml: fat LTO, one codegen unit) are
# copied into the probe's manifest and the probe is built with `--profile wasm-release`, then
# optimised as scripts/build-web.sh does (`wasm-opt -O3 --strip-debug --strip-producers`, npm's
# binaryen: Debian's is too old for the features Rust enables on wasm32; installed under
# target/wasm-size if it is not on PATH). Sizes: raw and gzip -9 of the optimised module; with
# WASM_OPT=none, of cargo's output instead (it carries debug info: not what ships).
#
# Usage: bash scripts/wasm-size.sh   (prints a Markdown table)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$repo/target/wasm-size"
probe="$work/probe"
mkdir -p "$probe/src"

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

cat >"$probe/Cargo.toml" <<TOML
[package]
name = "wasm-size-probe"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
cobrowse-engine = { path = "$repo/engine", default-features = false }

[features]
engine-defaults = ["cobrowse-engine/default"]
use-features = ["engine-defaults"]

TOML
# The shipped profile, verbatim from the workspace manifest.
awk '/^\[/ { keep = ($0 == "[profile.release]" || $0 == "[profile.wasm-release]") }
     keep' "$repo/Cargo.toml" >>"$probe/Cargo.toml"
grep -q '^\[profile.wasm-release\]' "$probe/Cargo.toml" ||
    { echo "no [profile.wasm-release] in $repo/Cargo.toml" >&2; exit 1; }

cat >"$probe/src/main.rs" <<'RUST'
//! What a browser client of the engine does, with inputs the optimizer cannot see through.
use std::hint::black_box;

use cobrowse_engine::protocol::{Message, ParticipantId};
use cobrowse_engine::*;

/// A small page built through the tree-edit API (how the browser captures the live DOM).
#[cfg(not(feature = "use-features"))]
fn page() -> Tree {
    let mut t = Tree::new_document();
    let root = t.root();
    let html = t.create_element(html_name("html"), Attrs::new());
    t.append(root, html);
    let body = t.create_element(html_name("body"), Attrs::new());
    t.append(html, body);
    for i in 0..black_box(3) {
        let p = t.create_element(html_name("p"), Attrs::new());
        t.append(body, p);
        let text = t.create(NodeData::Text(Text::from(format!("line {i}"))));
        t.append(p, text);
    }
    let input = t.create_element(html_name("input"), Attrs::new());
    t.append(body, input);
    t
}

fn main() {
    #[cfg(feature = "use-features")]
    let (config, page) = (
        RulesConfig::from_text(black_box(r#"{"mask": {"selectors": ["input"]}}"#)).unwrap(),
        parse_document_str(black_box("<p>line</p><input>")),
    );
    #[cfg(not(feature = "use-features"))]
    let (config, page) = (
        RulesConfig {
            mask: MaskConfig {
                selectors: vec![black_box("input").to_owned()],
                ..Default::default()
            },
            ..Default::default()
        },
        page(),
    );
    let rules = Rules::compile(&config, Sanitize::On).unwrap();
    let mut capture = Capture::new(rules, page);
    let keyframe = capture.keyframe();
    let t = capture.tree_mut();
    let body = t.first_child(t.first_child(t.root()).unwrap()).unwrap();
    t.set_attr(body, attr_name("class"), black_box("edited"));
    let delta = capture.delta().unwrap_or_default();
    let mut mirror = Mirror::default();
    mirror.apply_frame(&keyframe, &mut ()).unwrap();
    mirror.apply_frame(&delta, &mut ()).unwrap();
    let message = protocol::encode_frame(&mirror.keyframe().unwrap_or_default());
    let chat = Message::Chat { from: ParticipantId(1), text: black_box("hi").into() }.encode();
    black_box(Message::decode(&message).is_ok() && Message::decode(&chat).is_ok());
    #[cfg(feature = "use-features")]
    black_box(mirror.to_html());
}
RUST

wasm_opt="${WASM_OPT:-}"
if [ -z "$wasm_opt" ]; then
    if command -v wasm-opt >/dev/null && wasm-opt --version | grep -qE 'version (1[1-9][0-9]|[2-9][0-9][0-9])'; then
        wasm_opt=wasm-opt
    else
        [ -x "$work/node_modules/.bin/wasm-opt" ] ||
            npm install --silent --prefix "$work" binaryen@132.0.0 >/dev/null
        wasm_opt="$work/node_modules/.bin/wasm-opt"
    fi
fi

out="$work/out"
mkdir -p "$out"
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
gz() { gzip -9 -c "$1" | wc -c; }

if [ "$wasm_opt" != none ]; then
    echo "| build | features | wasm-opt -O3 KiB | wasm-opt -O3 + gzip -9 KiB |"
else
    echo "| build | features | cargo output KiB (with debug info) | gzip -9 KiB |"
fi
echo "|---|---|---:|---:|"
for variant in no-default default default+used; do
    case "$variant" in
        no-default) flags=(); label="none (--no-default-features)" ;;
        default) flags=(--features engine-defaults); label="html, config (on, unused)" ;;
        default+used) flags=(--features use-features); label="html, config (used)" ;;
    esac
    cargo build --quiet --profile wasm-release --target wasm32-unknown-unknown \
        --manifest-path "$probe/Cargo.toml" --target-dir "$work/target" "${flags[@]}"
    wasm="$out/$variant.wasm"
    cp "$work/target/wasm32-unknown-unknown/wasm-release/wasm-size-probe.wasm" "$wasm"
    if [ "$wasm_opt" != none ]; then
        # The flags of scripts/build-web.sh.
        "$wasm_opt" -O3 --strip-debug --strip-producers \
            --enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int \
            --enable-sign-ext --enable-mutable-globals --enable-multivalue \
            "$wasm" -o "$out/$variant.opt.wasm"
        wasm="$out/$variant.opt.wasm"
    fi
    echo "| $variant | $label | $(kb "$(wc -c <"$wasm")") | $(kb "$(gz "$wasm")") |"
done
