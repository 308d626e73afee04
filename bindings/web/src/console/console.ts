// The agent console: join a customer's session by its id (typed, or from a chat message of
// the form `{start:123456789}`), watch the page in a sandboxed mirror, point, highlight,
// request control and act. Every action goes to the customer's browser, which checks it
// against the live page before replaying it; refusals come back and are shown.
//
// Invariants:
// - The mirror iframe is built only by the replayer (DOM calls from engine frames, no
//   scripts). The console never edits it; it reads it (hit tests, rectangles).
// - The mirror is shown at the customer's viewport size inside a scrolling area; zoom scales
//   it (auto-fit picks the largest zoom <= 100 % that fits).
// - A dropped connection reconnects with the resume token of `Joined` (kept in
//   sessionStorage) and asks for a fresh keyframe.

import { createReplayer, init, type Replayer } from '../cobrowse.js';
import { mirrorId, mirrorNode } from '../session/access.js';
import { loadStored, saveStored } from '../session/storage.js';
import {
  ceilingName,
  clientInfo,
  controller,
  decode,
  denialText,
  displayId,
  encode,
  endText,
  fromBase64,
  relayBase,
  toBase64,
  wsUrl,
  type Msg,
} from '../session/protocol.js';
import { CONSOLE_CSS } from './style.js';

export interface ConsoleOptions {
  /** The relay's address; default: this page's origin. */
  relay?: string;
  /** Where the console is drawn (default document.body). */
  container?: HTMLElement;
  /** The agent's token (a JWT signed by the vendor backend), or a function that fetches one. */
  token?: string | (() => Promise<string>);
  /** Development only: fetch a token from the relay's `/api/dev/agent-token` (relay in dev mode). */
  devToken?: boolean | { sub?: string; name?: string };
  /** Join this session at once (nine digits). */
  session?: string;
  /** Join by invite (`?invite=` of a colleague's link). */
  invite?: { session: string; invite: string };
  /** The sessionStorage key of the resume token (default "cobrowse.agent"). */
  storageKey?: string;
  /** The vendor page with the widget, for invitation links (`…#cobrowse-invite=ID:SECRET`). */
  customerSite?: string;
}

export interface AgentConsole {
  /** Joins session `id` (nine digits, spaces allowed). */
  join(id: string): Promise<void>;
  /** Joins from a chat message holding `{start:123456789}`; returns whether it held one. */
  handleChatMessage(text: string): boolean;
  /** Sends a raw agent message (tests and integrations). */
  send(msg: Msg): void;
  requestControl(): void;
  returnToPointer(): void;
  end(): void;
  /** Creates an invite link for a colleague; resolves to the console URL that joins with it. */
  invite(): Promise<string>;
  /** Starts a session by inviting a customer (when the policy allows it); resolves to the
   *  link (or `ID:SECRET` code) the vendor's chat hands the customer. */
  inviteCustomer(): Promise<string>;
  zoom(factor: number | 'fit'): void;
  readonly sessionId: string | null;
  readonly participantId: number;
  readonly replayer: Replayer | null;
}

type State = 'idle' | 'connecting' | 'waiting' | 'active' | 'paused' | 'ended';

/** The nine digits of a `{start:123456789}` chat message, or null. */
export function startIdOf(text: string): string | null {
  return /\{\s*start\s*:\s*(\d{3}\s?\d{3}\s?\d{3})\s*\}/.exec(text)?.[1]?.replace(/\s/g, '') ?? null;
}

interface Stored {
  relay: string;
  id: number;
  pid: number;
  token: string;
}

class ConsoleImpl implements AgentConsole {
  sessionId: string | null = null;
  participantId = 0;
  replayer: Replayer | null = null;
  private readonly relay: string;
  private readonly key: string;
  private readonly ui: Record<string, HTMLElement> = {};
  private ws: WebSocket | null = null;
  private state: State = 'idle';
  private participants = 0;
  private ceiling: 'full' | 'partial' | 'none' = 'full';
  private controlling: number | null = null;
  private requested = false;
  private customerConnected = true;
  private customerInfo = '';
  /** Round trip of this console's own connection to the relay (its pings), in ms. */
  private latency: number | null = null;
  /** The customer's round trip to the relay as the relay measured it (`Latency`), in ms. */
  private customerLatency: number | null = null;
  private zoomLevel = 1;
  private autoFit = true;
  private highlighter = false;
  private highlightSeq = 0;
  private lastMove = 0;
  private url = '';
  private ended = false;
  private retry = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private editor: HTMLInputElement | null = null;
  private tokenCache: string | null = null;
  private highlightClears: Array<() => void> = [];
  private invitationLink: ((link: string) => void) | null = null;

  constructor(private readonly opts: ConsoleOptions) {
    this.relay = relayBase(opts.relay);
    this.key = opts.storageKey ?? 'cobrowse.agent';
    this.build(opts.container ?? document.body);
    this.render();
    new ResizeObserver(() => this.fit()).observe(this.ui['agent-viewport']!);
    const stored = this.load();
    if (opts.invite !== undefined) void this.joinWith(opts.invite.session, opts.invite.invite);
    else if (opts.session !== undefined) void this.join(opts.session);
    else if (stored !== null && stored.relay === this.relay) this.connect(String(stored.id), null, stored);
  }

  // --- UI.

  private build(container: HTMLElement): void {
    const style = document.createElement('style');
    style.textContent = CONSOLE_CSS;
    container.appendChild(style);
    const root = mk('div', 'cbc');
    container.appendChild(root);
    const add = <K extends keyof HTMLElementTagNameMap>(
      parent: HTMLElement,
      tag: K,
      testid: string,
      text = '',
      cls = '',
    ): HTMLElementTagNameMap[K] => {
      const e = mk(tag, cls) as HTMLElementTagNameMap[K];
      if (testid !== '') {
        e.setAttribute('data-testid', testid);
        this.ui[testid] = e;
      }
      if (text !== '') e.textContent = text;
      parent.appendChild(e);
      return e;
    };
    const join = add(root, 'form', 'agent-join-form', '', 'bar') as HTMLFormElement;
    const input = add(join, 'input', 'agent-session-input');
    input.placeholder = 'Session ID (123 456 789) or {start:…}';
    add(join, 'button', 'agent-join', 'Join', 'primary');
    join.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = input.value;
      if (!this.handleChatMessage(v)) void this.join(v);
    });
    const header = add(root, 'div', 'agent-header', '', 'bar header');
    add(header, 'span', 'agent-session-id', '', 'sid');
    add(header, 'span', 'agent-state', '', 'pill');
    add(header, 'span', 'agent-mode', '', 'pill');
    add(header, 'span', 'agent-customer', '', 'muted');
    add(header, 'span', 'agent-screen', '', 'muted');
    add(header, 'span', 'agent-latency', '', 'muted');
    add(header, 'span', 'agent-participants', '', 'muted');
    const tools = add(root, 'div', 'agent-tools', '', 'bar');
    add(tools, 'button', 'agent-request-control', 'Request control').addEventListener('click', () =>
      this.requestControl(),
    );
    add(tools, 'button', 'agent-return-pointer', 'Return to pointer').addEventListener('click', () =>
      this.returnToPointer(),
    );
    add(tools, 'button', 'agent-highlight', 'Highlighter').addEventListener('click', () => {
      this.highlighter = !this.highlighter;
      this.render();
    });
    add(tools, 'button', 'agent-clear-highlights', 'Clear highlights').addEventListener('click', () => {
      this.send({ kind: 'HighlightClear', from: this.participantId, which: 'All' });
      this.clearMarks();
    });
    add(tools, 'button', 'agent-zoom-out', '−').addEventListener('click', () => this.zoom(this.zoomLevel / 1.25));
    add(tools, 'span', 'agent-zoom', '', 'muted');
    add(tools, 'button', 'agent-zoom-in', '+').addEventListener('click', () => this.zoom(this.zoomLevel * 1.25));
    add(tools, 'button', 'agent-zoom-fit', 'Fit').addEventListener('click', () => this.zoom('fit'));
    add(tools, 'button', 'agent-invite', 'Invite a colleague').addEventListener('click', () => void this.invite());
    add(tools, 'button', 'agent-invite-customer', 'Invite the customer').addEventListener('click', () => void this.inviteCustomer());
    add(tools, 'button', 'agent-end', 'End session', 'danger').addEventListener('click', () => this.end());
    const nav = add(root, 'form', 'agent-nav', '', 'bar') as HTMLFormElement;
    // type=button: Enter in the URL bar must not "click" the first button of the form.
    for (const [id, text, to] of [
      ['agent-back', '←', 'Back'],
      ['agent-forward', '→', 'Forward'],
      ['agent-reload', '⟳', 'Reload'],
    ] as const) {
      const b = add(nav, 'button', id, text);
      b.type = 'button';
      b.title = to;
      b.addEventListener('click', () => this.navigate(to));
    }
    const url = add(nav, 'input', 'agent-url', '', 'url');
    url.spellcheck = false;
    nav.addEventListener('submit', (e) => {
      e.preventDefault();
      try {
        this.navigate({ Url: new URL(url.value, this.url || undefined).href });
      } catch {
        this.notice('Not a URL');
      }
    });
    add(root, 'div', 'agent-notice', '', 'notice');
    add(root, 'div', 'agent-denial', '', 'denial');
    const main = add(root, 'div', '', '', 'main');
    const viewport = add(main, 'div', 'agent-viewport', '', 'viewport');
    const stage = add(viewport, 'div', 'agent-stage', '', 'stage');
    const iframe = add(stage, 'iframe', 'agent-mirror');
    iframe.title = 'The customer page (mirror)';
    const glass = add(stage, 'div', 'agent-glass', '', 'glass');
    glass.addEventListener('mousemove', (e) => this.pointerMove(e));
    glass.addEventListener('click', (e) => this.pointerClick(e));
    glass.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    add(stage, 'div', 'agent-customer-pointer', '', 'cpointer').hidden = true;
    const side = add(main, 'div', '', '', 'side');
    add(side, 'div', 'agent-chat-log', '', 'log');
    const chat = add(side, 'form', 'agent-chat-form') as HTMLFormElement;
    const text = add(chat, 'input', 'agent-chat-input');
    text.placeholder = 'Message the customer';
    add(chat, 'button', 'agent-chat-send', 'Send');
    chat.addEventListener('submit', (e) => {
      e.preventDefault();
      const t = text.value.trim();
      if (t === '') return;
      this.send({ kind: 'Chat', from: this.participantId, text: t });
      this.chatLine('You', t);
      text.value = '';
    });
    const link = add(side, 'form', 'agent-link-form') as HTMLFormElement;
    const linkUrl = add(link, 'input', 'agent-link-input');
    linkUrl.placeholder = 'https://… (share a link)';
    add(link, 'button', 'agent-link-send', 'Share link');
    link.addEventListener('submit', (e) => {
      e.preventDefault();
      try {
        const href = new URL(linkUrl.value).href;
        this.send({ kind: 'SharedLink', from: this.participantId, url: href, title: '' });
        this.chatLine('You shared', href);
        linkUrl.value = '';
      } catch {
        this.notice('Not a URL');
      }
    });
    add(side, 'div', 'agent-invite-link', '', 'muted');
  }

  private render(): void {
    const live = this.state !== 'idle' && this.state !== 'ended';
    const inControl = this.controlling !== null && this.controlling === this.participantId;
    this.ui['agent-session-id']!.textContent = this.sessionId === null ? '' : displayId(this.sessionId);
    const st = this.ui['agent-state']!;
    st.textContent = {
      idle: 'not in a session',
      connecting: 'connecting…',
      waiting: 'waiting for the customer',
      active: 'active',
      paused: 'paused: the customer stopped sharing',
      ended: 'ended',
    }[this.state];
    st.setAttribute('data-state', this.state);
    const ceiling = { full: 'full control', partial: 'partial control', none: 'no control' }[this.ceiling];
    const mode = this.ui['agent-mode']!;
    mode.textContent = inControl
      ? `control (${ceiling})`
      : this.controlling !== null
        ? `pointer mode (another agent has control; ${ceiling})`
        : `pointer mode (${ceiling})`;
    mode.setAttribute('data-mode', inControl ? 'control' : 'pointer');
    this.ui['agent-customer']!.textContent =
      this.customerInfo === '' ? '' : `Customer: ${this.customerInfo}${this.customerConnected ? '' : ' (disconnected)'}`;
    const latencies = [
      this.customerLatency === null || !this.customerConnected ? null : `customer latency ${this.customerLatency} ms`,
      this.latency === null ? null : `yours ${this.latency} ms`,
    ].filter((x) => x !== null);
    this.ui['agent-latency']!.textContent = latencies.join(' · ');
    this.ui['agent-participants']!.textContent = live ? `${this.participants} participants` : '';
    (this.ui['agent-request-control'] as HTMLButtonElement).disabled =
      !live || inControl || this.requested || this.ceiling === 'none';
    (this.ui['agent-request-control'] as HTMLButtonElement).textContent = this.requested
      ? 'Control requested…'
      : 'Request control';
    (this.ui['agent-return-pointer'] as HTMLButtonElement).disabled = !inControl && !this.requested;
    this.ui['agent-highlight']!.classList.toggle('on', this.highlighter);
    this.ui['agent-highlight']!.setAttribute('aria-pressed', String(this.highlighter));
    for (const id of ['agent-back', 'agent-forward', 'agent-reload', 'agent-url']) {
      (this.ui[id] as HTMLInputElement).disabled = !inControl;
    }
    const url = this.ui['agent-url'] as HTMLInputElement;
    if (document.activeElement !== url) url.value = this.url;
    this.ui['agent-zoom']!.textContent = `${Math.round(this.zoomLevel * 100)} %${this.autoFit ? ' (fit)' : ''}`;
    this.ui['agent-join-form']!.hidden = live;
    this.ui['agent-invite-customer']!.hidden = live;
    (this.ui['agent-end'] as HTMLButtonElement).disabled = !live;
    (this.ui['agent-invite'] as HTMLButtonElement).disabled = !live;
    const partial = this.ceiling === 'partial' && inControl;
    const notice = this.ui['agent-notice']!;
    if (partial) notice.textContent = 'Forms cannot be edited on the agent side';
    else if (notice.dataset.sticky !== '1') notice.textContent = '';
  }

  private notice(text: string): void {
    const n = this.ui['agent-notice']!;
    n.textContent = text;
    n.dataset.sticky = '1';
    setTimeout(() => {
      n.dataset.sticky = '';
      this.render();
    }, 4000);
  }

  private denial(text: string): void {
    const d = this.ui['agent-denial']!;
    d.textContent = `Refused: ${text}`;
    d.classList.remove('flash');
    void d.offsetWidth;
    d.classList.add('flash');
  }

  private chatLine(who: string, text: string): void {
    const line = mk('div', '');
    line.setAttribute('data-testid', 'agent-chat-line');
    line.textContent = `${who}: ${text}`;
    this.ui['agent-chat-log']!.appendChild(line);
  }

  // --- Session.

  handleChatMessage(text: string): boolean {
    const id = startIdOf(text);
    if (id === null) return false;
    void this.join(id);
    return true;
  }

  async join(id: string): Promise<void> {
    const digits = id.replace(/\s/g, '');
    if (!/^\d{9}$/.test(digits)) {
      this.notice('A session ID has nine digits');
      return;
    }
    this.connect(digits, null, null);
  }

  private async joinWith(session: string, invite: string): Promise<void> {
    this.connect(session.replace(/\s/g, ''), invite, null);
  }

  private async token(): Promise<string> {
    if (this.tokenCache !== null) return this.tokenCache;
    const t = this.opts.token;
    if (typeof t === 'string') return (this.tokenCache = t);
    if (typeof t === 'function') return (this.tokenCache = await t());
    if (this.opts.devToken !== undefined && this.opts.devToken !== false) {
      const d = typeof this.opts.devToken === 'object' ? this.opts.devToken : {};
      const u = new URL('/api/dev/agent-token', this.relay);
      if (d.sub !== undefined) u.searchParams.set('sub', d.sub);
      if (d.name !== undefined) u.searchParams.set('name', d.name);
      const r = await fetch(u);
      if (!r.ok) throw new Error('cobrowse: the relay gives no development token (is it in dev mode?)');
      return (this.tokenCache = ((await r.json()) as { token: string }).token);
    }
    throw new Error('cobrowse: no agent token (options.token)');
  }

  async inviteCustomer(): Promise<string> {
    const link = new Promise<string>((resolve) => (this.invitationLink = resolve));
    this.connect('', null, null, true);
    return link;
  }

  private connect(id: string, invite: string | null, stored: Stored | null, inviting = false): void {
    this.sessionId = id;
    this.ended = false;
    this.state = 'connecting';
    this.render();
    const ws = new WebSocket(wsUrl(this.relay, invite === null ? {} : { invite }));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = async () => {
      await init();
      const resume =
        stored === null
          ? null
          : { session_id: stored.id, participant_id: stored.pid, token: fromBase64(stored.token), last_seq: null };
      this.sendOn(ws, { kind: 'Hello', role: 'Agent', client: clientInfo(), resume });
      if (resume === null) {
        try {
          const token = await this.token();
          this.sendOn(ws, inviting ? { kind: 'Invite', token } : { kind: 'Join', session_id: Number(id), token });
        } catch (e) {
          this.notice(String((e as Error).message));
          ws.close();
        }
      }
    };
    ws.onmessage = (e) => {
      let m: Msg;
      try {
        m = decode(new Uint8Array(e.data as ArrayBuffer));
      } catch {
        return;
      }
      this.receive(ws, m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (this.ended) return;
      const s = this.load();
      if (s === null || this.state === 'idle' || this.state === 'connecting') {
        if (this.state !== 'ended') {
          this.state = 'idle';
          this.render();
        }
        return;
      }
      this.state = 'connecting';
      this.render();
      const delay = Math.min(10_000, 500 * 2 ** this.retry++);
      setTimeout(() => {
        if (!this.ended) this.connect(String(s.id).padStart(9, '0'), null, this.load());
      }, delay);
    };
  }

  private receive(ws: WebSocket, m: Msg): void {
    switch (m.kind) {
      case 'Joined': {
        this.retry = 0;
        this.participantId = Number(m.participant_id);
        this.sessionId = String(m.session_id).padStart(9, '0');
        this.participants = Number(m.participants);
        this.ceiling = ceilingName(m.ceiling);
        this.controlling = controller(m.mode);
        const c = m.customer as { browser: string; browser_version: string; os: string } | null;
        if (c !== null && c !== undefined) this.customerInfo = `${c.browser} ${c.browser_version}, ${c.os}`.trim();
        this.save({ relay: this.relay, id: Number(m.session_id), pid: this.participantId, token: toBase64(m.resume_token as Uint8Array) });
        this.state = m.paused ? 'paused' : Number(m.participants) < 2 ? 'waiting' : 'active';
        void this.mirror();
        clearInterval(this.pingTimer);
        const ping = () => this.sendOn(ws, { kind: 'Ping', nonce: Math.floor(Math.random() * 1e9), sent_at_ms: Date.now() });
        ping();
        this.pingTimer = setInterval(ping, 5000);
        this.render();
        break;
      }
      case 'Frame': {
        const r = this.replayer;
        if (r === null) break;
        const res = r.apply(m.bytes as Uint8Array);
        if (!res.ok) this.sendOn(ws, { kind: 'KeyframeRequest', have_seq: null });
        this.fit();
        // A frame applied before the mirror's document is ready is shown (sized) then.
        void r.ready.then(() => this.showScreen());
        break;
      }
      case 'InviteCreated': {
        const id = String(m.session_id).padStart(9, '0');
        const code = `${id}:${String(m.customer_secret)}`;
        const link = this.opts.customerSite === undefined ? code : `${this.opts.customerSite}#cobrowse-invite=${code}`;
        const box = this.ui['agent-invite-link']!;
        box.textContent = `Send the customer: ${link}`;
        box.setAttribute('data-href', link);
        this.state = 'waiting';
        this.render();
        this.invitationLink?.(link);
        this.invitationLink = null;
        break;
      }
      case 'PeerJoined':
      case 'Left':
        this.participants = Number(m.participants);
        if (m.kind === 'PeerJoined' && this.state === 'waiting') this.state = 'active';
        this.render();
        break;
      case 'Connection':
        if (Number(m.participant_id) === 1) {
          this.customerConnected = Boolean(m.connected);
          this.render();
        }
        break;
      case 'ModeChanged':
        this.controlling = controller(m.mode);
        this.ceiling = ceilingName(m.ceiling);
        this.requested = false;
        this.render();
        break;
      case 'ControlApprove':
        if (Number(m.agent) === this.participantId) {
          this.controlling = this.participantId;
          this.requested = false;
          this.render();
        }
        break;
      case 'ControlDecline':
        if (Number(m.agent) === this.participantId) {
          this.requested = false;
          this.notice('The customer declined control');
          this.render();
        }
        break;
      case 'ControlRevoke':
      case 'ControlReturn':
        this.controlling = null;
        this.requested = false;
        this.render();
        break;
      case 'Pause':
        this.state = 'paused';
        this.render();
        break;
      case 'Resume':
        this.state = 'active';
        this.render();
        break;
      case 'End':
        this.finish(endText(m.reason));
        break;
      case 'PageChanged':
        // The customer left the page: its highlights are gone on both sides.
        if (this.url !== '' && this.url !== String(m.url)) this.clearMarks();
        this.url = String(m.url);
        this.render();
        break;
      case 'Pointer':
        if (Number(m.from) === 1) this.customerPointer(m);
        break;
      case 'Chat':
        if (Number(m.from) !== this.participantId) this.chatLine(Number(m.from) === 1 ? 'Customer' : 'Agent', String(m.text));
        break;
      case 'ActionDenied':
        this.denial(denialText(m.reason));
        break;
      case 'Error': {
        const code = m.code as unknown;
        if (code !== null && typeof code === 'object' && 'PermissionDenied' in code) {
          this.denial(denialText((code as { PermissionDenied: unknown }).PermissionDenied));
        } else {
          this.notice(`${String(typeof code === 'object' ? JSON.stringify(code) : code)}: ${String(m.message)}`);
          if (code === 'SessionNotFound' || code === 'SessionEnded' || code === 'Unauthorized') {
            if (this.state === 'connecting') sessionStorage.removeItem(this.key);
          }
        }
        break;
      }
      case 'Latency':
        if (Number(m.participant_id) === 1) {
          this.customerLatency = Number(m.rtt_ms);
          this.render();
        }
        break;
      case 'Pong':
        this.latency = Math.max(0, Date.now() - Number(m.sent_at_ms));
        this.render();
        break;
      case 'Ping':
        this.sendOn(ws, { kind: 'Pong', nonce: m.nonce, sent_at_ms: m.sent_at_ms });
        break;
      case 'Scroll':
      case 'Viewport':
        break;
      default:
        break;
    }
  }

  private async mirror(): Promise<void> {
    await init();
    if (this.replayer !== null) return;
    const iframe = this.ui['agent-mirror'] as HTMLIFrameElement;
    this.replayer = createReplayer(iframe);
    await this.replayer.ready;
    this.fit();
  }

  private finish(why: string): void {
    this.ended = true;
    this.state = 'ended';
    this.controlling = null;
    this.requested = false;
    clearInterval(this.pingTimer);
    sessionStorage.removeItem(this.key);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.render();
    this.ui['agent-state']!.textContent = `ended: ${why}`;
  }

  send(m: Msg): void {
    if (this.ws !== null) this.sendOn(this.ws, m);
  }

  private sendOn(ws: WebSocket, m: Msg): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    try {
      ws.send(encode(m));
    } catch (e) {
      this.notice(`Not sent: ${(e as Error).message}`);
    }
  }

  requestControl(): void {
    this.send({ kind: 'ControlRequest', agent: this.participantId });
    this.requested = true;
    this.render();
  }

  returnToPointer(): void {
    this.send({ kind: 'ControlReturn' });
    this.controlling = null;
    this.requested = false;
    this.render();
  }

  end(): void {
    this.send({ kind: 'End', reason: 'AgentEnded' });
    this.finish('you ended the session');
  }

  async invite(): Promise<string> {
    if (this.sessionId === null) throw new Error('cobrowse: not in a session');
    const r = await fetch(new URL(`/api/sessions/${this.sessionId}/invites`, this.relay), {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.token()}` },
    });
    if (!r.ok) {
      this.notice(`No invite (${r.status})`);
      throw new Error(`cobrowse: invite refused (${r.status})`);
    }
    const v = (await r.json()) as { invite: string; session_id: string };
    const link = new URL(location.href);
    link.search = '';
    link.searchParams.set('session', v.session_id);
    link.searchParams.set('invite', v.invite);
    const box = this.ui['agent-invite-link']!;
    box.textContent = `Invite link (10 min): ${link.href}`;
    box.setAttribute('data-href', link.href);
    return link.href;
  }

  private navigate(to: unknown): void {
    this.send({ kind: 'Navigate', to });
  }

  // --- The mirror: zoom, pointer, clicks, typing.

  zoom(factor: number | 'fit'): void {
    if (factor === 'fit') {
      this.autoFit = true;
      this.fit();
      return;
    }
    this.autoFit = false;
    this.applyZoom(Math.min(4, Math.max(0.1, factor)));
  }

  /** The customer's viewport and device pixel ratio in the header, e.g. "1280×720 @2x". */
  private showScreen(): void {
    const iframe = this.ui['agent-mirror'] as HTMLIFrameElement;
    const w = parseInt(iframe.style.width, 10);
    const h = parseInt(iframe.style.height, 10);
    const ratio = this.replayer?.pixelRatio() ?? null;
    const text = Number.isFinite(w) && Number.isFinite(h) ? `${w}×${h}${ratio === null ? '' : ` @${Math.round(ratio * 100) / 100}x`}` : '';
    const el = this.ui['agent-screen']!;
    if (el.textContent !== text) el.textContent = text;
  }

  private fit(): void {
    const iframe = this.ui['agent-mirror'] as HTMLIFrameElement;
    const w = iframe.offsetWidth;
    const h = iframe.offsetHeight;
    if (!this.autoFit || w === 0 || h === 0) {
      this.applyZoom(this.zoomLevel);
      return;
    }
    const vp = this.ui['agent-viewport']!;
    this.applyZoom(Math.min(1, (vp.clientWidth - 4) / w, (vp.clientHeight - 4) / h));
  }

  private applyZoom(z: number): void {
    this.zoomLevel = z;
    const iframe = this.ui['agent-mirror'] as HTMLIFrameElement;
    const stage = this.ui['agent-stage']!;
    stage.style.width = `${iframe.offsetWidth * z}px`;
    stage.style.height = `${iframe.offsetHeight * z}px`;
    iframe.style.transform = `scale(${z})`;
    const glass = this.ui['agent-glass']!;
    glass.style.width = `${iframe.offsetWidth * z}px`;
    glass.style.height = `${iframe.offsetHeight * z}px`;
    this.ui['agent-zoom']!.textContent = `${Math.round(z * 100)} %${this.autoFit ? ' (fit)' : ''}`;
  }

  /** The mirror point under a console event, the element there and its wire id. */
  private hit(e: MouseEvent): { x: number; y: number; el: Element | null; id: number; disabled: Element | null } | null {
    const doc = (this.ui['agent-mirror'] as HTMLIFrameElement).contentDocument;
    if (doc === null) return null;
    const glass = this.ui['agent-glass']!.getBoundingClientRect();
    const x = (e.clientX - glass.left) / this.zoomLevel;
    const y = (e.clientY - glass.top) / this.zoomLevel;
    let disabled: Element | null = null;
    for (const d of doc.querySelectorAll('[data-cobrowse-disabled]')) {
      const r = d.getBoundingClientRect();
      if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) disabled = d;
    }
    const el = disabled ?? doc.elementFromPoint(x, y);
    const id = el === null || this.replayer === null ? 0 : mirrorId(this.replayer, el);
    return { x, y, el, id, disabled };
  }

  /** A position message's fields: relative to the element when it has an id, else page coordinates. */
  private at(h: { x: number; y: number; el: Element | null; id: number }): { x: number; y: number; target: number | null } {
    if (h.el !== null && h.id !== 0) {
      const r = h.el.getBoundingClientRect();
      return { x: h.x - r.left, y: h.y - r.top, target: h.id };
    }
    const win = (this.ui['agent-mirror'] as HTMLIFrameElement).contentWindow;
    return { x: h.x + (win?.scrollX ?? 0), y: h.y + (win?.scrollY ?? 0), target: null };
  }

  private pointerMove(e: MouseEvent): void {
    const now = performance.now();
    if (now - this.lastMove < 50 || this.state !== 'active') return;
    this.lastMove = now;
    const h = this.hit(e);
    if (h === null) return;
    this.send({ kind: 'Pointer', from: this.participantId, ...this.at(h) });
  }

  private pointerClick(e: MouseEvent): void {
    if (this.state !== 'active') return;
    const h = this.hit(e);
    if (h === null) return;
    const pos = this.at(h);
    if (this.highlighter) {
      if (h.el !== null && h.id !== 0) {
        this.send({ kind: 'Highlight', from: this.participantId, id: ++this.highlightSeq, target: h.id, rect: null, color: null });
        this.markMirror(h.el);
      }
      return;
    }
    const inControl = this.controlling !== null && this.controlling === this.participantId;
    if (!inControl) {
      this.send({ kind: 'ClickRipple', from: this.participantId, ...pos });
      return;
    }
    if (h.disabled !== null) {
      this.denial('This element is disabled for agents');
      return;
    }
    if (h.el === null || h.id === 0) return;
    const formControl = h.el.closest('input, textarea, select, [contenteditable]');
    if (formControl !== null && !isButton(formControl)) {
      if (this.ceiling !== 'full') {
        this.denial('Forms cannot be edited on the agent side');
        return;
      }
      this.send({ kind: 'AgentClick', target: h.id, x: pos.x, y: pos.y });
      this.openEditor(formControl, mirrorId(this.replayer!, formControl));
      return;
    }
    this.send({ kind: 'AgentClick', target: h.id, x: pos.x, y: pos.y });
  }

  /** An input over a mirror form control: what the agent types goes out as `AgentInput`. */
  private openEditor(control: Element, id: number): void {
    this.editor?.remove();
    if (id === 0) return;
    if (control.hasAttribute('data-cobrowse-masked')) {
      this.denial('This field is masked: the agent cannot type in it');
      return;
    }
    const r = control.getBoundingClientRect();
    const ed = mk('input', 'editor') as HTMLInputElement;
    ed.setAttribute('data-testid', 'agent-input-editor');
    ed.value = (control as HTMLInputElement).value ?? '';
    ed.style.left = `${r.left * this.zoomLevel}px`;
    ed.style.top = `${r.top * this.zoomLevel}px`;
    ed.style.width = `${Math.max(80, r.width * this.zoomLevel)}px`;
    ed.style.height = `${Math.max(20, r.height * this.zoomLevel)}px`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      clearTimeout(timer);
      this.send({ kind: 'AgentInput', target: id, value: ed.value });
    };
    ed.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(flush, 150);
    });
    ed.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === 'Escape') {
        flush();
        ed.remove();
        this.editor = null;
      }
    });
    ed.addEventListener('blur', () => {
      flush();
      ed.remove();
      if (this.editor === ed) this.editor = null;
    });
    this.ui['agent-stage']!.appendChild(ed);
    this.editor = ed;
    ed.focus();
  }

  /** The agent's own view of a highlight: a box over the mirror element, found again by its
   *  wire id on every tick (a keyframe rebuilds the mirror's nodes), until cleared. */
  private markMirror(el: Element): void {
    const id = this.replayer === null ? 0 : mirrorId(this.replayer, el);
    const box = mk('div', 'hl');
    box.setAttribute('data-testid', 'agent-highlight-box');
    this.ui['agent-stage']!.appendChild(box);
    const place = (): boolean => {
      const n = this.replayer === null || id === 0 ? el : mirrorNode(this.replayer, id);
      if (!(n instanceof Element) || !n.isConnected) return false;
      const q = n.getBoundingClientRect();
      box.style.left = `${q.left * this.zoomLevel - 3}px`;
      box.style.top = `${q.top * this.zoomLevel - 3}px`;
      box.style.width = `${q.width * this.zoomLevel + 6}px`;
      box.style.height = `${q.height * this.zoomLevel + 6}px`;
      return true;
    };
    place();
    const clear = () => {
      box.remove();
      clearInterval(timer);
    };
    const timer = setInterval(() => {
      if (!place() && this.state !== 'active') clear();
    }, 200);
    this.highlightClears.push(clear);
  }

  /** Removes the agent's own highlight boxes (cleared, or the customer left the page). */
  private clearMarks(): void {
    for (const c of this.highlightClears.splice(0)) c();
  }

  private wheel(e: WheelEvent): void {
    const inControl = this.controlling !== null && this.controlling === this.participantId;
    if (!inControl) return;
    e.preventDefault();
    const win = (this.ui['agent-mirror'] as HTMLIFrameElement).contentWindow;
    if (win === null) return;
    this.send({ kind: 'Scroll', target: null, x: Math.max(0, win.scrollX + e.deltaX), y: Math.max(0, win.scrollY + e.deltaY) });
  }

  private customerPointer(m: Msg): void {
    const dot = this.ui['agent-customer-pointer']!;
    const doc = (this.ui['agent-mirror'] as HTMLIFrameElement).contentDocument;
    let x = Number(m.x);
    let y = Number(m.y);
    const target = typeof m.target === 'number' && this.replayer !== null ? mirrorNode(this.replayer, m.target) : null;
    if (target instanceof Element) {
      const r = target.getBoundingClientRect();
      x += r.left;
      y += r.top;
    } else if (doc !== null) {
      x -= doc.defaultView?.scrollX ?? 0;
      y -= doc.defaultView?.scrollY ?? 0;
    }
    dot.hidden = false;
    dot.style.left = `${x * this.zoomLevel}px`;
    dot.style.top = `${y * this.zoomLevel}px`;
  }

  // --- Storage.

  private load(): Stored | null {
    return loadStored<Stored>(this.key);
  }

  private save(s: Stored): void {
    saveStored(this.key, s);
  }
}

function mk(tag: string, cls: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls !== '') e.className = cls;
  return e;
}

function isButton(e: Element): boolean {
  return e instanceof HTMLInputElement && ['button', 'submit', 'reset', 'checkbox', 'radio', 'image'].includes(e.type);
}

/**
 * Starts the console in `options.container`. The page's URL may carry `?session=ID` (join),
 * `?session=ID&invite=…` (a colleague's invite) or a `{start:123456789}` anywhere in its query.
 */
export function startConsole(options: ConsoleOptions = {}): AgentConsole {
  const q = new URLSearchParams(location.search);
  const opts = { ...options };
  const invite = q.get('invite');
  const session = q.get('session') ?? startIdOf(decodeURIComponent(location.search));
  if (invite !== null && session !== null) opts.invite ??= { session, invite };
  else if (session !== null) opts.session ??= session;
  return new ConsoleImpl(opts);
}
