// Screenshots of both sides of a demo session for the README: the bank's page with the widget
// (agent pointer and a highlight on it) and the agent console with the mirror.
// Run after scripts/build-web.sh and `cargo build -p cobrowse-relay`:
//   node bindings/web/demo/screenshots.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRelay, closeBrowser, pair, w, joined, mirror } from '../test/e2e/support.mjs';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
const relay = await startRelay();
const p = await pair(relay);
try {
  await joined(p);
  await p.customer.fill('#phone', '555 0100');
  await p.customer.fill('#ssn', '987-65-4320');
  await p.customer.fill('#full-name', 'Jane Doe');
  await p.customer.fill('#password', 'hunter2hunter2');
  await w(p.agent, 'agent-highlight').click();
  const r = await mirror(p.agent).locator('#card-number').boundingBox();
  await p.agent.mouse.click(r.x + 5, r.y + 5);
  await w(p.agent, 'agent-highlight').click();
  const q = await mirror(p.agent).locator('#continue').boundingBox();
  await p.agent.mouse.move(q.x - 30, q.y - 20);
  await p.agent.mouse.move(q.x + 10, q.y + 8, { steps: 5 });
  await w(p.customer, 'cobrowse-highlight').waitFor();
  await w(p.customer, 'cobrowse-agent-pointer').waitFor();
  await p.customer.waitForTimeout(500);
  await p.customer.screenshot({ path: path.join(out, 'customer.png') });
  await p.agent.screenshot({ path: path.join(out, 'agent.png') });
  console.log(`screenshots in ${out}`);
} finally {
  await p.close();
  await closeBrowser();
  relay.stop();
}
