// Shadow roots as the capture sees them, closed ones included. A closed shadow root
// (`attachShadow({ mode: 'closed' })`) is invisible through `el.shadowRoot`, so this module
// wraps `Element.prototype.attachShadow` of each window it is installed in and remembers every
// root created after that (open and closed) in a module-private WeakMap host -> root, never
// exposed to the page: the page still gets its root from `attachShadow` and `el.shadowRoot`
// stays null for a closed one. The top window is hooked when this module loads (the customer
// script, loaded early); a same-origin iframe's window when the capture first watches its
// document, and again after it navigates (frames.ts). Roots created before the hook (a
// declarative `<template shadowrootmode="closed">`, parsed before any script, or scripts of an
// iframe that ran before the capture watched it) cannot be reached.
//
// Invariant: a window's prototype is wrapped at most once (`hooked`), so hooking again after a
// navigation that kept the window (initial about:blank) wraps nothing twice.

type AttachListener = (host: Element) => void;

/** Every closed shadow root created through a hooked `attachShadow`, by host (an open one is
 * the host's `shadowRoot`). */
const roots = new WeakMap<Element, ShadowRoot>();
/** Whether `roots` ever held a root: until then `shadowRootOf` (called for every element of a
 * keyframe) needs no lookup in it. */
let anyClosed = false;
/** The `Element.prototype`s already wrapped. */
const hooked = new WeakSet<object>();
const listeners = new Set<AttachListener>();

/** Wraps `attachShadow` in `win` (once per prototype); harmless when the window is going away. */
export function hookShadowsIn(win: Window & typeof globalThis): void {
  let proto: Element;
  try {
    proto = win.Element.prototype;
  } catch {
    return;
  }
  if (hooked.has(proto)) return;
  const desc = Object.getOwnPropertyDescriptor(proto, 'attachShadow');
  const orig = desc?.value;
  if (desc === undefined || typeof orig !== 'function') return;
  hooked.add(proto);
  Object.defineProperty(proto, 'attachShadow', {
    ...desc,
    value: function attachShadow(this: Element, init: ShadowRootInit): ShadowRoot {
      const root = orig.call(this, init) as ShadowRoot;
      if (root.mode === 'closed') {
        roots.set(this, root);
        anyClosed = true;
      }
      for (const l of listeners) l(this);
      return root;
    },
  });
}

/** `host`'s shadow root, open or closed (when created after the hook), or null. */
export function shadowRootOf(host: Element): ShadowRoot | null {
  const open = host.shadowRoot;
  if (open != null || !anyClosed) return open ?? null;
  return roots.get(host) ?? null;
}

/** Calls `listener(host)` after every `attachShadow` in a hooked window until the returned function is called. */
export function watchShadows(listener: AttachListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

if (typeof window !== 'undefined') hookShadowsIn(window);
