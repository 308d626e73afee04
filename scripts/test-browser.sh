#!/usr/bin/env bash
# Browser tests: the wasm crate under wasm-bindgen-test in headless Chromium, then the web
# package with Playwright (playwright-core driving Debian's Chromium) under node's test runner.
# Installs Chromium and its driver (Debian packages) when missing; run scripts/build-web.sh
# first. COBROWSE_PAGES=all runs every corpus page (the default is a seeded subset of 6;
# COBROWSE_SEED picks it). test/fidelity.test.mjs compares screenshots of the customer page and
# the mirror on a seeded subset (COBROWSE_FIDELITY_PAGES, default 6); every corpus page:
# `node test/fidelity-run.mjs` in bindings/web (README).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  $SUDO apt-get install -y chromium chromium-driver
fi

echo "--> wasm-bindgen-test (headless Chromium)"
CHROMEDRIVER=/usr/bin/chromedriver \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p cobrowse-wasm --target wasm32-unknown-unknown

echo "--> Playwright: capture, replay, privacy, hostile pages"
(cd bindings/web && node --test --test-concurrency=1 test/*.test.mjs)

# The product end to end: the demo site's widget and the agent console against the real relay
# (its debug binary, started by the tests on a free 127.0.0.1 port). A failing test leaves
# screenshots of both sides in bindings/web/test-artifacts/.
echo "--> Playwright: widget and console against the relay (bindings/web/test/e2e)"
CARGO_INCREMENTAL=0 cargo build -q -p cobrowse-relay
cd bindings/web
node --test --test-concurrency=1 test/e2e/*.test.mjs
