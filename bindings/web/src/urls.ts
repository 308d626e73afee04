// URLs as the agent needs them: relative references in attributes and CSS resolved against
// the customer document's base URL (by the browser's own URL parser), so images, fonts and
// styles load in the mirror, whose own base is about:srcdoc.
//
// Only relative references change: a value with a scheme (http:, data:, javascript:, ...),
// an empty value and a fragment-only reference (`#id`: SVG `use`, `url(#gradient)`, in-page
// links, which must keep pointing into the mirror) are left exactly as they are, so what the
// engine's sanitizer judges is never made more permissive by the rewrite.

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
// What the URL parser strips: leading/trailing C0 controls and spaces; tab and newlines anywhere.
const EDGES = /^[\u0000-\u0020]+|[\u0000-\u0020]+$/g;
const TAB_NL = /[\t\n\r]/g;

// The last results of `absoluteUrl` for one base (a page repeats its links, image and
// style URLs: the keyframe resolved each again with the URL parser). A pure function of
// (value, base): emptied when the base changes, and when full.
const RESOLVED_MAX = 4096;
/** Values longer than this (UTF-16 units) are resolved without the memo. */
const RESOLVED_VALUE_MAX = 2048;
const resolved = new Map<string, string>();
let resolvedBase = '';

/** `value` resolved against `base` when it is a relative reference; otherwise `value`. */
export function absoluteUrl(value: string, base: string): string {
  // A long value (a data: URL, an inline image) is not kept alive by the memo.
  if (value.length > RESOLVED_VALUE_MAX) return resolve(value, base);
  if (base !== resolvedBase) {
    resolved.clear();
    resolvedBase = base;
  }
  let r = resolved.get(value);
  if (r === undefined) {
    r = resolve(value, base);
    if (resolved.size >= RESOLVED_MAX) resolved.clear();
    resolved.set(value, r);
  }
  return r;
}

function resolve(value: string, base: string): string {
  const t = value.replace(EDGES, '');
  if (t === '' || t.startsWith('#') || SCHEME.test(t.replace(TAB_NL, ''))) return value;
  try {
    return new URL(t, base).href;
  } catch {
    return value;
  }
}

/** A `srcset` with each candidate's URL resolved (descriptors kept). */
export function absoluteSrcset(value: string, base: string): string {
  const out: string[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === ',' || /\s/.test(value[i]!))) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && !/\s/.test(value[j]!)) j++;
    let url = value.slice(i, j);
    let descriptors = '';
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      // Descriptors run to the next comma outside parentheses.
      let k = j;
      let depth = 0;
      while (k < n && !(value[k] === ',' && depth === 0)) {
        if (value[k] === '(') depth++;
        else if (value[k] === ')') depth = Math.max(0, depth - 1);
        k++;
      }
      descriptors = value.slice(j, k).trim();
      j = k;
    }
    out.push(descriptors === '' ? absoluteUrl(url, base) : `${absoluteUrl(url, base)} ${descriptors}`);
    i = j;
  }
  const joined = out.join(', ');
  return joined === value ? value : joined;
}

// url(...) unquoted, "double" or 'single' quoted (no escapes: those are left alone), and
// @import "..." strings.
const CSS_URL = /url\(\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)'|([^)'"\s\\]*))\s*\)/gi;
const CSS_IMPORT = /@import\s+(["'])([^"'\\\n]*)\1/gi;

/** CSS text with the URLs of `url(...)` and `@import "..."` resolved. */
export function absoluteCss(css: string, base: string): string {
  if (!css.includes('url(') && !css.includes('URL(') && !css.includes('@import')) return css;
  return css
    .replace(CSS_URL, (m, dq: string | undefined, sq: string | undefined, bare: string | undefined) => {
      const v = dq ?? sq ?? bare ?? '';
      const abs = absoluteUrl(v, base);
      return abs === v ? m : `url("${abs.replace(/"/g, '%22')}")`;
    })
    .replace(CSS_IMPORT, (m, q: string, v: string) => {
      const abs = absoluteUrl(v, base);
      return abs === v ? m : `@import ${q}${abs.split(q).join(encodeURIComponent(q))}${q}`;
    });
}

const URL_ATTRS = new Set(['src', 'href', 'action', 'formaction', 'poster', 'background', 'data']);
const XLINK = 'http://www.w3.org/1999/xlink';

const XHTML = 'http://www.w3.org/1999/xhtml';
const SCRIPT_URL = /^javascript:/i;

/**
 * An attribute's value as the agent gets it (URLs absolute). A `javascript:` link (`href` of
 * an HTML `a` or `area`) goes as `#`: the sanitizer would drop the attribute and the mirror
 * would show plain text where the customer sees a link; `#` keeps it a link that runs nothing.
 */
export function capturedAttr(a: Attr, base: string): string {
  return capturedValue(a.ownerElement, a.namespaceURI, a.localName, a.value, base);
}

/** `capturedAttr` of the attribute `ns`/`name` of `el` (null: none) whose value is `v`, for a
 * caller that read its namespace and name already (the keyframe walk: two DOM reads fewer per
 * attribute). */
export function capturedValue(el: Element | null, ns: string | null, name: string, v: string, base: string): string {
  if (ns === null) {
    // (Stripping only removes characters: a value without ':' is no `javascript:` URL.)
    if (name === 'href' && v.includes(':') && SCRIPT_URL.test(v.replace(EDGES, '').replace(TAB_NL, ''))) {
      if (el !== null && el.namespaceURI === XHTML && (el.localName === 'a' || el.localName === 'area')) return '#';
    }
    if (URL_ATTRS.has(name)) return absoluteUrl(v, base);
    if (name === 'srcset' || name === 'imagesrcset') return absoluteSrcset(v, base);
    if (name === 'style') return absoluteCss(v, base);
    return v;
  }
  return ns === XLINK && name === 'href' ? absoluteUrl(v, base) : v;
}

/** Whether `n` is the text of a style element (its data is CSS). */
export function isStyleText(n: Node): boolean {
  const p = n.parentNode;
  return p !== null && p.nodeType === 1 && (p as Element).localName === 'style';
}
