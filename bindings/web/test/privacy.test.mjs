// Privacy and safety in the browser: canaries typed into password and masked fields never
// appear in any frame (nor in the agent's DOM); blocked elements arrive as placeholders,
// disabled ones visibly disabled; hostile pages never run anything in the mirror (alert,
// console and network are hooked in the agent page).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, loadHelpers, startCapture, takeFrames, startReplayer,
  applyFrames, snapshotState, firstDiff,
} from './harness.mjs';

const FORM_PAGE = `<!DOCTYPE html><html><head><title>form</title></head><body>
<form><input type="password" id="pw"><input class="secret" id="card" value="4111 prefilled">
<textarea class="secret" id="notes"></textarea><input id="plain"><button type="submit" id="go">Pay</button></form>
<p class="secret" id="ptext">static secret paragraph</p>
<div id="blockme" width="120" height="40"><span>blocked inner CANARYblocked</span></div>
<a class="danger" href="/x" id="danger">delete</a>
</body></html>`;

const HOSTILE_PAGE = `<!DOCTYPE html><html><head><title>hostile</title>
<meta http-equiv="refresh" content="0;url=/beacon/refresh"><base href="/beacon/base/">
<script>console.log('customer script ran')</script></head><body>
<script>fetch('/beacon/script')</script>
<img src="/beacon/img-ok.png" onerror="fetch('/beacon/onerror');alert('PWNED')">
<a id="js" href="javascript:fetch('/beacon/jsurl');alert('PWNED')">js link</a>
<a id="js2" href=" JaVaScRiPt:fetch('/beacon/jsurl2')">js link 2</a>
<iframe srcdoc="<script>parent.fetch('/beacon/srcdoc')</script>"></iframe>
<iframe src="javascript:parent.fetch('/beacon/iframejs')"></iframe>
<svg><script>fetch('/beacon/svgscript')</script><a id="svga" href="javascript:fetch('/beacon/svgjs')"><text y="20">svg link</text></a>
<animate attributeName="href" values="javascript:fetch('/beacon/animate')"/><set attributeName="onclick" to="fetch('/beacon/set')"/></svg>
<form action="javascript:fetch('/beacon/form')"><button id="sub" formaction="javascript:fetch('/beacon/formaction')">go</button></form>
<object data="/beacon/object"></object><embed src="/beacon/embed">
<noscript><p title="</noscript><img src=x onerror=fetch('/beacon/mxss1')>"></p></noscript>
<svg><style><img src=x onerror="fetch('/beacon/mxss2')"></style></svg>
<math><mtext><table><mglyph><style><img src=x onerror="fetch('/beacon/mxss3')"></style></mglyph></table></mtext></math>
<div id="clickme" onclick="fetch('/beacon/onclick');console.log('PWNED')" onmouseover="fetch('/beacon/over')">click me</div>
<details open ontoggle="fetch('/beacon/toggle')"><summary>s</summary>x</details>
<input autofocus onfocus="fetch('/beacon/focus')">
</body></html>`;

let server;
let browser;
before(async () => {
  server = await startServer({ '/form.html': FORM_PAGE, '/hostile.html': HOSTILE_PAGE });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('canaries typed into password and masked fields never leave as text', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    await customer.goto(`${server.base}/form.html`);
    await agent.goto(`${server.base}/agent.html`);
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await startReplayer(agent);
    await startCapture(customer, { mask: { selectors: ['.secret'] }, block: { selectors: ['#blockme'] }, disable: { selectors: ['a.danger'] } });
    const all = [];
    const pump = async () => {
      const frames = await takeFrames(customer);
      all.push(...frames);
      const results = await applyFrames(agent, frames);
      assert.ok(results.every((r) => r.ok), JSON.stringify(results));
    };
    await pump();
    await customer.type('#pw', 'CANARYpw1', { delay: 5 });
    await pump();
    await customer.type('#card', 'CANARYcard2', { delay: 5 });
    await customer.type('#notes', 'CANARYnotes3', { delay: 5 });
    await customer.type('#plain', 'visible4', { delay: 5 });
    await customer.evaluate(() => {
      document.getElementById('ptext').textContent = 'CANARYtext5';
      const i = document.createElement('input');
      i.type = 'password';
      i.value = 'CANARYnew6';
      i.setAttribute('value', 'CANARYattr7');
      document.body.appendChild(i);
    });
    await pump();
    const bytes = Buffer.concat(all.map((b) => Buffer.from(b, 'base64')));
    assert.ok(all.length >= 3, `frames: ${all.length}`);
    for (const c of ['CANARYpw1', 'CANARY', 'prefilled']) {
      assert.equal(bytes.indexOf(c), -1, `${c} in frame bytes`);
      assert.equal(bytes.indexOf(Buffer.from(c, 'utf16le')), -1, `${c} (UTF-16) in frame bytes`);
    }
    assert.notEqual(bytes.indexOf('visible4'), -1, 'an unmasked field is sent (the check above can see text)');
    const seen = await agent.evaluate(() => {
      const d = document.getElementById('mirror').contentDocument;
      const blocked = d.querySelector('[data-cobrowse-blocked]');
      const danger = d.getElementById('danger');
      return {
        html: d.documentElement.outerHTML,
        pw: d.getElementById('pw').value,
        card: d.getElementById('card').value,
        notes: d.getElementById('notes').value,
        plain: d.getElementById('plain').value,
        ptext: d.getElementById('ptext').textContent,
        blocked: blocked && { attrs: blocked.getAttributeNames(), kids: blocked.childNodes.length },
        dangerOutline: getComputedStyle(danger).outlineStyle,
        goOutline: getComputedStyle(d.getElementById('go')).outlineStyle,
      };
    });
    assert.ok(!seen.html.includes('CANARY'), 'no canary in the agent DOM');
    assert.equal(seen.pw, '*********');
    const typed = await customer.evaluate(() => document.getElementById('card').value);
    assert.equal(typed.length, '4111 prefilledCANARYcard2'.length);
    assert.equal(seen.card, typed.replace(/\S/g, '*'), 'masked: one asterisk per character, whitespace kept');
    assert.equal(seen.notes, '*'.repeat('CANARYnotes3'.length));
    assert.equal(seen.plain, 'visible4');
    assert.equal(seen.ptext, '***********');
    assert.deepEqual(seen.blocked, { attrs: ['width', 'height', 'style', 'data-cobrowse-blocked'], kids: 0 }, 'a placeholder keeping only the size (its attributes and the engine-written box)');
    assert.equal(seen.dangerOutline, 'dashed', 'disabled link shown disabled');
    assert.equal(seen.goOutline, 'dashed', 'submit button disabled by default');
    const { c, a } = await snapshotState(customer, agent);
    assert.equal(a.fingerprint, c.fingerprint);
    assert.equal(firstDiff(a.dom, a.engine), null);
  } finally {
    await cctx.close();
    await actx.close();
  }
});

test('hostile pages never run anything in the mirror', async () => {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  try {
    const customer = await cctx.newPage();
    const agent = await actx.newPage();
    const dialogs = [];
    const consoleLines = [];
    const beacons = [];
    agent.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    agent.on('console', (m) => consoleLines.push(m.text()));
    agent.on('request', (r) => {
      // `<img src="x">` under `<base href="/beacon/base/">` is an image the page loads; the
      // mirror loads it too (URLs reach it absolute). Everything else there is hostile.
      if (r.url().includes('/beacon/') && !r.url().includes('img-ok') && !r.url().endsWith('/beacon/base/x')) beacons.push(r.url());
    });
    // The customer page's own refresh and form posts must not take it away: a 204 keeps it.
    await customer.route('**/beacon/**', (route) => route.fulfill({ status: 204, body: '' }));
    await customer.goto(`${server.base}/hostile.html`, { waitUntil: 'domcontentloaded' });
    await agent.goto(`${server.base}/agent.html`);
    await loadHelpers(customer, server.base);
    await loadHelpers(agent, server.base);
    await agent.evaluate(() => {
      globalThis.__hooked = [];
      window.alert = (m) => globalThis.__hooked.push(`alert ${m}`);
      for (const k of ['log', 'info', 'warn', 'error', 'debug']) {
        const orig = console[k].bind(console);
        console[k] = (...a) => {
          globalThis.__hooked.push(`${k} ${a.join(' ')}`);
          orig(...a);
        };
      }
    });
    await startReplayer(agent);
    await startCapture(customer);
    const pump = async () => {
      const results = await applyFrames(agent, await takeFrames(customer));
      assert.ok(results.every((r) => r.ok), JSON.stringify(results));
    };
    await pump();
    // Hostile changes after the keyframe, through the delta path.
    await customer.evaluate(() => {
      const d = document.createElement('div');
      d.setAttribute('onclick', "fetch('/beacon/delta-onclick')");
      d.id = 'later';
      d.textContent = 'later';
      document.body.appendChild(d);
      const img = document.createElement('img');
      img.setAttribute('src', 'x');
      img.setAttribute('onerror', "fetch('/beacon/delta-onerror')");
      document.body.appendChild(img);
      const s = document.createElement('script');
      s.textContent = "fetch('/beacon/delta-script')";
      document.body.appendChild(s);
      document.getElementById('clickme').setAttribute('onmouseover', "fetch('/beacon/delta-over')");
      const a = document.createElement('a');
      a.id = 'js3';
      a.href = "javascript:fetch('/beacon/delta-js')";
      a.textContent = 'x';
      document.body.appendChild(a);
    });
    await pump();
    const frame = agent.frameLocator('#mirror');
    for (const id of ['#js', '#js2', '#clickme', '#sub', '#later', '#js3', '#svga']) {
      await frame.locator(id).first().click({ force: true, timeout: 2000 }).catch(() => {});
    }
    await frame.locator('#clickme').hover({ force: true, timeout: 2000 }).catch(() => {});
    await agent.waitForTimeout(500);
    const hooked = await agent.evaluate(() => globalThis.__hooked);
    assert.deepEqual(beacons, [], 'no request from hostile content');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(hooked, []);
    assert.deepEqual(consoleLines.filter((l) => /PWNED|ran/.test(l)), []);
    const found = await agent.evaluate(() => {
      const d = document.getElementById('mirror').contentDocument;
      const bad = [];
      const stack = [d];
      while (stack.length > 0) {
        const n = stack.pop();
        if (n.nodeType === 1) {
          if (n.localName === 'script') bad.push('script element');
          for (const a of n.attributes) {
            if (/^on/i.test(a.localName)) bad.push(`handler ${a.name}`);
            if (/^\s*javascript:/i.test(a.value)) bad.push(`javascript: in ${a.name}`);
          }
          if (n.localName === 'template') stack.push(n.content);
        }
        for (let c = n.firstChild; c !== null; c = c.nextSibling) stack.push(c);
      }
      return bad;
    });
    assert.deepEqual(found, [], 'no script, handler or javascript: URL in the mirror');
    const sandbox = await agent.evaluate(() => document.getElementById('mirror').getAttribute('sandbox'));
    assert.equal(sandbox, 'allow-same-origin');
  } finally {
    await cctx.close();
    await actx.close();
  }
});
