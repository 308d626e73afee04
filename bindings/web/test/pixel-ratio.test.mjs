// The customer's device pixel ratio travels with the viewport: in the keyframe, and again when
// it changes (browser zoom, another screen); the agent's replayer reports it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, loadHelpers, startCapture, takeFrames, startReplayer, applyFrames } from './harness.mjs';

const PAGE = '<!DOCTYPE html><html><head><title>dpr</title></head><body><p>hello</p></body></html>';

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/dpr.html': PAGE });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the device pixel ratio reaches the replayer, and its changes follow', async () => {
  const cctx = await browser.newContext({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 2 });
  const actx = await browser.newContext({ viewport: { width: 800, height: 600 } });
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/t/dpr.html`, { waitUntil: 'load' });
    await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    assert.equal(await agent.evaluate(() => globalThis.__rep.pixelRatio()), null, 'nothing known before a frame');
    assert.equal(await customer.evaluate(() => window.devicePixelRatio), 2);
    await startCapture(customer);
    const kf = await takeFrames(customer, false);
    assert.deepEqual(await applyFrames(agent, kf), [{ ok: true }]);
    assert.equal(await agent.evaluate(() => globalThis.__rep.pixelRatio()), 2);

    // The ratio changes (as with browser zoom): the next batch carries it. (Chromium's
    // emulation fires neither `resize` nor the `resolution` media query's change event, which
    // a real zoom fires, so the test flushes.)
    const cdp = await cctx.newCDPSession(customer);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 800, height: 600, deviceScaleFactor: 1.5, mobile: false });
    await customer.waitForFunction(() => window.devicePixelRatio === 1.5);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const f = await takeFrames(customer, true);
      if (f.length > 0) assert.deepEqual(await applyFrames(agent, f), f.map(() => ({ ok: true })));
      const r = await agent.evaluate(() => globalThis.__rep.pixelRatio());
      if (r === 1.5) break;
      assert.ok(Date.now() < deadline, `the replayer still reports ${r}`);
      await customer.waitForTimeout(50);
    }
    assert.equal(await agent.evaluate(() => globalThis.__rep.fingerprint()), await customer.evaluate(() => globalThis.__cap.fingerprint()));
  } finally {
    await cctx.close();
    await actx.close();
  }
});
