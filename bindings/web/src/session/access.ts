// Node ids on both sides of a session. Messages name elements by their wire id (the id the
// engine gives a node in frames). The customer side maps them to live nodes through the
// capture, the agent side to mirror nodes through the replayer; the customer side's
// permission check is the engine's, against the capture's live tree.

import type { ActionCheck, ActionCheckContext, AgentActionMessage, Capture, Replayer } from '../cobrowse.js';

export type Verdict = ActionCheck;
export type CheckContext = ActionCheckContext;

/** The live node with wire id `id`, or null. */
export function captureNode(capture: Capture, id: number): Node | null {
  return capture.nodeById(id);
}

/** The wire id of a live node (0 when agents do not know it). */
export function captureId(capture: Capture, node: Node): number {
  return capture.idOfNode(node) ?? 0;
}

/** The engine's permission check of an agent action against the live page (it flushes the
 *  capture first, so an element added a moment ago is known). */
export function checkAction(capture: Capture, msg: object, ctx: CheckContext): Verdict {
  return capture.checkAgentAction(msg as AgentActionMessage, ctx);
}

/** The mirror node with wire id `id`, or null. */
export function mirrorNode(replayer: Replayer, id: number): Node | null {
  return replayer.nodeById(id);
}

/** The wire id of a mirror node (0 when unknown). */
export function mirrorId(replayer: Replayer, node: Node): number {
  return replayer.idOfNode(node) ?? 0;
}
