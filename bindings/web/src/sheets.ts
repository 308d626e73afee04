// CSSOM as the agent needs it. Rules added or removed through the CSSOM (insertRule,
// deleteRule, replace, replaceSync: what CSS-in-JS libraries do) never show in the DOM, so the
// capture hooks those methods and sends such a sheet's effective rules as the text of its
// <style> element, one text node per top-level rule (an edit costs one node). A large
// <style> travels that way from the start, its text cut at its top-level rules (`splitRules`:
// the pieces join to the text exactly, so the mirror parses the same sheet), so that its first
// CSSOM edit costs one rule too, not the whole sheet. Constructed sheets adopted by a document
// (the top one or a captured iframe's) travel as one extra `<style data-cobrowse-adopted>`
// element, the last child of its <html>, and those adopted by a shadow root as the last child
// of the root (adopted sheets cascade after every sheet of their document or root, and so does
// that element). Each window's prototypes are hooked (an iframe has its own); a same-origin
// <link rel=stylesheet> travels as a `<style data-cobrowse-href>` holding its rules, so the
// agent need not fetch it with the customer's cookies; a cross-origin one stays a link (by
// URL). The engine sees ordinary elements and text and decides everything else (masking,
// sanitizing: CSS text with script URLs does not reach the agent).

/** Attribute of the synthetic element holding the document's adopted sheets. */
export const ADOPTED_ATTR = 'data-cobrowse-adopted';
/** Attribute of the synthetic element standing in for a same-origin stylesheet link. */
export const LINK_ATTR = 'data-cobrowse-href';

type Listener = (sheet: CSSStyleSheet) => void;

/** Each hooked window's listeners (`watchSheets`: this window's; `watchSheetsIn`: an
 * iframe's). */
const windowListeners = new WeakMap<object, Set<Listener>>();
/** Called before every CSSOM edit of a sheet, in any hooked window (`watchSheetsBefore`). */
const beforeListeners = new Set<Listener>();
/** Sheets whose rules were changed through the CSSOM since they were parsed. */
const modified = new WeakSet<CSSStyleSheet>();
/** Top-level rules whose contents were edited through the CSSOM (a rule inserted into or
 * deleted from a grouping rule such as @media): their source text is stale. */
const edited = new WeakSet<CSSRule>();

/** Calls `listener` after every CSSOM edit of any sheet until the returned function is called. */
export function watchSheets(listener: Listener): () => void {
  return watchSheetsIn(window, listener);
}

/** Calls `listener(sheet)` before every CSSOM edit of a sheet in any hooked window (the page's
 * and the watched iframes'), until the returned function is called. */
export function watchSheetsBefore(listener: Listener): () => void {
  beforeListeners.add(listener);
  return () => {
    beforeListeners.delete(listener);
  };
}

/** Whether the contents of the top-level `rule` were edited through the CSSOM (so its source text is stale). */
export function isEdited(rule: CSSRule): boolean {
  return edited.has(rule);
}

/** Whether `sheet`'s rules were changed through the CSSOM (so its owner's text is stale). */
export function isModified(sheet: CSSStyleSheet): boolean {
  return modified.has(sheet);
}

/**
 * Calls `listener` after every CSSOM edit of a sheet in `win` (this window or a same-origin
 * iframe's) until the returned function is called. A window's prototypes are wrapped once and
 * stay wrapped (a pass-through while no capture listens), as the form setters are: redefining
 * prototype methods and accessors at every start and stop costs the page's optimized code
 * (its inline caches through those prototypes) more than the wrappers do.
 */
export function watchSheetsIn(win: Window & typeof globalThis, listener: Listener): () => void {
  let to = windowListeners.get(win);
  if (to === undefined) {
    to = new Set();
    // Noted first: a window being torn down may refuse the hooks part-way (the caller
    // catches it); its prototypes are not wrapped twice.
    windowListeners.set(win, to);
    hook(win, to);
  }
  to.add(listener);
  const listeners = to;
  return () => {
    listeners.delete(listener);
  };
}

function hook(win: Window & typeof globalThis, to: Set<Listener>): void {
  const notify = (sheet: CSSStyleSheet | null | undefined): void => {
    if (!sheet) return;
    modified.add(sheet);
    for (const l of to) l(sheet);
  };
  const wrap = <T extends object>(proto: T, name: string, sheetOf: (self: any) => CSSStyleSheet | null | undefined, after?: (self: any) => void): void => {
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    const orig = desc?.value;
    if (typeof orig !== 'function') return;
    const wrapped = function (this: any, ...args: unknown[]): unknown {
      if (beforeListeners.size > 0) {
        const sheet = sheetOf(this);
        if (sheet) for (const l of beforeListeners) l(sheet);
      }
      const r = orig.apply(this, args);
      after?.(this);
      if (r instanceof win.Promise || r instanceof Promise) {
        return r.then((v) => {
          notify(sheetOf(this));
          return v;
        });
      }
      notify(sheetOf(this));
      return r;
    };
    Object.defineProperty(proto, name, { ...desc, value: wrapped });
  };
  const sp = win.CSSStyleSheet.prototype;
  for (const m of ['insertRule', 'deleteRule', 'addRule', 'removeRule', 'replace', 'replaceSync']) wrap(sp, m, (s) => s);
  if (typeof win.CSSGroupingRule !== 'undefined') {
    for (const m of ['insertRule', 'deleteRule']) {
      wrap(win.CSSGroupingRule.prototype, m, (r: CSSRule) => r.parentStyleSheet, (r: CSSRule) => {
        let top = r;
        while (top.parentRule !== null) top = top.parentRule;
        edited.add(top);
      });
    }
  }
  // Assigning a document's or a shadow root's adoptedStyleSheets.
  for (const proto of [win.Document.prototype, win.ShadowRoot?.prototype]) {
    if (proto === undefined) continue;
    const ad = Object.getOwnPropertyDescriptor(proto, 'adoptedStyleSheets');
    if (ad?.set === undefined || ad.get === undefined) continue;
    const set = ad.set;
    Object.defineProperty(proto, 'adoptedStyleSheets', {
      ...ad,
      set(this: Document | ShadowRoot, v: CSSStyleSheet[]) {
        set.call(this, v);
        for (const l of to) for (const s of v) l(s);
        if (v.length === 0) for (const l of to) l(EMPTY);
      },
    });
  }
}

/** Stands for "the adopted list changed" when it became empty. */
const EMPTY = {} as CSSStyleSheet;

/** Sheets whose rules cannot be read (cross-origin): a sheet's origin-clean flag is set when
 * it is made and never changes, and each failed read throws (an exception with its stack). */
const UNREADABLE = new WeakSet<CSSStyleSheet>();

/** `sheet`'s rules, or null when they cannot be read (cross-origin). */
function readableRules(sheet: CSSStyleSheet): CSSRuleList | null {
  if (UNREADABLE.has(sheet)) return null;
  try {
    return sheet.cssRules;
  } catch {
    UNREADABLE.add(sheet);
    return null;
  }
}

/** The rules of `sheet` as CSS text, or null when they cannot be read (cross-origin). */
export function sheetText(sheet: CSSStyleSheet): string | null {
  const rules = readableRules(sheet);
  if (rules === null) return null;
  const out: string[] = [];
  for (let i = 0; i < rules.length; i++) out.push(rules[i]!.cssText);
  return out.join('\n');
}

/** The top-level rules of `sheet` ([] when they cannot be read: cross-origin). */
export function rulesOf(sheet: CSSStyleSheet): CSSRule[] {
  const rules = readableRules(sheet);
  return rules === null ? [] : Array.from(rules);
}

/** Whether `el` is a same-origin stylesheet link whose rules can be read now. */
export function readableLink(el: Element): el is HTMLLinkElement {
  if (el.localName !== 'link' || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') return false;
  const l = el as HTMLLinkElement;
  const sheet = l.sheet;
  if (sheet === null || sheet.disabled || l.rel.trim().toLowerCase() !== 'stylesheet') return false;
  // Readable when its rules can be read (as `sheetText`, without serializing them).
  return readableRules(sheet) !== null;
}

/**
 * `text` (a style sheet's source) cut after each top-level statement: a qualified rule ends
 * with its block's closing brace, an at-rule with its block or its semicolon; comments and
 * white space before a statement go with it, trailing ones with the last. The pieces join to
 * `text` exactly. Null when there is no statement or a stray closing brace (the caller then
 * sends the text whole). Whether each piece is one rule of the parsed sheet is for the caller
 * to check (`alignPieces`): the browser drops invalid statements.
 */
export function splitRules(text: string): string[] | null {
  const out: string[] = [];
  const n = text.length;
  let start = 0;
  let depth = 0;
  let inStatement = false;
  let atRule = false;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === 0x22 || c === 0x27) {
      // A string: to its closing quote, a newline (unterminated) or the end.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i += 2;
        else if (d === c) {
          i++;
          break;
        } else if (d === 0x0a) break;
        else i++;
      }
      inStatement = true;
      continue;
    }
    if (c === 0x5c /* \ */) {
      i += 2;
      inStatement = true;
      continue;
    }
    if (!inStatement) {
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) {
        i++;
        continue;
      }
      // <!-- and --> are ignored between statements.
      if (text.startsWith('<!--', i)) {
        i += 4;
        continue;
      }
      if (text.startsWith('-->', i)) {
        i += 3;
        continue;
      }
      inStatement = true;
      atRule = c === 0x40 /* @ */;
    }
    if (c === 0x7b /* { */) depth++;
    else if (c === 0x7d /* } */) {
      if (depth === 0) return null;
      depth--;
      if (depth === 0) {
        out.push(text.slice(start, i + 1));
        start = i + 1;
        inStatement = false;
      }
    } else if (c === 0x3b /* ; */ && depth === 0 && atRule) {
      out.push(text.slice(start, i + 1));
      start = i + 1;
      inStatement = false;
    }
    i++;
  }
  // A statement the end closes (the browser closes open blocks), or trailing white space.
  if (inStatement) out.push(text.slice(start));
  else if (out.length > 0) out[out.length - 1] += text.slice(start);
  return out.length > 0 ? out : null;
}

/**
 * Which of `rules` (a sheet's top-level rules, in order) each of `pieces` (its source cut by
 * `splitRules`) is: the rule's index, or -1 for a piece the browser dropped (invalid, such as
 * another browser's prefixed selector). Each piece is parsed alone in a constructed sheet of
 * `win` and must give no rule, or one whose text is the next rule's. Null when they do not
 * align (a piece whose meaning depends on the rest, such as @import or a namespace prefix).
 */
export function alignPieces(pieces: string[], rules: CSSRule[], win: Window & typeof globalThis): number[] | null {
  let probe: CSSStyleSheet;
  try {
    probe = new win.CSSStyleSheet();
  } catch {
    return null;
  }
  const joint = alignJoint(pieces, rules, probe);
  if (joint !== undefined) return joint;
  const out: number[] = [];
  let j = 0;
  for (const piece of pieces) {
    try {
      probe.replaceSync(piece);
    } catch {
      return null;
    }
    const got = probe.cssRules;
    if (got.length === 0) {
      out.push(-1);
      continue;
    }
    if (got.length !== 1 || j >= rules.length || got[0]!.cssText !== rules[j]!.cssText) return null;
    out.push(j++);
  }
  return j === rules.length ? out : null;
}

/** Ends each piece but the last in `alignJoint`'s one parse: a statement that is one rule. */
const PIECE_END_LAYER = 'cobrowse-piece-end';
const PIECE_END = `@layer ${PIECE_END_LAYER};`;

/** Whether `r` (of `alignJoint`'s parse) is a `PIECE_END`: read from its type and layer names,
 * not by serializing it (`cssText`). */
function isPieceEnd(r: CSSRule): boolean {
  if (r.type !== 0) return false;
  const names = (r as CSSLayerStatementRule).nameList;
  return names !== undefined && names.length === 1 && names[0] === PIECE_END_LAYER && r.constructor.name === 'CSSLayerStatementRule';
}

/**
 * Whether `a` (a piece's rule in `alignJoint`'s parse of the sheet's own source) is `b` (the
 * sheet's rule at the same place), without serializing whole rules: a style rule by its
 * selector, a `@media` or `@supports` rule by its condition, `@keyframes` by its name, any
 * other rule (few and short: `@import`, `@font-face`, `@namespace`, ...) by its text. Both
 * parses read the same text, and what a statement's parse depends on beyond its own text is
 * its place among the others (`@import`, `@namespace` and `@charset` rules are dropped out of
 * place; a namespace prefix needs its `@namespace`): such a difference changes the rules'
 * count or kinds, or a selector. Reading `cssText` of every rule twice was most of the
 * mapping's cost on large sheets (the probe's parse is the rest).
 */
function sameRule(a: CSSRule, b: CSSRule): boolean {
  const type = a.type;
  if (type !== b.type) return false;
  switch (type) {
    case 1: // CSSRule.STYLE_RULE
      return (a as CSSStyleRule).selectorText === (b as CSSStyleRule).selectorText;
    case 4: // MEDIA_RULE
    case 12: // SUPPORTS_RULE
      return (a as CSSConditionRule).conditionText === (b as CSSConditionRule).conditionText;
    case 7: // KEYFRAMES_RULE
      return (a as CSSKeyframesRule).name === (b as CSSKeyframesRule).name;
    default:
      return a.cssText === b.cssText;
  }
}

/**
 * `alignPieces` with one parse instead of one per piece: the pieces joined with `PIECE_END` on
 * a line of its own between each two (none after the last: only the last piece can leave a
 * block or a comment open), so that the rules between two ends are a piece's. The verdict
 * holds where every end comes out as an end: each piece gives no rule or one whose text is the
 * next rule's, every rule taken. Undefined otherwise (also when a piece's parse ran into the
 * end after it, in a browser without `@layer`, or for a page's own rule like the end): the
 * caller then parses the pieces one by one, as before.
 */
function alignJoint(pieces: string[], rules: CSSRule[], probe: CSSStyleSheet): number[] | undefined {
  try {
    probe.replaceSync(pieces.join(`\n${PIECE_END}\n`));
  } catch {
    return undefined;
  }
  const got = probe.cssRules;
  const out: number[] = [];
  let j = 0;
  // The rule of the piece being read (-1: none yet).
  let at = -1;
  for (let k = 0; k < got.length; k++) {
    const r = got[k]!;
    if (isPieceEnd(r)) {
      out.push(at);
      at = -1;
      continue;
    }
    if (at >= 0 || j >= rules.length || !sameRule(r, rules[j]!)) return undefined;
    at = j++;
  }
  out.push(at);
  return out.length === pieces.length && j === rules.length ? out : undefined;
}
