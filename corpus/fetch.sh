#!/usr/bin/env bash
# Fetch the real-world HTML page corpus used by tests and benchmarks.
#
# Downloads the npm package htmlparser-benchmark@1.1.3 (MIT, 258 real-world
# pages captured in 2013), verifies the tarball against the committed sha256
# (corpus/htmlparser-benchmark-1.1.3.sha256) and npm's published sha512
# integrity, and extracts only the .html pages, flat, into
#   corpus/cache/htmlparser-benchmark/
# A marker file `.complete` holding the tarball sha256 is written after a
# successful extraction; when it is present and matches, nothing is downloaded.
#
# Usage: corpus/fetch.sh            (from any directory)
# Env:   HTMLPARSER_BENCHMARK_TGZ=/path/to/htmlparser-benchmark-1.1.3.tgz
#        use a local tarball instead of `npm pack` (it is verified all the same).
#        FORCE=1  ignore the marker and fetch again.
set -euo pipefail

PKG_NAME="htmlparser-benchmark"
PKG_VERSION="1.1.3"
PKG_SPEC="${PKG_NAME}@${PKG_VERSION}"
TGZ_NAME="${PKG_NAME}-${PKG_VERSION}.tgz"
# npm registry `dist.integrity` for htmlparser-benchmark@1.1.3.
NPM_INTEGRITY="sha512-qvFxfwvi5n03zc8K1k69XArLYF3ZcN/bW49I6HeFqWCsfF/zH4zwTYCqBS0jy2wOlXdgWHmLpjmnhs0Mu8KJtQ=="

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
SHA_FILE="${SCRIPT_DIR}/${TGZ_NAME%.tgz}.sha256"
CACHE_ROOT="${SCRIPT_DIR}/cache"
DEST="${CACHE_ROOT}/${PKG_NAME}"
MARKER="${DEST}/.complete"

die() {
    echo "fetch.sh: ERROR: $*" >&2
    exit 1
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$1" | awk '{print $1}'
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 -- "$1" | awk '{print $1}'
    else
        python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

sri_sha512_of() {
    if command -v openssl >/dev/null 2>&1; then
        printf 'sha512-%s' "$(openssl dgst -sha512 -binary -- "$1" | base64 | tr -d '\n')"
    else
        python3 -c 'import base64,hashlib,sys; print("sha512-"+base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode(), end="")' "$1"
    fi
}

summary() { # $1 = note
    local count bytes
    count=$(find "$DEST" -maxdepth 1 -type f -name '*.html' | wc -l | tr -d ' ')
    bytes=$(find "$DEST" -maxdepth 1 -type f -name '*.html' -exec cat {} + | wc -c | tr -d ' ')
    echo "${PKG_SPEC}: ${count} pages, ${bytes} bytes in ${DEST} ($1)"
}

[ -f "$SHA_FILE" ] || die "checksum file missing: $SHA_FILE"
EXPECTED_SHA256="$(awk 'NF { print $1; exit }' "$SHA_FILE" | tr 'A-F' 'a-f')"
[[ "$EXPECTED_SHA256" =~ ^[0-9a-f]{64}$ ]] || die "no valid sha256 in $SHA_FILE"

# Fast path: a previous run completed with this exact tarball.
if [ "${FORCE:-0}" != "1" ] && [ -f "$MARKER" ] \
    && [ "$(tr -d ' \n\r\t' < "$MARKER")" = "$EXPECTED_SHA256" ] \
    && [ -n "$(find "$DEST" -maxdepth 1 -type f -name '*.html' -print -quit)" ]; then
    summary "cached"
    exit 0
fi

mkdir -p "$CACHE_ROOT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/corpus-fetch.XXXXXX")"
STAGE="${CACHE_ROOT}/.${PKG_NAME}.staging.$$"
cleanup() { rm -rf -- "$WORK" "$STAGE"; }
trap cleanup EXIT

# 1. Obtain the tarball.
if [ -n "${HTMLPARSER_BENCHMARK_TGZ:-}" ]; then
    [ -f "$HTMLPARSER_BENCHMARK_TGZ" ] || die "HTMLPARSER_BENCHMARK_TGZ=$HTMLPARSER_BENCHMARK_TGZ does not exist"
    cp -- "$HTMLPARSER_BENCHMARK_TGZ" "$WORK/$TGZ_NAME"
else
    command -v npm >/dev/null 2>&1 || die "npm not found (needed to download $PKG_SPEC)"
    if ! (cd "$WORK" && npm pack "$PKG_SPEC" --ignore-scripts --loglevel=warn) \
        >"$WORK/npm.log" 2>&1; then
        cat "$WORK/npm.log" >&2
        die "npm pack $PKG_SPEC failed (output above)"
    fi
fi
TGZ="$WORK/$TGZ_NAME"
[ -f "$TGZ" ] || { cat "$WORK/npm.log" >&2 2>/dev/null || true; die "npm pack did not produce $TGZ_NAME"; }

# 2. Verify it before looking inside.
ACTUAL_SHA256="$(sha256_of "$TGZ")"
if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]; then
    die "sha256 mismatch for $TGZ_NAME: expected $EXPECTED_SHA256 (from ${SHA_FILE##*/}), got $ACTUAL_SHA256. Refusing to continue."
fi
ACTUAL_SRI="$(sri_sha512_of "$TGZ")"
if [ "$ACTUAL_SRI" != "$NPM_INTEGRITY" ]; then
    die "sha512 integrity mismatch for $TGZ_NAME: expected $NPM_INTEGRITY, got $ACTUAL_SRI. Refusing to continue."
fi

# 3. Extract only the pages, flat, into a staging dir next to the destination.
mkdir -p "$WORK/x" "$STAGE"
tar -xzf "$TGZ" -C "$WORK/x" --no-same-owner --no-same-permissions \
    --wildcards 'package/files/*.html' \
    || die "extracting pages from $TGZ_NAME failed"
while IFS= read -r -d '' page; do
    name="${page##*/}"
    [ ! -e "$STAGE/$name" ] || die "duplicate page name in tarball: $name"
    cp -- "$page" "$STAGE/$name"
done < <(find "$WORK/x" -type f -name '*.html' -print0)
[ -n "$(find "$STAGE" -maxdepth 1 -type f -name '*.html' -print -quit)" ] \
    || die "no .html pages found in $TGZ_NAME"

# 4. Swap into place, then mark complete.
rm -rf -- "$DEST"
mv -- "$STAGE" "$DEST"
printf '%s\n' "$ACTUAL_SHA256" > "$MARKER.tmp"
mv -- "$MARKER.tmp" "$MARKER"

summary "fetched; sha256 and sha512 verified"
