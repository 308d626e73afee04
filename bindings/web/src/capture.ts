// Customer side: reads the live DOM into batches for the engine (one call per batch).
//
// Nodes are named by handles: `ids` (page side, weak) and `nodes` (handle -> node) hold each
// node the engine knows; when the engine frees a node (it left the page) it reports the
// handle and both maps forget it, so memory stays bounded on both sides of the boundary.
//
// What the engine is told is the page as the agent needs it (see `kidsOf`, urls.ts and
// sheets.ts): URLs resolved against the document's base URL; a <style> whose sheet was
// edited through the CSSOM has one (detached, capture-owned) text node per top-level rule
// holding its effective rules instead of its DOM text, and a large one not edited yet one per
// top-level statement of its DOM text (`splitStyle`: they join to that text); a readable same-origin stylesheet link is a capture-owned
// `<style data-cobrowse-href>` with its rules; adopted sheets are a capture-owned
// `<style data-cobrowse-adopted>`, the last child of <html>; an open shadow root is a
// capture-owned `<template shadowrootmode="open" data-cobrowse-shadow>`, the first child of its
// host, whose contents are the shadow root (observed like the document; the replayer attaches
// a real shadow root); a closed shadow root the same, with `shadowrootmode="closed"`, when it
// was created after the hook of shadows.ts (the mirror holds it as an open root); a shadow
// root's adopted sheets are a capture-owned `<style data-cobrowse-adopted>`, the last child of
// the root; a same-origin iframe's document is the iframe's only child (frames.ts), its
// adopted sheets the last child of its <html>. Cross-origin iframes' documents are not captured.

import type { CaptureEngine } from '../build/pkg/cobrowse_wasm.js';
import type { Capture, CaptureOptions } from './cobrowse.js';
import type { ActionCheck, ActionCheckContext, AgentActionMessage } from './messages.js';
import { OpWriter, nsCode, useNameCodes } from './encode.js';
import { BlockedBoxes } from './blocked.js';
import { absoluteCss, capturedAttr, capturedValue, isStyleText } from './urls.js';
import { FrameWatch, capturedDocumentOf, isHtmlElement } from './frames.js';
import { ADOPTED_ATTR, LINK_ATTR, alignPieces, isEdited, isModified, readableLink, rulesOf, sheetText, splitRules, watchSheets, watchSheetsBefore } from './sheets.js';
import { shadowRootOf, watchShadows } from './shadows.js';
import { Slices } from './slices.js';

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
const OP_DOCUMENT = 15;
const OP_PIXEL_RATIO = 16;

/** The form state the engine keeps for an element, as the page's DOM has it now. */
export function formState(el: Element): { value?: string | null; checked?: boolean | null; selected?: boolean | null } | null {
  // Checked by name, not `instanceof`: an iframe's elements come from another window.
  if (isHtmlElement(el, 'input')) {
    const input = el as HTMLInputElement;
    if (input.type === 'checkbox' || input.type === 'radio') {
      return { checked: input.checked !== input.defaultChecked ? input.checked : null };
    }
    if (input.type === 'file') return null;
    return { value: input.value !== input.defaultValue ? input.value : null };
  }
  if (isHtmlElement(el, 'textarea')) {
    const t = el as HTMLTextAreaElement;
    return { value: t.value !== t.defaultValue ? t.value : null };
  }
  if (isHtmlElement(el, 'option')) {
    const o = el as HTMLOptionElement;
    return { selected: o.selected !== o.defaultSelected ? o.selected : null };
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
  private readonly ids = new NodeIds();
  private readonly nodes = new NodeTable();
  private nextId = 1;
  private pending: MutationRecord[] = [];
  /** Nodes whose first child-list record in a group of records (one delivery to the observer,
   * or what `takeRecords` returned) was an addition: they may have changed while out of the
   * observed page (see `noteRecords`), so a known one is re-sent whole (`resync`). */
  private uncovered = new Set<Node>();
  private scrolled = new Set<Element>();
  /** Elements seen scrolling: an explicit flush reads their offsets (events come a frame late). */
  private scrollers = new Set<Element>();
  private resized = false;
  /** The device pixel ratio last sent, and the media query that fires when it changes. */
  private pixelRatio = 0;
  private ratioQuery: MediaQueryList | null = null;
  private readonly onRatio = (): void => {
    this.resized = true;
    this.schedule();
  };
  private stateSent = new WeakMap<Element, string>();
  /** Form controls of this window whose state may have changed since the last batch (input,
   * change and reset events, script setting `value`/`checked`/`selected`, attribute and child
   * edits); only these are read at a batch. Same-origin iframes' controls are polled. */
  private formDirty = new Set<Element>();
  private readonly unhookForms: () => void;
  /** The first keyframe's walk while it runs in slices (see `keyframe`). */
  private walk: KeyframeWalk | null = null;
  private readonly batchOps = new OpWriter();
  private readonly batchKids: number[] = [];
  /** Each sheet's top-level rules as read in the batch being collected (null outside one). */
  private batchRules: Map<CSSStyleSheet, CSSRule[]> | null = null;
  /** The readable stylesheet links of this document that `kidsOf` listed (as their
   * capture-owned styles) in the batch being collected: `syncSheetTexts` looks at these, not
   * at every child of every relisted parent again. */
  private readonly batchLinks = new Set<HTMLLinkElement>();
  /** Capture-owned link styles the engine knows whose attributes (`href`, `media`) `linkStyle`
   * changed in the batch being collected: their attribute lists are re-sent. */
  private readonly restyledLinks = new Set<HTMLStyleElement>();
  /** One writer and child-list array for every piece of a keyframe (its start, each slice of
   * the walk, the late batch), reused: the engine copies the ops it is given, and a fresh
   * writer per slice grew (allocated and copied) its buffer again for every keyframe. */
  private readonly keyframeOps = new OpWriter(KEYFRAME_OPS);
  private readonly keyframeKids: number[] = [];
  private scheduled = false;
  /** A change came while the keyframe was being made, after its last collection of changes
   * (`collect`): its end schedules a batch. Without one, nothing is requested after the keyframe
   * (a batch requested for nothing costs an animation frame and a task). */
  private heldBack = false;
  /** Runs a scheduled batch in a task after the animation frame's rendering (see `schedule`). */
  private afterFrame: MessageChannel | null = null;
  private raf = 0;
  /** The bound on a batch's delay (`maxDelay`, for when no animation frame comes: a tab in the
   * background): one timer outlives the batches it was not needed for, and re-arms itself for
   * the batch scheduled last (`scheduledAt`), instead of a timer set and cleared per batch. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private scheduledAt = 0;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (!this.scheduled || this.stopped) return;
    const left = this.scheduledAt + this.maxDelay - performance.now();
    if (left >= 1) this.timer = setTimeout(this.onTimer, left);
    else this.flushPending();
  };
  private stopped = false;
  private frames = 0;
  private refused = 0;
  private readonly observer: MutationObserver;
  /** Rendered boxes of blocked elements (blocked.ts). */
  private readonly blocked = new BlockedBoxes(() => this.schedule());
  private readonly maxDelay: number;
  /** Capture-owned text nodes holding the effective rules of CSSOM-edited <style> sheets. */
  /** One capture-owned text node per top-level rule of a sheet whose rules travel (so a CSSOM
   * edit costs one inserted, removed or changed text node, not the whole sheet). */
  private ruleTexts = new WeakMap<CSSRule, Text>();
  /** Capture-owned rule texts holding a piece of the style's source (splitStyle), not the
   * rule's `cssText`: brought up to date only when the rule's contents are edited. */
  private sourceTexts = new WeakSet<Text>();
  /** A large <style>'s sheet and the capture-owned texts of its source's pieces (null when it
   * travels as its DOM text); `mapped` once the pieces were matched with its rules. */
  private splitSheets = new WeakMap<CSSStyleSheet, { texts: Text[]; pieces: string[]; mapped: boolean } | null>();
  private readonly unwatchSheetsBefore: () => void;
  /** Capture-owned <style> elements standing in for same-origin stylesheet links. */
  private linkStyles = new WeakMap<Element, HTMLStyleElement>();
  /** The documents and shadow roots listed to the engine, each with its capture-owned element
   * holding its adopted sheets' rules (null until it adopts a sheet) and whether that element
   * was listed (pruned at each batch once the adopter left the engine), and the sheets whose
   * rules that element's children were last listed from (relisted only when they differ or
   * one of them was edited: not at every batch). */
  private adopters = new Map<Adopter, { style: HTMLStyleElement | null; sent: boolean; listed: CSSStyleSheet[] }>();
  /** Sheets edited through the CSSOM since the last batch. */
  private dirtySheets = new Set<CSSStyleSheet>();
  /** Nodes whose child list must be re-sent (a stylesheet link loaded, a style re-parsed). */
  private relist = new Set<Node>();
  private readonly unwatchSheets: () => void;
  private readonly unhookShadows: () => void;
  /** Capture-owned `<template shadowrootmode=open data-cobrowse-shadow>` per open shadow host. */
  private shadowTemplates = new WeakMap<Element, HTMLTemplateElement>();
  /** The captured same-origin iframes' documents and their watches (frames.ts). */
  private readonly frameWatch: FrameWatch;
  private readonly onEvent = (e: Event): void => {
    if (this.stopped) return;
    if (e.type === 'scroll') {
      const t = e.target;
      const tn = t as Node | null;
      const el = tn?.nodeType === 9 ? (tn as Document).scrollingElement : tn?.nodeType === 1 ? (tn as Element) : null;
      if (el) {
        this.scrolled.add(el);
        this.scrollers.add(el);
      }
    } else if (e.type === 'resize') {
      this.resized = true;
    } else if (e.type === 'input' || e.type === 'change' || e.type === 'reset') {
      // The control itself, also inside a shadow root: heard on the root too (ROOT_EVENTS), where
      // the path starts inside it even when it is closed (the document sees the host).
      const t = e.composedPath()[0];
      if ((t as Node | null)?.nodeType === 1) this.markForm(t as Element); // any window's element
    } else if (e.type === 'load' || e.type === 'error') {
      // A stylesheet link loaded (its rules may travel now) or failed.
      const t = e.target;
      if (isHtmlElement(t, 'link') && t.parentNode !== null) this.relist.add(t.parentNode);
      // An iframe (re)loaded: its document is a new one.
      else if (isHtmlElement(t, 'iframe') && this.ids.has(t)) this.relist.add(t);
      else return;
    }
    this.schedule();
  };

  constructor(
    private readonly engine: CaptureEngine,
    private readonly opts: CaptureOptions,
  ) {
    this.maxDelay = opts.maxDelayMs ?? 100;
    useNameCodes(() => engine.batch_names());
    this.observer = new MutationObserver((records) => {
      this.noteRecords(records);
      this.schedule();
    });
    this.unwatchSheetsBefore = watchSheetsBefore((sheet) => this.mapSplit(sheet));
    this.unwatchSheets = watchSheets((sheet) => {
      this.dirtySheets.add(sheet);
      this.schedule();
    });
    this.frameWatch = new FrameWatch(
      (records) => {
        this.noteRecords(records);
        this.schedule();
      },
      this.onEvent,
      (sheet) => {
        this.dirtySheets.add(sheet);
        this.schedule();
      },
    );
    // Everything is watched before the walk starts: a large page's walk runs in slices, and
    // what changes meanwhile is applied at its end (see `keyframe`).
    this.observer.observe(document, OBSERVE);
    this.unhookShadows = watchShadows((host) => {
      if (host.parentNode !== null) this.relist.add(host);
      this.schedule();
    });
    this.unhookForms = hookFormSetters((el) => {
      this.markForm(el);
      this.schedule();
    });
    for (const t of EVENTS) document.addEventListener(t, this.onEvent, true);
    window.addEventListener('resize', this.onEvent);
    this.keyframe();
  }

  /**
   * Queues a group of records (one delivery to an observer, or a `takeRecords`) and notes the
   * nodes of `uncovered`. While a removed node is out of the page, its edits are observed only
   * until the records are delivered (the observer's transient registrations end there); a node
   * whose first record in the group is its removal was observed up to it, and until the group
   * ends, so when it comes back in the same group (a move in one task) nothing of it went
   * unseen: its new parent's child list is all it needs. A node whose first record is an
   * addition may come from outside (a detached subtree, edited unobserved): re-sent whole.
   */
  private noteRecords(records: MutationRecord[]): void {
    let first: Map<Node, boolean> | null = null;
    for (const r of records) {
      this.pending.push(r);
      if (r.type !== 'childList') continue;
      for (const n of r.removedNodes) {
        first ??= new Map();
        if (!first.has(n)) first.set(n, false);
      }
      for (const n of r.addedNodes) {
        first ??= new Map();
        if (!first.has(n)) first.set(n, true);
      }
    }
    if (first !== null) for (const [n, added] of first) if (added) this.uncovered.add(n);
  }

  /**
   * Marks a form control whose state may have changed, with the controls whose state changes
   * with it: the other radios of its group, every option of a select.
   */
  private markForm(el: Element): void {
    if (el.namespaceURI !== HTML_NS) return;
    switch (el.localName) {
      case 'input': {
        this.formDirty.add(el);
        const input = el as HTMLInputElement;
        if (input.type === 'radio' && input.name !== '') {
          const root = input.getRootNode() as ParentNode;
          if (typeof root.querySelectorAll !== 'function') return;
          for (const r of root.querySelectorAll('input')) {
            if (r.type === 'radio' && r.name === input.name) this.formDirty.add(r);
          }
        }
        return;
      }
      case 'textarea':
        this.formDirty.add(el);
        return;
      case 'option':
      case 'optgroup':
      case 'select': {
        const select = el.localName === 'select' ? (el as HTMLSelectElement) : el.closest('select');
        if (select === null) {
          if (el.localName === 'option') this.formDirty.add(el);
          return;
        }
        for (const o of select.options) this.formDirty.add(o);
        return;
      }
      case 'form':
        for (const c of (el as HTMLFormElement).elements) this.markForm(c);
        return;
      default:
    }
  }

  /**
   * Captures the page afresh. The walk of the DOM runs in time slices (slices.ts), each slice
   * handed to the engine as it is made (`keyframe_feed`), so that a large page never blocks
   * its tab for long; a small page is done in the first slice, within this call.
   *
   * Changes made while the walk runs are observed (everything is watched before it starts)
   * and applied as one more batch before the keyframe is made, so the keyframe is the page at
   * the end of the walk. The walk creates each node once: a child that is already known when
   * its parent is listed (moved there from the walked part meanwhile) is left out of that
   * list, and the records of the move relist both parents in that last batch; a node removed
   * meanwhile leaves with its parent's relisting. `flush()` during the walk finishes it now.
   */
  keyframe(): void {
    this.walk?.slices.cancel();
    this.walk = null;
    this.cancelSchedule();
    this.ids.clear(this.nodes.values());
    this.nodes.clear();
    this.nextId = 1;
    this.pending = [];
    this.heldBack = false;
    this.uncovered.clear();
    this.observer.takeRecords();
    this.frameWatch.takeRecords();
    this.scrolled.clear();
    this.resized = false;
    this.stateSent = new WeakMap();
    this.formDirty.clear();
    this.dirtySheets.clear();
    this.relist.clear();
    this.ruleTexts = new WeakMap();
    this.sourceTexts = new WeakSet();
    this.splitSheets = new WeakMap();
    this.linkStyles = new WeakMap();
    this.unwatchRoots();
    this.frameWatch.releaseAll();
    this.blocked.reset();
    this.engine.keyframe_begin();
    const w = this.keyframeOps;
    w.reset();
    w.u(OP_BIND_DOCUMENT);
    const doc = this.bind(document);
    w.u(doc);
    w.u(OP_VIEWPORT);
    w.u(1);
    w.u(window.innerWidth);
    w.u(window.innerHeight);
    this.pixelRatio = 0;
    this.writePixelRatio(w);
    const [ops, text] = w.finish();
    this.engine.keyframe_feed(ops, text);
    const walk: KeyframeWalk = {
      nodes: [document],
      handles: [doc],
      flags: [F_GENERIC],
      slices: new Slices((deadline) => this.walkSlice(deadline)),
      baseDoc: null,
      base: '',
      view: null,
      root: null,
      list: null,
      listAt: { parent: 0, next: null, handles: null },
      work: 0,
      deadline: 0,
      phase: 'walk',
      prepared: false,
      yielded: false,
      begun: performance.now(),
      elements: 0,
      extended: false,
    };
    this.walk = walk;
    walk.slices.start();
  }

  /**
   * One slice of the keyframe, up to `deadline`: the DOM walk, handed to the engine as it goes;
   * then the engine's phases, each resumable in steps of `STEP_NODES` nodes with the clock read
   * before every step (the late batch is one), so a phase spans as many slices as it needs:
   * the rules and fingerprints of the page (`keyframe_prepare_step`); what changed since the
   * walk began, as the late batch, and the keyframe's encoding (`keyframe_late`,
   * `keyframe_encode_step`: the page's changes after the late batch wait for the next batch,
   * so nothing encoded goes stale); the engine's build of what the agents hold from it
   * (`settle_step`). `finishNow` (a `flush()`) runs every phase to its end in one task.
   */
  private walkSlice(deadline: number): boolean {
    const walk = this.walk!;
    const done = this.keyframeSteps(walk, deadline);
    // Other tasks (the page's) may run before the next slice.
    if (!done) walk.yielded = true;
    return done;
  }

  /** `walkSlice`'s work. The changes made since the keyframe began are collected at the walk's
   * end and in the late batch only when a slice ended before (`yielded`): until then the walk
   * runs in the task that began it, where no page code runs, so there is none (no record, no
   * event, no CSSOM edit; the form state and scroll offsets were read by the walk itself). */
  private keyframeSteps(walk: KeyframeWalk, slice: number): boolean {
    // The first slice's deadline may move later (`timeUp`): every phase reads `walk.deadline`.
    walk.deadline = slice;
    if (walk.phase === 'walk') {
      if (!this.walkNodes(walk)) return false;
      if (walk.yielded) {
        const [w, kids] = this.keyframeWriter();
        this.collect(w, kids);
        if (!w.empty || kids.length > 0) {
          const [ops, text] = finish(w, kids);
          this.engine.keyframe_feed(ops, text);
        }
      }
      this.forgetFreed();
      // Later handles (the late batch's, the batches') go to the table's map.
      this.nodes.seal();
      walk.phase = 'prepare';
    }
    // The engine's phases, one step at a time, each begun only before the deadline.
    for (;;) {
      if (timeUp(walk)) return false;
      if (walk.phase === 'prepare') {
        if (!walk.prepared) walk.prepared = this.engine.keyframe_prepare_step(STEP_NODES);
        else {
          this.lateBatch(walk.yielded);
          walk.phase = 'encode';
        }
      } else if (walk.phase === 'encode') {
        const bytes = this.engine.keyframe_encode_step(STEP_NODES);
        if (bytes.length > 0) {
          this.emit(bytes);
          // `onFrame` may have stopped the capture (and freed the engine).
          if (this.stopped) return true;
          walk.phase = 'settle';
        }
      } else if (this.engine.settle_step(STEP_NODES)) break;
    }
    this.walk = null;
    // Changes made since the late batch wait for the next batch (none: no batch is requested).
    if (this.heldBack) this.schedule();
    return true;
  }

  /** Walks until the deadline; returns whether the walk is done. */
  private walkNodes(walk: KeyframeWalk): boolean {
    walk.root = document.documentElement;
    walk.work = 0;
    const [w, kids] = this.keyframeWriter();
    while (walk.list !== null || walk.nodes.length > 0) {
      if (walk.list !== null) {
        if (!this.walkList(walk, w, kids)) break;
      } else {
        this.walkOne(walk, w, kids);
        if (walk.work >= WORK_CHECK && timeUp(walk)) break;
      }
    }
    const [ops, text] = finish(w, kids);
    this.engine.keyframe_feed(ops, text);
    return walk.list === null && walk.nodes.length === 0;
  }

  /** After the engine prepared the page: what changed since the walk began and the boxes of the
   * blocked elements the engine names, as the late batch that begins the keyframe's encoding
   * (with a second batch when it blocked more elements that must be measured first).
   * `changes`: whether the page may have changed since the walk began (see `keyframeSteps`). */
  private lateBatch(changes: boolean): void {
    const [w, kids] = this.keyframeWriter();
    if (changes) this.collect(w, kids);
    const handles = this.engine.take_unmeasured();
    if (handles.length > 0) this.blocked.measureNew(w, handles, (h) => this.nodes.get(h));
    const [ops, text] = finish(w, kids);
    let begun = this.engine.keyframe_late(ops, text);
    this.forgetFreed();
    while (!begun) {
      const [more] = this.keyframeWriter();
      this.blocked.measureNew(more, this.engine.take_unmeasured(), (h) => this.nodes.get(h));
      const [ops2, text2] = more.finish();
      begun = this.engine.keyframe_late(ops2, text2);
    }
  }

  /** The keyframe's writer and child-list array, emptied (what was written before was handed
   * to the engine, which copied it). */
  private keyframeWriter(): [OpWriter, number[]] {
    this.keyframeOps.reset();
    this.keyframeKids.length = 0;
    return [this.keyframeOps, this.keyframeKids];
  }

  /** Takes the next node of the walk: lists its children (an ordinary element's through
   * `walkList`, which a slice may leave part-way), creating them. */
  private walkOne(walk: KeyframeWalk, w: OpWriter, kids: number[]): void {
    const n = walk.nodes.pop()!;
    const id = walk.handles.pop()!;
    const flags = walk.flags.pop()!;
    if ((flags & F_TEMPLATE) !== 0) {
      const contents = this.contentsOf(n as HTMLTemplateElement);
      w.u(OP_TEMPLATE_CONTENTS);
      w.u(id);
      const cid = this.bind(contents);
      w.u(cid);
      // A shadow root (of this window or an iframe's): observed like the document.
      if (contents.nodeType === 11 && (contents as ShadowRoot).host !== undefined) this.observer.observe(contents, OBSERVE);
      this.walkKids(walk, w, kids, contents, cid);
    }
    if ((flags & F_GENERIC) !== 0) this.walkKids(walk, w, kids, n, id);
    else {
      const at = walk.listAt;
      at.parent = id;
      at.next = n.firstChild;
      at.handles = null;
      walk.list = at;
    }
  }

  /** Lists `p`'s children as the engine sees them (`kidsOf`: capture-owned stand-ins). */
  private walkKids(walk: KeyframeWalk, w: OpWriter, kids: number[], p: Node, pid: number): void {
    const list: number[] = [];
    for (const c of this.kidsOf(p)) {
      if (this.ids.has(c)) continue;
      const cid = this.create(w, c, null);
      list.push(cid);
      walk.work++;
      const f = walkFlags(c, walk.root);
      if (f !== F_LEAF) {
        walk.nodes.push(c);
        walk.handles.push(cid);
        walk.flags.push(f);
      }
    }
    if (list.length > 0) pushChildren(kids, pid, list);
  }

  /**
   * Goes on listing an ordinary element's DOM children (no capture-owned stand-ins but for
   * readable stylesheet links), each node's properties read once. Returns false when the
   * slice's time is up: the list so far is sent (what this slice created stays attached) and
   * the next slice goes on from the next sibling (a wide parent spans slices). Should that
   * sibling move meanwhile, the records of the move relist both parents at the walk's end.
   */
  private walkList(walk: KeyframeWalk, w: OpWriter, kids: number[]): boolean {
    const at = walk.list!;
    // The child list is written straight into `kids` (its count set at the end), after what
    // earlier slices listed.
    const head = kids.length;
    kids.push(OP_SET_CHILDREN, at.parent, 0);
    if (at.handles !== null) for (const h of at.handles) kids.push(h);
    // Until a slice ends no page code runs, so no child can be known already (moved from the
    // walked part): each DOM node is listed by its one parent.
    const moved = walk.yielded;
    let c = at.next;
    while (c !== null) {
      if (walk.work >= WORK_CHECK && timeUp(walk)) {
        at.next = c;
        at.handles = closeList(kids, head) ? kids.slice(head + 3) : null;
        return false;
      }
      walk.work++;
      const t = c.nodeType;
      if (t === 1) {
        walk.elements++;
        const el = c as Element;
        const ln = el.localName;
        const ns = el.namespaceURI;
        if (ln === 'link' && ns === HTML_NS && readableLink(el)) {
          const s = this.linkStyle(el as HTMLLinkElement);
          if (!this.ids.has(s)) {
            const sid = this.create(w, s, null);
            kids.push(sid);
            walk.nodes.push(s);
            walk.handles.push(sid);
            walk.flags.push(F_GENERIC);
          }
        } else if (!moved || !this.ids.has(el)) {
          const cid = this.bind(el);
          kids.push(cid);
          w.head(OP_ELEMENT, cid, nsCode(ns), ln);
          const doc = el.ownerDocument;
          if (doc !== walk.baseDoc) {
            walk.baseDoc = doc;
            walk.base = doc.baseURI;
            walk.view = doc.defaultView;
          }
          writeAttrList(w, el, walk.base);
          if (ns === HTML_NS && (ln === 'input' || ln === 'textarea' || ln === 'option')) this.writeState(w, cid, el);
          // Listed here, `el` has an element for parent: never a root element.
          if (mayBeScrolled(walk.view, el, ln, false) && (el.scrollLeft !== 0 || el.scrollTop !== 0)) writeScroll(w, cid, el, false);
          let f = 0;
          // A style's text is CSS (URLs resolved, CSSOM stand-ins: kidsOf), in any namespace.
          if (ln === 'style' || (ns === HTML_NS && (ln === 'iframe' || ln === 'template'))) f = ln === 'template' ? F_GENERIC | F_TEMPLATE : F_GENERIC;
          // Listed here, `el` has an element for parent: never a document's root element, so
          // only a shadow host is listed generically (`listedGenerically`).
          else if (shadowRootOf(el) !== null) f = F_GENERIC;
          if (f !== 0 || el.firstChild !== null) {
            walk.nodes.push(el);
            walk.handles.push(cid);
            walk.flags.push(f);
          }
        }
      } else if (t === 3) {
        if (!moved || !this.ids.has(c)) {
          const cid = this.bind(c);
          kids.push(cid);
          // Not a style's text (a style's children are listed by kidsOf).
          w.pairStr(OP_TEXT, cid, (c as Text).data);
        }
      } else if (!moved || !this.ids.has(c)) {
        kids.push(this.create(w, c, null));
      }
      c = c.nextSibling;
    }
    walk.list = null;
    closeList(kids, head);
    return true;
  }

  /** Finishes a keyframe walk still running (in this task). */
  private completeWalk(): void {
    this.walk?.slices.finishNow();
  }

  /** Sends `devicePixelRatio` (thousandths) when it changed, and watches for its next change
   * (zoom, a move to another screen: a `resolution` media query stops matching). */
  private writePixelRatio(w: OpWriter): void {
    const r = Math.round(window.devicePixelRatio * 1000);
    if (r === this.pixelRatio || !(r > 0)) return;
    this.pixelRatio = r;
    w.u(OP_PIXEL_RATIO);
    w.u(1);
    w.u(r);
    this.ratioQuery?.removeEventListener('change', this.onRatio);
    this.ratioQuery = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    this.ratioQuery.addEventListener('change', this.onRatio);
  }

  /** When the engine held a frame back for blocked elements to be measured: measures them and
   * returns the frame the engine makes then (blocked.ts). */
  private measureBlocked(bytes: Uint8Array): Uint8Array {
    if (bytes.length > 0) return bytes;
    const handles = this.engine.take_unmeasured();
    if (handles.length === 0) return bytes;
    const w = new OpWriter();
    this.blocked.measureNew(w, handles, (h) => this.nodes.get(h));
    const [ops, text] = w.finish();
    return this.engine.batch(ops, text);
  }

  flush(): void {
    if (this.stopped) return;
    for (const d of [document, ...this.frameWatch.documents()]) {
      const se = d.scrollingElement;
      if (se !== null) this.scrollers.add(se);
    }
    for (const el of this.scrollers) {
      if (el.isConnected) this.scrolled.add(el);
      else this.scrollers.delete(el);
    }
    this.flushPending();
  }

  private flushPending(): void {
    if (this.stopped) return;
    if (this.walk !== null) {
      // During the keyframe's walk: finish it now (its last batch takes every change).
      this.completeWalk();
      return;
    }
    // One writer and child-list array for every batch (the engine copies the ops it is given).
    const w = this.batchOps;
    const kids = this.batchKids;
    w.reset();
    kids.length = 0;
    this.collect(w, kids);
    if (w.empty && kids.length === 0) return;
    const [ops, text] = finish(w, kids);
    let bytes: Uint8Array;
    try {
      bytes = this.measureBlocked(this.engine.batch(ops, text));
    } catch {
      // The engine refused the batch (never expected: a defect in the batch encoding or
      // decoding, counted in `stats().refusedBatches`): capture the page afresh.
      this.refused++;
      this.keyframe();
      return;
    }
    this.forgetFreed();
    if (bytes.length > 0) this.emit(bytes);
  }

  /** Forgets the nodes the engine freed (they left the page). */
  private forgetFreed(): void {
    for (const h of this.engine.take_freed()) {
      const n = this.nodes.get(h);
      if (n !== undefined) {
        this.nodes.delete(h);
        this.ids.delete(n);
        if (n.nodeType === 9) this.frameWatch.release(n as Document);
        this.blocked.forget(n);
      }
    }
  }

  /** Writes every pending change into one batch (child lists go to `kids`, see `finish`). */
  private collect(w: OpWriter, kids: number[]): void {
    // A sheet's rules are read once per batch (no script runs while it is collected).
    this.batchRules = new Map();
    try {
      this.collectChanges(w, kids);
    } finally {
      this.batchRules = null;
      this.batchLinks.clear();
      this.restyledLinks.clear();
    }
  }

  private collectChanges(w: OpWriter, kids: number[]): void {
    this.cancelSchedule();
    this.heldBack = false;
    this.noteRecords(this.observer.takeRecords());
    this.noteRecords(this.frameWatch.takeRecords());
    const records = this.pending;
    this.pending = [];
    const uncovered = this.uncovered;
    this.uncovered = new Set();
    const fresh = new Set<Node>();
    const childTargets = new Set<Node>();
    const attrTargets = new Set<Element>();
    const textTargets = new Set<CharacterData>();
    const readded: Node[] = [];
    const moved = new Set<Element>();
    for (const r of records) {
      if (r.type === 'childList') {
        childTargets.add(r.target);
        for (const n of r.addedNodes) {
          if (!this.ids.has(n)) continue;
          if (uncovered.has(n)) readded.push(n);
          else if (n.nodeType === 1) moved.add(n as Element);
        }
        // A textarea's default value is its text; a select's options decide each other's.
        if (r.target.nodeType === 1) this.markFormEdit(r.target as Element);
      } else if (r.type === 'attributes') {
        attrTargets.add(r.target as Element);
        // A stylesheet link stands in the engine as its capture-owned style: an edit of its
        // `href`, `media` or `rel` relists its parent (`kidsOf` → `linkStyle`).
        if (isHtmlElement(r.target, 'link') && r.target.parentNode !== null) childTargets.add(r.target.parentNode);
        this.markFormEdit(r.target as Element);
      } else {
        textTargets.add(r.target as CharacterData);
        // Editing a style's text re-parses its sheet (CSSOM edits are gone).
        if (isStyleText(r.target)) childTargets.add(r.target.parentNode!);
        const p = r.target.parentNode;
        if (p !== null && p.nodeType === 1) this.markFormEdit(p as Element);
      }
    }
    if (moved.size > 0) this.movedStyles(moved, childTargets);
    for (const n of this.relist) childTargets.add(n);
    this.relist.clear();
    const changedSheets = new Set(this.dirtySheets);
    this.sheetsChanged(childTargets);
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
        w.s(textOf(t));
      }
    }
    this.syncSheetTexts(w, fresh, changedSheets, childTargets);
    this.writeForms(w, fresh);
    for (const el of this.scrolled) {
      const id = this.ids.get(el);
      if (id !== undefined) writeScroll(w, id, el, true);
    }
    this.scrolled.clear();
    this.blocked.touch(attrTargets);
    if (this.resized) {
      this.blocked.touch('all');
      this.resized = false;
      w.u(OP_VIEWPORT);
      w.u(1);
      w.u(window.innerWidth);
      w.u(window.innerHeight);
    }
    // Read at every batch too (cheap): emulated ratio changes fire neither event.
    this.writePixelRatio(w);
    this.blocked.writeChanged(w, (n) => this.ids.get(n));
  }

  /**
   * Known elements moved in one task (not re-sent whole): the HTML `<style>`s each is or holds
   * left the page and came back, so each has a new sheet, parsed again from its text (CSSOM
   * edits gone, a large one's pieces new), and so do the styles of every shadow root hosted
   * inside them, nested roots included: their child lists (`kidsOf`) go to `childTargets`.
   */
  private movedStyles(moved: Set<Element>, childTargets: Set<Node>): void {
    for (const el of moved) {
      if (el.localName === 'style' && el.namespaceURI === HTML_NS) {
        childTargets.add(el);
        continue;
      }
      if (el.firstElementChild !== null) addHtmlStyles(el.getElementsByTagName('style'), childTargets);
    }
    // Every shadow root listed to the engine is an adopter: one pass over them, each host's
    // shadow-including ancestors looked up among the moved elements.
    for (const adopter of this.adopters.keys()) {
      if (adopter.nodeType === 11 && movedWith((adopter as ShadowRoot).host, moved)) {
        addHtmlStyles((adopter as ShadowRoot).querySelectorAll('style'), childTargets);
      }
    }
  }

  /** After an attribute, child or text edit of `el`: the form controls it may have changed. */
  private markFormEdit(el: Element): void {
    switch (el.localName) {
      case 'input':
      case 'textarea':
      case 'option':
      case 'optgroup':
      case 'select':
        this.markForm(el);
        return;
      default:
    }
  }

  stop(): void {
    this.stopped = true;
    this.cancelSchedule();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.afterFrame?.port1.close();
    this.afterFrame = null;
    this.observer.disconnect();
    for (const t of EVENTS) document.removeEventListener(t, this.onEvent, true);
    this.walk?.slices.cancel();
    this.walk = null;
    this.ids.clear(this.nodes.values());
    this.ids.release();
    this.nodes.clear();
    this.unwatchSheets();
    this.unwatchSheetsBefore();
    this.unhookShadows();
    this.unwatchRoots();
    this.unhookForms();
    this.frameWatch.releaseAll();
    window.removeEventListener('resize', this.onEvent);
    this.blocked.stop();
    this.ratioQuery?.removeEventListener('change', this.onRatio);
    this.engine.free();
  }

  stats(): { engineNodes: number; engineHandles: number; pageHandles: number; frames: number; wasmMemoryBytes: number; fallbackKeyframes: number; refusedBatches: number; walking: boolean; keyframePhase: KeyframePhase | null } {
    return {
      walking: this.walk !== null,
      keyframePhase: this.walk?.phase ?? null,
      refusedBatches: this.refused,
      fallbackKeyframes: this.engine.fallback_keyframes(),
      wasmMemoryBytes: this.engine.memory_bytes(),
      engineNodes: this.engine.live_nodes(),
      engineHandles: this.engine.handle_count(),
      pageHandles: this.nodes.size,
      frames: this.frames,
    };
  }

  debugDumpLive(): string {
    this.completeWalk();
    return this.engine.debugDumpLive();
  }

  debugDumpShadow(): string {
    this.completeWalk();
    return this.engine.debugDumpShadow();
  }

  fingerprint(): string {
    this.completeWalk();
    return this.engine.fingerprint();
  }

  nodeById(id: number): Node | null {
    this.completeWalk();
    const h = this.engine.handleOfWireId(id);
    return h === 0 ? null : (this.nodes.get(h) ?? null);
  }

  idOfNode(node: Node): number | null {
    this.completeWalk();
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
    // During the keyframe's walk, its end takes every change (or schedules a batch: `heldBack`).
    if (this.walk !== null) {
      this.heldBack = true;
      return;
    }
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // The batch runs in a task posted from the next animation frame, so after that frame's
    // style and layout: the page's own changes made layout dirty, and a batch reading scroll
    // offsets (or a blocked element's box) inside the frame's callbacks would force that
    // layout itself; after rendering it is clean and the reads cost nothing. (Scroll events
    // come with the frame too, before its callbacks: the batch sees them.)
    if (this.afterFrame === null) {
      this.afterFrame = new MessageChannel();
      this.afterFrame.port1.onmessage = () => {
        // A batch made meanwhile (flush, the timer) cancelled this one.
        if (this.scheduled) this.flushPending();
      };
    }
    const channel = this.afterFrame;
    this.raf = requestAnimationFrame(() => channel.port2.postMessage(null));
    this.scheduledAt = performance.now();
    if (this.timer === undefined) this.timer = setTimeout(this.onTimer, this.maxDelay);
  }

  private cancelSchedule(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    cancelAnimationFrame(this.raf);
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
    for (const c of this.kidsOf(parent)) {
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
      if (isHtmlElement(n, 'template')) {
        const contents = this.contentsOf(n as HTMLTemplateElement);
        w.u(OP_TEMPLATE_CONTENTS);
        w.u(this.ids.get(n)!);
        w.u(this.bind(contents));
        parents.push(contents);
        // A shadow root (of this window or an iframe's): observed like the document.
        if (contents.nodeType === 11 && (contents as ShadowRoot).host !== undefined) this.watchRoot(contents as ShadowRoot);
      }
      for (const p of parents) {
        const children = this.kidsOf(p);
        if (children.length === 0) continue;
        const list: number[] = [];
        for (const c of children) {
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
        if (fresh === null) {
          const doc = el.ownerDocument;
          if (mayBeScrolled(doc.defaultView, el, el.localName, doc.documentElement === el) && (el.scrollLeft !== 0 || el.scrollTop !== 0)) writeScroll(w, id, el, false);
        }
        break;
      }
      case Node.TEXT_NODE:
      case Node.CDATA_SECTION_NODE:
        w.pairStr(OP_TEXT, id, textOf(n as CharacterData));
        break;
      case Node.COMMENT_NODE:
      case Node.PROCESSING_INSTRUCTION_NODE:
        w.pairStr(OP_COMMENT, id, (n as CharacterData).data);
        break;
      case Node.DOCUMENT_NODE:
        // A same-origin iframe's document (kidsOf): watched from now on.
        w.u(OP_DOCUMENT);
        w.u(id);
        this.frameWatch.watch(n as Document);
        // Its controls' script writes are heard like this window's (not polled per batch).
        {
          const win = (n as Document).defaultView;
          if (win !== null) hookFormSettersIn(win as FormWindow);
        }
        // A document arriving in a delta (an iframe navigated) may be scrolled already: its
        // scroll events went to no listener of ours. Its offsets go in this batch.
        if (fresh !== null) {
          const se = (n as Document).scrollingElement;
          if (se !== null) {
            this.scrolled.add(se);
            this.scrollers.add(se);
          }
        }
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
    if (op === OP_ELEMENT) {
      w.head(op, id, nsCode(el.namespaceURI), el.localName);
    } else {
      w.u(op);
      w.u(id);
    }
    writeAttrList(w, el, el.ownerDocument.baseURI);
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

  /**
   * Form state is read, not observed (typing, checking and selecting make no mutation): of the
   * controls marked since the last batch (`markForm`: events, script writes through the hooked
   * setters of this window and of captured same-origin iframes' windows, edits); in an iframe
   * whose window could not be hooked (being torn down), of every control.
   */
  private writeForms(w: OpWriter, fresh: Set<Node>): void {
    for (const el of this.formDirty) {
      const id = this.ids.get(el);
      if (id !== undefined && !fresh.has(el)) this.writeState(w, id, el);
    }
    this.formDirty.clear();
    if (this.frameWatch.size === 0) return;
    for (const d of this.frameWatch.documents()) {
      const win = d.defaultView;
      if (win !== null && formHookedWindows.has(win)) continue;
      for (const t of ['input', 'textarea', 'option']) {
        const list = d.getElementsByTagName(t);
        for (let i = 0; i < list.length; i++) {
          const el = list[i]!;
          const id = this.ids.get(el);
          if (id !== undefined) this.writeState(w, id, el);
        }
      }
    }
  }

  /**
   * The children of `parent` as the engine sees them (see the module comment): capture-owned
   * nodes stand in for CSSOM-edited style text, readable stylesheet links and adopted sheets.
   */
  kidsOf(parent: Node): Node[] {
    const out: Node[] = [];
    if (parent.nodeType === Node.ELEMENT_NODE) {
      const el = parent as Element;
      const doc = capturedDocumentOf(el);
      if (doc !== null) return [doc];
      if (el.localName === 'style' && el.namespaceURI === HTML_NS) {
        const sheet = overriddenSheet(el as HTMLStyleElement);
        if (sheet !== null) return this.ruleNodes(this.rulesNow(sheet));
        const split = this.splitStyle(el as HTMLStyleElement);
        if (split !== null) return split;
      }
      const adopter = ADOPTED_BY.get(el);
      if (adopter !== undefined) {
        const a = this.adopters.get(adopter);
        if (a !== undefined) a.listed = [...adopter.adoptedStyleSheets];
        return this.ruleNodes(this.adoptedRules(adopter));
      }
    }
    const root = parent.nodeType === Node.ELEMENT_NODE ? shadowRootOf(parent as Element) : null;
    if (root !== null) {
      // A shadow root: a capture-owned declarative-shadow template, first child of its host.
      const host = parent as Element;
      let t = this.shadowTemplates.get(host);
      if (t === undefined) {
        t = document.createElement('template');
        t.setAttribute('shadowrootmode', root.mode === 'closed' ? 'closed' : 'open');
        t.setAttribute(SHADOW_ATTR, '');
        this.shadowTemplates.set(host, t);
        SHADOW_HOSTS.set(t, host);
      }
      out.push(t);
    }
    for (let c = parent.firstChild; c !== null; c = c.nextSibling) {
      if (c.nodeType === Node.ELEMENT_NODE && readableLink(c as Element)) {
        out.push(this.linkStyle(c as HTMLLinkElement));
        if (this.batchRules !== null && c.ownerDocument === document) this.batchLinks.add(c as HTMLLinkElement);
      } else {
        out.push(c);
      }
    }
    // Adopted sheets cascade after the adopter's own: the last child of <html> or of the root.
    const adopter = adopterListedIn(parent);
    if (adopter !== null) {
      let a = this.adopters.get(adopter);
      if (a === undefined) {
        a = { style: null, sent: false, listed: [] };
        this.adopters.set(adopter, a);
        // Form input and scrolls inside a shadow root: input events reach the document
        // retargeted to the host (closed roots hide the field), scroll events not at all.
        if (adopter.nodeType === 11) for (const t of ROOT_EVENTS) adopter.addEventListener(t, this.onEvent, true);
      }
      a.sent = adopter.adoptedStyleSheets.length > 0;
      if (a.sent) {
        if (a.style === null) {
          a.style = document.createElement('style');
          a.style.setAttribute(ADOPTED_ATTR, '');
          ADOPTED_BY.set(a.style, adopter);
        }
        out.push(a.style);
      }
    }
    return out;
  }

  /** Observes a shadow root's mutations (its events: see kidsOf). */
  private watchRoot(root: ShadowRoot): void {
    this.observer.observe(root, OBSERVE);
  }

  /** Forgets every adopter and stops listening to the shadow roots (a keyframe, a stop). */
  private unwatchRoots(): void {
    for (const adopter of this.adopters.keys()) {
      if (adopter.nodeType === 11) for (const t of ROOT_EVENTS) adopter.removeEventListener(t, this.onEvent, true);
    }
    this.adopters.clear();
  }

  /**
   * A large <style> (its sheet not edited through the CSSOM yet) as one capture-owned text per
   * top-level statement of its source (the pieces join to its text: the mirror parses the same
   * sheet), or null when it travels as its DOM text. Before the sheet's first CSSOM edit the
   * pieces become its rules' texts (`mapSplit`): that edit then costs the rules it inserts or
   * deletes (and a removal per piece the browser had dropped), not the whole sheet.
   */
  private splitStyle(el: HTMLStyleElement): Text[] | null {
    const sheet = el.sheet;
    if (sheet === null) return null;
    const known = this.splitSheets.get(sheet);
    if (known !== undefined) return known?.texts ?? null;
    let split: { texts: Text[]; pieces: string[]; mapped: boolean } | null = null;
    let only = true;
    let size = 0;
    for (let c = el.firstChild; c !== null; c = c.nextSibling) {
      if (c.nodeType !== Node.TEXT_NODE) only = false;
      else size += (c as Text).length;
    }
    if (only && size >= SPLIT_MIN) {
      const pieces = splitRules(el.textContent ?? '');
      if (pieces !== null && pieces.length > 1) {
        const base = el.ownerDocument.baseURI;
        split = { texts: pieces.map((piece) => document.createTextNode(absoluteCss(piece, base))), pieces, mapped: false };
      }
    }
    this.splitSheets.set(sheet, split);
    return split?.texts ?? null;
  }

  /** Before a split sheet's first CSSOM edit: its pieces become its rules' texts (those that
   * do not align leave it to travel as rule texts made afresh, as a sheet never split). */
  private mapSplit(sheet: CSSStyleSheet): void {
    const split = this.splitSheets.get(sheet);
    if (split == null || split.mapped || isModified(sheet)) return;
    split.mapped = true;
    const win = (sheet.ownerNode?.ownerDocument?.defaultView ?? window) as Window & typeof globalThis;
    const rules = rulesOf(sheet);
    const at = alignPieces(split.pieces, rules, win);
    if (at === null) return;
    at.forEach((j, i) => {
      if (j < 0) return;
      this.ruleTexts.set(rules[j]!, split.texts[i]!);
      this.sourceTexts.add(split.texts[i]!);
    });
  }

  /** `rulesOf(sheet)`, read once per batch while one is collected (`kidsOf` of a relisted
   * style and `syncSheetTexts` both want the list of an edited sheet). */
  private rulesNow(sheet: CSSStyleSheet): CSSRule[] {
    const cache = this.batchRules;
    if (cache === null) return rulesOf(sheet);
    let r = cache.get(sheet);
    if (r === undefined) {
      r = rulesOf(sheet);
      cache.set(sheet, r);
    }
    return r;
  }

  /** The rules of an adopter's adopted sheets, in order. */
  private adoptedRules(adopter: Adopter): CSSRule[] {
    return adopter.adoptedStyleSheets.flatMap((s) => this.rulesNow(s));
  }

  /** The capture-owned text nodes of `rules` (a text the engine knows is brought up to date
   * by syncSheetTexts, with an op). */
  private ruleNodes(rules: CSSRule[]): Text[] {
    const base = document.baseURI;
    return rules.map((r) => {
      let t = this.ruleTexts.get(r);
      if (t === undefined) {
        t = document.createTextNode('');
        this.ruleTexts.set(r, t);
      }
      if (!this.ids.has(t)) t.data = ruleCss(r, base);
      return t;
    });
  }

  /** A template's contents as the engine sees them: a capture-owned shadow template's are the shadow root. */
  contentsOf(t: HTMLTemplateElement): DocumentFragment {
    const host = SHADOW_HOSTS.get(t);
    return (host !== undefined ? shadowRootOf(host) : null) ?? t.content;
  }

  /** The capture-owned <style> standing in for a readable stylesheet link (rules up to date). */
  private linkStyle(link: HTMLLinkElement): HTMLStyleElement {
    let s = this.linkStyles.get(link);
    if (s === undefined) {
      s = document.createElement('style');
      s.appendChild(document.createTextNode(''));
      this.linkStyles.set(link, s);
    }
    let restyled = false;
    if (s.getAttribute(LINK_ATTR) !== link.href) {
      s.setAttribute(LINK_ATTR, link.href);
      restyled = true;
    }
    if (link.media !== '') {
      if (s.getAttribute('media') !== link.media) {
        s.setAttribute('media', link.media);
        restyled = true;
      }
    } else if (s.hasAttribute('media')) {
      s.removeAttribute('media');
      restyled = true;
    }
    // A style the engine knows gets its new attributes in this batch (`syncSheetTexts`).
    if (restyled && this.batchRules !== null && this.ids.has(s)) this.restyledLinks.add(s);
    // URLs in a linked sheet resolve against the sheet's own URL.
    const t = s.firstChild as Text;
    if (!this.ids.has(t)) t.data = absoluteCss(sheetText(link.sheet!) ?? '', link.href);
    return s;
  }

  /** Turns the sheets edited since the last batch into child lists to re-send. */
  private sheetsChanged(childTargets: Set<Node>): void {
    for (const sheet of this.dirtySheets) {
      const owner = sheet.ownerNode;
      if (isHtmlElement(owner, 'style') && this.ids.has(owner)) {
        // The style's children are its rules' texts: rules inserted or deleted.
        childTargets.add(owner);
      } else if (isHtmlElement(owner, 'link') && owner.parentNode !== null && !this.bound(this.linkStyles.get(owner))) {
        childTargets.add(owner.parentNode);
      }
    }
    // Adopted lists are read at every batch: they change in place too (push, splice), which no
    // setter sees.
    for (const [adopter, a] of this.adopters) {
      const parent = adopter.nodeType === 9 ? (adopter as Document).documentElement : adopter;
      if (parent === null || !this.ids.has(parent) || (adopter.nodeType === 9 && adopterListedIn(parent) !== adopter)) {
        // Out of the engine (a root whose host left, a document replaced): listed afresh if it comes back.
        if (!this.bound(a.style ?? undefined)) this.dropAdopter(adopter);
        continue;
      }
      const sheets = adopter.adoptedStyleSheets;
      if ((sheets.length > 0) !== a.sent) childTargets.add(parent);
      // Its rules are re-listed when sheets were adopted, dropped or edited since they were
      // last listed.
      if (this.bound(a.style ?? undefined) && (!sameSheets(a.listed, sheets) || (this.dirtySheets.size > 0 && sheets.some((sh) => this.dirtySheets.has(sh))))) {
        childTargets.add(a.style!);
      }
    }
    this.dirtySheets.clear();
  }

  private dropAdopter(adopter: Adopter): void {
    if (adopter.nodeType === 11) for (const t of ROOT_EVENTS) adopter.removeEventListener(t, this.onEvent, true);
    this.adopters.delete(adopter);
  }

  private bound(n: Node | undefined): boolean {
    return n !== undefined && this.ids.has(n);
  }

  /** Re-sends the rules text of capture-owned style nodes that changed (CSSOM edits). */
  private syncSheetTexts(w: OpWriter, fresh: Set<Node>, changed: Set<CSSStyleSheet>, relisted: Set<Node>): void {
    const send = (t: Text | null | undefined, data: string): void => {
      if (t === null || t === undefined || fresh.has(t) || t.data === data) return;
      const id = this.ids.get(t);
      t.data = data;
      if (id === undefined) return;
      w.u(OP_SET_TEXT);
      w.u(id);
      w.s(data);
    };
    const base = document.baseURI;
    // Only sheets edited since the last batch, and styles or links whose element or parent
    // changed (a re-parse, a reload), are serialized again.
    const rules = (list: CSSRule[]): void => {
      for (const r of list) {
        const t = this.ruleTexts.get(r);
        // A piece of the source stands for its rule until the rule's contents are edited.
        if (t !== undefined && this.sourceTexts.has(t)) {
          if (!isEdited(r)) continue;
          this.sourceTexts.delete(t);
        }
        if (this.bound(t)) send(t, ruleCss(r, base));
      }
    };
    // Only the owners of the sheets edited and the relisted styles and links can need it: no
    // walk over every style and link of the page at each batch.
    const styles = new Set<Element>();
    const links = new Set<Element>();
    for (const sheet of changed) {
      const owner = sheet.ownerNode;
      if (isHtmlElement(owner, 'style')) styles.add(owner);
      // Links of this document only (as the rules of a link are re-read: `linkStyle`).
      else if (isHtmlElement(owner, 'link') && owner.ownerDocument === document) links.add(owner);
    }
    for (const n of relisted) if (isHtmlElement(n, 'style')) styles.add(n);
    // The links of this document under relisted parents were listed by `kidsOf` just before
    // (a relisted parent the engine knows is listed whole; one it does not know has no
    // captured link style): no second pass over each parent's children.
    for (const link of this.batchLinks) links.add(link);
    for (const el of styles) {
      // Cheap tests first: overriddenSheet reads the style's whole text.
      const own = (el as HTMLStyleElement).sheet;
      if (own === null || !(changed.has(own) || relisted.has(el)) || !this.ids.has(el)) continue;
      const sheet = overriddenSheet(el as HTMLStyleElement);
      if (sheet !== null) rules(this.rulesNow(sheet));
    }
    for (const s of this.restyledLinks) {
      const id = this.ids.get(s);
      if (id !== undefined && !fresh.has(s)) this.writeAttrs(w, OP_SET_ATTRS, id, s);
    }
    for (const link of links as Iterable<HTMLLinkElement>) {
      const s = this.linkStyles.get(link);
      if (!this.bound(s)) continue;
      const sheet = link.sheet;
      if (sheet === null || !(changed.has(sheet) || (link.parentNode !== null && relisted.has(link.parentNode)))) continue;
      if (readableLink(link)) {
        send(s!.firstChild as Text, absoluteCss(sheetText(link.sheet!) ?? '', link.href));
      }
    }
    // No sheet edited: no adopted rule changed (the lists themselves were read by `sheetsChanged`).
    if (changed.size === 0) return;
    for (const [adopter, a] of this.adopters) {
      if (this.bound(a.style ?? undefined) && adopter.adoptedStyleSheets.some((sh) => changed.has(sh))) rules(this.adoptedRules(adopter));
    }
  }

  /** Test hook: the page as the engine is told it (children, attribute values, text). */
  debugPageView(): { children(n: Node): Node[]; contents(t: HTMLTemplateElement): Node; attr(a: Attr): string; text(n: CharacterData): string } {
    return {
      children: (n) => this.kidsOf(n),
      contents: (t) => this.contentsOf(t),
      attr: (a) => capturedAttr(a, a.ownerDocument.baseURI),
      text: (n) => textOf(n),
    };
  }

  /** Re-sends a known node's attributes, data and children (deep). */
  private resync(w: OpWriter, kids: number[], root: Node, fresh: Set<Node> | null): void {
    const stack: Node[] = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const id = this.ids.get(n);
      if (id === undefined || fresh?.has(n)) continue;
      if (n.nodeType === 1) this.writeAttrs(w, OP_SET_ATTRS, id, n as Element);
      else if (n.nodeType === 3 || n.nodeType === 4 || n.nodeType === 8 || n.nodeType === 7) {
        w.u(OP_SET_TEXT);
        w.u(id);
        w.s(textOf(n as CharacterData));
      }
      if (n.firstChild !== null || n.nodeType === 1 || n.nodeType === 9) {
        const before = new Set<Node>();
        for (const c of this.kidsOf(n)) if (this.ids.has(c)) before.add(c);
        this.writeChildren(w, kids, n, fresh);
        for (const c of before) stack.push(c);
      }
    }
  }
}

const HTML_NS = 'http://www.w3.org/1999/xhtml';

/**
 * The nodes the engine knows, by handle. Handles are given in sequence from 1 at each keyframe:
 * the keyframe walk's (most of a page's) are kept in an array indexed by handle (no hashing per
 * node), later ones (batches') in a `Map`, so the array stops growing at the end of the walk
 * (`seal`) and a long session's freed handles leave no holes behind.
 * Invariant: while open, `dense.length` is the next handle; `count` is the number of nodes held.
 */
class NodeTable {
  private dense: (Node | undefined)[] = [undefined];
  private open = true;
  private readonly later = new Map<number, Node>();
  private count = 0;

  get(h: number): Node | undefined {
    return h < this.dense.length ? this.dense[h] : this.later.get(h);
  }

  /** Holds `n` under the fresh handle `h`. */
  set(h: number, n: Node): void {
    if (this.open && h === this.dense.length) this.dense.push(n);
    else this.later.set(h, n);
    this.count++;
  }

  delete(h: number): void {
    if (h < this.dense.length) {
      if (this.dense[h] === undefined) return;
      this.dense[h] = undefined;
      this.count--;
    } else if (this.later.delete(h)) {
      this.count--;
    }
  }

  /** Handles given from now on go to the map. */
  seal(): void {
    this.open = false;
  }

  get size(): number {
    return this.count;
  }

  *values(): IterableIterator<Node> {
    for (const n of this.dense) if (n !== undefined) yield n;
    yield* this.later.values();
  }

  /** Forgets every node; open again for the next keyframe's handles. */
  clear(): void {
    this.dense = [undefined];
    this.open = true;
    this.later.clear();
    this.count = 0;
  }
}

/** Keys of stopped captures' `NodeIds`, every node's property under them `undefined`. */
const FREE_ID_KEYS: symbol[] = [];

/**
 * The handles of the nodes the engine knows, kept on the nodes themselves under a symbol of
 * this capture's own (invisible to the page's string-keyed code): a WeakMap of every node of a
 * large page costs the garbage collector more than the walk itself. A forgotten node's
 * property is set to `undefined` (its shape stays), so `has` is `get() !== undefined`.
 * The symbol is a stopped capture's when there is one (`release`): a fresh one would add a
 * property to every node at every start (a new shape per kind of node, a larger property
 * store each time), the stopped captures' left behind holding `undefined`.
 */
class NodeIds {
  private readonly key = FREE_ID_KEYS.pop() ?? Symbol('cobrowse.handle');
  private released = false;

  get(n: Node): number | undefined {
    return (n as unknown as Record<symbol, number | undefined>)[this.key];
  }

  has(n: Node): boolean {
    return (n as unknown as Record<symbol, number | undefined>)[this.key] !== undefined;
  }

  set(n: Node, id: number): void {
    (n as unknown as Record<symbol, number | undefined>)[this.key] = id;
  }

  delete(n: Node): void {
    (n as unknown as Record<symbol, number | undefined>)[this.key] = undefined;
  }

  /** Forgets `nodes` (every node known). */
  clear(nodes: Iterable<Node>): void {
    for (const n of nodes) this.delete(n);
  }

  /** Hands the key to the next capture (once; every node known forgotten: `clear`). */
  release(): void {
    if (this.released) return;
    this.released = true;
    FREE_ID_KEYS.push(this.key);
  }
}

/** An ordinary element whose children the walk is listing (see `KeyframeWalk.list`). */
interface ChildListing {
  parent: number;
  next: Node | null;
  handles: number[] | null;
}

/** The state of a keyframe's walk between slices: the nodes created whose children are not
 * listed yet (a stack, with their handles and `F_` flags). */
interface KeyframeWalk {
  nodes: Node[];
  handles: number[];
  flags: number[];
  slices: Slices;
  /** The last element's document and its base URL (read once per document, not per node). */
  baseDoc: Document | null;
  base: string;
  /** That document's window (null for a document without one). */
  view: Window | null;
  /** `document.documentElement` during this slice (its children include the adopted sheets). */
  root: Element | null;
  /** An ordinary element whose children are being listed: its handle, the next child to
   * take, and the handles listed by earlier slices (null: none; the list is sent whole at
   * every slice that adds to it). */
  list: ChildListing | null;
  /** The one `ChildListing` object `list` points to (filled again for each element). */
  listAt: ChildListing;
  /** Nodes created since the clock was last read, and this slice's deadline. */
  work: number;
  deadline: number;
  /** What runs in the next slice (see `walkSlice`), and whether the engine's preparation is
   * done (the late batch is next). */
  phase: KeyframePhase;
  prepared: boolean;
  /** Whether a slice ended (other tasks may have run since the keyframe began). */
  yielded: boolean;
  /** When the keyframe began, the elements its walk listed so far (`walkList`), and whether
   * the first slice's deadline was considered for a move (`timeUp`). */
  begun: number;
  elements: number;
  extended: boolean;
}
/** The phases of a keyframe in slices: the DOM walk, then the engine's three (`keyframe_prepare_step`
 * and the late batch, `keyframe_encode_step`, `settle_step`). */
type KeyframePhase = 'walk' | 'prepare' | 'encode' | 'settle';
/** Nodes of engine work between two reads of the clock (about 0.3-1 ms at 100,000 nodes). */
const STEP_NODES = 2048;
/** Ops the keyframe's writer holds before it grows (256 KB; an ordinary page's walk writes
 * 10,000-60,000). */
const KEYFRAME_OPS = 1 << 16;
/** Nodes created between two reads of the clock. */
const WORK_CHECK = 64;

/** The first slice's deadline may move to this many ms after the keyframe began (see `timeUp`). */
const FIRST_SLICE_MAX_MS = 30;
/** The walk's time projected for the whole page is taken this many times over (the rest of
 * the page may be heavier than its start). */
const WALK_MARGIN = 1.3;

/**
 * Whether the slice's time is up (resets the work count), read by the walk and before every
 * step of the engine's phases. At the first slice's deadline, when the walk of the whole page
 * is projected to end within `FIRST_SLICE_MAX_MS` of the keyframe's start (the time so far per
 * element listed, times the document's elements, times `WALK_MARGIN`), or has ended, the
 * deadline moves there: an ordinary page's keyframe is then made in the one task, without a
 * second task's cost, while a large page's slices keep `SLICE_MS` (its projection is far
 * longer). The projection counts this document's elements only (not iframes' or shadow
 * roots'); the moved deadline bounds the task whatever it missed (no step begins after it:
 * the engine's phases go on in the next task).
 */
function timeUp(walk: KeyframeWalk): boolean {
  walk.work = 0;
  const now = performance.now();
  if (now < walk.deadline) return false;
  if (walk.yielded || walk.extended) return true;
  walk.extended = true;
  if (walk.phase === 'walk') {
    // The most elements the document may hold for the projection to fit; whether it holds
    // more is one indexed read (the collection is walked that far, not to the end of a large
    // page).
    const fit = Math.floor((walk.elements * FIRST_SLICE_MAX_MS) / ((now - walk.begun) * WALK_MARGIN));
    if (document.getElementsByTagName('*')[fit] !== undefined) return true;
  }
  walk.deadline = walk.begun + FIRST_SLICE_MAX_MS;
  return now >= walk.deadline;
}

/** A node without children to walk. */
const F_LEAF = -1;
/** Children come from `kidsOf` (capture-owned stand-ins: iframes, styles, shadow hosts, the
 * root, non-elements). */
const F_GENERIC = 1;
/** A template: its contents are walked too. */
const F_TEMPLATE = 2;

/** How the walk lists `n`'s children (F_ flags; 0 for an ordinary element). */
function walkFlags(n: Node, root: Element | null): number {
  const t = n.nodeType;
  if (t === 1) {
    const el = n as Element;
    const ln = el.localName;
    if (ln === 'style') return F_GENERIC;
    if (el.namespaceURI === HTML_NS) {
      if (ln === 'template') return F_GENERIC | F_TEMPLATE;
      if (ln === 'iframe') return F_GENERIC;
    }
    return el === root || listedGenerically(el) ? F_GENERIC : 0;
  }
  return t === 9 || t === 11 ? F_GENERIC : F_LEAF;
}

/**
 * Whether an ordinary element's children come from `kidsOf` anyway: a shadow host (open or
 * closed: its root's stand-in template comes first) or a document's root element (its
 * document's adopted sheets' stand-in comes last; iframe documents' too).
 */
function listedGenerically(el: Element): boolean {
  return shadowRootOf(el) !== null || el.ownerDocument.documentElement === el;
}

/** An element's attribute list (count, then namespace, name and value as captured). */
function writeAttrList(w: OpWriter, el: Element, base: string): void {
  // `attributes` makes (and keeps) a NamedNodeMap per element: not for one without any.
  if (!el.hasAttributes()) {
    w.u(0);
    return;
  }
  const attrs = el.attributes;
  const n = attrs.length;
  w.u(n);
  for (let i = 0; i < n; i++) {
    const a = attrs[i]!;
    const ns = a.namespaceURI;
    const name = a.localName;
    w.attr(ns === null ? 0 : nsCode(ns), name, capturedValue(el, ns, name, a.value, base));
  }
}

/** Script's writes to form state make no mutation and no event: these setters report them. */
type FormWindow = Window & typeof globalThis;
const FORM_SETTERS: [(w: FormWindow) => object, string][] = [
  [(w) => w.HTMLInputElement.prototype, 'value'],
  [(w) => w.HTMLInputElement.prototype, 'valueAsNumber'],
  [(w) => w.HTMLInputElement.prototype, 'valueAsDate'],
  [(w) => w.HTMLInputElement.prototype, 'checked'],
  [(w) => w.HTMLTextAreaElement.prototype, 'value'],
  [(w) => w.HTMLOptionElement.prototype, 'selected'],
  [(w) => w.HTMLSelectElement.prototype, 'value'],
  [(w) => w.HTMLSelectElement.prototype, 'selectedIndex'],
];

/** Methods that change a control's value without an event. */
const FORM_METHODS: [(w: FormWindow) => object, string][] = [
  [(w) => w.HTMLInputElement.prototype, 'stepUp'],
  [(w) => w.HTMLInputElement.prototype, 'stepDown'],
  [(w) => w.HTMLInputElement.prototype, 'setRangeText'],
  [(w) => w.HTMLTextAreaElement.prototype, 'setRangeText'],
];

/** Listeners of script writes to form state (one per running capture). */
const formSetListeners = new Set<(el: Element) => void>();
/** The windows whose form setters are wrapped (this one and same-origin iframes' windows). */
const formHookedWindows = new WeakSet<object>();

/**
 * Calls `onSet(el)` after every script write of a form control's state (this window's, and
 * those of the windows passed to `hookFormSettersIn`) until the returned function is called.
 * The setters are wrapped once per window and stay wrapped (a plain pass-through while no
 * capture listens): redefining prototype accessors at every start and stop costs the page's
 * optimized code more than the wrapper does.
 */
function hookFormSetters(onSet: (el: Element) => void): () => void {
  hookFormSettersIn(window);
  formSetListeners.add(onSet);
  return () => {
    formSetListeners.delete(onSet);
  };
}

/**
 * Wraps `win`'s form setters and methods (once per window) so that a script's write reaches
 * every listener of `hookFormSetters`: a captured same-origin iframe's controls are then read
 * when marked, as this window's are, not polled at every batch. Returns whether they are
 * wrapped (false for a window being torn down).
 */
function hookFormSettersIn(win: FormWindow): boolean {
  if (formHookedWindows.has(win)) return true;
  try {
    for (const [protoOf, prop] of FORM_SETTERS) {
      const proto = protoOf(win);
      const desc = Object.getOwnPropertyDescriptor(proto, prop);
      const set = desc?.set;
      if (desc === undefined || set === undefined) continue;
      Object.defineProperty(proto, prop, {
        ...desc,
        set(this: Element, v: unknown) {
          set.call(this, v);
          for (const l of formSetListeners) l(this);
        },
      });
    }
    for (const [protoOf, name] of FORM_METHODS) {
      const proto = protoOf(win);
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      const fn = desc?.value;
      if (desc === undefined || typeof fn !== 'function') continue;
      Object.defineProperty(proto, name, {
        ...desc,
        value: function (this: Element, ...args: unknown[]) {
          const r = fn.apply(this, args);
          for (const l of formSetListeners) l(this);
          return r;
        },
      });
    }
  } catch {
    // A window being torn down (its prototypes are gone): its controls stay polled.
    return false;
  }
  formHookedWindows.add(win);
  return true;
}
const OBSERVE: MutationObserverInit = { childList: true, attributes: true, characterData: true, subtree: true };
/** Marks the capture-owned template standing for an open shadow root (the replayer attaches one). */
export const SHADOW_ATTR = 'data-cobrowse-shadow';
/** Capture-owned shadow templates and their hosts. */
const SHADOW_HOSTS = new WeakMap<HTMLTemplateElement, Element>();

// Legacy script-in-CSS (IE expression(), behaviors, XBL) that browsers today ignore and the
// engine's sanitizer refuses: a sheet whose text holds it travels as its parsed rules instead.
const LEGACY_CSS = /expression\s*\(|behaviou?r\s*:|-moz-binding/i;

/**
 * The sheet of a <style> whose rules travel instead of its text (edited through the CSSOM,
 * or text holding legacy script-in-CSS), or null when its DOM text travels.
 */
function overriddenSheet(el: HTMLStyleElement): CSSStyleSheet | null {
  const sheet = el.sheet;
  if (sheet === null) return null;
  return isModified(sheet) || LEGACY_CSS.test(el.textContent ?? '') ? sheet : null;
}
const EVENTS = ['input', 'change', 'reset', 'scroll', 'load', 'error'];
/** The size (UTF-16 units) from which a <style>'s text travels cut at its rules (splitStyle):
 * below it, its first CSSOM edit re-sending the text costs little. */
const SPLIT_MIN = 512;

/** One rule's text as it travels (URLs resolved; a newline keeps rules apart in the style). */
function ruleCss(r: CSSRule, base: string): string {
  return absoluteCss(r.cssText, base) + '\n';
}

/** A document (top or a captured iframe's) or a shadow root: it may adopt sheets. */
type Adopter = Document | ShadowRoot;
/** Capture-owned adopted-sheets elements and their adopters. */
const ADOPTED_BY = new WeakMap<Element, Adopter>();
/** Events heard on shadow roots (frames.ts FRAME_EVENTS hears them on documents). */
const ROOT_EVENTS = ['input', 'change', 'reset', 'scroll'];

/** Adds the HTML `<style>`s of `styles` (an SVG `<style>` has no sheet of its own to relist). */
function addHtmlStyles(styles: ArrayLike<Element>, to: Set<Node>): void {
  for (let i = 0; i < styles.length; i++) if (styles[i]!.namespaceURI === HTML_NS) to.add(styles[i]!);
}

/** Whether `host` is one of `moved` or inside one of them, across shadow boundaries. */
function movedWith(host: Element, moved: Set<Element>): boolean {
  for (let n: Node | null = host; n !== null; ) {
    if (moved.has(n as Element)) return true;
    const p: Node | null = n.parentNode;
    n = p !== null && p.nodeType === 11 ? ((p as ShadowRoot).host ?? null) : p;
  }
  return false;
}

/** The adopter whose adopted sheets close `parent`'s child list: a document's for its root
 * element, a shadow root's own; else null. */
function adopterListedIn(parent: Node): Adopter | null {
  if (parent.nodeType === 11) return (parent as ShadowRoot).host !== undefined ? (parent as ShadowRoot) : null;
  if (parent.nodeType !== 1) return null;
  const doc = parent.ownerDocument;
  return doc !== null && doc.documentElement === parent ? doc : null;
}

/** Whether two adopted lists hold the same sheets in the same order. */
function sameSheets(a: readonly CSSStyleSheet[], b: readonly CSSStyleSheet[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The top-level rules of an adopter's adopted sheets, in order. */

/** Character data as the engine is told it (CSS in style elements with URLs resolved). */
function textOf(n: CharacterData): string {
  return isStyleText(n) ? absoluteCss(n.data, n.ownerDocument.baseURI) : n.data;
}

/**
 * Whether the keyframe reads `el`'s scroll offsets (`view`: its document's window). Only a
 * scroll container has a scroll position other than its origin (CSSOM View), and a box is one
 * only when its computed `overflow` is neither `visible` nor `clip` on one axis at least, which
 * its computed `overflow-x` tells alone (CSS Overflow: `visible` and `clip` compute to `auto`
 * and `hidden` beside an axis that is neither); a box of any other overflow, or no box, reads
 * 0 and 0. The root element and `body` (in quirks mode) report the viewport's offsets instead:
 * always read, as is an element of a document without a window. One read of the computed style
 * (no layout) instead of two offset reads, each of which checks that the layout is clean (about
 * 0.9 µs a read against 0.8 µs for the style on the corpus pages, benches/JOURNAL.md, branch `key9c`).
 */
function mayBeScrolled(view: Window | null, el: Element, ln: string, root: boolean): boolean {
  if (root || view === null || ln === 'body' || ln === 'frameset') return true;
  const x = view.getComputedStyle(el).overflowX;
  return x !== 'visible' && x !== 'clip';
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

/** Ends the child list written into `kids` from `head` (`OP_SET_CHILDREN`, the parent, a
 * count to set, the handles): sets its count, or takes it back when it lists nothing.
 * Returns whether it lists any. */
function closeList(kids: number[], head: number): boolean {
  const n = kids.length - head - 3;
  if (n === 0) {
    kids.length = head;
    return false;
  }
  kids[head + 2] = n;
  return true;
}

function pushChildren(kids: number[], parent: number, list: number[]): void {
  kids.push(OP_SET_CHILDREN, parent, list.length);
  for (const c of list) kids.push(c);
}

function finish(w: OpWriter, kids: number[]): [Uint32Array, string] {
  w.all(kids);
  return w.finish();
}
