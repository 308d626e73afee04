// The product end to end: the demo bank site with the customer widget and the agent console,
// against the real relay on 127.0.0.1, in Chromium. One test or more per rule of the spec,
// named by behaviour. A failing test leaves screenshots of both sides in test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, closeBrowser, withPair, w, startSession, joined, waitText, mirror, mirrorHas, agentEval } from './support.mjs';

let relay;
before(async () => {
  relay = await startRelay();
});
after(async () => {
  relay?.stop();
  await closeBrowser();
});

test('start shows a nine-digit session id as "123 456 789" and the waiting state', async (t) => {
  await withPair(t, relay, async (p) => {
    const id = await startSession(p);
    assert.match(await w(p.customer, 'cobrowse-session-id').textContent(), /^\d{3} \d{3} \d{3}$/);
    assert.equal(id.length, 9);
    assert.match(await w(p.customer, 'cobrowse-state').textContent(), /waiting/);
  });
});

test('an agent joins by id: the customer is told, the agent sees the page and live changes', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    assert.match(await w(p.customer, 'cobrowse-participants').textContent(), /2 in this session/);
    await agentEval(p.agent, (base) => document.querySelector('[data-testid=agent-url]').value === `${base}/demo/`, relay.base);
    assert.match(await w(p.agent, 'agent-customer').textContent(), /Customer: Chrome [\d.]+, Linux/);
    // The customer's connection status: its round trip as the relay measures it (its first
    // ping comes within 2 s of the customer's connection).
    await agentEval(p.agent, () => /customer latency \d+ ms/.test(document.querySelector('[data-testid=agent-latency]').textContent));
    assert.match(await w(p.agent, 'agent-participants').textContent(), /2 participants/);
    await p.customer.fill('#phone', '555 0100');
    await agentEval(p.agent, () => document.querySelector('[data-testid=agent-mirror]').contentDocument.querySelector('#phone')?.value === '555 0100');
    await p.customer.evaluate(() => {
      const h = document.createElement('p');
      h.id = 'live-note';
      h.textContent = 'added live';
      document.querySelector('main').append(h);
    });
    await mirrorHas(p.agent, '#live-note');
    assert.equal(await mirror(p.agent).locator('#live-note').textContent(), 'added live');
  });
});

test('an agent joins from a {start:ID} chat message (API call) and from the URL parameter', async (t) => {
  await withPair(t, relay, async (p) => {
    const id = await startSession(p);
    const held = await p.agent.evaluate((text) => window.cobrowseConsole.handleChatMessage(text), `Customer says hi {start:${id}} thanks`);
    assert.equal(held, true);
    await waitText(p.agent, 'agent-state', /active/);
    await waitText(p.customer, 'cobrowse-state', /active/);
  });
  await withPair(t, relay, async (p) => {
    const id = await startSession(p);
    await p.agent.goto(`${relay.base}/agent/?agent=${p.agentName}&chat=${encodeURIComponent(`{start:${id}}`)}`);
    await waitText(p.agent, 'agent-state', /active/);
    await waitText(p.customer, 'cobrowse-state', /active/);
  });
});

test('masked fields show as asterisks to the agent and their values never leave the page', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    const canaries = { '#ssn': '987-65-4320', '#card-number': '4111111111111111', '#password': 'Sup3rSecretPw', '#email': 'jane.canary@example.com' };
    for (const [sel, v] of Object.entries(canaries)) await p.customer.fill(sel, v);
    await agentEval(p.agent, () => /^\*+$/.test(document.querySelector('[data-testid=agent-mirror]').contentDocument.querySelector('#ssn')?.value ?? ''));
    const ssn = await mirror(p.agent).locator('#ssn').inputValue();
    assert.equal(ssn, '*'.repeat('987-65-4320'.length));
    for (const v of Object.values(canaries)) {
      const needle = Buffer.from(v);
      assert.equal(p.sent.some((f) => f.includes(needle)), false, `a frame holds ${v}`);
    }
    // Unmasked typing does travel as text (so the search above can find a leak).
    await p.customer.fill('#phone', '555 0123');
    await agentEval(p.agent, () => document.querySelector('[data-testid=agent-mirror]').contentDocument.querySelector('#phone')?.value === '555 0123');
    assert.equal(p.sent.some((f) => f.includes(Buffer.from('555 0123'))), true);
    const hidden = await w(p.customer, 'cobrowse-hidden-list').textContent();
    assert.match(hidden, /Social security number \(masked\)/);
    assert.match(hidden, /Online banking password \(masked\)/);
  });
});

test('the third-party iframe reaches the agent as a blocked placeholder', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await p.customer.click('#continue');
    await p.customer.waitForURL(/income\.html/);
    await mirrorHas(p.agent, '[data-cobrowse-blocked]', 15_000);
    assert.equal(await mirror(p.agent).locator('iframe.third-party:not([data-cobrowse-blocked])').count(), 0);
    assert.equal(await mirror(p.agent).locator('text=4410-2231').count(), 0);
    // Same size and place as the customer's iframe (its size comes from class CSS the
    // placeholder does not keep): border boxes in each document's coordinates (scroll
    // offsets added), the mirror at the customer's viewport size.
    const box = (doc, sel) => {
      const el = doc.querySelector(sel);
      if (el === null) return null;
      const r = el.getBoundingClientRect();
      const s = doc.scrollingElement;
      return [r.x + s.scrollLeft, r.y + s.scrollTop, r.width, r.height];
    };
    const customerBox = await p.customer.evaluate(`(${box})(document, 'iframe.third-party')`);
    let agentBox;
    const deadline = Date.now() + 10_000;
    for (;;) {
      agentBox = await p.agent.evaluate(`(${box})(document.querySelector('[data-testid=agent-mirror]').contentDocument, 'iframe[data-cobrowse-blocked]')`);
      // Seen once under load (1 December 2026): no blocked iframe in the mirror for a moment
      // after one had shown; said in the output, and read again until the deadline.
      if (agentBox === null) t.diagnostic('no iframe[data-cobrowse-blocked] in the mirror at this read');
      if (agentBox?.every((v, i) => Math.abs(v - customerBox[i]) <= 1) || Date.now() > deadline) break;
      await p.agent.waitForTimeout(100);
    }
    assert.ok(customerBox[2] > 500 && customerBox[3] > 100, `customer iframe ${customerBox}`);
    assert.ok(agentBox?.every((v, i) => Math.abs(v - customerBox[i]) <= 1), `mirror placeholder ${agentBox}, customer iframe ${customerBox}`);
    // The new page's scroll, not the previous page's (the customer scrolled down to #continue).
    const scroll = (doc) => [doc.scrollingElement.scrollLeft, doc.scrollingElement.scrollTop];
    const customerScroll = await p.customer.evaluate(`(${scroll})(document)`);
    const agentScroll = await p.agent.evaluate(`(${scroll})(document.querySelector('[data-testid=agent-mirror]').contentDocument)`);
    assert.deepEqual(agentScroll, customerScroll, 'mirror document scroll after the customer navigated');
  });
});

test('the agent header shows the customer viewport and device pixel ratio', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await waitText(p.agent, 'agent-screen', /^1000×700 @2x$/);
  }, { customerScale: 2 });
});

test('the agent pointer and click ripple show on the customer page; the customer pointer on the agent side', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    const glass = w(p.agent, 'agent-glass');
    const box = await glass.boundingBox();
    await p.agent.mouse.move(box.x + 60, box.y + 60);
    await p.agent.mouse.move(box.x + 80, box.y + 90, { steps: 4 });
    await w(p.customer, 'cobrowse-agent-pointer').waitFor({ timeout: 10_000 });
    await p.agent.mouse.click(box.x + 100, box.y + 120);
    await w(p.customer, 'cobrowse-ripple').first().waitFor({ state: 'attached', timeout: 10_000 });
    await p.customer.mouse.move(200, 200);
    await p.customer.mouse.move(260, 240, { steps: 4 });
    await w(p.agent, 'agent-customer-pointer').waitFor({ timeout: 10_000 });
  });
});

test('a highlight shows on both sides and clears when the customer leaves the page', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await w(p.agent, 'agent-highlight').click();
    const target = mirror(p.agent).locator('#phone');
    const r = await target.boundingBox();
    await p.agent.mouse.click(r.x + 5, r.y + 5);
    await w(p.agent, 'agent-highlight-box').waitFor({ timeout: 10_000 });
    await w(p.customer, 'cobrowse-highlight').waitFor({ timeout: 10_000 });
    await p.customer.click('#continue');
    await p.customer.waitForURL(/income\.html/);
    await waitText(p.customer, 'cobrowse-state', /active/);
    assert.equal(await w(p.customer, 'cobrowse-highlight').count(), 0);
    await agentEval(p.agent, () => document.querySelectorAll('[data-testid=agent-highlight-box]').length === 0);
  });
});

async function takeControl(p) {
  await w(p.agent, 'agent-request-control').click();
  await w(p.customer, 'cobrowse-approve-control').click();
  await waitText(p.agent, 'agent-mode', /control/);
  await agentEval(p.agent, () => document.querySelector('[data-testid=agent-mode]').dataset.mode === 'control');
}

test('control request approved: the agent types into the customer form', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await takeControl(p);
    const r = await mirror(p.agent).locator('#phone').boundingBox();
    await p.agent.mouse.click(r.x + 5, r.y + 5);
    await w(p.agent, 'agent-input-editor').fill('555 0199');
    await w(p.agent, 'agent-input-editor').press('Enter');
    await p.customer.waitForFunction(() => document.querySelector('#phone').value === '555 0199', null, { timeout: 10_000 });
  });
});

test('control request declined: the agent stays in pointer mode and is told', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await w(p.agent, 'agent-request-control').click();
    await w(p.customer, 'cobrowse-decline-control').click();
    await waitText(p.agent, 'agent-notice', /declined/);
    assert.match(await w(p.agent, 'agent-mode').textContent(), /pointer mode/);
  });
});

test('return to pointer from the customer side and from the agent side', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await takeControl(p);
    await w(p.customer, 'cobrowse-return-pointer').click();
    await waitText(p.agent, 'agent-mode', /pointer mode/);
    await takeControl(p);
    await w(p.agent, 'agent-return-pointer').click();
    await w(p.customer, 'cobrowse-return-pointer').waitFor({ state: 'hidden', timeout: 10_000 });
  });
});

test('scrolling follows both ways: the customer scrolls the mirror, the agent in control scrolls the page', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    // The customer scrolls: the mirror follows.
    await p.customer.evaluate(() => window.scrollTo(0, 250));
    await agentEval(p.agent, () => Math.abs(document.querySelector('[data-testid=agent-mirror]').contentWindow.scrollY - 250) <= 1);
    // In pointer mode the agent's wheel does not move the customer's page.
    const r = await w(p.agent, 'agent-mirror').boundingBox();
    await p.agent.mouse.move(r.x + r.width / 2, r.y + r.height / 2);
    await p.agent.mouse.wheel(0, 120);
    await p.agent.waitForTimeout(500);
    assert.equal(await p.customer.evaluate(() => window.scrollY), 250);
    // In control it does, and the mirror follows the page.
    await takeControl(p);
    await p.agent.mouse.move(r.x + r.width / 2, r.y + r.height / 2);
    await p.agent.mouse.wheel(0, 150);
    await p.customer.waitForFunction(() => window.scrollY >= 390, null, { timeout: 10_000 });
    const y = await p.customer.evaluate(() => window.scrollY);
    await agentEval(p.agent, (want) => Math.abs(document.querySelector('[data-testid=agent-mirror]').contentWindow.scrollY - want) <= 1, y);
  });
});

test('submit is disabled for the agent but not for the customer', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await takeControl(p);
    const r = await mirror(p.agent).locator('#continue').boundingBox();
    await p.agent.mouse.click(r.x + 5, r.y + 5);
    await waitText(p.agent, 'agent-denial', /disabled/);
    // A submit sent anyway is refused (by the relay or the customer side) and shown.
    await p.agent.evaluate(() => {
      const c = window.cobrowseConsole;
      const doc = document.querySelector('[data-testid=agent-mirror]').contentDocument;
      c.send({ kind: 'AgentSubmit', target: c.replayer.idOfNode(doc.querySelector('#continue')) });
    });
    await p.customer.waitForTimeout(500);
    assert.match(p.customer.url(), /\/demo\/$/);
    await p.customer.click('#continue');
    await p.customer.waitForURL(/income\.html/);
  });
});

test('the navigation bar drives the customer page in control; the session survives the navigation and a reload', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await takeControl(p);
    await w(p.agent, 'agent-url').fill(`${relay.base}/demo/review.html`);
    await w(p.agent, 'agent-url').press('Enter');
    await p.customer.waitForURL(/review\.html/, { timeout: 10_000 });
    await waitText(p.customer, 'cobrowse-state', /active/);
    await mirrorHas(p.agent, '#submit-application', 15_000);
    await p.customer.reload();
    await waitText(p.customer, 'cobrowse-state', /active/);
    await mirrorHas(p.agent, '#submit-application', 15_000);
    assert.match(await w(p.agent, 'agent-state').textContent(), /active/);
    await waitText(p.agent, 'agent-mode', /control/);
    await w(p.agent, 'agent-back').click();
    await p.customer.waitForURL(/\/demo\/$/, { timeout: 10_000 });
    await mirrorHas(p.agent, '#full-name', 15_000);
    await w(p.agent, 'agent-forward').click();
    await p.customer.waitForURL(/review\.html/, { timeout: 10_000 });
    await mirrorHas(p.agent, '#submit-application', 15_000);
    await p.customer.evaluate(() => (window.beforeReload = true));
    await w(p.agent, 'agent-reload').click();
    await p.customer.waitForFunction(() => window.beforeReload === undefined, null, { timeout: 10_000 });
    await waitText(p.customer, 'cobrowse-state', /active/);
  });
});

test('a page outside the allowed domains pauses the session until the customer returns', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await p.customer.click('a.outside');
    await p.customer.waitForURL(/partner\.html/);
    await waitText(p.agent, 'agent-state', /paused/);
    await p.customer.goBack();
    await waitText(p.customer, 'cobrowse-state', /active/);
    await waitText(p.agent, 'agent-state', /active/);
  });
});

test('stop and start sharing: nothing leaves while paused, resuming shows the page again', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await w(p.customer, 'cobrowse-stop-sharing').click();
    await waitText(p.customer, 'cobrowse-state', /paused/);
    await waitText(p.agent, 'agent-state', /paused/);
    const before = p.sent.length;
    await p.customer.fill('#phone', 'typed while paused');
    await p.customer.waitForTimeout(400);
    assert.equal(p.sent.slice(before).some((f) => f.includes(Buffer.from('typed while paused'))), false);
    await w(p.customer, 'cobrowse-start-sharing').click();
    await waitText(p.agent, 'agent-state', /active/);
    await agentEval(p.agent, () => document.querySelector('[data-testid=agent-mirror]').contentDocument.querySelector('#phone')?.value === 'typed while paused');
  });
});

test('the customer ends the session: the agent is told and the id cannot be rejoined', async (t) => {
  await withPair(t, relay, async (p) => {
    const id = await joined(p);
    await w(p.customer, 'cobrowse-end').click();
    await waitText(p.customer, 'cobrowse-state', /ended/);
    await waitText(p.agent, 'agent-state', /ended/);
    await p.agent.reload();
    await w(p.agent, 'agent-session-input').fill(id);
    await w(p.agent, 'agent-join').click();
    await p.agent.waitForTimeout(1000);
    assert.doesNotMatch(await w(p.agent, 'agent-state').textContent(), /active/);
  });
});

test('the agent ends the session: the customer is told', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await w(p.agent, 'agent-end').click();
    await waitText(p.customer, 'cobrowse-state', /ended/);
    await waitText(p.agent, 'agent-state', /ended/);
  });
});

test('a colleague joins late by invite and everyone sees three participants', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    const link = await p.agent.evaluate(() => window.cobrowseConsole.invite());
    const colleague = await p.agent.context().browser().newContext();
    try {
      const page = await colleague.newPage();
      await page.goto(link.replace('/agent/?', `/agent/?agent=${p.agentName}-2&`));
      await waitText(page, 'agent-state', /active/);
      await waitText(p.customer, 'cobrowse-participants', /3 in this session/);
      await mirrorHas(page, '#full-name');
    } finally {
      await colleague.close();
    }
  });
});

test('an agent whose console reloads reconnects with its resume token and a fresh keyframe', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await p.agent.reload();
    await waitText(p.agent, 'agent-state', /active/);
    await mirrorHas(p.agent, '#full-name');
    await p.customer.fill('#phone', 'after reconnect');
    await agentEval(p.agent, () => document.querySelector('[data-testid=agent-mirror]').contentDocument.querySelector('#phone')?.value === 'after reconnect');
  });
});

test('zoom in, zoom out and auto-fit scale the mirror', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    const zoom = async () => Number((await w(p.agent, 'agent-zoom').textContent()).match(/\d+/)[0]);
    const fit = await zoom();
    await w(p.agent, 'agent-zoom-in').click();
    const bigger = await zoom();
    assert.ok(bigger > fit, `${bigger} > ${fit}`);
    await w(p.agent, 'agent-zoom-out').click();
    await w(p.agent, 'agent-zoom-out').click();
    assert.ok((await zoom()) < bigger);
    await w(p.agent, 'agent-zoom-fit').click();
    assert.equal(await zoom(), fit);
    const iframe = await w(p.agent, 'agent-mirror').evaluate((f) => [f.offsetWidth, f.offsetHeight]);
    assert.deepEqual(iframe, [1000, 700]);
  });
});

test("the customer's window resizes are followed: the mirror takes the new viewport size", async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await agentEval(p.agent, () => {
      const f = document.querySelector('[data-testid=agent-mirror]');
      return f.offsetWidth === 1000 && f.offsetHeight === 700;
    });
    await p.customer.setViewportSize({ width: 820, height: 560 });
    await agentEval(p.agent, () => {
      const f = document.querySelector('[data-testid=agent-mirror]');
      return f.offsetWidth === 820 && f.offsetHeight === 560;
    });
  });
});

test('chat both ways and a link the agent shares', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await w(p.agent, 'agent-chat-input').fill('Hello from support');
    await w(p.agent, 'agent-chat-send').click();
    await waitText(p.customer, 'cobrowse-chat-line', /Hello from support/);
    await w(p.customer, 'cobrowse-chat-input').fill('Thanks!');
    await w(p.customer, 'cobrowse-chat-send').click();
    await waitText(p.agent, 'agent-chat-line', /Thanks!/);
    await w(p.agent, 'agent-link-input').fill('https://example.com/rates.pdf');
    await w(p.agent, 'agent-link-send').click();
    const a = w(p.customer, 'cobrowse-open-link');
    await a.waitFor({ timeout: 10_000 });
    assert.equal(await a.getAttribute('href'), 'https://example.com/rates.pdf');
  });
});

/** Sends a raw agent message from the console; waits for the denial text to match `re`. */
async function denied(p, msg, re) {
  await p.agent.evaluate(() => (document.querySelector('[data-testid=agent-denial]').textContent = ''));
  await p.agent.evaluate((m) => {
    const c = window.cobrowseConsole;
    const doc = document.querySelector('[data-testid=agent-mirror]').contentDocument;
    const id = (sel) => c.replayer.idOfNode(doc.querySelector(sel));
    const fill = (v) => (typeof v === 'string' && v.startsWith('#') ? id(v) : v);
    c.send(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, k === 'target' ? fill(v) : v])));
  }, msg);
  await waitText(p.agent, 'agent-denial', re);
}

test('every denial reaches the agent with its reason', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await denied(p, { kind: 'AgentInput', target: '#phone', value: 'x' }, /Request control/);
    await takeControl(p);
    await denied(p, { kind: 'AgentSubmit', target: '#continue' }, /disabled for agents/);
    await denied(p, { kind: 'AgentClick', target: '#continue', x: 1, y: 1 }, /disabled for agents/);
    await denied(p, { kind: 'AgentInput', target: '#ssn', value: 'x' }, /hidden from agents/);
    await denied(p, { kind: 'AgentClick', target: 987654, x: 1, y: 1 }, /no longer on the page/);
    assert.equal(await p.customer.inputValue('#phone'), '');
  });
});

// The customer side sends `ActionDenied`; the relay audits it and forwards it to the agent.
test('an action the relay lets through but the customer side refuses is not replayed and the agent is told', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    await takeControl(p);
    // The relay has no domain list; the widget allows only this page's host.
    await p.agent.evaluate(() => window.cobrowseConsole.send({ kind: 'Navigate', to: { Url: 'https://elsewhere.example/' } }));
    await p.customer.waitForTimeout(1000);
    assert.match(p.customer.url(), /\/demo\/$/);
    await denied(p, { kind: 'Navigate', to: { Url: 'https://elsewhere.example/' } }, /domain|allowed/i);
  });
});

test('partial control: the agent navigates but forms cannot be edited on the agent side', async (t) => {
  const partial = await startRelay({ control_ceiling: 'partial' });
  try {
    await withPair(t, partial, async (p) => {
      await joined(p);
      await takeControl(p);
      assert.match(await w(p.agent, 'agent-mode').textContent(), /partial control/);
      await waitText(p.agent, 'agent-notice', /Forms cannot be edited on the agent side/);
      const r = await mirror(p.agent).locator('#phone').boundingBox();
      await p.agent.mouse.click(r.x + 5, r.y + 5);
      await waitText(p.agent, 'agent-denial', /Forms cannot be edited on the agent side/);
      assert.equal(await w(p.agent, 'agent-input-editor').count(), 0);
      await denied(p, { kind: 'AgentInput', target: '#phone', value: 'x' }, /Forms cannot be edited on the agent side/);
      assert.equal(await p.customer.inputValue('#phone'), '');
      await w(p.agent, 'agent-url').fill(`${partial.base}/demo/income.html`);
      await w(p.agent, 'agent-url').press('Enter');
      await p.customer.waitForURL(/income\.html/, { timeout: 10_000 });
    });
  } finally {
    partial.stop();
  }
});

test('no control: view only, the agent still points and highlights', async (t) => {
  const none = await startRelay({ control_ceiling: 'none' });
  try {
    await withPair(t, none, async (p) => {
      await joined(p);
      assert.match(await w(p.agent, 'agent-mode').textContent(), /pointer mode \(no control\)/);
      assert.equal(await w(p.agent, 'agent-request-control').isDisabled(), true);
      await denied(p, { kind: 'ControlRequest', agent: await p.agent.evaluate(() => window.cobrowseConsole.participantId) }, /view only/);
      await w(p.agent, 'agent-highlight').click();
      const r = await mirror(p.agent).locator('#email').boundingBox();
      await p.agent.mouse.click(r.x + 5, r.y + 5);
      await w(p.customer, 'cobrowse-highlight').waitFor({ timeout: 10_000 });
      await w(p.agent, 'agent-highlight').click();
      await p.agent.mouse.click(r.x + 5, r.y + 40);
      await w(p.customer, 'cobrowse-ripple').first().waitFor({ state: 'attached', timeout: 10_000 });
    });
  } finally {
    none.stop();
  }
});

test('an agent invites the customer: nothing is shared before "Share my browser window"', { timeout: 60_000 }, async (t) => {
  const inviting = await startRelay({ agent_invites: true });
  try {
    await withPair(t, inviting, async (p) => {
      const link = await p.agent.evaluate(() => window.cobrowseConsole.inviteCustomer());
      assert.match(link, /#cobrowse-invite=\d{9}:/);
      await waitText(p.agent, 'agent-state', /waiting/);
      const before = p.sent.length;
      await p.customer.goto(link);
      await waitText(p.customer, 'cobrowse-state', /invited/);
      await p.customer.waitForTimeout(500);
      assert.equal(p.sent.slice(before).some((f) => f.includes(Buffer.from('Full name'))), false, 'a frame left before acceptance');
      await w(p.customer, 'cobrowse-accept-invite').click();
      await waitText(p.customer, 'cobrowse-state', /active/);
      await waitText(p.agent, 'agent-state', /active/);
      await mirrorHas(p.agent, '#full-name', 15_000);
      // The needle is visible on the wire once sharing starts (so its absence above means something).
      assert.equal(p.sent.slice(before).some((f) => f.includes(Buffer.from('Full name'))), true);
    });
  } finally {
    inviting.stop();
  }
});

test('a customer whose connection drops reconnects with its resume token and sharing goes on', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    // The widget's own socket, closed as a network drop would (not an end).
    await p.customer.evaluate(() => window.cobrowse.ws.close(4999, 'test drop'));
    await waitText(p.customer, 'cobrowse-state', /connecting|active/);
    await waitText(p.customer, 'cobrowse-state', /active/, 15_000);
    await p.customer.fill('#phone', 'after the drop');
    await agentEval(p.agent, () => document.querySelector('[data-testid=agent-mirror]').contentDocument.querySelector('#phone')?.value === 'after the drop', undefined, 15_000);
    assert.match(await w(p.agent, 'agent-state').textContent(), /active/);
  });
});

test('a customer who declines an invitation ends the session for the agent too', { timeout: 60_000 }, async (t) => {
  const inviting = await startRelay({ agent_invites: true });
  try {
    await withPair(t, inviting, async (p) => {
      const link = await p.agent.evaluate(() => window.cobrowseConsole.inviteCustomer());
      await p.customer.goto(link);
      await waitText(p.customer, 'cobrowse-state', /invited/);
      await w(p.customer, 'cobrowse-decline-invite').click();
      await waitText(p.customer, 'cobrowse-state', /ended/);
      await waitText(p.agent, 'agent-state', /ended/);
    });
  } finally {
    inviting.stop();
  }
});

test('highlights fade after their lifetime and the agent can clear them', async (t) => {
  await withPair(t, relay, async (p) => {
    await joined(p);
    // The demo's lifetime is the relay default (3 minutes); this test shortens the widget's.
    await p.customer.evaluate(() => (window.cobrowse.overlay.highlightLifetimeMs = 1000));
    await w(p.agent, 'agent-highlight').click();
    const r = await mirror(p.agent).locator('#phone').boundingBox();
    await p.agent.mouse.click(r.x + 5, r.y + 5);
    await w(p.customer, 'cobrowse-highlight').waitFor({ timeout: 10_000 });
    await w(p.customer, 'cobrowse-highlight').waitFor({ state: 'detached', timeout: 10_000 });
    await p.customer.evaluate(() => (window.cobrowse.overlay.highlightLifetimeMs = 180_000));
    await p.agent.mouse.click(r.x + 5, r.y + 5);
    await w(p.customer, 'cobrowse-highlight').waitFor({ timeout: 10_000 });
    await w(p.agent, 'agent-clear-highlights').click();
    await w(p.customer, 'cobrowse-highlight').waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await w(p.agent, 'agent-highlight-box').count(), 0);
  });
});
