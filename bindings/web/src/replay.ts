// Agent side: a sandboxed iframe (no scripts: `sandbox` without `allow-scripts`, and a CSP
// that forbids them) built and updated only by DOM calls, from the operations the engine
// hands out once it has accepted a whole frame. Never from serialized HTML.
//
// A same-origin iframe's content document (the engine's document child of an iframe) is built
// in a detached holder document, then moved into the mirror iframe's own about:blank document
// once that iframe is in the page (and again whenever the browser gives the iframe a new one:
// moving an iframe discards its document). That iframe never loads the customer's URL: its
// `src` and `srcdoc` are kept as `data-cobrowse-src` / `data-cobrowse-srcdoc`; the sandbox and
// the CSP of the mirror apply inside (an about:blank document inherits both).
//
// Document modes: the top document and every content document show in a document of the mode
// the customer's has (see `DocumentMode`). The browser's about:blank is in quirks mode, so a
// content document of another mode waits in a holder while its iframe loads a shell of that
// mode (a blob URL of the agent's origin, navigated by the agent page: no `src` in the mirror);
// scroll offsets set while a document waited are applied again once it shows. `ready` resolves
// when no shell of any document is loading.

import type { ReplayEngine } from '../build/pkg/cobrowse_wasm.js';
import type { ApplyResult, Replayer, ReplayerOptions } from './cobrowse.js';
import { NS_URI, NULL_STR } from './encode.js';

// DOM ops (wasm/src/dom_ops.rs).
const RESET = 1;
const ELEMENT = 2;
const TEXT = 3;
const COMMENT = 4;
const DOCTYPE = 5;
const FRAGMENT = 6;
const PLACE = 7;
const REMOVE = 8;
const SET_ATTR = 9;
const REMOVE_ATTR = 10;
const SET_TEXT = 11;
const VALUE = 12;
const CHECKED = 13;
const SELECTED = 14;
const SCROLL = 15;
const VIEWPORT = 16;
const FLAGS = 17;
const DOCUMENT = 18;
/** ELEMENT flag: an iframe whose content document follows (wasm/src/dom_ops.rs). */
const HOLDS_DOCUMENT = 0x100;
/** Property of a mirror iframe pointing at the content document it shows (for test dumps). */
export const FRAME_DOCUMENT = Symbol.for('cobrowse.frameDocument');

// View flags (engine View).
const BLOCKED = 2;
const MASKED = 4;
const DISABLED = 8;

/** Attributes the replayer adds to show view flags; never part of the page. */
export const FLAG_ATTRS: readonly [number, string][] = [
  [BLOCKED, 'data-cobrowse-blocked'],
  [MASKED, 'data-cobrowse-masked'],
  [DISABLED, 'data-cobrowse-disabled'],
];

const CSP = "default-src * data: blob: 'unsafe-inline'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'";

/**
 * The document's mode, which the HTML parser sets from the doctype once and for all: it changes
 * layout (quirks, and the line-height quirk of limited-quirks) and how the mirror's CSS text is
 * read (quirks accepts hashless colours and unitless lengths). A doctype node inserted later does
 * not change it, and an `srcdoc` document is always no-quirks, so the mirror takes the page's
 * mode by loading a shell of that mode (see `ReplayerImpl.matchMode`).
 */
type DocumentMode = 'no-quirks' | 'limited-quirks' | 'quirks';

/** A doctype per mode (no doctype: quirks): what the shell is parsed with. */
const MODE_DOCTYPE: Record<DocumentMode, string> = {
  'no-quirks': '<!DOCTYPE html>',
  'limited-quirks': '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
  quirks: '',
};

function shell(mode: DocumentMode): string {
  return `${MODE_DOCTYPE[mode]}<html><head><meta http-equiv="Content-Security-Policy" content="${CSP}"></head><body></body></html>`;
}

/**
 * The mode the HTML parser gives a document that starts with `doctype` (null: none before the
 * root element). Quirks is the browser's own verdict (a parse of the doctype alone, inert);
 * limited-quirks is the parser's short list of public identifiers.
 */
function documentMode(doctype: DocumentType | null): DocumentMode {
  if (doctype === null) return 'quirks';
  const q = (v: string): string => (v.includes('"') ? `'${v}'` : `"${v}"`);
  let text = `<!DOCTYPE ${doctype.name}`;
  if (doctype.publicId !== '') text += ` PUBLIC ${q(doctype.publicId)}${doctype.systemId !== '' ? ` ${q(doctype.systemId)}` : ''}`;
  else if (doctype.systemId !== '') text += ` SYSTEM ${q(doctype.systemId)}`;
  const probe = new DOMParser().parseFromString(`${text}><html></html>`, 'text/html');
  if (probe.compatMode === 'BackCompat') return 'quirks';
  const pub = doctype.publicId.toLowerCase();
  const limited =
    pub.startsWith('-//w3c//dtd xhtml 1.0 frameset//') ||
    pub.startsWith('-//w3c//dtd xhtml 1.0 transitional//') ||
    (doctype.systemId !== '' && (pub.startsWith('-//w3c//dtd html 4.01 frameset//') || pub.startsWith('-//w3c//dtd html 4.01 transitional//')));
  return limited ? 'limited-quirks' : 'no-quirks';
}

/** The doctype that decides a document's mode: one before its root element, or null. */
function modeDoctype(doc: Document): DocumentType | null {
  for (let c = doc.firstChild; c !== null; c = c.nextSibling) {
    if (c.nodeType === 10) return c as DocumentType;
    if (c.nodeType === 1) return null;
  }
  return null;
}

/**
 * Without scripts (the sandbox) a canvas shows its fallback content instead of its bitmap, as an
 * inline box sized by that content: this gives it back the size and the blank bitmap it has on
 * the customer's side (the width/height attributes, 300x150 by default, and their aspect ratio
 * when CSS sets the width). In a cascade layer, so that every rule of the page still wins.
 */
const CANVAS_CSS =
  '@layer cobrowse-canvas{canvas{display:inline-block;overflow:hidden;color:transparent;width:attr(width px,300px);' +
  'aspect-ratio:attr(width type(<number>),300)/attr(height type(<number>),150)}canvas>*{display:none!important}}';

/**
 * A blocked element's placeholder (its box is the customer's, written by the engine). Two looks:
 * - an element the administrator's rules block (a private panel, a video, a third-party frame)
 *   shows content on the customer's side that the agent may not see: grey stripes fill it;
 * - a plugin element (`object`, `embed`, `applet`: always blocked when sanitizing, and sent as a
 *   neutral `span`, engine/src/rules/sanitize.rs) shows nothing on the customer's side when it
 *   has no data and no fallback (browsers run no plugins), or the browser's own plain "not
 *   supported" box: an empty box with a thin dashed outline inside its edge is what the customer
 *   sees there and still tells the agent something is withheld.
 * The replayer tells the two apart by the element's name only: a `span` blocked by a rule gets
 * the plugin look too (a view flag on the wire would tell them apart exactly).
 */
const BLOCKED_CSS =
  '[data-cobrowse-blocked]{background:repeating-linear-gradient(45deg,#ccc 0 6px,#eee 6px 12px)!important;color:transparent!important}' +
  'span[data-cobrowse-blocked]{background:none!important;outline:1px dashed rgba(96,96,128,.6)!important;outline-offset:-1px!important}';

function agentCss(showDisabled: boolean): string {
  // No scroll anchoring in the mirror: its scroll offsets are the customer's, as reported
  // (the customer's own anchoring moves them there, and that move travels). Anchoring of its
  // own moved the mirror away from them whenever its layout changed above the viewport later
  // than the customer's did (an image the customer had cached, loading in the mirror).
  let css = '*{overflow-anchor:none!important}' + CANVAS_CSS + BLOCKED_CSS;
  if (showDisabled) css += '[data-cobrowse-disabled]{outline:2px dashed rgba(200,0,0,.7)!important;cursor:not-allowed!important}';
  return css + '[data-cobrowse-disabled] *{pointer-events:none!important}[data-cobrowse-disabled]{pointer-events:none!important}';
}

function prefixed(ns: number, local: string): string {
  switch (ns) {
    case 4:
      return 'xlink:' + local;
    case 5:
      return 'xml:' + local;
    case 6:
      return local === 'xmlns' ? local : 'xmlns:' + local;
    default:
      return local;
  }
}

interface Pending {
  el: Element;
  kind: number;
  s: string | null;
  n: number;
  x: number;
  y: number;
}

export class ReplayerImpl implements Replayer {
  private doc: Document | null = null;
  private nodes = new Map<number, Node>();
  private ids = new WeakMap<Node, number>();
  /** The mode of the document in the iframe (the first shell is an srcdoc: no-quirks). */
  private mode: DocumentMode = 'no-quirks';
  /** While a shell of another mode loads: its blob URL and mode (frames still go to `doc`). */
  private loadingShell: { url: string; mode: DocumentMode } | null = null;
  /** Set when a shell of another mode could not load: the mode stays no-quirks. */
  private modeFixed = false;
  /** Shell loads in progress, the mirror iframe's and nested iframes': `ready` waits for 0. */
  private pendingLoads = 0;
  private readyWaiters: (() => void)[] = [];
  /** Nested mirror iframes loading a shell for their content document: URL, mode, listener. */
  private frameShells = new Map<Element, { url: string; mode: DocumentMode; onLoad: () => void }>();
  /** The mode of every shell document loaded into a nested iframe. */
  private shellModes = new WeakMap<Document, DocumentMode>();
  /** Nested iframes where a shell could not load: they keep the browser's about:blank. */
  private frameShellRefused = new WeakSet<Element>();
  /** The mode a doctype gives (`documentMode` parses; a document's doctype rarely changes). */
  private doctypeModes = new WeakMap<DocumentType, DocumentMode>();
  /** The last scroll offset set on each element, applied again after its document moved. */
  private scrolls = new Map<Element, [number, number]>();
  /** Mirror iframes showing a content document, and that document's id. */
  private frameDocs = new Map<Element, number>();
  /** Iframes whose content document left during the frame being applied (see `restoreUnhosted`). */
  private readonly unhosted = new Set<Element>();
  /** Mirror iframes whose `src`/`srcdoc` must not load (they show a content document). */
  private frameHosts = new WeakSet<Element>();

  constructor(
    private readonly engine: ReplayEngine,
    private readonly iframe: HTMLIFrameElement,
    private readonly options: ReplayerOptions,
  ) {
    iframe.setAttribute('sandbox', 'allow-same-origin');
    iframe.setAttribute('referrerpolicy', 'no-referrer');
    this.loadStarted();
    iframe.addEventListener('load', () => this.shellLoaded());
    iframe.srcdoc = shell('no-quirks');
  }

  /** Resolves when the iframe's document is ready: at first, and again after a frame that
   * changed the mode of the document or of a content document, once the shells of the new
   * modes show the mirror. */
  get ready(): Promise<void> {
    if (this.pendingLoads === 0) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private loadStarted(): void {
    this.pendingLoads++;
  }

  private loadEnded(): void {
    // Each load ends once (`endFrameShell` forgets it, the top shell's ends in `shellLoaded`).
    if (this.pendingLoads === 0) return;
    this.pendingLoads--;
    if (this.pendingLoads > 0) return;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  /** A shell document loaded: the mirror is rebuilt in it from the engine. */
  private shellLoaded(): void {
    const doc = this.iframe.contentDocument;
    if (doc === null) {
      if (this.loadingShell !== null) {
        // The shell was refused (the agent page's CSP has no blob: in frame-src): the mirror
        // goes back to an srcdoc shell, in no-quirks mode, and stays there.
        URL.revokeObjectURL(this.loadingShell.url);
        this.loadingShell = null;
        this.mode = 'no-quirks';
        this.modeFixed = true;
        this.doc = null;
        this.iframe.removeAttribute('src');
        this.iframe.srcdoc = shell('no-quirks');
      }
      return;
    }
    if (this.loadingShell !== null) {
      // An earlier navigation's load (the srcdoc, or a shell replaced by a newer one).
      if (doc.URL !== this.loadingShell.url) return;
      URL.revokeObjectURL(this.loadingShell.url);
      this.mode = this.loadingShell.mode;
      this.loadingShell = null;
    } else if (this.doc !== null) {
      return;
    }
    this.doc = doc;
    try {
      const win = this.iframe.contentWindow as (Window & typeof globalThis) | null;
      if (win !== null) {
        const sheet = new win.CSSStyleSheet();
        sheet.replaceSync(agentCss(this.options.showDisabled ?? true));
        doc.adoptedStyleSheets = [sheet];
      }
    } catch {
      // Without the agent stylesheet flags are still attributes; nothing else depends on it.
    }
    if (this.engine.rebuild()) this.run(this.engine.ops(), this.engine.text());
    this.loadEnded();
  }

  /**
   * After a keyframe: when the page's mode differs from the iframe document's, loads a shell of
   * that mode (a blob URL of this origin; the sandbox and the CSP hold there too) and rebuilds
   * the mirror in it when it has loaded. Until then frames keep updating the current document.
   */
  private matchMode(doc: Document): void {
    if (this.modeFixed) return;
    const want = documentMode(modeDoctype(doc));
    if (want === (this.loadingShell?.mode ?? this.mode)) return;
    if (this.loadingShell !== null) URL.revokeObjectURL(this.loadingShell.url);
    else this.loadStarted();
    const url = URL.createObjectURL(new Blob([shell(want)], { type: 'text/html' }));
    this.loadingShell = { url, mode: want };
    // srcdoc wins over src: it goes first.
    this.iframe.removeAttribute('srcdoc');
    this.iframe.src = url;
  }

  apply(bytes: Uint8Array): ApplyResult {
    if (!this.engine.apply(bytes)) {
      return { ok: false, needKeyframe: true, reason: this.engine.error() };
    }
    if (this.doc !== null) this.run(this.engine.ops(), this.engine.text());
    return { ok: true };
  }

  fingerprint(): string {
    return this.engine.fingerprint();
  }

  pixelRatio(): number | null {
    const r = this.engine.pixel_ratio();
    return r === 0 ? null : r / 1000;
  }

  debugDump(): string {
    return this.engine.debugDump();
  }

  nodeById(id: number): Node | null {
    return this.nodes.get(id) ?? null;
  }

  idOfNode(node: Node): number | null {
    return this.ids.get(node) ?? null;
  }

  /** Runs one accepted frame's DOM operations. */
  private run(ops: Uint32Array, text: string): void {
    const doc = this.doc!;
    let at = 0;
    let pos = 0;
    const u = (): number => ops[at++]!;
    const s = (): string | null => {
      const n = ops[at++]!;
      if (n === NULL_STR) return null;
      const v = text.slice(pos, pos + n);
      pos += n;
      return v;
    };
    const str = (): string => s() ?? '';
    const node = (id: number): Node | undefined => this.nodes.get(id);
    const late: Pending[] = [];
    let reset = false;
    // A style element re-parses its whole sheet on every change of its children (a rule per
    // text node: thousands of changes in one frame). Its children are edited as a list here
    // and put back once, at the end of the frame.
    const styleKids = new Map<Element, Node[]>();
    const inStyle = new Map<Node, Element>();
    const touch = (st: Element): Node[] => {
      let list = styleKids.get(st);
      if (list === undefined) {
        list = Array.from(st.childNodes);
        st.replaceChildren();
        for (const c of list) inStyle.set(c, st);
        styleKids.set(st, list);
      }
      return list;
    };
    const unlist = (n: Node): void => {
      const st = inStyle.get(n);
      if (st === undefined) return;
      const list = styleKids.get(st)!;
      list.splice(list.indexOf(n), 1);
      inStyle.delete(n);
    };
    const attach = (n: Node, parent: number): void => {
      this.nodes.set(u32(this.ids, n, 0), n);
      if (parent === 0) return;
      const p = node(parent);
      if (p !== undefined && isHtml(p, 'style')) {
        touch(p as Element).push(n);
        inStyle.set(n, p as Element);
      } else {
        p?.appendChild(n);
      }
    };
    while (at < ops.length) {
      const op = u();
      switch (op) {
        case RESET: {
          const id = u();
          const has = u();
          const w = u();
          const h = u();
          reset = true;
          while (doc.firstChild !== null) doc.removeChild(doc.firstChild);
          this.nodes.clear();
          this.ids = new WeakMap();
          this.nodes.set(id, doc);
          this.ids.set(doc, id);
          this.frameDocs.clear();
          this.unhosted.clear();
          for (const f of Array.from(this.frameShells.keys())) this.endFrameShell(f);
          this.scrolls.clear();
          this.viewport(has, w, h);
          break;
        }
        case ELEMENT: {
          const id = u();
          const parent = u();
          const flags = u();
          const ns = u();
          const local = str();
          const el = createElement(doc, ns, local);
          this.ids.set(el, id);
          if ((flags & HOLDS_DOCUMENT) !== 0 && isHtml(el, 'iframe')) this.frameHosts.add(el);
          const n = u();
          for (let i = 0; i < n; i++) {
            const ans = u();
            const an = str();
            this.setAttr(el, ans, an, str());
          }
          setFlags(el, flags & 0xff);
          const value = s();
          const checked = u();
          const selected = u();
          const hasScroll = u();
          const x = u() | 0;
          const y = u() | 0;
          if (value !== null) late.push({ el, kind: VALUE, s: value, n: 0, x: 0, y: 0 });
          if (checked !== 2) late.push({ el, kind: CHECKED, s: null, n: checked, x: 0, y: 0 });
          if (selected !== 2) late.push({ el, kind: SELECTED, s: null, n: selected, x: 0, y: 0 });
          if (hasScroll === 1) late.push({ el, kind: SCROLL, s: null, n: 1, x, y });
          this.nodes.set(id, el);
          if (parent !== 0) node(parent)?.appendChild(el);
          break;
        }
        case TEXT:
        case COMMENT: {
          const id = u();
          const parent = u();
          u(); // flags: masked text already arrives as asterisks
          const data = str();
          const n = op === TEXT ? doc.createTextNode(data) : doc.createComment(data);
          this.ids.set(n, id);
          attach(n, parent);
          break;
        }
        case DOCTYPE: {
          const id = u();
          const parent = u();
          const name = str();
          const pub = str();
          const sys = str();
          let n: Node;
          try {
            n = doc.implementation.createDocumentType(name, pub, sys);
          } catch {
            n = doc.createComment('doctype');
          }
          this.ids.set(n, id);
          attach(n, parent);
          break;
        }
        case FRAGMENT: {
          const id = u();
          const parent = u();
          const t = node(parent);
          if (t !== undefined && isHtml(t, 'template')) {
            // A shadow template's contents are its host's shadow root (once it has a host).
            const c = shadowRootFor(t as HTMLTemplateElement) ?? (t as HTMLTemplateElement).content;
            this.ids.set(c, id);
            this.nodes.set(id, c);
          }
          break;
        }
        case DOCUMENT: {
          const id = u();
          const parent = u();
          // A holder until the iframe is in the page (see `showFrames`).
          const holder = doc.implementation.createHTMLDocument('');
          holder.replaceChildren();
          this.ids.set(holder, id);
          this.nodes.set(id, holder);
          const p = node(parent);
          if (isElement(p)) this.hostFrame(p, id);
          break;
        }
        case PLACE: {
          const n = node(u());
          const p = node(u());
          const prevId = u();
          if (n === undefined || p === undefined) break;
          if (n.nodeType === 9) {
            // A content document placed under its iframe (never inserted as a DOM child).
            if (isElement(p)) this.hostFrame(p, this.ids.get(n)!);
            break;
          }
          if (isHtml(p, 'style')) {
            const list = touch(p as Element);
            unlist(n);
            n.parentNode?.removeChild(n);
            const prev = prevId === 0 ? undefined : node(prevId);
            list.splice(prev === undefined ? 0 : list.indexOf(prev) + 1, 0, n);
            inStyle.set(n, p as Element);
            break;
          }
          unlist(n);
          if (p.nodeType === 9 && (n.nodeType === 1 || n.nodeType === 10)) {
            // A document holds one root element and one doctype: a replaced one (a content
            // document's new page, removed later in the frame) leaves first.
            for (const c of Array.from(p.childNodes)) if (c !== n && c.nodeType === n.nodeType) p.removeChild(c);
          }
          const ref = prevId === 0 ? p.firstChild : (node(prevId)?.nextSibling ?? null);
          if (ref !== n) p.insertBefore(n, ref);
          if (isElement(n) && isShadowTemplate(n)) this.adoptShadow(n as HTMLTemplateElement);
          break;
        }
        case REMOVE: {
          const n = node(u());
          if (n === undefined) break;
          if (n.nodeType === 9) {
            // A content document left its iframe (navigation or removal): the iframe is empty.
            const id = this.ids.get(n);
            for (const [f, d] of this.frameDocs) if (d === id) this.unhostFrame(f);
            this.forget(n);
            (n as Document).replaceChildren();
            break;
          }
          const sp = n.parentNode;
          if (sp !== null && isHtml(sp, 'style')) touch(sp as Element);
          unlist(n);
          n.parentNode?.removeChild(n);
          // Styles edited in this frame inside the removed subtree get their children back
          // first, so that their ids are forgotten too.
          for (const [st, list] of styleKids) {
            if (n.contains(st)) {
              st.replaceChildren(...list);
              for (const c of list) inStyle.delete(c);
              styleKids.delete(st);
            }
          }
          this.forget(n);
          break;
        }
        case SET_ATTR: {
          const el = node(u());
          const ns = u();
          const local = str();
          const value = str();
          if (isElement(el)) this.setAttr(el, ns, local, value);
          break;
        }
        case REMOVE_ATTR: {
          const el = node(u());
          const ns = u();
          const local = str();
          if (isElement(el)) el.removeAttributeNS(NS_URI[ns] ?? null, this.attrName(el, ns, local));
          break;
        }
        case SET_TEXT: {
          const n = node(u());
          const data = str();
          const sp = n?.parentNode;
          if (sp && isHtml(sp, 'style')) touch(sp as Element);
          if (n !== undefined && (n.nodeType === 3 || n.nodeType === 8)) (n as CharacterData).data = data;
          break;
        }
        case VALUE: {
          const el = node(u());
          const v = s();
          if (isElement(el)) late.push({ el, kind: VALUE, s: v, n: 0, x: 0, y: 0 });
          break;
        }
        case CHECKED:
        case SELECTED: {
          const el = node(u());
          const v = u();
          if (isElement(el)) late.push({ el, kind: op, s: null, n: v, x: 0, y: 0 });
          break;
        }
        case SCROLL: {
          const el = node(u());
          const has = u();
          const x = u() | 0;
          const y = u() | 0;
          if (isElement(el)) late.push({ el, kind: SCROLL, s: null, n: has, x, y });
          break;
        }
        case VIEWPORT: {
          const has = u();
          const w = u();
          const h = u();
          this.viewport(has, w, h);
          break;
        }
        case FLAGS: {
          const el = node(u());
          const flags = u();
          if (isElement(el)) setFlags(el, flags & 0xff);
          break;
        }
        default:
          throw new Error(`cobrowse: unknown DOM op ${op}`);
      }
    }
    // Live state after the tree is in place (selecting an option, scrolling need it there).
    for (const [st, list] of styleKids) putStyleChildren(st, list);
    this.restoreUnhosted();
    this.showFrames();
    // A keyframe states the whole page: a document scroll it does not set is 0, not what the
    // mirror showed of the page before (removing the old tree does not reset the viewport).
    if (reset) {
      const se = doc.scrollingElement;
      if (se !== null) {
        se.scrollLeft = 0;
        se.scrollTop = 0;
      }
    }
    for (const p of late) {
      if (p.kind === SCROLL) this.scrollTo(p.el, p.n === 1 ? p.x : 0, p.n === 1 ? p.y : 0);
      else applyLate(p);
    }
    if (reset) this.matchMode(doc);
  }

  /** The name an attribute is set under: a content document's iframe never loads a URL. */
  private attrName(el: Element, ns: number, local: string): string {
    return ns === 0 && (local === 'src' || local === 'srcdoc') && this.frameHosts.has(el) ? `data-cobrowse-${local}` : local;
  }

  private setAttr(el: Element, ns: number, local: string, value: string): void {
    setAttr(el, ns, this.attrName(el, ns, local), value);
  }

  /** `iframe` shows the content document `id` (its URL attributes stop loading first). */
  private hostFrame(iframe: Element, id: number): void {
    if (!isHtml(iframe, 'iframe')) return;
    if (!this.frameHosts.has(iframe)) {
      this.frameHosts.add(iframe);
      renameAttrs(iframe, HOSTED_NAME);
    }
    this.unhosted.delete(iframe);
    this.frameDocs.set(iframe, id);
  }

  private unhostFrame(iframe: Element): void {
    this.frameDocs.delete(iframe);
    this.unhosted.add(iframe);
    this.endFrameShell(iframe);
    delete (iframe as unknown as Record<symbol, unknown>)[FRAME_DOCUMENT];
  }

  /**
   * At the end of a frame: an iframe of the mirror that no longer shows a content document (it
   * navigated to another origin, or the document it showed was a transient one) gets its URL
   * attributes back under their own names, in their places, and loads like any other iframe.
   * Done once the frame is applied, so a document replaced within one frame never lets the
   * customer's URL load in between.
   */
  private restoreUnhosted(): void {
    for (const iframe of this.unhosted) {
      if (this.frameDocs.has(iframe) || !this.ids.has(iframe)) continue;
      this.frameHosts.delete(iframe);
      renameAttrs(iframe, UNHOSTED_NAME);
    }
    this.unhosted.clear();
  }

  /** Sets an element's scroll offset and keeps it (the document's: on its scrolling element). */
  private scrollTo(el: Element, x: number, y: number): void {
    if (x === 0 && y === 0) this.scrolls.delete(el);
    else this.scrolls.set(el, [x, y]);
    scrollElement(el, x, y);
  }

  /** The mode the customer's content document `held`, shown by `iframe`, has. */
  private contentMode(iframe: Element, held: Document): DocumentMode {
    // An srcdoc document is always in no-quirks mode, whatever its doctype.
    if (iframe.hasAttribute('data-cobrowse-srcdoc')) return 'no-quirks';
    const doctype = modeDoctype(held);
    if (doctype === null) return 'quirks';
    let mode = this.doctypeModes.get(doctype);
    if (mode === undefined) {
      mode = documentMode(doctype);
      this.doctypeModes.set(doctype, mode);
    }
    return mode;
  }

  /** The mode of a document shown in a nested iframe: a shell's, or the browser's own. */
  private shownMode(doc: Document): DocumentMode {
    return this.shellModes.get(doc) ?? (doc.compatMode === 'BackCompat' ? 'quirks' : 'no-quirks');
  }

  /**
   * Loads a shell of `mode` into `iframe` for content document `id`. The content leaves the
   * document the navigation discards first (into a holder); it moves into the shell once that
   * has loaded (`showFrames`).
   */
  private loadFrameShell(iframe: HTMLIFrameElement, id: number, shown: Document, mode: DocumentMode): void {
    const held = this.nodes.get(id)!;
    if (held === shown) {
      const holder = shown.implementation.createHTMLDocument('');
      holder.replaceChildren();
      for (const c of Array.from(shown.childNodes)) holder.appendChild(c);
      this.ids.delete(shown);
      this.ids.set(holder, id);
      this.nodes.set(id, holder);
    }
    this.navigateFrame(iframe, URL.createObjectURL(new Blob([shell(mode)], { type: 'text/html' })), mode);
  }

  /** Navigates a nested iframe to `url` (a shell of `mode`, or about:blank) and waits for it. */
  private navigateFrame(iframe: HTMLIFrameElement, url: string, mode: DocumentMode): void {
    const onLoad = (): void => this.frameShellLoaded(iframe);
    iframe.addEventListener('load', onLoad);
    this.frameShells.set(iframe, { url, mode, onLoad });
    this.loadStarted();
    try {
      iframe.contentWindow!.location.replace(url);
    } catch {
      this.endFrameShell(iframe);
      this.frameShellRefused.add(iframe);
    }
  }

  /** A nested iframe loaded: when it is the shell it waited for, the content moves in. */
  private frameShellLoaded(iframe: Element): void {
    const loading = this.frameShells.get(iframe);
    if (loading === undefined) return;
    let doc: Document | null = null;
    try {
      doc = (iframe as HTMLIFrameElement).contentDocument;
    } catch {
      doc = null;
    }
    // An earlier navigation's load.
    if (doc !== null && doc.URL !== loading.url) return;
    // `ready` must not resolve between this load's end and the start of the loads it causes
    // (the iframes inside the content document it shows need shells of their own).
    this.loadStarted();
    try {
      this.endFrameShell(iframe);
      if (doc === null) {
        // Refused (a CSP without blob: frames): the iframe goes back to about:blank, for good.
        if (!this.frameShellRefused.has(iframe)) {
          this.frameShellRefused.add(iframe);
          this.navigateFrame(iframe as HTMLIFrameElement, 'about:blank', 'quirks');
        }
        return;
      }
      this.shellModes.set(doc, loading.mode);
      this.showFrames();
    } finally {
      this.loadEnded();
    }
  }

  /** Stops waiting for a nested iframe's shell (loaded, refused, or the iframe went away). */
  private endFrameShell(iframe: Element): void {
    const loading = this.frameShells.get(iframe);
    if (loading === undefined) return;
    iframe.removeEventListener('load', loading.onLoad);
    if (loading.url.startsWith('blob:')) URL.revokeObjectURL(loading.url);
    this.frameShells.delete(iframe);
    this.loadEnded();
  }

  /**
   * Moves each content document into its iframe's own document when the iframe is in the page
   * and the browser gave it a document other than the one holding the content (a holder, or
   * the document of before a move).
   */
  private showFrames(): void {
    // An iframe inside a content document is in the page once that document is shown: repeat
    // until nothing moves.
    let moved = true;
    while (moved) {
      moved = false;
      for (const [iframe, id] of this.frameDocs) moved = this.showFrame(iframe, id) || moved;
    }
  }

  /** Shows content document `id` in `iframe` if it can and must; true when it moved it. */
  private showFrame(iframe: Element, id: number): boolean {
    {
      const held = this.nodes.get(id);
      if (held === undefined || !iframe.isConnected) return false;
      let shown: Document | null = null;
      try {
        shown = (iframe as HTMLIFrameElement).contentDocument;
      } catch {
        shown = null;
      }
      if (shown === null) return false;
      const want = this.contentMode(iframe, held as Document);
      const loading = this.frameShells.get(iframe);
      if (loading !== undefined) {
        if (loading.mode === want) return false;
        this.endFrameShell(iframe);
      }
      if (want !== this.shownMode(shown) && !this.modeFixed && !this.frameShellRefused.has(iframe)) {
        this.loadFrameShell(iframe as HTMLIFrameElement, id, shown, want);
        return false;
      }
      (iframe as unknown as Record<symbol, unknown>)[FRAME_DOCUMENT] = shown;
      if (shown === held) return false;
      // Emptied first: a document refuses a doctype while it has a root element.
      shown.replaceChildren();
      for (const c of Array.from(held.childNodes)) shown.appendChild(c);
      this.ids.delete(held);
      this.ids.set(shown, id);
      this.nodes.set(id, shown);
      this.addAgentSheet(shown);
      // Scroll offsets do not survive a move (nor apply in a holder): set them again.
      for (const [el, [x, y]] of this.scrolls) if (el.ownerDocument === shown) scrollElement(el, x, y);
      return true;
    }
  }

  /** The agent stylesheet (view flags) in a document of the mirror. */
  private addAgentSheet(doc: Document): void {
    try {
      const win = doc.defaultView as (Window & typeof globalThis) | null;
      if (win === null) return;
      const sheet = new win.CSSStyleSheet();
      sheet.replaceSync(agentCss(this.options.showDisabled ?? true));
      doc.adoptedStyleSheets = [sheet];
    } catch {
      // Without it flags are still attributes.
    }
  }

  private viewport(has: number, w: number, h: number): void {
    if (has === 1) {
      this.iframe.style.width = `${w}px`;
      this.iframe.style.height = `${h}px`;
    }
  }

  /**
   * A shadow template placed under its host (it was created detached, its contents in the
   * template): its contents move into the host's shadow root, which takes the contents' id.
   */
  private adoptShadow(t: HTMLTemplateElement): void {
    const root = shadowRootFor(t);
    const id = this.ids.get(t.content);
    if (root === null || id === undefined) return;
    while (t.content.firstChild !== null) root.appendChild(t.content.firstChild);
    this.ids.delete(t.content);
    this.ids.set(root, id);
    this.nodes.set(id, root);
  }

  /** Forgets the ids of a removed subtree. */
  private forget(root: Node): void {
    const stack: Node[] = [root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const id = this.ids.get(n);
      if (id !== undefined) {
        this.nodes.delete(id);
        this.ids.delete(n);
      }
      if (isElement(n)) this.scrolls.delete(n);
      for (let c = n.firstChild; c !== null; c = c.nextSibling) stack.push(c);
      const frameDoc = isElement(n) ? this.frameDocs.get(n) : undefined;
      if (frameDoc !== undefined) {
        const d = this.nodes.get(frameDoc);
        this.unhostFrame(n as Element);
        if (d !== undefined) stack.push(d);
      }
      if (isHtml(n, 'template')) stack.push((n as HTMLTemplateElement).content);
      if (isElement(n) && n.shadowRoot !== null) stack.push(n.shadowRoot);
    }
  }
}

/**
 * Gives a style element its children back at the end of a frame, parsing its sheet once: a
 * connected style re-parses its whole sheet for each child inserted (one text per rule: an
 * n-rule sheet was parsed n times, quadratic), a disconnected one not at all, so the children
 * go in while it is out of its parent and it goes back where it was.
 */
function putStyleChildren(st: Element, list: Node[]): void {
  const parent = st.parentNode;
  if (parent === null || list.length < 2) {
    st.replaceChildren(...list);
    return;
  }
  const next = st.nextSibling;
  parent.removeChild(st);
  st.replaceChildren(...list);
  parent.insertBefore(st, next);
}

/** Marks the capture's stand-in for an open shadow root (capture.ts SHADOW_ATTR). */
const SHADOW_ATTR = 'data-cobrowse-shadow';

function isShadowTemplate(el: Element): boolean {
  return isHtml(el, 'template') && el.hasAttribute(SHADOW_ATTR);
}

/** The shadow root a shadow template stands for: its host's (attached on first use), or null. */
function shadowRootFor(t: HTMLTemplateElement): ShadowRoot | null {
  if (!isShadowTemplate(t)) return null;
  const host = t.parentNode;
  if (host === null || host.nodeType !== 1) return null;
  const el = host as Element;
  if (el.shadowRoot !== null) return el.shadowRoot;
  try {
    return el.attachShadow({ mode: 'open' });
  } catch {
    // Not a valid shadow host here: the contents stay in the template (not shown).
    return null;
  }
}

// The iframe is another realm: `instanceof` against this page's classes would fail there.
function isElement(n: Node | undefined): n is Element {
  return n !== undefined && n.nodeType === 1;
}

function isHtml(n: Node, local: string): boolean {
  return n.nodeType === 1 && (n as Element).localName === local && (n as Element).namespaceURI === NS_URI[1];
}

function u32(ids: WeakMap<Node, number>, n: Node, fallback: number): number {
  return ids.get(n) ?? fallback;
}

function createElement(doc: Document, ns: number, local: string): Element {
  try {
    // HTML: createElement keeps a colon in the local name (`g:plusone`), as the parser does.
    if (ns === 1 && local === local.toLowerCase()) return doc.createElement(local);
    return doc.createElementNS(NS_URI[ns] ?? null, local);
  } catch {
    // A name the HTML parser accepts but the DOM API does not: keep a stand-in element.
    return doc.createElementNS(NS_URI[1]!, 'cobrowse-unnamed');
  }
}

function setAttr(el: Element, ns: number, local: string, value: string): void {
  try {
    // No namespace: setAttribute keeps names like `xmlns:og` or `xml:lang` that the HTML parser
    // leaves in no namespace (setAttributeNS would refuse their prefixes).
    if (ns === 0) el.setAttribute(local, value);
    else el.setAttributeNS(NS_URI[ns] ?? null, prefixed(ns, local), value);
  } catch {
    // A name the HTML parser accepts but setAttribute does not (e.g. `"x`): not shown.
  }
}

/** The names a content document's iframe keeps its URL attributes under (they never load). */
const HOSTED_NAME = new Map([
  ['src', 'data-cobrowse-src'],
  ['srcdoc', 'data-cobrowse-srcdoc'],
]);
const UNHOSTED_NAME = new Map([...HOSTED_NAME].map(([k, v]) => [v, k]));

/**
 * Renames `el`'s no-namespace attributes named in `names`, keeping the attribute order (part of
 * the DOM the mirror must equal): the attributes from the first renamed one on are taken off and
 * put back in order, renamed ones under their new names.
 */
function renameAttrs(el: Element, names: Map<string, string>): void {
  const attrs = Array.from(el.attributes);
  const first = attrs.findIndex((a) => a.namespaceURI === null && names.has(a.name));
  if (first < 0) return;
  const tail = attrs.slice(first);
  for (const a of tail) el.removeAttributeNode(a);
  for (const a of tail) {
    const to = a.namespaceURI === null ? names.get(a.name) : undefined;
    if (to === undefined) el.setAttributeNode(a);
    else el.setAttribute(to, a.value);
  }
}

function setFlags(el: Element, flags: number): void {
  for (const [bit, name] of FLAG_ATTRS) {
    if ((flags & bit) !== 0) el.setAttribute(name, '');
    else el.removeAttribute(name);
  }
}

function applyLate(p: Pending): void {
  const el = p.el;
  switch (p.kind) {
    case VALUE:
      if (isHtml(el, 'input') || isHtml(el, 'textarea')) {
        const f = el as HTMLInputElement;
        f.value = p.s ?? f.defaultValue;
      }
      break;
    case CHECKED:
      if (isHtml(el, 'input')) {
        const f = el as HTMLInputElement;
        f.checked = p.n === 2 ? f.defaultChecked : p.n === 1;
      }
      break;
    case SELECTED:
      if (isHtml(el, 'option')) {
        const o = el as HTMLOptionElement;
        o.selected = p.n === 2 ? o.defaultSelected : p.n === 1;
      }
      break;
  }
}

function scrollElement(el: Element, x: number, y: number): void {
  // The document's scroll travels on the customer's scrolling element (<body> in quirks mode);
  // the mirror scrolls its own.
  const doc = el.ownerDocument;
  const target = (el === doc.body || el === doc.documentElement) && doc.scrollingElement ? doc.scrollingElement : el;
  target.scrollLeft = x;
  target.scrollTop = y;
}

