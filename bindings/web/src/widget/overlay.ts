// What the agents draw on the customer's page: their pointers, click ripples (a red circle)
// and highlights. Everything lives in the widget's shadow root (never captured), fixed over
// the viewport. Positions are anchored to elements: an agent sends a position relative to the
// element under its pointer (by wire id), so it lands on the same element when the two
// layouts differ; highlights follow their element through scroll and reflow (re-measured every
// animation frame while any is shown).

/** Where an agent points: relative to `el`'s border box, or page coordinates when `el` is null. */
export interface Anchor {
  el: Element | null;
  x: number;
  y: number;
}

/** Viewport coordinates of an anchor. */
export function toViewport(a: Anchor): { x: number; y: number } {
  if (a.el !== null && a.el.isConnected) {
    const r = a.el.getBoundingClientRect();
    return { x: r.left + a.x, y: r.top + a.y };
  }
  return { x: a.x - window.scrollX, y: a.y - window.scrollY };
}

interface Highlight {
  box: HTMLElement;
  el: Element;
  rect: { x: number; y: number; width: number; height: number } | null;
  timer: ReturnType<typeof setTimeout>;
}

export const OVERLAY_CSS = `
.layer{position:fixed;inset:0;pointer-events:none;z-index:2147483646;overflow:hidden}
.pointer{position:absolute;width:18px;height:18px;margin:-2px 0 0 -2px;transition:transform .08s linear}
.pointer svg{display:block}
.pointer span{position:absolute;left:16px;top:14px;font:11px/1.4 system-ui,sans-serif;background:#1f6feb;color:#fff;padding:0 4px;border-radius:3px;white-space:nowrap}
.ripple{position:absolute;width:36px;height:36px;margin:-18px 0 0 -18px;border:3px solid #e5262b;border-radius:50%;background:rgba(229,38,43,.25);animation:cb-ripple .7s ease-out forwards}
@keyframes cb-ripple{from{transform:scale(.3);opacity:1}to{transform:scale(1.6);opacity:0}}
.highlight{position:absolute;border:3px solid rgba(255,170,0,.95);background:rgba(255,200,0,.18);border-radius:4px;transition:opacity 1s}
.highlight.fading{opacity:0}
`;

export class Overlay {
  readonly layer: HTMLElement;
  private pointers = new Map<number, { node: HTMLElement; at: Anchor }>();
  private highlights = new Map<string, Highlight>();
  private raf = 0;

  constructor(root: ShadowRoot, private readonly highlightLifetimeMs: number) {
    this.layer = document.createElement('div');
    this.layer.className = 'layer';
    this.layer.setAttribute('data-testid', 'cobrowse-overlay');
    root.appendChild(this.layer);
  }

  /** Moves (or shows) agent `from`'s pointer. */
  pointer(from: number, at: Anchor, label: string): void {
    let p = this.pointers.get(from);
    if (p === undefined) {
      const node = document.createElement('div');
      node.className = 'pointer';
      node.setAttribute('data-testid', 'cobrowse-agent-pointer');
      node.innerHTML =
        '<svg width="18" height="18" viewBox="0 0 18 18"><path d="M1 1 L1 15 L5 11 L8 17 L10 16 L7 10 L13 10 Z" fill="#1f6feb" stroke="#fff" stroke-width="1.2"/></svg>';
      const name = document.createElement('span');
      name.textContent = label;
      node.appendChild(name);
      this.layer.appendChild(node);
      p = { node, at };
      this.pointers.set(from, p);
    }
    p.at = at;
    this.place(p.node, toViewport(at));
    this.animate();
  }

  /** A red circle where an agent clicked. */
  ripple(at: Anchor): void {
    const r = document.createElement('div');
    r.className = 'ripple';
    r.setAttribute('data-testid', 'cobrowse-ripple');
    const v = toViewport(at);
    r.style.left = `${v.x}px`;
    r.style.top = `${v.y}px`;
    this.layer.appendChild(r);
    setTimeout(() => r.remove(), 1500);
  }

  /** Marks `el` (or a part of it) for agent `from`'s highlight `id`. */
  highlight(from: number, id: number, el: Element, rect: Highlight['rect'], color: string | null): void {
    const key = `${from}:${id}`;
    this.clearOne(key);
    const box = document.createElement('div');
    box.className = 'highlight';
    box.setAttribute('data-testid', 'cobrowse-highlight');
    if (color !== null) {
      box.style.borderColor = color;
    }
    this.layer.appendChild(box);
    const timer = setTimeout(() => {
      box.classList.add('fading');
      setTimeout(() => this.clearOne(key), 1000);
    }, this.highlightLifetimeMs);
    this.highlights.set(key, { box, el, rect, timer });
    this.update();
    this.animate();
  }

  /** Removes agent `from`'s highlight `id`, or all of its highlights when `id` is null. */
  clear(from: number, id: number | null): void {
    for (const key of [...this.highlights.keys()]) {
      if (id === null ? key.startsWith(`${from}:`) : key === `${from}:${id}`) this.clearOne(key);
    }
  }

  /** Removes everything (the session ended or the customer left the page). */
  clearAll(): void {
    for (const key of [...this.highlights.keys()]) this.clearOne(key);
    for (const p of this.pointers.values()) p.node.remove();
    this.pointers.clear();
  }

  /** Removes agent `from`'s pointer. */
  removePointer(from: number): void {
    this.pointers.get(from)?.node.remove();
    this.pointers.delete(from);
  }

  get highlightCount(): number {
    return this.highlights.size;
  }

  private clearOne(key: string): void {
    const h = this.highlights.get(key);
    if (h === undefined) return;
    clearTimeout(h.timer);
    h.box.remove();
    this.highlights.delete(key);
  }

  private place(node: HTMLElement, v: { x: number; y: number }): void {
    node.style.transform = `translate(${v.x}px, ${v.y}px)`;
  }

  /** Re-measures anchored things (scroll, reflow) every frame while any is shown. */
  private animate(): void {
    if (this.raf !== 0) return;
    const tick = (): void => {
      this.raf = 0;
      this.update();
      if (this.highlights.size > 0 || this.pointers.size > 0) this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  private update(): void {
    for (const [key, h] of this.highlights) {
      if (!h.el.isConnected) {
        this.clearOne(key);
        continue;
      }
      const r = h.el.getBoundingClientRect();
      const x = r.left + (h.rect?.x ?? 0);
      const y = r.top + (h.rect?.y ?? 0);
      h.box.style.left = `${x - 3}px`;
      h.box.style.top = `${y - 3}px`;
      h.box.style.width = `${(h.rect?.width ?? r.width) + 6}px`;
      h.box.style.height = `${(h.rect?.height ?? r.height) + 6}px`;
    }
    for (const p of this.pointers.values()) this.place(p.node, toViewport(p.at));
  }
}
