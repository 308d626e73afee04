// CSSOM as the agent needs it. Rules added or removed through the CSSOM (insertRule,
// deleteRule, replace, replaceSync: what CSS-in-JS libraries do) never show in the DOM, so the
// capture hooks those methods and sends such a sheet's effective rules as the text of its
// <style> element, one text node per top-level rule (an edit costs one node); constructed sheets adopted by the document travel as one extra
// `<style data-cobrowse-adopted>` element, the last child of <html> (adopted sheets cascade
// after every sheet of the document, and so does that element); a same-origin
// <link rel=stylesheet> travels as a `<style data-cobrowse-href>` holding its rules, so the
// agent need not fetch it with the customer's cookies; a cross-origin one stays a link (by
// URL). The engine sees ordinary elements and text and decides everything else (masking,
// sanitizing: CSS text with script URLs does not reach the agent).

/** Attribute of the synthetic element holding the document's adopted sheets. */
export const ADOPTED_ATTR = 'data-cobrowse-adopted';
/** Attribute of the synthetic element standing in for a same-origin stylesheet link. */
export const LINK_ATTR = 'data-cobrowse-href';

type Listener = (sheet: CSSStyleSheet) => void;

const listeners = new Set<Listener>();
/** Sheets whose rules were changed through the CSSOM since they were parsed. */
const modified = new WeakSet<CSSStyleSheet>();
let restore: (() => void) | null = null;


/** Calls `listener` after every CSSOM edit of any sheet until the returned function is called. */
export function watchSheets(listener: Listener): () => void {
  listeners.add(listener);
  if (restore === null) restore = hook();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && restore !== null) {
      restore();
      restore = null;
    }
  };
}

/** Whether `sheet`'s rules were changed through the CSSOM (so its owner's text is stale). */
export function isModified(sheet: CSSStyleSheet): boolean {
  return modified.has(sheet);
}

/**
 * Calls `listener` after every CSSOM edit of a sheet in another (same-origin) window, such as
 * an iframe's, until the returned function is called (that window's prototypes are hooked).
 */
export function watchSheetsIn(win: Window & typeof globalThis, listener: Listener): () => void {
  const local = new Set<Listener>([listener]);
  return hook(win, local);
}

function hook(win: Window & typeof globalThis = window, to: Set<Listener> = listeners): () => void {
  const notify = (sheet: CSSStyleSheet | null | undefined): void => {
    if (!sheet) return;
    modified.add(sheet);
    for (const l of to) l(sheet);
  };
  const undo: (() => void)[] = [];
  const wrap = <T extends object>(proto: T, name: string, sheetOf: (self: any) => CSSStyleSheet | null | undefined): void => {
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    const orig = desc?.value;
    if (typeof orig !== 'function') return;
    const wrapped = function (this: any, ...args: unknown[]): unknown {
      const r = orig.apply(this, args);
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
    undo.push(() => Object.defineProperty(proto, name, desc!));
  };
  const sp = win.CSSStyleSheet.prototype;
  for (const m of ['insertRule', 'deleteRule', 'addRule', 'removeRule', 'replace', 'replaceSync']) wrap(sp, m, (s) => s);
  if (typeof win.CSSGroupingRule !== 'undefined') {
    for (const m of ['insertRule', 'deleteRule']) wrap(win.CSSGroupingRule.prototype, m, (r) => r.parentStyleSheet);
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
    undo.push(() => Object.defineProperty(proto, 'adoptedStyleSheets', ad));
  }
  return () => {
    for (const u of undo.reverse()) u();
  };
}

/** Stands for "the adopted list changed" when it became empty. */
const EMPTY = {} as CSSStyleSheet;

/** The rules of `sheet` as CSS text, or null when they cannot be read (cross-origin). */
export function sheetText(sheet: CSSStyleSheet): string | null {
  let rules: CSSRuleList;
  try {
    rules = sheet.cssRules;
  } catch {
    return null;
  }
  const out: string[] = [];
  for (let i = 0; i < rules.length; i++) out.push(rules[i]!.cssText);
  return out.join('\n');
}

/** The top-level rules of `sheet` ([] when they cannot be read: cross-origin). */
export function rulesOf(sheet: CSSStyleSheet): CSSRule[] {
  try {
    return Array.from(sheet.cssRules);
  } catch {
    return [];
  }
}

/** Whether `el` is a same-origin stylesheet link whose rules can be read now. */
export function readableLink(el: Element): el is HTMLLinkElement {
  if (el.localName !== 'link' || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') return false;
  const l = el as HTMLLinkElement;
  const sheet = l.sheet;
  if (sheet === null || sheet.disabled || l.rel.trim().toLowerCase() !== 'stylesheet') return false;
  return sheetText(sheet) !== null;
}
