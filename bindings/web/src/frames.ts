// Same-origin iframes for the capture. An HTML <iframe> whose `contentDocument` can be read
// (same origin: reading it neither throws nor gives null) is told to the engine with that
// document as its only child (the engine's content document; the iframe's fallback children
// are never shown by a browser and are not sent). Cross-origin iframes stay elements only.
// The widget's iframes, if any, are never captured.
//
// Each captured document is watched like the top one: its own MutationObserver, the capture's
// input/change/scroll/load listeners, and the hooks of its window (each iframe has its own
// prototypes): CSSOM edits and adopted sheets (sheets.ts), `attachShadow` (shadows.ts, so its
// closed shadow roots are known; installed for good, once per window). A
// navigation of the iframe is a `load` event on the iframe element (seen by the listeners of
// the document holding it): its child list is re-sent, and the new document replaces the old
// one. Invariant: a document is watched from its creation in the engine until the engine frees
// it (the iframe was removed or navigated) or the capture stops; `release` undoes everything
// `watch` did.

import { watchSheetsIn } from './sheets.js';
import { hookShadowsIn } from './shadows.js';

const XHTML = 'http://www.w3.org/1999/xhtml';
/** The attribute of the widget's host element (never captured, see widget.ts). */
const WIDGET_ATTR = 'data-cobrowse-widget';
/** Events the capture listens to in every captured document (capture phase). */
export const FRAME_EVENTS = ['input', 'change', 'reset', 'scroll', 'load', 'error'];
const OBSERVE: MutationObserverInit = { childList: true, attributes: true, characterData: true, subtree: true };

/** Whether `n` is the HTML element `local` (works across windows, unlike `instanceof`). */
export function isHtmlElement(n: unknown, local: string): n is Element {
  const el = n as Element | null;
  return el != null && el.nodeType === 1 && el.localName === local && el.namespaceURI === XHTML;
}

/** The document an iframe element shows when the capture may read it, else null. */
export function capturedDocumentOf(el: Element): Document | null {
  if (!isHtmlElement(el, 'iframe')) return null;
  let doc: Document | null;
  try {
    doc = (el as HTMLIFrameElement).contentDocument;
  } catch {
    return null;
  }
  if (doc === null || insideWidget(el) || loadingElsewhere(el, doc)) return null;
  return doc;
}

/**
 * Whether `doc` is the initial `about:blank` an iframe shows while it loads another URL (after
 * its insertion or a move): a transient document, not the page the iframe will show. A
 * cross-origin iframe has one too, readable for a moment; it is not captured, and the iframe's
 * `load` event (the capture listens for it) re-reads what the iframe then shows.
 */
function loadingElsewhere(iframe: Element, doc: Document): boolean {
  if (doc.URL !== 'about:blank' || iframe.hasAttribute('srcdoc')) return false;
  const src = iframe.getAttribute('src')?.trim() ?? '';
  if (src === '') return false;
  let url: URL;
  try {
    url = new URL(src, iframe.baseURI);
  } catch {
    return false;
  }
  // `javascript:` URLs run in (and write into) that same document.
  if (url.protocol === 'javascript:') return false;
  return !(url.protocol === 'about:' && url.pathname === 'blank');
}

/** Whether `el` is the widget's host or inside it (through shadow roots too). */
function insideWidget(el: Element): boolean {
  let at: Element | null = el;
  while (at !== null) {
    if (at.closest(`[${WIDGET_ATTR}]`) !== null) return true;
    const root = at.getRootNode();
    at = root.nodeType === 11 ? ((root as ShadowRoot).host ?? null) : null;
  }
  return false;
}

/** The watches of the captured iframe documents. */
export class FrameWatch {
  private readonly docs = new Map<Document, { observer: MutationObserver; undo: () => void }>();

  constructor(
    private readonly onRecords: (records: MutationRecord[]) => void,
    private readonly onEvent: (e: Event) => void,
    private readonly onSheet: (sheet: CSSStyleSheet) => void,
  ) {}

  /** Starts watching `doc` (a captured iframe's document); harmless when it is already. */
  watch(doc: Document): void {
    if (this.docs.has(doc)) return;
    const observer = new MutationObserver((records) => this.onRecords(records));
    observer.observe(doc, OBSERVE);
    for (const t of FRAME_EVENTS) doc.addEventListener(t, this.onEvent, true);
    const win = doc.defaultView as (Window & typeof globalThis) | null;
    let unhook = (): void => {};
    try {
      if (win !== null) {
        hookShadowsIn(win);
        unhook = watchSheetsIn(win, this.onSheet);
      }
    } catch {
      // A window being torn down: its sheets no longer change.
    }
    this.docs.set(doc, {
      observer,
      undo: () => {
        observer.disconnect();
        for (const t of FRAME_EVENTS) doc.removeEventListener(t, this.onEvent, true);
        try {
          unhook();
        } catch {
          // The window is gone with its prototypes.
        }
      },
    });
  }

  /** Stops watching `doc` (its iframe left the page or navigated away). */
  release(doc: Document): void {
    const w = this.docs.get(doc);
    if (w === undefined) return;
    this.docs.delete(doc);
    w.undo();
  }

  /** Stops watching every document. */
  releaseAll(): void {
    for (const doc of [...this.docs.keys()]) this.release(doc);
  }

  /** The pending mutation records of every watched document. */
  takeRecords(): MutationRecord[] {
    const out: MutationRecord[] = [];
    for (const w of this.docs.values()) for (const r of w.observer.takeRecords()) out.push(r);
    return out;
  }

  /** The watched documents. */
  documents(): Document[] {
    return [...this.docs.keys()];
  }

  /** How many documents are watched (for tests and memory checks). */
  get size(): number {
    return this.docs.size;
  }
}
