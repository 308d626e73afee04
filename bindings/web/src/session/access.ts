// Node ids on both sides of a session. Messages name elements by their wire id (the id the
// engine gives a node in frames). The customer side maps them to live nodes through the
// capture, the agent side to mirror nodes through the replayer. Capture and Replayer grow
// `nodeById` / `idOfNode` (and the capture `checkAgentAction`); until a build has them, the
// same maps are read from the objects' fields (the engine's handle <-> wire id lookups).

import type { Capture, Replayer } from '../cobrowse.js';

/** The verdict of the engine's permission check of an agent action. */
export type Verdict =
  | { allowed: true; action: string; kind?: string }
  | { allowed: false; reason: unknown; message: string; kind?: string; target?: number | null };

export interface CheckContext {
  ceiling: 'full' | 'partial' | 'none';
  inControl: boolean;
  allowedDomains?: string[];
}

type AnyCapture = Capture & {
  nodeById?(id: number): Node | null | undefined;
  idOfNode?(node: Node): number | null | undefined;
  checkAgentAction?(msg: object, ctx: CheckContext): Verdict;
  engine?: {
    handleOfWireId?(id: number): number;
    wireIdOfHandle?(handle: number): number;
    checkAgentAction?(msg: object, ctx: CheckContext): Verdict;
  };
  nodes?: Map<number, Node>;
  ids?: WeakMap<Node, number>;
};

type AnyReplayer = Replayer & {
  nodeById?(id: number): Node | null | undefined;
  idOfNode?(node: Node): number | null | undefined;
  nodes?: Map<number, Node>;
  ids?: WeakMap<Node, number>;
};

/** The live node with wire id `id`, or null. */
export function captureNode(capture: Capture, id: number): Node | null {
  const c = capture as AnyCapture;
  if (typeof c.nodeById === 'function') return c.nodeById(id) ?? null;
  const handle = c.engine?.handleOfWireId?.(id) ?? 0;
  return handle === 0 ? null : (c.nodes?.get(handle) ?? null);
}

/** The wire id of a live node (0 when agents do not know it). */
export function captureId(capture: Capture, node: Node): number {
  const c = capture as AnyCapture;
  if (typeof c.idOfNode === 'function') return c.idOfNode(node) ?? 0;
  const handle = c.ids?.get(node);
  return handle === undefined ? 0 : (c.engine?.wireIdOfHandle?.(handle) ?? 0);
}

/** The engine's permission check against the live page; fails closed without an engine check. */
export function checkAction(capture: Capture, msg: object, ctx: CheckContext): Verdict {
  const c = capture as AnyCapture;
  capture.flush();
  if (typeof c.checkAgentAction === 'function') return c.checkAgentAction(msg, ctx);
  if (typeof c.engine?.checkAgentAction === 'function') return c.engine.checkAgentAction(msg, ctx);
  return { allowed: false, reason: 'NotStarted', message: 'this build cannot check agent actions' };
}

/** The mirror node with wire id `id`, or null. */
export function mirrorNode(replayer: Replayer, id: number): Node | null {
  const r = replayer as AnyReplayer;
  if (typeof r.nodeById === 'function') return r.nodeById(id) ?? null;
  return r.nodes?.get(id) ?? null;
}

/** The wire id of a mirror node (0 when unknown). */
export function mirrorId(replayer: Replayer, node: Node): number {
  const r = replayer as AnyReplayer;
  if (typeof r.idOfNode === 'function') return r.idOfNode(node) ?? 0;
  return r.ids?.get(node) ?? 0;
}
