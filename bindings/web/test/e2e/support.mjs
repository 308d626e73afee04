// End-to-end support: the real relay (target/debug/cobrowse-relay, development mode, in-memory
// store) on a free 127.0.0.1 port serving the demo site, the console and the web package, and
// Chromium (playwright-core) with one context for the customer and one for each agent.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { ROOT, WEB, launch } from '../harness.mjs';

export const ARTIFACTS = path.join(WEB, 'test-artifacts');

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a relay; `policy` lines go into its config's [policy] table. */
export async function startRelay(policy = {}) {
  const port = await freePort();
  const dir = path.join(os.tmpdir(), `cobrowse-e2e-${process.pid}-${port}`);
  mkdirSync(dir, { recursive: true });
  const lines = ['[policy]', ...Object.entries(policy).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)];
  const config = path.join(dir, 'relay.toml');
  writeFileSync(config, lines.join('\n') + '\n');
  const child = spawn(path.join(ROOT, 'target/debug/cobrowse-relay'), ['--dev', '--config', config, '--listen', `127.0.0.1:${port}`], {
    env: {
      ...process.env,
      COBROWSE_STATIC_MOUNTS: `/demo/=${WEB}/demo/site,/agent/=${WEB}/demo/agent,/dist/=${WEB}/dist`,
      COBROWSE_LOG: process.env.E2E_RELAY_LOG ?? 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never outlive the test process (a timed-out test does not reach its `finally`).
  process.on('exit', () => child.kill('SIGTERM'));
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { base, port, log: () => log, stop: () => child.kill('SIGTERM') };
}

let browser;
export async function browserOnce() {
  browser ??= await launch();
  return browser;
}
export async function closeBrowser() {
  await browser?.close();
  browser = undefined;
}

/** A customer page and an agent console in two contexts; `frames` records every WebSocket payload the customer sends. */
export async function pair(relay, { agent = `agent-${Math.random().toString(36).slice(2, 8)}`, customerScale = 1 } = {}) {
  const b = await browserOnce();
  const cctx = await b.newContext({ viewport: { width: 1000, height: 700 }, deviceScaleFactor: customerScale });
  const actx = await b.newContext({ viewport: { width: 1300, height: 800 } });
  const customer = await cctx.newPage();
  const agentPage = await actx.newPage();
  const sent = [];
  customer.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(typeof f.payload === 'string' ? Buffer.from(f.payload) : f.payload)));
  const errors = [];
  for (const p of [customer, agentPage]) p.on('pageerror', (e) => errors.push(String(e)));
  await customer.goto(`${relay.base}/demo/`);
  await agentPage.goto(`${relay.base}/agent/?agent=${agent}`);
  return {
    customer,
    agent: agentPage,
    sent,
    errors,
    agentName: agent,
    async close() {
      await cctx.close();
      await actx.close();
    },
  };
}

/** The customer's widget element of `testid` (the shadow root is open: locators pierce it). */
export const w = (page, id) => page.getByTestId(id);

/** Starts a session on the customer side; returns its nine digits. */
export async function startSession(p) {
  await w(p.customer, 'cobrowse-start').click();
  await waitText(p.customer, 'cobrowse-state', /waiting/);
  return (await w(p.customer, 'cobrowse-session-id').textContent()).replace(/\D/g, '');
}

/** Starts a session and joins it from the console; waits for both sides to be active. */
export async function joined(p) {
  const id = await startSession(p);
  await w(p.agent, 'agent-session-input').fill(id);
  await w(p.agent, 'agent-join').click();
  await waitText(p.agent, 'agent-state', /active/);
  await waitText(p.customer, 'cobrowse-state', /active/);
  await mirrorHas(p.agent, '#full-name');
  return id;
}

export async function waitText(page, testid, re, timeout = 10_000) {
  await page.getByTestId(testid).filter({ hasText: re }).first().waitFor({ timeout });
}

/** The mirror's document (same origin as the console). */
export function mirror(agentPage) {
  return agentPage.frameLocator('[data-testid=agent-mirror]');
}

export async function mirrorHas(agentPage, selector, timeout = 10_000) {
  await mirror(agentPage).locator(selector).first().waitFor({ state: 'attached', timeout });
}

/** Waits until `fn` (run in the agent page) is truthy. */
export async function agentEval(agentPage, fn, arg, timeout = 10_000) {
  await agentPage.waitForFunction(fn, arg, { timeout });
}

/** Screenshots of both sides into test-artifacts/ when a test fails. */
export async function withPair(t, relay, body, opts) {
  const p = await pair(relay, opts);
  try {
    await body(p);
  } catch (e) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const name = t.name.replace(/[^a-z0-9]+/gi, '-');
    await p.customer.screenshot({ path: path.join(ARTIFACTS, `${name}-customer.png`) }).catch(() => {});
    await p.agent.screenshot({ path: path.join(ARTIFACTS, `${name}-agent.png`) }).catch(() => {});
    if (p.errors.length > 0) e.message += `\npage errors: ${p.errors.join('\n')}`;
    throw e;
  } finally {
    await p.close();
  }
}
