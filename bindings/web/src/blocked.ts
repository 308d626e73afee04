// Customer side: the rendered boxes of blocked elements, measured for the engine, which gives
// each placeholder the same box in the agent's mirror (engine/src/rules/placeholder.rs decides
// what the placeholder carries; this module only reads the page).
//
// The engine names the blocked elements it has not seen measured (`take_unmeasured`, after a
// keyframe or a batch that made new ones); they are measured before the frame is made, then
// watched: a ResizeObserver, attribute changes and viewport resizes re-measure them, and a
// changed box costs one op in the next batch (the engine sends one attribute change when the
// placeholder changes).
//
// What is measured: the border box as laid out, in CSS px, independent of scrolling and of
// transforms (offsetWidth/offsetHeight when a transform makes the bounding rectangle differ),
// the used margins and the computed `display`. `display: contents` has no box of its own: the
// union of its children's boxes is measured. `display: none` has none at all. An element that
// is not in the page (inside a template) cannot be measured and is reported so.
//
// An inline box spans its font's ascent and descent only, while its line holds its content: an
// `object` showing its fallback content (no plugin: an `embed` or an image inside, hundreds of
// pixels tall) measures one text line high. An inline element is measured as the union of its
// box and its content's boxes, and an `object` laid out as its fallback content is reported as
// `contents` (it has no replaced box then: the engine aligns the placeholder with the text's
// bottom, as the line aligns that content, instead of standing it on the baseline).

import type { OpWriter } from './encode.js';

/** Batch op reporting a rendered box (engine/src/capture/batch.rs). */
const OP_RENDERED_BOX = 17;

/** Lengths travel as hundredths of a CSS pixel. */
const UNIT = 100;

export class BlockedBoxes {
  /** Blocked elements being watched (handed out by the engine, still bound). */
  private readonly watched = new Set<Element>();
  /** Watched elements to measure again at the next batch. */
  private readonly changed = new Set<Element>();
  private readonly observer: ResizeObserver | null;

  constructor(onChange: () => void) {
    this.observer =
      typeof ResizeObserver === 'function'
        ? new ResizeObserver((entries) => {
            for (const e of entries) if (this.watched.has(e.target)) this.changed.add(e.target);
            onChange();
          })
        : null;
  }

  /** Measures the elements the engine named (by handle) and starts watching them. */
  measureNew(w: OpWriter, handles: ArrayLike<number>, nodeOf: (handle: number) => Node | undefined): void {
    for (let i = 0; i < handles.length; i++) {
      const h = handles[i]!;
      const n = nodeOf(h);
      const el = n instanceof Element ? n : null;
      writeBox(w, h, el);
      if (el !== null && !this.watched.has(el)) {
        this.watched.add(el);
        this.observer?.observe(el);
      }
    }
  }

  /** Marks watched elements for measuring again: those among `elements`, or all of them. */
  touch(elements: Iterable<Element> | 'all'): void {
    if (elements === 'all') {
      for (const el of this.watched) this.changed.add(el);
      return;
    }
    for (const el of elements) if (this.watched.has(el)) this.changed.add(el);
  }

  /** Writes the boxes of the watched elements marked since the last batch. */
  writeChanged(w: OpWriter, handleOf: (n: Node) => number | undefined): void {
    for (const el of this.changed) {
      const h = handleOf(el);
      if (h !== undefined) writeBox(w, h, el);
    }
    this.changed.clear();
  }

  /** Stops watching an element the engine freed. */
  forget(n: Node): void {
    if (!(n instanceof Element) || !this.watched.delete(n)) return;
    this.changed.delete(n);
    this.observer?.unobserve(n);
  }

  /** Forgets every element (a new keyframe binds new handles). */
  reset(): void {
    this.observer?.disconnect();
    this.watched.clear();
    this.changed.clear();
  }

  stop(): void {
    this.reset();
  }
}

/** The op reporting `el`'s rendered box (`has = 0` when it cannot be measured). */
function writeBox(w: OpWriter, handle: number, el: Element | null): void {
  const m = el === null ? null : measure(el);
  w.u(OP_RENDERED_BOX);
  w.u(handle);
  w.s(m?.display ?? '');
  w.u(m === null ? 0 : 1);
  w.u(m === null ? 0 : len(m.width));
  w.u(m === null ? 0 : len(m.height));
  for (let i = 0; i < 4; i++) w.u(m === null ? 0 : Math.round(m.margin[i]! * UNIT) | 0);
}

function len(px: number): number {
  return Math.max(0, Math.round(px * UNIT));
}

interface Measured {
  display: string;
  width: number;
  height: number;
  margin: [number, number, number, number];
}

/** Reads `el`'s box (see the module comment); null when it is not laid out in this page. */
export function measure(el: Element): Measured | null {
  if (!el.isConnected || el.ownerDocument.defaultView === null) return null;
  const cs = el.ownerDocument.defaultView.getComputedStyle(el);
  let display = cs.display;
  if (display === 'none') return { display, width: 0, height: 0, margin: [0, 0, 0, 0] };
  let width: number;
  let height: number;
  if (display === 'contents') {
    const range = el.ownerDocument.createRange();
    range.selectNodeContents(el);
    const r = range.getBoundingClientRect();
    width = r.width;
    height = r.height;
  } else if (display === 'inline') {
    const own = el.getBoundingClientRect();
    const range = el.ownerDocument.createRange();
    range.selectNodeContents(el);
    const inner = range.getBoundingClientRect();
    const hasContent = inner.width > 0 || inner.height > 0;
    const r = hasContent ? union(own, inner) : own;
    width = r.width;
    height = r.height;
    if (hasContent && el.localName === 'object' && el.namespaceURI === 'http://www.w3.org/1999/xhtml') display = 'contents';
  } else {
    const r = el.getBoundingClientRect();
    width = r.width;
    height = r.height;
    if (el instanceof HTMLElement) {
      // The layout size, rounded to whole pixels and untransformed: the rectangle is exact
      // but transformed (a scale or rotation of the element or an ancestor).
      if (Math.abs(width - el.offsetWidth) >= 1) width = el.offsetWidth;
      if (Math.abs(height - el.offsetHeight) >= 1) height = el.offsetHeight;
    }
  }
  const px = (v: string): number => {
    const n = parseFloat(v);
    return Number.isFinite(n) ? n : 0;
  };
  return { display, width, height, margin: [px(cs.marginTop), px(cs.marginRight), px(cs.marginBottom), px(cs.marginLeft)] };
}

/** The smallest rectangle holding `a` and `b`. */
function union(a: DOMRect, b: DOMRect): { width: number; height: number } {
  return {
    width: Math.max(a.right, b.right) - Math.min(a.left, b.left),
    height: Math.max(a.bottom, b.bottom) - Math.min(a.top, b.top),
  };
}
