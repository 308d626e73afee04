#!/usr/bin/env bash
# The main job until the browser demo lands: the `cobrowse` CLI on real pages, then the relay.
# Snapshots a corpus page, diffs two versions of a page, replays the delta, and shows what a
# masked page looks like to an agent; then starts the relay on 127.0.0.1:8080 (or
# COBROWSE_LISTEN) in development mode, which prints a development agent token, and serves
# until Ctrl-C. DEMO_NO_RELAY=1 stops after the CLI part.
set -euo pipefail
cd "$(dirname "$0")/.."
bash corpus/fetch.sh
cargo build --release -q -p cobrowse-cli
cb=target/release/cobrowse
out=$(mktemp -d)
page=$(ls -S corpus/cache/htmlparser-benchmark/*.html | sed -n 1p)

echo "== keyframe of the largest corpus page ($(basename "$page"))"
$cb snapshot "$page" --frame-out "$out/page.kf"

echo
echo "== a real page edited: diff, delta frame, replay (JSON)"
# Make an edited copy: a changed title, a removed paragraph-ish line, an added banner.
sed -e 's#<title>#<title>[edited] #I' -e 's#<body\([^>]*\)>#<body\1><div class="banner">Agent joined</div>#I' "$page" > "$out/edited.html"
$cb diff "$page" "$out/edited.html" --json --frame-out "$out/delta.cbf" --apply-out "$out/replayed.html"
$cb inspect "$out/delta.cbf" | sed -n 1,12p

echo
echo "== privacy: a bank login page under corpus/cases/privacy/rules.json"
$cb diff corpus/cases/privacy/login.html corpus/cases/privacy/login-edited.html \
  --rules corpus/cases/privacy/rules.json --apply-out "$out/agent-view.html" --frame-out "$out/login.cbf"
echo "What the agent's mirror holds for the secret fields:"
grep -E 'password|ssn|card|secret|private-panel|iframe' "$out/agent-view.html" | sed 's/^/  /'
echo
echo "Files are in $out"

[ "${DEMO_NO_RELAY:-}" = 1 ] && exit 0
cargo build --release -q -p cobrowse-relay
listen=${COBROWSE_LISTEN:-127.0.0.1:8080}
echo
echo "== the relay on http://$listen (Ctrl-C to stop)"
echo "A customer session:  curl -s -X POST http://$listen/api/sessions"
echo "Health and metrics:  curl -s http://$listen/healthz; curl -s http://$listen/metrics"
echo "Agents join over ws://$listen/ws with the development token printed below."
exec target/release/cobrowse-relay --dev --listen "$listen"
