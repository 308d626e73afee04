#!/usr/bin/env bash
# Builds the web package: the engine for wasm32 (wasm-bindgen glue, wasm-opt), bundled with
# the TypeScript wrapper by esbuild into bindings/web/dist/:
#   cobrowse.js (ES module; loads cobrowse_bg.wasm from beside itself), cobrowse_bg.wasm (the
#   full module: capture and replay), cobrowse.d.ts and messages.d.ts (the protocol's message
#   types); cobrowse-console.js (the agent console; loads cobrowse_bg.wasm);
#   cobrowse-widget.js (the customer widget; loads cobrowse-widget_bg.wasm, the module built
#   without the wasm crate's `agent` feature: no replayer).
# Installs what is missing: the wasm32 target, wasm-bindgen-cli of the version the crate pins,
# the npm dev dependencies (esbuild, typescript, binaryen's wasm-opt).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
WEB=bindings/web

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # It fails with --locked (see TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if [ ! -x "$WEB/node_modules/.bin/esbuild" ] || [ ! -x "$WEB/node_modules/.bin/wasm-opt" ] || [ ! -d "$WEB/node_modules/pngjs" ]; then
  (cd "$WEB" && npm ci --no-audit --no-fund)
fi

rm -rf "$WEB/build/pkg" "$WEB/build/pkg-customer" "$WEB/dist"
mkdir -p "$WEB/build/pkg" "$WEB/build/pkg-customer" "$WEB/dist"
# One module: the wasm-release profile (Cargo.toml: fat LTO, one codegen unit, opt-level 3),
# wasm-bindgen's glue into build/$1, the optimised module into dist/$2. Further arguments go to
# cargo (both builds write the same target file, so each is bound before the next build).
wasm_module() {
  local pkg="$1" out="$2"
  shift 2
  cargo build -p cobrowse-wasm --profile wasm-release --target wasm32-unknown-unknown "$@"
  wasm-bindgen --target web --out-dir "$WEB/build/$pkg" \
    target/wasm32-unknown-unknown/wasm-release/cobrowse_wasm.wasm
  # -O3 keeps the engine fast (-Oz measured slower for a few % of size, TOOLCHAIN.md).
  "$WEB/node_modules/.bin/wasm-opt" -O3 --strip-debug --strip-producers \
    --enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-multivalue \
    "$WEB/build/$pkg/cobrowse_wasm_bg.wasm" -o "$WEB/dist/$out"
}
# The full module (capture and replay): cobrowse.js and the agent console.
wasm_module pkg cobrowse_bg.wasm
# The customer's module: no `agent` feature (no replayer, no DOM operations for a mirror).
wasm_module pkg-customer cobrowse-widget_bg.wasm --no-default-features

bundle() {
  "$WEB/node_modules/.bin/esbuild" "$WEB/src/$1.ts" --bundle --format=esm \
    --target=es2022 --minify --legal-comments=none --outfile="$WEB/dist/$2" "${@:3}"
}
bundle cobrowse cobrowse.js
# The agent console: one script, loading cobrowse_bg.wasm from beside itself.
bundle console cobrowse-console.js
# The customer widget: one script, loading cobrowse-widget_bg.wasm from beside itself
# (src/wasm-customer.ts stands in for src/wasm.ts).
bundle widget cobrowse-widget.js --alias:@cobrowse/wasm=./$WEB/src/wasm-customer.ts
(cd "$WEB" && node_modules/.bin/tsc -p tsconfig.json)
cp "$WEB/build/types/src/cobrowse.d.ts" "$WEB/dist/cobrowse.d.ts"
# The message types cobrowse.d.ts re-exports (src/messages.ts).
cp "$WEB/build/types/src/messages.d.ts" "$WEB/dist/messages.d.ts"
# The widget's and the console's types (they import cobrowse.d.ts and session/).
for entry in widget console; do
  mkdir -p "$WEB/dist/$entry"
  cp "$WEB/build/types/src/$entry.d.ts" "$WEB/dist/cobrowse-$entry.d.ts"
  cp "$WEB/build/types/src/$entry"/*.d.ts "$WEB/dist/$entry/"
done
mkdir -p "$WEB/dist/session" && cp "$WEB/build/types/src/session"/*.d.ts "$WEB/dist/session/"

# Sizes of every artifact (gzip -9), and each side's total: the customer's (the widget's script
# and the module it loads) and the agent's (the console's script and the full module).
# BENCHMARKS.md, bundle size.
size() { echo "$(wc -c < "$1") B ($(gzip -9c "$1" | wc -c) B gzipped)"; }
echo "bindings/web/dist: cobrowse_bg.wasm $(size "$WEB/dist/cobrowse_bg.wasm"), cobrowse-widget_bg.wasm $(size "$WEB/dist/cobrowse-widget_bg.wasm"), cobrowse.js $(size "$WEB/dist/cobrowse.js"), cobrowse-widget.js $(size "$WEB/dist/cobrowse-widget.js"), cobrowse-console.js $(size "$WEB/dist/cobrowse-console.js")"
gz() { gzip -9c "$1" | wc -c; }
echo "customer side (cobrowse-widget.js + cobrowse-widget_bg.wasm): $(( $(gz "$WEB/dist/cobrowse-widget.js") + $(gz "$WEB/dist/cobrowse-widget_bg.wasm") )) B gzipped; agent side (cobrowse-console.js + cobrowse_bg.wasm): $(( $(gz "$WEB/dist/cobrowse-console.js") + $(gz "$WEB/dist/cobrowse_bg.wasm") )) B gzipped"
