// The customer widget: one call (`startWidget`) adds a Co-browse button to the vendor's page.
// Starting creates a session at the relay (its nine-digit id shown as "123 456 789"), streams
// the page's frames (capture, masked in this browser) and shows what the agents do: their
// pointers, ripples and highlights. Agent actions are replayed only after the engine's
// permission check passed against the live page; refusals go back as `ActionDenied`.
//
// Invariants:
// - The widget's UI lives in an OPEN shadow root on a host element the capture blocks
//   (`[data-cobrowse-widget]`), so nothing of it reaches a frame.
// - Nothing leaves the page while paused (stop sharing, or a page outside the allowed
//   domains): the capture is stopped; resuming sends `Resume` and then a keyframe.
// - The session survives page loads: its id and resume token are kept in `sessionStorage`
//   (per tab, per origin); a new page resumes with `Hello { resume }`.

import { init, startCapture, type Capture, type Rules } from '../cobrowse.js';
import { checkAction, captureId, captureNode } from '../session/access.js';
import { loadStored, saveStored } from '../session/storage.js';
import {
  ceilingName,
  clientInfo,
  controller,
  decode,
  displayId,
  encode,
  endText,
  fromBase64,
  relayBase,
  toBase64,
  wsUrl,
  type Msg,
} from '../session/protocol.js';
import * as act from './actions.js';
import { Overlay, OVERLAY_CSS } from './overlay.js';
import { WIDGET_CSS } from './style.js';

export interface WidgetOptions {
  /** The relay's address (`https://cobrowse.example.com`); default: this page's origin. */
  relay?: string;
  /** Privacy rules (the rules file's schema): masked, blocked and disabled elements. */
  rules?: Rules;
  /** Hosts the session may show (`"example.com"`, `"*.example.com"`); default: this page's host. */
  allowedDomains?: string[];
  /** The button's text (default "Co-browse"). */
  label?: string;
  /** Where the panel sits (default "bottom-right"). */
  position?: 'bottom-right' | 'bottom-left';
  /** How long highlights stay, in ms (default 180000, the relay's default). */
  highlightLifetimeMs?: number;
  /** The sessionStorage key of the session (default "cobrowse.session"). */
  storageKey?: string;
  /** Called on every state change (vendors can mirror it in their own UI). */
  onStateChange?(state: WidgetState): void;
}

export type WidgetState = 'idle' | 'connecting' | 'invited' | 'waiting' | 'active' | 'paused' | 'ended';

export interface Widget {
  /** The session id (nine digits) or null. */
  readonly sessionId: string | null;
  readonly state: WidgetState;
  /** Starts a session (what the button does). */
  start(): Promise<void>;
  /** Connects to a session an agent created by invitation (`InviteCreated`): nothing is shared before the customer accepts. */
  openInvitation(sessionId: string, secret: string): void;
  stopSharing(): void;
  startSharing(): void;
  end(): void;
  /** Removes the widget (ends nothing). */
  destroy(): void;
}

interface Stored {
  relay: string;
  id: number;
  pid: number;
  token: string;
  stopped: boolean;
}

const STATE_TEXT: Record<WidgetState, string> = {
  idle: 'not sharing',
  connecting: 'connecting…',
  invited: 'invited: waiting for your answer',
  waiting: 'waiting for an agent',
  active: 'active: an agent sees this page',
  paused: 'paused: sharing stopped',
  ended: 'ended',
};

/** Whether `host` matches one of `patterns` ("example.com", "*.example.com"). */
export function hostAllowed(host: string, patterns: string[]): boolean {
  const h = host.toLowerCase();
  return patterns.some((p) => {
    const q = p.toLowerCase();
    return q.startsWith('*.') ? h.endsWith(q.slice(1)) || h === q.slice(2) : h === q;
  });
}

class WidgetImpl implements Widget {
  sessionId: string | null = null;
  state: WidgetState = 'idle';
  private readonly relay: string;
  private readonly key: string;
  private readonly domains: string[];
  private readonly host: HTMLElement;
  private readonly root: ShadowRoot;
  private readonly overlay: Overlay;
  private readonly ui: Record<string, HTMLElement> = {};
  private ws: WebSocket | null = null;
  private capture: Capture | null = null;
  private pid = 0;
  private participants = 1;
  private ceiling: 'full' | 'partial' | 'none' = 'full';
  private controlling: number | null = null;
  private paused = false;
  private stopped = false;
  private outside = false;
  private ended = false;
  private retry = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pending: { agent: number } | null = null;
  /** Connected by an agent's invitation and not accepted yet: nothing is captured. */
  private awaitingAcceptance = false;
  private lastPointer = 0;
  private readonly onMove = (e: MouseEvent): void => this.customerPointer(e);
  private readonly onLeave = (e: MouseEvent): void => this.leavingLink(e);

  constructor(private readonly opts: WidgetOptions) {
    this.relay = relayBase(opts.relay);
    this.key = opts.storageKey ?? 'cobrowse.session';
    this.domains = opts.allowedDomains ?? [location.hostname];
    this.host = document.createElement('cobrowse-widget');
    this.host.setAttribute('data-cobrowse-widget', '');
    this.root = this.host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = WIDGET_CSS + OVERLAY_CSS;
    this.root.appendChild(style);
    this.overlay = new Overlay(this.root, opts.highlightLifetimeMs ?? 180_000);
    this.build();
    document.body.appendChild(this.host);
    this.outside = !hostAllowed(location.hostname, this.domains);
    const stored = this.load();
    window.addEventListener('hashchange', () => this.openFromHash());
    if (this.openFromHash()) {
      // an agent's invitation link
    } else if (stored !== null && stored.relay === this.relay) {
      this.sessionId = String(stored.id).padStart(9, '0');
      this.pid = stored.pid;
      this.stopped = stored.stopped;
      this.connect(null, stored);
    }
    this.render();
  }

  /** Opens an invitation link (`#cobrowse-invite=ID:SECRET`, the secret kept out of history). */
  private openFromHash(): boolean {
    const invite = /[#&]cobrowse-invite=(\d{9}):([A-Za-z0-9_-]+)/.exec(location.hash);
    if (invite === null || (this.state !== 'idle' && this.state !== 'ended')) return false;
    history.replaceState(null, '', location.pathname + location.search);
    this.openInvitation(invite[1]!, invite[2]!);
    return true;
  }

  // --- UI.

  private build(): void {
    const panel = el('div', 'panel' + (this.opts.position === 'bottom-left' ? ' left' : ''));
    const add = <K extends keyof HTMLElementTagNameMap>(
      parent: HTMLElement,
      tag: K,
      testid: string,
      text = '',
      cls = '',
    ): HTMLElementTagNameMap[K] => {
      const e = el(tag, cls) as HTMLElementTagNameMap[K];
      e.setAttribute('data-testid', testid);
      if (text !== '') e.textContent = text;
      parent.appendChild(e);
      this.ui[testid] = e;
      return e;
    };
    const start = add(panel, 'button', 'cobrowse-start', this.opts.label ?? 'Co-browse', 'primary');
    start.addEventListener('click', () => void this.start());
    const body = add(panel, 'div', 'cobrowse-body', '', 'body');
    const idRow = el('div', 'row');
    idRow.append('Session ID ');
    add(idRow, 'strong', 'cobrowse-session-id', '', 'sid');
    body.appendChild(idRow);
    add(body, 'div', 'cobrowse-state', '', 'state');
    add(body, 'div', 'cobrowse-participants', '', 'muted');
    add(body, 'div', 'cobrowse-mode', '', 'muted');
    const invite = add(body, 'div', 'cobrowse-invitation', '', 'request');
    invite.append('An agent invites you: ');
    add(invite, 'button', 'cobrowse-accept-invite', 'Share my browser window', 'primary').addEventListener(
      'click',
      () => this.answerInvitation(true),
    );
    add(invite, 'button', 'cobrowse-decline-invite', 'Decline').addEventListener('click', () =>
      this.answerInvitation(false),
    );
    const request = add(body, 'div', 'cobrowse-control-request', '', 'request');
    request.append('The agent asks to control this page. ');
    add(request, 'button', 'cobrowse-approve-control', 'Approve', 'primary').addEventListener('click', () =>
      this.answerControl(true),
    );
    add(request, 'button', 'cobrowse-decline-control', 'Decline').addEventListener('click', () =>
      this.answerControl(false),
    );
    const buttons = el('div', 'row buttons');
    body.appendChild(buttons);
    add(buttons, 'button', 'cobrowse-return-pointer', 'Take back control').addEventListener('click', () =>
      this.send({ kind: 'ControlReturn' }),
    );
    add(buttons, 'button', 'cobrowse-stop-sharing', 'Stop sharing').addEventListener('click', () =>
      this.stopSharing(),
    );
    add(buttons, 'button', 'cobrowse-start-sharing', 'Start sharing').addEventListener('click', () =>
      this.startSharing(),
    );
    add(buttons, 'button', 'cobrowse-end', 'End session', 'danger').addEventListener('click', () => this.end());
    const hidden = el('details', 'hidden');
    const summary = el('summary', '');
    summary.textContent = 'Hidden from the agent';
    hidden.appendChild(summary);
    add(hidden, 'ul', 'cobrowse-hidden-list');
    body.appendChild(hidden);
    const link = add(body, 'div', 'cobrowse-shared-link', '', 'link');
    link.hidden = true;
    const chat = el('div', 'chat');
    add(chat, 'div', 'cobrowse-chat-log', '', 'log');
    const form = el('form', 'row') as HTMLFormElement;
    const input = add(form, 'input', 'cobrowse-chat-input');
    input.placeholder = 'Message the agent';
    input.maxLength = 1000;
    add(form, 'button', 'cobrowse-chat-send', 'Send');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      e.stopPropagation();
      const text = input.value.trim();
      if (text === '' || this.pid === 0) return;
      this.send({ kind: 'Chat', from: this.pid, text });
      this.chatLine('You', text);
      input.value = '';
    });
    chat.appendChild(form);
    body.appendChild(chat);
    this.root.appendChild(panel);
  }

  private render(): void {
    const s = this.state;
    const live = s !== 'idle' && s !== 'ended';
    this.ui['cobrowse-start']!.hidden = live;
    this.ui['cobrowse-body']!.hidden = s === 'idle';
    this.ui['cobrowse-session-id']!.textContent = this.sessionId === null ? '—' : displayId(this.sessionId);
    const state = this.ui['cobrowse-state']!;
    state.textContent = STATE_TEXT[s] + (s === 'paused' && this.outside ? ' (this page is not shared)' : '');
    state.setAttribute('data-state', s);
    this.ui['cobrowse-participants']!.textContent = `${this.participants} in this session`;
    this.ui['cobrowse-mode']!.textContent =
      this.controlling === null ? 'The agent can point and highlight' : 'The agent controls this page';
    this.ui['cobrowse-invitation']!.hidden = s !== 'invited';
    this.ui['cobrowse-control-request']!.hidden = this.pending === null || !live;
    this.ui['cobrowse-return-pointer']!.hidden = this.controlling === null || !live;
    this.ui['cobrowse-stop-sharing']!.hidden = !(s === 'waiting' || s === 'active');
    this.ui['cobrowse-start-sharing']!.hidden = !(s === 'paused' && this.stopped);
    this.ui['cobrowse-end']!.hidden = !live;
    this.listHidden();
    this.opts.onStateChange?.(s);
  }

  private setState(s: WidgetState): void {
    this.state = s;
    this.render();
  }

  private recompute(): void {
    if (this.ended) this.state = 'ended';
    else if (this.paused || this.stopped || this.outside) this.state = 'paused';
    else if (this.participants > 1) this.state = 'active';
    else this.state = 'waiting';
    this.render();
  }

  /** The fields and areas the agents cannot see: password fields and the rules' selectors. */
  private listHidden(): void {
    const list = this.ui['cobrowse-hidden-list']!;
    const rules = this.opts.rules ?? {};
    const groups: [string, string[]][] = [
      ['masked', ['input[type=password]', ...(rules.mask?.selectors ?? [])]],
      ['blocked', rules.block?.selectors ?? []],
      ['disabled for the agent', [...(rules.disable?.submit_buttons === false ? [] : ['button[type=submit]', 'input[type=submit]']), ...(rules.disable?.selectors ?? [])]],
    ];
    const items: string[] = [];
    for (const [what, selectors] of groups) {
      for (const sel of selectors) {
        let found: NodeListOf<Element>;
        try {
          found = document.querySelectorAll(sel);
        } catch {
          continue;
        }
        for (const e of found) items.push(`${describe(e)} (${what})`);
      }
    }
    const text = [...new Set(items)];
    if (list.childElementCount === text.length && [...list.children].every((li, i) => li.textContent === text[i])) return;
    list.replaceChildren(...text.map((t) => Object.assign(document.createElement('li'), { textContent: t })));
  }

  private chatLine(who: string, text: string): void {
    const line = document.createElement('div');
    line.setAttribute('data-testid', 'cobrowse-chat-line');
    line.textContent = `${who}: ${text}`;
    this.ui['cobrowse-chat-log']!.appendChild(line);
  }

  // --- Session.

  async start(): Promise<void> {
    if (this.state !== 'idle' && this.state !== 'ended') return;
    this.ended = false;
    this.stopped = false;
    this.paused = false;
    this.participants = 1;
    this.setState('connecting');
    const r = await fetch(new URL('/api/sessions', this.relay), { method: 'POST' });
    if (!r.ok) {
      this.setState('idle');
      throw new Error(`cobrowse: the relay refused a session (${r.status})`);
    }
    const s = (await r.json()) as { id: string; customer_secret: string };
    this.sessionId = s.id;
    this.render();
    this.connect({ session: s.id, secret: s.customer_secret }, null);
  }

  openInvitation(sessionId: string, secret: string): void {
    this.sessionId = sessionId;
    this.awaitingAcceptance = true;
    this.ended = false;
    this.setState('connecting');
    this.connect({ session: sessionId, secret }, null);
  }

  private connect(query: Record<string, string> | null, stored: Stored | null): void {
    this.setState('connecting');
    const ws = new WebSocket(wsUrl(this.relay, query ?? {}));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = async () => {
      await init();
      this.retry = 0;
      const resume =
        stored === null
          ? null
          : { session_id: stored.id, participant_id: stored.pid, token: fromBase64(stored.token), last_seq: null };
      this.sendOn(ws, { kind: 'Hello', role: 'Customer', client: clientInfo(), resume });
    };
    ws.onmessage = (e) => {
      let msg: Msg;
      try {
        msg = decode(new Uint8Array(e.data as ArrayBuffer));
      } catch {
        return;
      }
      this.receive(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopCapture();
      clearInterval(this.pingTimer);
      if (this.ended || this.state === 'idle') return;
      const s = this.load();
      if (s === null) {
        // Refused before a Joined: nothing to resume.
        this.finish('the relay refused the connection');
        return;
      }
      this.setState('connecting');
      const delay = Math.min(10_000, 500 * 2 ** this.retry++);
      this.retryTimer = setTimeout(() => this.connect(null, this.load()), delay);
    };
  }

  private receive(m: Msg): void {
    switch (m.kind) {
      case 'Joined': {
        this.pid = Number(m.participant_id);
        this.sessionId = String(m.session_id).padStart(9, '0');
        this.participants = Number(m.participants);
        this.ceiling = ceilingName(m.ceiling);
        this.controlling = controller(m.mode);
        this.paused = Boolean(m.paused);
        this.save({
          relay: this.relay,
          id: Number(m.session_id),
          pid: this.pid,
          token: toBase64(m.resume_token as Uint8Array),
          stopped: this.stopped,
        });
        this.afterJoin(Boolean(m.paused));
        break;
      }
      case 'Invitation':
        this.pending = null;
        this.awaitingAcceptance = true;
        this.setState('invited');
        break;
      case 'PeerJoined':
      case 'Left':
        // A joining agent's URL bar learns the page from the next PageChanged.
        if (m.kind === 'PeerJoined' && this.capture !== null) this.send({ kind: 'PageChanged', url: location.href });
        this.participants = Number(m.participants);
        if (m.kind === 'Left') this.overlay.removePointer(Number(m.participant_id));
        this.recompute();
        break;
      case 'ControlRequest':
        this.pending = { agent: Number(m.agent) };
        this.render();
        break;
      case 'ControlApprove':
        this.pending = null;
        this.controlling = Number(m.agent);
        this.render();
        break;
      case 'ControlDecline':
        this.pending = null;
        this.render();
        break;
      case 'ControlRevoke':
      case 'ControlReturn':
        this.pending = null;
        this.controlling = null;
        this.render();
        break;
      case 'ModeChanged':
        this.controlling = controller(m.mode);
        this.ceiling = ceilingName(m.ceiling);
        if (this.controlling !== null) this.pending = null;
        this.render();
        break;
      case 'Pause':
        this.paused = true;
        this.recompute();
        break;
      case 'Resume':
        this.paused = false;
        this.recompute();
        break;
      case 'End':
        this.finish(endText(m.reason));
        break;
      case 'KeyframeRequest':
        this.capture?.keyframe();
        break;
      case 'Pointer':
      case 'ClickRipple':
      case 'Highlight':
      case 'HighlightClear':
      case 'Scroll':
      case 'AgentClick':
      case 'AgentInput':
      case 'AgentSubmit':
      case 'Navigate':
        this.agentAction(m);
        break;
      case 'Chat':
        this.chatLine(Number(m.from) === this.pid ? 'You' : 'Agent', String(m.text));
        break;
      case 'SharedLink':
        this.sharedLink(String(m.url), String(m.title));
        break;
      case 'Ping':
        this.send({ kind: 'Pong', nonce: m.nonce, sent_at_ms: m.sent_at_ms });
        break;
      default:
        break;
    }
  }

  private afterJoin(relayPaused: boolean): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ kind: 'Ping', nonce: Date.now(), sent_at_ms: Date.now() }), 15_000);
    document.addEventListener('mousemove', this.onMove, { passive: true });
    document.addEventListener('click', this.onLeave, true);
    if (this.awaitingAcceptance) {
      this.setState('invited');
      return;
    }
    if (this.outside) {
      if (!relayPaused) this.send({ kind: 'Pause', reason: 'OutsideAllowedDomains' });
      this.paused = true;
      this.recompute();
      return;
    }
    if (this.stopped) {
      if (!relayPaused) this.send({ kind: 'Pause', reason: 'CustomerStoppedSharing' });
      this.paused = true;
      this.recompute();
      return;
    }
    if (relayPaused) this.send({ kind: 'Resume' });
    this.paused = false;
    this.send({ kind: 'PageChanged', url: location.href });
    this.recompute();
    void this.startCapture();
  }

  private async startCapture(): Promise<void> {
    await init();
    if (this.capture !== null || this.ws === null) return;
    const rules: Rules = structuredClone(this.opts.rules ?? {});
    rules.block = { selectors: [...(rules.block?.selectors ?? []), '[data-cobrowse-widget]'] };
    this.capture = startCapture({
      rules,
      onFrame: (bytes) => {
        if (!this.paused && !this.stopped) this.send({ kind: 'Frame', bytes });
      },
    });
  }

  private stopCapture(): void {
    this.capture?.stop();
    this.capture = null;
  }

  stopSharing(): void {
    if (this.ws === null) return;
    this.capture?.flush();
    this.stopCapture();
    this.stopped = true;
    this.paused = true;
    this.persistStopped();
    this.send({ kind: 'Pause', reason: 'CustomerStoppedSharing' });
    this.overlay.clearAll();
    this.recompute();
  }

  startSharing(): void {
    if (this.ws === null || !this.stopped) return;
    this.stopped = false;
    this.paused = false;
    this.persistStopped();
    this.send({ kind: 'Resume' });
    this.recompute();
    void this.startCapture();
  }

  end(): void {
    this.send({ kind: 'End', reason: 'CustomerEnded' });
    this.finish('you ended the session');
  }

  private finish(why: string): void {
    this.ended = true;
    this.pending = null;
    this.controlling = null;
    this.stopCapture();
    this.overlay.clearAll();
    clearInterval(this.pingTimer);
    clearTimeout(this.retryTimer);
    sessionStorage.removeItem(this.key);
    document.removeEventListener('mousemove', this.onMove);
    document.removeEventListener('click', this.onLeave, true);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.setState('ended');
    this.ui['cobrowse-state']!.textContent = `ended: ${why}`;
  }

  destroy(): void {
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.stopCapture();
    clearInterval(this.pingTimer);
    clearTimeout(this.retryTimer);
    this.host.remove();
  }

  private answerControl(yes: boolean): void {
    if (this.pending === null) return;
    this.send({ kind: yes ? 'ControlApprove' : 'ControlDecline', agent: this.pending.agent });
    this.pending = null;
    this.render();
  }

  private answerInvitation(yes: boolean): void {
    this.send({ kind: yes ? 'InviteAccept' : 'InviteDecline' });
    this.awaitingAcceptance = false;
    if (!yes) {
      this.finish('you declined the invitation');
      return;
    }
    this.participants = Math.max(this.participants, 2);
    this.afterJoin(false);
  }

  // --- Agent actions.

  private agentAction(m: Msg): void {
    const capture = this.capture;
    if (capture === null || this.paused || this.stopped) return;
    const from = m.from === undefined ? (this.controlling ?? 0) : Number(m.from);
    const verdict = checkAction(capture, m, {
      ceiling: this.ceiling,
      inControl: this.controlling !== null && this.controlling === from,
      allowedDomains: this.domains,
    });
    if (!verdict.allowed) {
      this.send({
        kind: 'ActionDenied',
        agent: from,
        action: verdict.kind ?? actionKind(m.kind),
        target: typeof m.target === 'number' ? m.target : null,
        reason: verdict.reason,
      });
      return;
    }
    const node = (id: unknown): Element | null => {
      if (typeof id !== 'number' || id === 0) return null;
      const n = captureNode(capture, id);
      return n instanceof Element ? n : null;
    };
    const anchor = () => ({ el: node(m.target), x: Number(m.x), y: Number(m.y) });
    switch (m.kind) {
      case 'Pointer':
        this.overlay.pointer(from, anchor(), 'Agent');
        break;
      case 'ClickRipple':
        this.overlay.ripple(anchor());
        break;
      case 'Highlight': {
        const target = node(m.target);
        if (target === null) break;
        const c = m.color as { r: number; g: number; b: number; a: number } | null;
        const color = c === null || c === undefined ? null : `rgba(${c.r},${c.g},${c.b},${c.a / 255})`;
        this.overlay.highlight(from, Number(m.id), target, (m.rect as never) ?? null, color);
        break;
      }
      case 'HighlightClear': {
        const which = m.which as unknown;
        this.overlay.clear(from, which !== null && typeof which === 'object' && 'One' in which ? Number((which as { One: number }).One) : null);
        break;
      }
      case 'Scroll':
        act.scroll(node(m.target), Number(m.x), Number(m.y));
        break;
      case 'AgentClick': {
        const target = node(m.target);
        if (target === null) break;
        this.overlay.ripple(anchor());
        act.click(target, Number(m.x), Number(m.y));
        break;
      }
      case 'AgentInput': {
        const target = node(m.target);
        if (target !== null) act.setValue(target, String(m.value));
        break;
      }
      case 'AgentSubmit': {
        const target = node(m.target);
        if (target !== null) act.submit(target);
        break;
      }
      case 'Navigate':
        act.navigate(m.to);
        break;
    }
  }

  // --- The customer's own presence, links and leaving.

  private customerPointer(e: MouseEvent): void {
    const now = performance.now();
    if (now - this.lastPointer < 50 || this.capture === null || this.paused) return;
    this.lastPointer = now;
    const target = e.target instanceof Element && !this.host.contains(e.target) ? e.target : null;
    const id = target === null ? 0 : captureId(this.capture, target);
    if (target !== null && id !== 0) {
      const r = target.getBoundingClientRect();
      this.send({ kind: 'Pointer', from: this.pid, x: e.clientX - r.left, y: e.clientY - r.top, target: id });
    } else {
      this.send({ kind: 'Pointer', from: this.pid, x: e.pageX, y: e.pageY, target: null });
    }
  }

  /** A link to a page outside the allowed domains pauses the session before the page goes. */
  private leavingLink(e: MouseEvent): void {
    const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
    if (!(a instanceof HTMLAnchorElement) || a.target === '_blank') return;
    let url: URL;
    try {
      url = new URL(a.href);
    } catch {
      return;
    }
    if (url.protocol.startsWith('http') && !hostAllowed(url.hostname, this.domains) && !this.paused) {
      this.send({ kind: 'Pause', reason: 'OutsideAllowedDomains' });
    }
  }

  private sharedLink(url: string, title: string): void {
    const box = this.ui['cobrowse-shared-link']!;
    box.hidden = false;
    box.replaceChildren('The agent shared a link: ');
    const a = document.createElement('a');
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = title === '' ? url : title;
    a.setAttribute('data-testid', 'cobrowse-open-link');
    box.appendChild(a);
  }

  // --- Wire and storage.

  private send(m: Msg): void {
    if (this.ws !== null) this.sendOn(this.ws, m);
  }

  private sendOn(ws: WebSocket, m: Msg): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    try {
      ws.send(encode(m));
    } catch (e) {
      console.warn('cobrowse: message not sent', m.kind, e);
    }
  }

  private load(): Stored | null {
    return loadStored<Stored>(this.key);
  }

  private save(s: Stored): void {
    saveStored(this.key, s);
  }

  private persistStopped(): void {
    const s = this.load();
    if (s !== null) this.save({ ...s, stopped: this.stopped });
  }
}

function el(tag: string, cls: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls !== '') e.className = cls;
  return e;
}

/** A short name for a hidden element: its label, name, placeholder or tag. */
function describe(e: Element): string {
  const id = e.getAttribute('id');
  const label = id === null ? null : document.querySelector(`label[for="${CSS.escape(id)}"]`);
  const text =
    label?.textContent?.trim() ||
    e.getAttribute('aria-label') ||
    e.getAttribute('name') ||
    e.getAttribute('placeholder') ||
    e.getAttribute('title') ||
    e.tagName.toLowerCase();
  return text.slice(0, 60);
}

function actionKind(kind: string): string {
  switch (kind) {
    case 'AgentClick':
      return 'Click';
    case 'AgentInput':
      return 'Input';
    case 'AgentSubmit':
      return 'Submit';
    case 'Navigate':
      return 'Navigate';
    case 'Scroll':
      return 'Scroll';
    case 'Highlight':
    case 'HighlightClear':
      return 'Highlight';
    default:
      return 'Pointer';
  }
}

/** Adds the widget to the page. One call: `startWidget({ relay: 'https://relay.example' })`. */
export function startWidget(options: WidgetOptions = {}): Widget {
  return new WidgetImpl(options);
}
