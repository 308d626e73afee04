// Customer side: reads the live DOM into batches for the engine (one call per batch).
//
// Nodes are named by handles: `ids` (page side, weak) and `nodes` (handle -> node) hold each
// node the engine knows; when the engine frees a node (it left the page) it reports the
// handle and both maps forget it, so memory stays bounded on both sides of the boundary.

import type { CaptureEngine } from '../build/pkg/cobrowse_wasm.js';
import type { Capture, CaptureOptions } from './cobrowse.js';
import type { ActionCheck, ActionCheckContext, AgentActionMessage } from './messages.js';
import { OpWriter, nsCode } from './encode.js';

// Batch ops (engine/src/capture/batch.rs).
const OP_BIND_DOCUMENT = 1;
const OP_ELEMENT = 2;
const OP_TEXT = 3;
const OP_COMMENT = 4;
const OP_DOCTYPE = 5;
const OP_TEMPLATE_CONTENTS = 6;
const OP_SET_CHILDREN = 7;
const OP_SET_ATTRS = 8;
const OP_SET_TEXT = 9;
const OP_VALUE = 10;
const OP_CHECKED = 11;
const OP_SELECTED = 12;
const OP_SCROLL = 13;
const OP_VIEWPORT = 14;

/** The form state the engine keeps for an element, as the page's DOM has it now. */
export function formState(el: Element): { value?: string | null; checked?: boolean | null; selected?: boolean | null } | null {
  if (el instanceof HTMLInputElement) {
    if (el.type === 'checkbox' || el.type === 'radio') {
      return { checked: el.checked !== el.defaultChecked ? el.checked : null };
    }
    if (el.type === 'file') return null;
    return { value: el.value !== el.defaultValue ? el.value : null };
  }
  if (el instanceof HTMLTextAreaElement) {
    return { value: el.value !== el.defaultValue ? el.value : null };
  }
  if (el instanceof HTMLOptionElement) {
    return { selected: el.selected !== el.defaultSelected ? el.selected : null };
  }
  return null;
}

function tri(v: boolean | null | undefined): number {
  return v === true ? 1 : v === false ? 0 : 2;
}

function stateKey(s: NonNullable<ReturnType<typeof formState>>): string {
  return `${s.value ?? '\u0000'}|${tri(s.checked)}|${tri(s.selected)}`;
}

export class CaptureImpl implements Capture {
  private ids = new WeakMap<Node, number>();
  private nodes = new Map<number, Node>();
  private nextId = 1;
  private pending: MutationRecord[] = [];
  private scrolled = new Set<Element>();
  /** Elements seen scrolling: an explicit flush reads their offsets (events come a frame late). */
  private scrollers = new Set<Element>();
  private resized = false;
  private stateSent = new WeakMap<Element, string>();
  private scheduled = false;
  private raf = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private frames = 0;
  private readonly observer: MutationObserver;
  private readonly inputs = document.getElementsByTagName('input');
  private readonly textareas = document.getElementsByTagName('textarea');
  private readonly options = document.getElementsByTagName('option');
  private readonly maxDelay: number;
  private readonly onEvent = (e: Event): void => {
    if (e.type === 'scroll') {
      const t = e.target;
      const el = t instanceof Document ? t.scrollingElement : t instanceof Element ? t : null;
      if (el) {
        this.scrolled.add(el);
        this.scrollers.add(el);
      }
    } else if (e.type === 'resize') {
      this.resized = true;
    }
    this.schedule();
  };

  constructor(
    private readonly engine: CaptureEngine,
    private readonly opts: CaptureOptions,
  ) {
    this.maxDelay = opts.maxDelayMs ?? 100;
    this.observer = new MutationObserver((records) => {
      for (const r of records) this.pending.push(r);
      this.schedule();
    });
    this.keyframe();
    this.observer.observe(document, {
      childList: true,
      attributes: true,
      characterData: true,
      subtree: true,
    });
    for (const t of ['input', 'change', 'scroll']) document.addEventListener(t, this.onEvent, true);
    window.addEventListener('resize', this.onEvent);
  }

  keyframe(): void {
    this.ids = new WeakMap();
    this.nodes.clear();
    this.nextId = 1;
    this.pending = [];
    this.observer.takeRecords();
    this.scrolled.clear();
    this.resized = false;
    this.stateSent = new WeakMap();
    const w = new OpWriter();
    const kids: number[] = [];
    w.u(OP_BIND_DOCUMENT);
    w.u(this.bind(document));
    this.writeChildren(w, kids, document, null);
    w.u(OP_VIEWPORT);
    w.u(1);
    w.u(window.innerWidth);
    w.u(window.innerHeight);
    const [ops, text] = finish(w, kids);
    this.emit(this.engine.keyframe(ops, text));
  }

  flush(): void {
    if (this.stopped) return;
    const se = document.scrollingElement;
    if (se !== null) this.scrollers.add(se);
    for (const el of this.scrollers) {
      if (el.isConnected) this.scrolled.add(el);
      else this.scrollers.delete(el);
    }
    this.flushPending();
  }

  private flushPending(): void {
    if (this.stopped) return;
    this.cancelSchedule();
    for (const r of this.observer.takeRecords()) this.pending.push(r);
    const records = this.pending;
    this.pending = [];
    const w = new OpWriter();
    const kids: number[] = [];
    const fresh = new Set<Node>();
    const childTargets = new Set<Node>();
    const attrTargets = new Set<Element>();
    const textTargets = new Set<CharacterData>();
    const readded: Node[] = [];
    for (const r of records) {
      if (r.type === 'childList') {
        childTargets.add(r.target);
        for (const n of r.addedNodes) if (this.ids.has(n)) readded.push(n);
      } else if (r.type === 'attributes') {
        attrTargets.add(r.target as Element);
      } else {
        textTargets.add(r.target as CharacterData);
      }
    }
    for (const t of childTargets) {
      if (this.ids.has(t) && !fresh.has(t)) this.writeChildren(w, kids, t, fresh);
    }
    // A node put back may have changed while it was out of the page (unobserved): resync it.
    for (const n of readded) this.resync(w, kids, n, fresh);
    for (const el of attrTargets) {
      const id = this.ids.get(el);
      if (id !== undefined && !fresh.has(el)) this.writeAttrs(w, OP_SET_ATTRS, id, el);
    }
    for (const t of textTargets) {
      const id = this.ids.get(t);
      if (id !== undefined && !fresh.has(t)) {
        w.u(OP_SET_TEXT);
        w.u(id);
        w.s(t.data);
      }
    }
    this.pollForms(w);
    for (const el of this.scrolled) {
      const id = this.ids.get(el);
      if (id !== undefined) writeScroll(w, id, el, true);
    }
    this.scrolled.clear();
    if (this.resized) {
      this.resized = false;
      w.u(OP_VIEWPORT);
      w.u(1);
      w.u(window.innerWidth);
      w.u(window.innerHeight);
    }
    if (w.empty && kids.length === 0) return;
    const [ops, text] = finish(w, kids);
    let bytes: Uint8Array;
    try {
      bytes = this.engine.batch(ops, text);
    } catch {
      // The engine refused the batch (never expected): capture the page afresh.
      this.keyframe();
      return;
    }
    for (const h of this.engine.take_freed()) {
      const n = this.nodes.get(h);
      if (n !== undefined) {
        this.nodes.delete(h);
        this.ids.delete(n);
      }
    }
    if (bytes.length > 0) this.emit(bytes);
  }

  stop(): void {
    this.stopped = true;
    this.cancelSchedule();
    this.observer.disconnect();
    for (const t of ['input', 'change', 'scroll']) document.removeEventListener(t, this.onEvent, true);
    window.removeEventListener('resize', this.onEvent);
    this.engine.free();
  }

  stats(): { engineNodes: number; engineHandles: number; pageHandles: number; frames: number; wasmMemoryBytes: number; fallbackKeyframes: number } {
    return {
      fallbackKeyframes: this.engine.fallback_keyframes(),
      wasmMemoryBytes: this.engine.memory_bytes(),
      engineNodes: this.engine.live_nodes(),
      engineHandles: this.engine.handle_count(),
      pageHandles: this.nodes.size,
      frames: this.frames,
    };
  }

  debugDumpLive(): string {
    return this.engine.debugDumpLive();
  }

  debugDumpShadow(): string {
    return this.engine.debugDumpShadow();
  }

  fingerprint(): string {
    return this.engine.fingerprint();
  }

  nodeById(id: number): Node | null {
    const h = this.engine.handleOfWireId(id);
    return h === 0 ? null : (this.nodes.get(h) ?? null);
  }

  idOfNode(node: Node): number | null {
    const h = this.ids.get(node);
    if (h === undefined) return null;
    const id = this.engine.wireIdOfHandle(h);
    return id === 0 ? null : id;
  }

  checkAgentAction(msg: AgentActionMessage, ctx: ActionCheckContext): ActionCheck {
    // The engine checks against its live tree: bring it up to the page first.
    this.flush();
    return this.engine.checkAgentAction(msg, ctx) as ActionCheck;
  }

  private emit(bytes: Uint8Array): void {
    this.frames++;
    this.opts.onFrame(bytes);
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.raf = requestAnimationFrame(() => this.flushPending());
    this.timer = setTimeout(() => this.flushPending(), this.maxDelay);
  }

  private cancelSchedule(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    cancelAnimationFrame(this.raf);
    clearTimeout(this.timer);
  }

  private bind(n: Node): number {
    const id = this.nextId++;
    this.ids.set(n, id);
    this.nodes.set(id, n);
    return id;
  }

  /** Writes `parent`'s child list (creating the nodes the engine does not know). */
  private writeChildren(w: OpWriter, kids: number[], parent: Node, fresh: Set<Node> | null): void {
    const list: number[] = [];
    for (let c = parent.firstChild; c !== null; c = c.nextSibling) {
      const id = this.ids.get(c);
      list.push(id ?? this.writeNew(w, kids, c, fresh));
    }
    pushChildren(kids, this.ids.get(parent)!, list);
  }

  /** Creates `root` and its subtree in the engine (iteratively: pages nest deep). */
  private writeNew(w: OpWriter, kids: number[], root: Node, fresh: Set<Node> | null): number {
    const rootId = this.create(w, root, fresh);
    const stack: Node[] = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const parents: Node[] = [n];
      if (n instanceof HTMLTemplateElement) {
        w.u(OP_TEMPLATE_CONTENTS);
        w.u(this.ids.get(n)!);
        w.u(this.bind(n.content));
        parents.push(n.content);
      }
      for (const p of parents) {
        if (p.firstChild === null) continue;
        const list: number[] = [];
        for (let c: ChildNode | null = p.firstChild; c !== null; c = c.nextSibling) {
          const known = this.ids.get(c);
          if (known !== undefined) {
            // Moved here while its new ancestor was out of the page.
            list.push(known);
            this.resync(w, kids, c, fresh);
          } else {
            list.push(this.create(w, c, fresh));
            stack.push(c);
          }
        }
        pushChildren(kids, this.ids.get(p)!, list);
      }
    }
    return rootId;
  }

  /** Creates one node (no children). */
  private create(w: OpWriter, n: Node, fresh: Set<Node> | null): number {
    const id = this.bind(n);
    fresh?.add(n);
    switch (n.nodeType) {
      case Node.ELEMENT_NODE: {
        const el = n as Element;
        this.writeAttrs(w, OP_ELEMENT, id, el);
        this.writeState(w, id, el);
        // Only the keyframe reads offsets (a read forces layout); later scrolls come as events.
        if (fresh === null && (el.scrollLeft !== 0 || el.scrollTop !== 0)) writeScroll(w, id, el, false);
        break;
      }
      case Node.TEXT_NODE:
      case Node.CDATA_SECTION_NODE:
        w.u(OP_TEXT);
        w.u(id);
        w.s((n as CharacterData).data);
        break;
      case Node.COMMENT_NODE:
      case Node.PROCESSING_INSTRUCTION_NODE:
        w.u(OP_COMMENT);
        w.u(id);
        w.s((n as CharacterData).data);
        break;
      case Node.DOCUMENT_TYPE_NODE: {
        const d = n as DocumentType;
        w.u(OP_DOCTYPE);
        w.u(id);
        w.s(d.name);
        w.s(d.publicId);
        w.s(d.systemId);
        break;
      }
      default:
        // Nothing else occurs as a child in a document.
        w.u(OP_COMMENT);
        w.u(id);
        w.s('');
    }
    return id;
  }

  private writeAttrs(w: OpWriter, op: number, id: number, el: Element): void {
    w.u(op);
    w.u(id);
    if (op === OP_ELEMENT) {
      w.u(nsCode(el.namespaceURI));
      w.s(el.localName);
    }
    const attrs = el.attributes;
    w.u(attrs.length);
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      w.u(nsCode(a.namespaceURI));
      w.s(a.localName);
      w.s(a.value);
    }
  }

  private writeState(w: OpWriter, id: number, el: Element): void {
    const s = formState(el);
    if (s === null) return;
    const key = stateKey(s);
    if (this.stateSent.get(el) === key) return;
    this.stateSent.set(el, key);
    if ('value' in s) {
      w.u(OP_VALUE);
      w.u(id);
      w.s(s.value ?? null);
    } else if ('checked' in s) {
      w.u(OP_CHECKED);
      w.u(id);
      w.u(tri(s.checked));
    } else {
      w.u(OP_SELECTED);
      w.u(id);
      w.u(tri(s.selected));
    }
  }

  /** Form state is read, not observed (typing, checking and selecting make no mutation). */
  private pollForms(w: OpWriter): void {
    for (const list of [this.inputs, this.textareas, this.options]) {
      for (let i = 0; i < list.length; i++) {
        const el = list[i]!;
        const id = this.ids.get(el);
        if (id !== undefined) this.writeState(w, id, el);
      }
    }
  }

  /** Re-sends a known node's attributes, data and children (deep). */
  private resync(w: OpWriter, kids: number[], root: Node, fresh: Set<Node> | null): void {
    const stack: Node[] = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const id = this.ids.get(n);
      if (id === undefined || fresh?.has(n)) continue;
      if (n instanceof Element) this.writeAttrs(w, OP_SET_ATTRS, id, n);
      else if (n instanceof CharacterData) {
        w.u(OP_SET_TEXT);
        w.u(id);
        w.s(n.data);
      }
      if (n.firstChild !== null || n instanceof Element) {
        const before = new Set<Node>();
        for (let c = n.firstChild; c !== null; c = c.nextSibling) if (this.ids.has(c)) before.add(c);
        this.writeChildren(w, kids, n, fresh);
        for (const c of before) stack.push(c);
      }
    }
  }
}

function writeScroll(w: OpWriter, id: number, el: Element, clearIfZero: boolean): void {
  const x = Math.round(el.scrollLeft);
  const y = Math.round(el.scrollTop);
  if (x === 0 && y === 0 && !clearIfZero) return;
  w.u(OP_SCROLL);
  w.u(id);
  if (x === 0 && y === 0) {
    w.u(0);
    w.u(0);
    w.u(0);
  } else {
    w.u(1);
    w.u(x);
    w.u(y);
  }
}

function pushChildren(kids: number[], parent: number, list: number[]): void {
  kids.push(OP_SET_CHILDREN, parent, list.length);
  for (const c of list) kids.push(c);
}

function finish(w: OpWriter, kids: number[]): [Uint32Array, string] {
  for (const k of kids) w.u(k);
  return w.finish();
}
