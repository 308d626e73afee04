// The web package: the co-browsing engine (WebAssembly) wrapped for pages.
//
// JavaScript here only reads and writes the DOM; every decision (what the agent may see, what
// changed, whether a frame applies) is made by the engine.

import wasmInit, {
  CaptureEngine,
  ReplayEngine,
  decodeMessage as wasmDecodeMessage,
  denialMessage as wasmDenialMessage,
  encodeMessage as wasmEncodeMessage,
  WASM_FILE,
} from '@cobrowse/wasm';
import { CaptureImpl } from './capture.js';
import type { ActionCheck, ActionCheckContext, AgentActionMessage, DenyReason, Message } from './messages.js';
import { ReplayerImpl } from './replay.js';

export type * from './messages.js';

/** The rules file's schema (see the CLI's rules file): masking, blocking, disabling. */
export interface Rules {
  mask?: {
    all?: boolean;
    selectors?: string[];
    attributes?: Array<string | { selector: string; attributes: string[] }>;
  };
  block?: { selectors?: string[] };
  disable?: { selectors?: string[]; submit_buttons?: boolean };
}

export interface CaptureOptions {
  /** Privacy rules, with the schema of the CLI's rules file. */
  rules?: Rules;
  /** Receives every frame: first the keyframe of `document`, then deltas. */
  onFrame(bytes: Uint8Array): void;
  /** Longest wait before pending changes are sent, in ms (default 100; also once per animation frame). */
  maxDelayMs?: number;
}

export interface Capture {
  /** Synchronously turns every pending change into at most one frame and emits it. */
  flush(): void;
  /** Stops observing the page. */
  stop(): void;
  /** Emits a fresh keyframe (an agent joined or asked for one). */
  keyframe(): void;
  /** Diagnostics: nodes the engine holds, node handles bound on each side of the boundary. */
  stats(): {
    engineNodes: number;
    engineHandles: number;
    pageHandles: number;
    frames: number;
    wasmMemoryBytes: number;
    /** Batches sent as a keyframe because the delta failed the engine's own check (a diff defect). */
    fallbackKeyframes: number;
    /** Batches the engine refused (a batch encoding defect), each answered by a keyframe. */
    refusedBatches: number;
    /** Whether a keyframe's walk of the page is still running (a large page's runs in slices). */
    walking: boolean;
    /** Where the first keyframe in slices stands: the DOM walk, the engine's preparation of the
     * page (rules, fingerprints), the keyframe's encoding, the engine's build of what the agents
     * hold; `null` when none is in progress. */
    keyframePhase: 'walk' | 'prepare' | 'encode' | 'settle' | null;
  };
  /** Test hooks: canonical dumps of the engine's live tree and of what the agents hold. */
  debugDumpLive(): string;
  debugDumpShadow(): string;
  fingerprint(): string;
  /** Test hook: the page as the capture tells the engine (URLs absolute, CSSOM rules as style text). */
  debugPageView(): { children(n: Node): Node[]; contents(t: HTMLTemplateElement): Node; attr(a: Attr): string; text(n: CharacterData): string };
  /** The live node an element's wire id (as messages name it) stands for, or null. */
  nodeById(id: number): Node | null;
  /** The wire id of a page node, or null when the agents do not have it (yet: call `flush()`
   *  first for a node added a moment ago). */
  idOfNode(node: Node): number | null;
  /** The engine's permission check of an agent action against the live page (flushes
   *  pending changes first). Replay the action only when `allowed` and `action` is
   *  "Replay"; send a refusal back as `{ kind: "ActionDenied", agent, action: kind, target,
   *  reason }`. */
  checkAgentAction(msg: AgentActionMessage, ctx: ActionCheckContext): ActionCheck;
}

export interface ReplayerOptions {
  /** Outline elements the agent may not act on (default true). */
  showDisabled?: boolean;
}

export type ApplyResult = { ok: true } | { ok: false; needKeyframe: true; reason: string };

export interface Replayer {
  /** Applies one frame; the iframe changes only if the whole frame was accepted. */
  apply(bytes: Uint8Array): ApplyResult;
  /** The engine fingerprint of the mirrored page (16 hex digits). */
  fingerprint(): string;
  /** The customer's device pixel ratio (`window.devicePixelRatio`), or null when not known. */
  pixelRatio(): number | null;
  /**
   * Resolves when the sandboxed iframe document is ready (frames applied before are shown then);
   * after a keyframe of a page in another document mode (quirks), a new promise that resolves
   * once the mirror shows in a document of that mode.
   */
  readonly ready: Promise<void>;
  /** Test hook: a canonical dump of the engine's mirror. */
  debugDump(): string;
  /** The mirror's node of an element's wire id, or null. */
  nodeById(id: number): Node | null;
  /** The wire id of a mirror node (what agent actions name their target by), or null. */
  idOfNode(node: Node): number | null;
}

let loading: Promise<void> | undefined;

/** Loads the WebAssembly module (from beside this file). Calling it again is harmless. */
export function init(): Promise<void> {
  loading ??= wasmInit({ module_or_path: new URL(WASM_FILE, import.meta.url) }).then(
    () => undefined,
  );
  return loading;
}

function ensureLoaded(): void {
  if (loading === undefined) {
    throw new Error('cobrowse: call and await init() first');
  }
}

/** Starts capturing `document`: emits its keyframe now, then deltas as the page changes. */
export function startCapture(options: CaptureOptions): Capture {
  ensureLoaded();
  return new CaptureImpl(new CaptureEngine(options.rules), options);
}

/** Makes `iframe` a sandboxed mirror (no scripts) that frames are replayed into. */
export function createReplayer(iframe: HTMLIFrameElement, options: ReplayerOptions = {}): Replayer {
  ensureLoaded();
  return new ReplayerImpl(new ReplayEngine(), iframe, options);
}

/** Encodes a protocol message object to the bytes a WebSocket sends; throws (an Error naming
 *  the field, never its contents) when it is not a valid message. */
export function encodeMessage(msg: Message): Uint8Array {
  ensureLoaded();
  return wasmEncodeMessage(msg);
}

/** Decodes and validates a message received from the relay; throws on invalid bytes. */
export function decodeMessage(bytes: Uint8Array): Message {
  ensureLoaded();
  return wasmDecodeMessage(bytes) as Message;
}

/** The text to show for a refusal reason ("Forms cannot be edited on the agent side"). */
export function denialMessage(reason: DenyReason): string {
  ensureLoaded();
  return wasmDenialMessage(reason);
}
