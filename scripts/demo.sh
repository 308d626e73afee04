#!/usr/bin/env bash
# The demo: co-browse a bank's loan application in two browser windows.
# Builds what it needs (the relay, the web package with the widget and the console), then
# starts the relay on 127.0.0.1:8080 (COBROWSE_LISTEN to change) in development mode with the
# in-memory store. The relay itself serves:
#   http://127.0.0.1:8080/demo/    the bank's site with the customer widget (Co-browse button)
#   http://127.0.0.1:8080/agent/   the agent console (signed in with the development token)
#   http://127.0.0.1:8080/dist/    the web package
# Ctrl-C stops it. DEMO_NO_SERVE=1 builds and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0

web_stale() {
  [ ! -f bindings/web/dist/cobrowse-widget.js ] && return 0
  [ -n "$(find bindings/web/src wasm/src engine/src -newer bindings/web/dist/cobrowse-widget.js -type f | head -1)" ]
}
if web_stale; then
  echo "== building the web package (wasm engine, widget, console)"
  bash scripts/build-web.sh
fi
echo "== building the relay"
cargo build -q -p cobrowse-relay
[ "${DEMO_NO_SERVE:-}" = 1 ] && exit 0

listen=${COBROWSE_LISTEN:-127.0.0.1:8080}
web=$PWD/bindings/web
echo
echo "  customer (the bank's site):  http://$listen/demo/"
echo "  agent console:               http://$listen/agent/"
echo
echo "Open the customer URL in one window, click Co-browse, and type the session ID into the"
echo "console in another window (or open http://$listen/agent/?session=<the nine digits>)."
echo "Ctrl-C to stop."
echo
COBROWSE_STATIC_MOUNTS="/demo/=$web/demo/site,/agent/=$web/demo/agent,/dist/=$web/dist" \
  exec target/debug/cobrowse-relay --dev --listen "$listen"
