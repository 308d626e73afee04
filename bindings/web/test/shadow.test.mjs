// Open shadow roots: captured as a declarative-shadow template (first child of the host,
// `<template shadowrootmode="open" data-cobrowse-shadow>`, its contents the shadow root's
// children) and replayed as a real shadow root in the mirror; changes inside shadow roots,
// nested ones and ones attached after the keyframe, checked after every batch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, loadHelpers, startCapture, takeFrames, startReplayer,
  applyFrames, snapshotState, checkMirror,
} from './harness.mjs';

const PAGE = `<!DOCTYPE html><html><head><title>shadow</title></head><body>
<x-card id="card"><span slot="title">light title</span>light body</x-card><p id="after">after</p>
</body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/shadow.html': PAGE });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});


/** Every open shadow root's HTML, host id -> innerHTML, in the given document. */
function shadows(doc) {
  const out = {};
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) {
        // The mirror keeps the stand-in template (empty: its contents are the shadow root) in
        // the host's light DOM, where it renders nothing.
        out[el.id || el.localName] = el.shadowRoot.innerHTML.split('<template shadowrootmode="open" data-cobrowse-shadow=""></template>').join('');
        walk(el.shadowRoot);
      }
    }
  };
  walk(doc);
  return out;
}

test('open shadow roots are captured and replayed as shadow roots, after every batch', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/t/shadow.html`, { waitUntil: 'load' });
    await customer.evaluate(() => {
      const root = document.getElementById('card').attachShadow({ mode: 'open' });
      root.innerHTML = '<style>b { color: rgb(1, 2, 3) }</style><b id="in">inside</b><slot name="title"></slot><slot></slot>';
    });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    await startCapture(customer);
    assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
    const mirrorShadows = () => agent.evaluate(`(${shadows.toString()})(document.getElementById('mirror').contentDocument)`);
    const customerShadows = () => customer.evaluate(`(${shadows.toString()})(document)`);
    checkMirror(await snapshotState(customer, agent), 'keyframe');
    assert.deepEqual(await mirrorShadows(), await customerShadows());
    const color = await agent.evaluate(() => {
      const d = document.getElementById('mirror').contentDocument;
      return getComputedStyle(d.getElementById('card').shadowRoot.getElementById('in')).color;
    });
    assert.equal(color, 'rgb(1, 2, 3)', "the shadow root's own style applies in the mirror");
    const steps = [
      ['text inside a shadow root', () => { document.getElementById('card').shadowRoot.getElementById('in').firstChild.data = 'changed'; }],
      ['insert inside a shadow root', () => {
        const i = document.createElement('i');
        i.textContent = 'new';
        document.getElementById('card').shadowRoot.appendChild(i);
      }],
      ['attribute inside a shadow root', () => document.getElementById('card').shadowRoot.getElementById('in').setAttribute('title', 't')],
      ['shadow root attached after the keyframe', () => {
        const r = document.getElementById('after').attachShadow({ mode: 'open' });
        r.innerHTML = '<em>late</em><x-inner id="inner"></x-inner>';
      }],
      ['nested shadow root', () => {
        const inner = document.getElementById('after').shadowRoot.getElementById('inner');
        inner.attachShadow({ mode: 'open' }).innerHTML = '<u>deep</u>';
      }],
      ['change in the nested shadow root', () => {
        document.getElementById('after').shadowRoot.getElementById('inner').shadowRoot.firstChild.textContent = 'deeper';
      }],
      ['new host with a shadow root inserted', () => {
        const host = document.createElement('div');
        host.id = 'newhost';
        host.attachShadow({ mode: 'open' }).innerHTML = '<s>fresh</s>';
        document.body.appendChild(host);
      }],
      ['light DOM of a host changed', () => document.getElementById('card').append('more light')],
      ['host removed', () => document.getElementById('card').remove()],
    ];
    for (const [what, fn] of steps) {
      await customer.evaluate(`(${fn.toString()})()`);
      const frames = await takeFrames(customer);
      assert.ok(frames.length > 0, `${what}: a frame`);
      assert.ok((await applyFrames(agent, frames)).every((r) => r.ok), what);
      checkMirror(await snapshotState(customer, agent), what);
      assert.deepEqual(await mirrorShadows(), await customerShadows(), `${what}: shadow roots`);
    }
    const stats = await customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.refusedBatches, 0);
    assert.equal(stats.engineHandles, stats.pageHandles);
  } finally {
    await cctx.close();
    await actx.close();
  }
});
