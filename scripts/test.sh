#!/usr/bin/env bash
# Runs every test of the project on a fresh machine. This is the README's test command and
# what CI runs (.ci/run). It installs what it needs and says what it skips and why.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version

step "corpus: real-world pages (htmlparser-benchmark@1.1.3, checksum-verified)"
bash corpus/fetch.sh

step "format"
cargo fmt --all -- --check

step "unit, integration, conformance, privacy, sanitizer, hostile-input and CLI tests"
cargo test --workspace --all-targets --no-fail-fast

step "engine unit tests without the diff's later phases (the customer's browser build)"
cargo test -p cobrowse-engine --lib --no-default-features --features html,config

step "criterion benches, each run once as a test"
cargo test -p cobrowse-benches --benches

step "relay load bench, a short smoke run (debug build; exits non-zero if a session or a delta is lost)"
# The figures in BENCHMARKS.md come from a release run of 5,000 sessions; this only keeps the
# bench working: 200 sessions through the real relay process for 3 s.
target/debug/relay_load --sessions 200 --seconds 3 --warmup 1

step "web package: wasm build, wasm-opt, esbuild bundle, types (bindings/web/dist)"
bash scripts/build-web.sh

step "browser tests: wasm-bindgen-test and Playwright in headless Chromium"
bash scripts/test-browser.sh

step "fuzz targets"
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --version 0.13.2 --locked 2>/dev/null || cargo install cargo-fuzz --version 0.13.2
  fi
  # Seed the frame fuzzer with real frames (keyframes and deltas of the hand-written cases).
  mkdir -p fuzz/corpus/frame_access fuzz/corpus/html_diff_apply
  cargo build -q -p cobrowse-cli
  for c in corpus/cases/*/; do
    [ -f "$c/from.html" ] || continue
    n=$(basename "$c")
    target/debug/cobrowse snapshot "$c/from.html" --frame-out "fuzz/corpus/frame_access/$n.kf" >/dev/null
    target/debug/cobrowse diff "$c/from.html" "$c/to.html" --frame-out "fuzz/corpus/frame_access/$n.delta" >/dev/null
    { head -c 2000 "$c/from.html"; printf '\0'; head -c 2000 "$c/to.html"; } > "fuzz/corpus/html_diff_apply/$n"
  done
  # Committed seeds (the mutation-XSS payloads of corpus/mxss) and a dictionary of the tags
  # where parsing switches namespace or content model.
  cp fuzz/seeds/html_diff_apply/* fuzz/corpus/html_diff_apply/
  for t in frame_access html_diff_apply message_decode; do
    dict=()
    [ "$t" = html_diff_apply ] && dict=(-dict=html.dict)
    (cd fuzz && cargo +nightly fuzz run "$t" -- -max_total_time="${FUZZ_SECONDS:-30}" -rss_limit_mb=4096 "${dict[@]}")
  done
else
  echo "No nightly toolchain here: cargo-fuzz needs one for sanitizer builds. Building the targets with stable instead."
  cargo build --manifest-path fuzz/Cargo.toml
fi
echo
echo "all tests passed"
