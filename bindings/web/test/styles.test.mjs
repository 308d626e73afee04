// URLs and stylesheets as the agent needs them: relative URLs reach the mirror absolute
// (against the customer's base URL), and rules the page adds through the CSSOM (insertRule,
// deleteRule, replaceSync, adopted constructed sheets) and the rules of same-origin
// stylesheet links are in the mirror's stylesheets, after every batch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launch, localContext, loadHelpers, startCapture, takeFrames, startReplayer,
  applyFrames, snapshotState, sheetRulesInPage, checkMirror,
} from './harness.mjs';

const URL_PAGE = `<!DOCTYPE html><html><head><title>urls</title><base href="/assets/v2/">
<style id="css">.a { background: url(img/bg.png) } .b { background-image: url("/abs/x.png") } @font-face { font-family: f; src: url('fonts/f.woff2') }</style>
</head><body>
<img id="img" src="pic.png" srcset="pic-1x.png 1x, ../pic-2x.png 2x">
<a id="a" href="page?q=1#top">link</a><a id="frag" href="#top">frag</a>
<video id="v" poster="poster.jpg"></video><form id="f" action="submit"></form>
<table id="t" background="tbg.gif"><tr><td>x</td></tr></table>
<div id="st" style="background: url(s.png)">styled</div>
<svg><use id="use" href="#icon"></use></svg>
<img id="abs" src="https://cdn.example/keep.png"><img id="data" src="data:image/gif;base64,R0lGOD">
</body></html>`;

const CSS_PAGE = `<!DOCTYPE html><html><head><title>cssom</title>
<link rel="stylesheet" href="/t/site.css">
<style id="s1">.one { color: red }</style>
<style id="empty"></style>
</head><body><p class="one">one</p><p class="two">two</p></body></html>`;
const SITE_CSS = '.site { color: blue }\n.logo { background: url(logo.png) }\n';

// A large <style> in the page's HTML (it reaches the mirror in the keyframe), its source with
// what a cut at its rules must step over: comments, braces and quotes in strings, @media
// blocks, an unquoted URL, statements the browser drops (another browser's prefixed pseudo
// element, an unknown pseudo-class), an unclosed last rule.
const BIG_CSS = [
  '/* header { not a rule } */',
  ...Array.from({ length: 100 }, (_, i) => `.r${i} { margin-left: ${i}px; color: rgb(${i}, 0, 0) }`),
  'button::-moz-focus-inner { padding: 0 }',
  ...Array.from({ length: 100 }, (_, i) => `.r${i + 100} { margin-left: ${i + 100}px; color: rgb(${i + 100}, 0, 0) }`),
  'option:selected { color: red }',
  '.q::before { content: "} {;" } .q2::after { content: \'\\\' }\' }',
  '@media (min-width: 10px) { .m { color: rgb(0, 1, 0) } .m2 { top: 1px } }',
  '.u { background: url(img/u.png) }',
  '<!-- -->',
  '.last { color: rgb(0, 0, 9)',
].join('\n');
const BIG_PAGE = `<!DOCTYPE html><html><head><title>big</title><style id="big">${BIG_CSS}</style></head><body><p class="r150 m last">p</p></body></html>`;

// A stylesheet link of another origin (this context reaches 127.0.0.1 only: its sheet is there,
// unreadable, as a cross-origin sheet without CORS is).
const CROSS_PAGE = '<!DOCTYPE html><html><head><title>cross</title><link rel="stylesheet" href="https://cdn.example/site.css"></head><body><p>p</p></body></html>';

let server;
let browser;
before(async () => {
  server = await startServer({ '/t/cross.html': CROSS_PAGE, '/assets/v2/urls.html': URL_PAGE, '/t/cssom.html': CSS_PAGE, '/t/site.css': SITE_CSS, '/t/other.css': '.other { color: rgb(0, 9, 0) }\n', '/t/big.html': BIG_PAGE });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function session(url) {
  const cctx = await localContext(browser);
  const actx = await localContext(browser);
  const customer = await cctx.newPage();
  const agent = await actx.newPage();
  await customer.goto(url, { waitUntil: 'load' });
  await agent.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
  await loadHelpers(customer, server.base);
  await loadHelpers(agent, server.base);
  await startReplayer(agent);
  await startCapture(customer);
  assert.deepEqual(await applyFrames(agent, await takeFrames(customer, false)), [{ ok: true }]);
  return { customer, agent, close: async () => { await cctx.close(); await actx.close(); } };
}


const mirrorAttrs = (agent, ids) =>
  agent.evaluate((ids) => {
    const d = document.getElementById('mirror').contentDocument;
    return Object.fromEntries(ids.map(([id, attr]) => [`${id}.${attr}`, d.getElementById(id)?.getAttribute(attr) ?? null]));
  }, ids);

test('relative URLs reach the mirror absolute, against the base URL', async () => {
  const s = await session(`${server.base}/assets/v2/urls.html`);
  const B = `${server.base}/assets/v2/`;
  try {
    checkMirror(await snapshotState(s.customer, s.agent), 'keyframe');
    const got = await mirrorAttrs(s.agent, [
      ['img', 'src'], ['img', 'srcset'], ['a', 'href'], ['frag', 'href'], ['v', 'poster'], ['f', 'action'],
      ['t', 'background'], ['st', 'style'], ['use', 'href'], ['abs', 'src'], ['data', 'src'],
    ]);
    assert.deepEqual(got, {
      'img.src': `${B}pic.png`,
      'img.srcset': `${B}pic-1x.png 1x, ${server.base}/assets/pic-2x.png 2x`,
      'a.href': `${B}page?q=1#top`,
      'frag.href': '#top',
      'v.poster': `${B}poster.jpg`,
      'f.action': `${B}submit`,
      't.background': `${B}tbg.gif`,
      'st.style': `background: url("${B}s.png")`,
      'use.href': '#icon',
      'abs.src': 'https://cdn.example/keep.png',
      'data.src': 'data:image/gif;base64,R0lGOD',
    });
    const css = await s.agent.evaluate(() => document.getElementById('mirror').contentDocument.getElementById('css').textContent);
    assert.equal(css, `.a { background: url("${B}img/bg.png") } .b { background-image: url("${server.base}/abs/x.png") } @font-face { font-family: f; src: url("${B}fonts/f.woff2") }`);
    // Later edits too, through the delta path.
    await s.customer.evaluate(() => {
      document.getElementById('img').setAttribute('src', 'later.png');
      document.getElementById('css').textContent = '.c { background: url(c.png) }';
    });
    assert.ok((await applyFrames(s.agent, await takeFrames(s.customer))).every((r) => r.ok));
    checkMirror(await snapshotState(s.customer, s.agent), 'after edits');
    assert.deepEqual(await mirrorAttrs(s.agent, [['img', 'src'], ['css', 'id']]), { 'img.src': `${B}later.png`, 'css.id': 'css' });
    const css2 = await s.agent.evaluate(() => document.getElementById('mirror').contentDocument.getElementById('css').textContent);
    assert.equal(css2, `.c { background: url("${B}c.png") }`);
  } finally {
    await s.close();
  }
});

test('the same relative URL under another base URL resolves against that base (keyframe and delta)', async () => {
  const s = await session(`${server.base}/assets/v2/urls.html`);
  const B = `${server.base}/assets/v2/`;
  const B3 = `${server.base}/assets/v3/`;
  try {
    assert.deepEqual(await mirrorAttrs(s.agent, [['img', 'src'], ['a', 'href']]), { 'img.src': `${B}pic.png`, 'a.href': `${B}page?q=1#top` });
    // The document's base changes; the same values written again resolve against the new base.
    await s.customer.evaluate(() => {
      document.querySelector('base').setAttribute('href', '/assets/v3/');
      const img = document.createElement('img');
      img.id = 'img2';
      img.setAttribute('src', 'pic.png');
      document.body.append(img);
      document.getElementById('a').setAttribute('href', 'page?q=1#top');
    });
    assert.ok((await applyFrames(s.agent, await takeFrames(s.customer))).every((r) => r.ok));
    assert.deepEqual(await mirrorAttrs(s.agent, [['img', 'src'], ['img2', 'src'], ['a', 'href']]), {
      'img.src': `${B}pic.png`,
      'img2.src': `${B3}pic.png`,
      'a.href': `${B3}page?q=1#top`,
    });
    // A keyframe made afresh: every relative URL against the new base.
    await s.customer.evaluate(() => globalThis.__cap.stop());
    await startCapture(s.customer);
    const agent2 = await s.agent.context().newPage();
    await agent2.goto(`${server.base}/agent.html`, { waitUntil: 'load' });
    await loadHelpers(agent2, server.base);
    await startReplayer(agent2);
    assert.deepEqual(await applyFrames(agent2, await takeFrames(s.customer, false)), [{ ok: true }]);
    assert.deepEqual(await mirrorAttrs(agent2, [['img', 'src'], ['img2', 'src'], ['a', 'href'], ['v', 'poster']]), {
      'img.src': `${B3}pic.png`,
      'img2.src': `${B3}pic.png`,
      'a.href': `${B3}page?q=1#top`,
      'v.poster': `${B3}poster.jpg`,
    });
  } finally {
    await s.close();
  }
});

/** The customer's rules (URLs as the capture resolves them) and the mirror's, per sheet. */
/** The pending edit leaves as one frame of about one rule (`text`, the edited rule's text),
 * and the agent's mirror then equals the customer's page, tree and rules. */
async function oneRuleOnTheWire(s, text, what) {
  const frames = await takeFrames(s.customer);
  assert.equal(frames.length, 1, what);
  const bytes = Buffer.from(frames[0], 'base64').length;
  assert.ok(bytes <= 64 + 8 * text.length, `${what}: ${bytes} B for one rule of ${text.length} characters`);
  assert.ok((await applyFrames(s.agent, frames)).every((r) => r.ok), what);
  checkMirror(await snapshotState(s.customer, s.agent), what);
  const r = await rules(s);
  assert.deepEqual(r.a, r.c, `${what}: mirror rules`);
}

async function rules(s) {
  const c = await s.customer.evaluate((fn) => {
    const f = new Function(`return (${fn})`)();
    return f(document, false);
  }, sheetRulesInPage.toString());
  const a = await s.agent.evaluate((fn) => {
    const f = new Function(`return (${fn})`)();
    return f(document.getElementById('mirror').contentDocument, true);
  }, sheetRulesInPage.toString());
  return { c, a };
}

test('CSSOM edits, adopted sheets and same-origin link rules are in the mirror after every batch', async () => {
  const s = await session(`${server.base}/t/cssom.html`);
  try {
    const steps = [
      ['insertRule into a <style>', () => document.getElementById('s1').sheet.insertRule('.two { color: green }', 1)],
      ['insertRule into an empty <style> (CSS-in-JS)', () => {
        const sh = document.getElementById('empty').sheet;
        sh.insertRule('.x1 { margin: 1px }', 0);
        sh.insertRule('@media (min-width: 10px) { .x2 { padding: 2px } }', 1);
      }],
      ['insertRule into a nested @media', () => document.getElementById('empty').sheet.cssRules[1].insertRule('.x3 { top: 3px }', 0)],
      ['deleteRule', () => document.getElementById('s1').sheet.deleteRule(0)],
      ['adopt a constructed sheet', () => {
        const c = new CSSStyleSheet();
        c.replaceSync('.adopted { border: 1px solid red }');
        document.adoptedStyleSheets = [c];
        globalThis.__constructed = c;
      }],
      ['replaceSync an adopted sheet', () => globalThis.__constructed.replaceSync('.adopted { border: 2px dashed blue } .more { z-index: 2 }')],
      ['insertRule into an adopted sheet', () => globalThis.__constructed.insertRule('.late { left: 1px }')],
      ['style text replaced (the CSSOM edits are gone)', () => { document.getElementById('s1').textContent = '.fresh { color: teal }'; }],
      ['CSSOM edit of the re-parsed sheet', () => document.getElementById('s1').sheet.insertRule('.again { color: navy }')],
      ['same-origin link sheet edited', () => document.querySelector('link').sheet.insertRule('.linked { color: olive }')],
      ['adopted list emptied', () => { document.adoptedStyleSheets = []; }],
    ];
    let r = await rules(s);
    assert.deepEqual(r.a, r.c, 'keyframe: the mirror has the customer\'s rules');
    assert.ok(r.a.some((t) => t.includes('.site { color: blue; }')), 'same-origin link rules travel as text');
    assert.ok(r.a.some((t) => t.includes(`url("${server.base}/t/logo.png")`)), "a linked sheet's URLs resolve against the sheet");
    for (const [what, fn] of steps) {
      await s.customer.evaluate(`(${fn.toString()})()`);
      const frames = await takeFrames(s.customer);
      assert.ok((await applyFrames(s.agent, frames)).every((x) => x.ok), what);
      checkMirror(await snapshotState(s.customer, s.agent), what);
      r = await rules(s);
      assert.deepEqual(r.a, r.c, `${what}: mirror rules`);
    }
    const computed = await s.agent.evaluate(() => getComputedStyle(document.getElementById('mirror').contentDocument.querySelector('.two')).color);
    const customerComputed = await s.customer.evaluate(() => getComputedStyle(document.querySelector('.two')).color);
    assert.equal(computed, customerComputed);
    const stats = await s.customer.evaluate(() => globalThis.__cap.stats());
    assert.equal(stats.refusedBatches, 0);
  } finally {
    await s.close();
  }
});

test('a batch relisting a link\'s parent reads its children once (the link\'s rules are brought up to date from that listing)', async () => {
  const s = await session(`${server.base}/t/cssom.html`);
  try {
    const steps = [
      ['an element appended beside the link', () => document.head.appendChild(document.createElement('meta'))],
      // A link edited through the CSSOM, then its parent relisted in the same batch.
      ['the link\'s sheet edited and its parent relisted', () => {
        document.querySelector('link').sheet.insertRule('.linked-edit { top: 1px }', 0);
        document.head.appendChild(document.createElement('meta'));
      }],
    ];
    for (const [what, fn] of steps) {
      // Counts reads of the head's element children (the Element `children` getter) by the batch.
      const reads = await s.customer.evaluate(`(${fn.toString()})(), (() => {
        const proto = Element.prototype;
        const desc = Object.getOwnPropertyDescriptor(proto, 'children');
        let n = 0;
        Object.defineProperty(proto, 'children', { ...desc, get() { if (this === document.head) n++; return desc.get.call(this); } });
        try {
          globalThis.__cap.flush();
        } finally {
          Object.defineProperty(proto, 'children', desc);
        }
        return n;
      })()`);
      assert.equal(reads, 0, `${what}: no second pass over the head's children`);
      const frames = await takeFrames(s.customer, false);
      assert.ok((await applyFrames(s.agent, frames)).every((r) => r.ok), what);
      checkMirror(await snapshotState(s.customer, s.agent), what);
      const r = await rules(s);
      assert.deepEqual(r.a, r.c, `${what}: mirror rules`);
    }
    // The link pointed elsewhere: its new sheet's rules travel once it loads (the load relists
    // its parent, and the listing brings the link's rules text up to date).
    await s.customer.evaluate(() => new Promise((resolve) => {
      const l = document.querySelector('link');
      l.addEventListener('load', resolve, { once: true });
      l.href = '/t/other.css';
    }));
    assert.ok((await applyFrames(s.agent, await takeFrames(s.customer))).every((r) => r.ok), 'link reloaded');
    checkMirror(await snapshotState(s.customer, s.agent), 'link reloaded');
    const r = await rules(s);
    assert.deepEqual(r.a, r.c, 'link reloaded: mirror rules');
    assert.ok(r.a.some((x) => x.includes('.other')), 'link reloaded: the new sheet is in the mirror');
    // Its media edited (no load follows): the link's style in the mirror carries it.
    await s.customer.evaluate(() => { document.querySelector('link').media = 'print'; });
    assert.ok((await applyFrames(s.agent, await takeFrames(s.customer))).every((x) => x.ok), 'link media');
    checkMirror(await snapshotState(s.customer, s.agent), 'link media');
    assert.equal(await s.agent.evaluate(() => document.getElementById('mirror').contentDocument.querySelector('style[data-cobrowse-href]').media), 'print');
  } finally {
    await s.close();
  }
});

test('a CSSOM edit of a large sheet costs about one rule on the wire, not the sheet', async () => {
  const s = await session(`${server.base}/t/cssom.html`);
  try {
    await s.customer.evaluate(() => {
      const st = document.createElement('style');
      st.id = 'big';
      st.textContent = Array.from({ length: 300 }, (_, i) => `.rule${i} { margin-left: ${i}px; color: rgb(${i % 256}, 0, 0) }`).join('\n');
      document.head.appendChild(st);
      st.sheet.insertRule('.first-edit { top: 1px }');
    });
    assert.ok((await applyFrames(s.agent, await takeFrames(s.customer))).every((r) => r.ok));
    for (const [what, fn] of [
      ['insertRule', () => document.getElementById('big').sheet.insertRule('.second-edit { left: 2px }', 150)],
      ['deleteRule', () => document.getElementById('big').sheet.deleteRule(10)],
    ]) {
      const text = await s.customer.evaluate(`(${fn.toString()})(), document.getElementById('big').sheet.cssRules[150].cssText`);
      await oneRuleOnTheWire(s, text, what);
    }
  } finally {
    await s.close();
  }
});

test('the first CSSOM edit of a large <style> from the page costs about one rule too; the mirror keeps its rules', async () => {
  const s = await session(`${server.base}/t/big.html`);
  try {
    checkMirror(await snapshotState(s.customer, s.agent), 'keyframe');
    const first = await rules(s);
    assert.deepEqual(first.a, first.c, 'keyframe: mirror rules');
    assert.equal(await s.customer.evaluate(() => document.getElementById('big').sheet.cssRules.length), 205);
    const at = (i) => `document.getElementById('big').sheet.cssRules[${i}].cssText`;
    for (const [what, fn, changed, small] of [
      ['first insertRule', () => document.getElementById('big').sheet.insertRule('.first-edit { left: 1px }', 100), at(100), true],
      ['deleteRule', () => document.getElementById('big').sheet.deleteRule(10), at(10), true],
      ['insertRule into the @media block (its rule re-sent)', () => document.getElementById('big').sheet.cssRules[202].insertRule('.m3 { right: 3px }', 0), at(202), true],
      // The re-parsed sheet is the source's rules plus one (the CSSOM edits are gone): the
      // engine keeps the texts it has and sends four rule edits, not the sheet.
      ['style text edited through the DOM (re-parsed)', () => { document.getElementById('big').firstChild.data += '\n.added { top: 4px }'; }, at(10), false],
      ['insertRule after the re-parse', () => document.getElementById('big').sheet.insertRule('.after { left: 5px }', 3), at(3), true],
    ]) {
      const text = await s.customer.evaluate(`(${fn.toString()})(), ${changed}`);
      const frames = await takeFrames(s.customer);
      assert.equal(frames.length, 1, what);
      const bytes = Buffer.from(frames[0], 'base64').length;
      if (small) assert.ok(bytes <= 64 + 8 * text.length, `${what}: ${bytes} B for one rule of ${text.length} characters`);
      else assert.ok(bytes <= 64 + 8 * 4 * text.length, `${what}: ${bytes} B for four rules of about ${text.length} characters`);
      assert.ok((await applyFrames(s.agent, frames)).every((r) => r.ok), what);
      checkMirror(await snapshotState(s.customer, s.agent), what);
      const r = await rules(s);
      assert.deepEqual(r.a, r.c, `${what}: mirror rules`);
    }
  } finally {
    await s.close();
  }
});

test('mapping a large <style>\'s pieces to its rules serializes no style rule (no cssText read per rule)', async () => {
  const s = await session(`${server.base}/t/big.html`);
  try {
    // Counts the rule serializations (CSSRule's cssText getter) made during the page's first
    // CSSOM edit of the sheet, where the capture maps the source's pieces to the rules.
    const reads = await s.customer.evaluate(() => {
      const proto = CSSRule.prototype;
      const desc = Object.getOwnPropertyDescriptor(proto, 'cssText');
      const by = {};
      Object.defineProperty(proto, 'cssText', {
        ...desc,
        get() {
          const kind = this.constructor.name;
          by[kind] = (by[kind] ?? 0) + 1;
          return desc.get.call(this);
        },
      });
      try {
        document.getElementById('big').sheet.insertRule('.first-edit { left: 1px }', 100);
      } finally {
        Object.defineProperty(proto, 'cssText', desc);
      }
      return by;
    });
    // 205 style rules and one @media rule: none of them is serialized (two reads per rule
    // before, 2 x 206).
    assert.deepEqual(reads, {});
    const text = await s.customer.evaluate(() => document.getElementById('big').sheet.cssRules[100].cssText);
    await oneRuleOnTheWire(s, text, 'first insertRule');
  } finally {
    await s.close();
  }
});

test('a batch reads an edited sheet\'s rule list once (its relisting and its rule texts share it)', async () => {
  const s = await session(`${server.base}/t/big.html`);
  try {
    for (const [what, fn] of [
      ['first insertRule', () => document.getElementById('big').sheet.insertRule('.first-edit { left: 1px }', 100)],
      ['deleteRule', () => document.getElementById('big').sheet.deleteRule(10)],
    ]) {
      // Counts reads of the sheet's rule list (CSSStyleSheet's cssRules getter) by the batch.
      const reads = await s.customer.evaluate(`(${fn.toString()})(), (() => {
        const proto = CSSStyleSheet.prototype;
        const desc = Object.getOwnPropertyDescriptor(proto, 'cssRules');
        let n = 0;
        Object.defineProperty(proto, 'cssRules', { ...desc, get() { n++; return desc.get.call(this); } });
        try {
          globalThis.__cap.flush();
        } finally {
          Object.defineProperty(proto, 'cssRules', desc);
        }
        return n;
      })()`);
      assert.equal(reads, 1, what);
      const frames = await takeFrames(s.customer, false);
      assert.equal(frames.length, 1, what);
      assert.ok((await applyFrames(s.agent, frames)).every((r) => r.ok), what);
      checkMirror(await snapshotState(s.customer, s.agent), what);
      const r = await rules(s);
      assert.deepEqual(r.a, r.c, `${what}: mirror rules`);
    }
  } finally {
    await s.close();
  }
});

test('a batch with no sheet edited reads each adopted list once; a list changed in place still reaches the mirror', async () => {
  const s = await session(`${server.base}/t/cssom.html`);
  try {
    await s.customer.evaluate(() => {
      const c = new CSSStyleSheet();
      c.replaceSync('.adopted { border: 1px solid red }');
      document.adoptedStyleSheets = [c];
    });
    let frames = await takeFrames(s.customer);
    assert.ok((await applyFrames(s.agent, frames)).every((r) => r.ok), 'adopted');
    for (const [what, fn, expected] of [
      // One read (whether the list changed in place: `sheetsChanged`), none for the rules of
      // sheets that no one edited.
      ['an attribute edit elsewhere', () => document.body.setAttribute('data-x', '1'), 1],
      ['a sheet pushed onto the adopted list in place (no setter)', () => {
        const c = new CSSStyleSheet();
        c.replaceSync('.pushed { outline: 1px dotted green }');
        document.adoptedStyleSheets.push(c);
      }, null],
    ]) {
      // Counts reads of the document's adopted list (Document's adoptedStyleSheets getter) by the batch.
      const reads = await s.customer.evaluate(`(${fn.toString()})(), (() => {
        const proto = Document.prototype;
        const desc = Object.getOwnPropertyDescriptor(proto, 'adoptedStyleSheets');
        let n = 0;
        Object.defineProperty(proto, 'adoptedStyleSheets', { ...desc, get() { n++; return desc.get.call(this); } });
        try {
          globalThis.__cap.flush();
        } finally {
          Object.defineProperty(proto, 'adoptedStyleSheets', desc);
        }
        return n;
      })()`);
      if (expected !== null) assert.equal(reads, expected, what);
      frames = await takeFrames(s.customer, false);
      assert.equal(frames.length, 1, what);
      assert.ok((await applyFrames(s.agent, frames)).every((r) => r.ok), what);
      checkMirror(await snapshotState(s.customer, s.agent), what);
      const r = await rules(s);
      assert.deepEqual(r.a, r.c, `${what}: mirror rules`);
      if (expected === null) assert.ok(r.a.some((t) => t.includes('.pushed')), `${what}: the pushed sheet's rule travels`);
    }
  } finally {
    await s.close();
  }
});

test('the first CSSOM edit of a large <style> maps its source pieces to its rules in one parse, not one per piece', async () => {
  const s = await session(`${server.base}/t/big.html`);
  try {
    // Counts the parses of constructed sheets the capture makes to map the pieces (the page's
    // replaceSync, hooked by the capture, wrapped once more here).
    const calls = await s.customer.evaluate(() => {
      const proto = CSSStyleSheet.prototype;
      const inner = proto.replaceSync;
      let n = 0;
      proto.replaceSync = function (...args) {
        n++;
        return inner.apply(this, args);
      };
      document.getElementById('big').sheet.insertRule('.first-edit { left: 1px }', 100);
      proto.replaceSync = inner;
      return n;
    });
    assert.equal(calls, 1);
    const text = await s.customer.evaluate(() => document.getElementById('big').sheet.cssRules[100].cssText);
    // The pieces stand for the rules: the edit costs one rule on the wire.
    await oneRuleOnTheWire(s, text, 'first insertRule');
  } finally {
    await s.close();
  }
});

test('the CSSOM hooks are installed once per window: stop and a new capture leave the prototypes as they are, and the new capture sees edits', async () => {
  const s = await session(`${server.base}/t/cssom.html`);
  try {
    // The wrapped methods and setter as the first capture installed them (not the browser's own).
    const hooks = () => s.customer.evaluate(() => {
      const fns = [
        CSSStyleSheet.prototype.insertRule,
        CSSStyleSheet.prototype.replaceSync,
        CSSGroupingRule.prototype.deleteRule,
        Object.getOwnPropertyDescriptor(Document.prototype, 'adoptedStyleSheets').set,
        Object.getOwnPropertyDescriptor(ShadowRoot.prototype, 'adoptedStyleSheets').set,
      ];
      globalThis.__hooks ??= fns;
      return { native: fns.map((f) => /\[native code\]/.test(Function.prototype.toString.call(f))), same: fns.map((f, i) => f === globalThis.__hooks[i]) };
    });
    const all = (v) => [v, v, v, v, v];
    assert.deepEqual(await hooks(), { native: all(false), same: all(true) }, 'first capture');
    await s.customer.evaluate(() => globalThis.__cap.stop());
    assert.deepEqual(await hooks(), { native: all(false), same: all(true) }, 'after stop');
    await startCapture(s.customer);
    assert.deepEqual(await hooks(), { native: all(false), same: all(true) }, 'second capture');
    assert.deepEqual(await applyFrames(s.agent, await takeFrames(s.customer, false)), [{ ok: true }]);
    // The second capture is told of CSSOM edits through the same wrappers.
    const text = await s.customer.evaluate(() => {
      const sheet = document.getElementById('s1').sheet;
      sheet.insertRule('.again { color: rgb(1, 2, 3) }', 1);
      const c = new CSSStyleSheet();
      c.replaceSync('.adopted-again { top: 2px }');
      document.adoptedStyleSheets = [c];
      return sheet.cssRules[1].cssText;
    });
    assert.equal(text, '.again { color: rgb(1, 2, 3); }');
    assert.ok((await applyFrames(s.agent, await takeFrames(s.customer))).every((r) => r.ok));
    checkMirror(await snapshotState(s.customer, s.agent), 'edits after the restart');
    const r = await rules(s);
    assert.deepEqual(r.a, r.c, 'mirror rules');
    assert.ok(JSON.stringify(r.a).includes('.again'), 'the inserted rule is in the mirror');
    assert.ok(JSON.stringify(r.a).includes('.adopted-again'), 'the adopted sheet is in the mirror');
  } finally {
    await s.close();
  }
});

test('a cross-origin stylesheet link\'s rules are tried once, not at every listing and capture (each failed read throws)', async () => {
  const cctx = await localContext(browser);
  try {
    const page = await cctx.newPage();
    await page.goto(`${server.base}/t/cross.html`, { waitUntil: 'load' });
    await loadHelpers(page, server.base);
    const r = await page.evaluate(() => {
      const sheet = document.querySelector('link').sheet;
      const desc = Object.getOwnPropertyDescriptor(CSSStyleSheet.prototype, 'cssRules');
      let reads = 0;
      let threw = 0;
      Object.defineProperty(CSSStyleSheet.prototype, 'cssRules', {
        ...desc,
        get() {
          if (this !== sheet) return desc.get.call(this);
          reads++;
          try {
            return desc.get.call(this);
          } catch (e) {
            threw++;
            throw e;
          }
        },
      });
      const frames = [];
      try {
        // A keyframe, a batch relisting the link's parent, a second capture's keyframe. Each
        // keyframe is finished (`flush`) before anything else happens: on a busy machine even
        // this page's walk can outlast its first slice, and the `meta` would then be in it.
        const a = globalThis.cobrowse.startCapture({ maxDelayMs: 1e9, onFrame: (b) => frames.push(b.length) });
        a.flush();
        document.head.appendChild(document.createElement('meta'));
        a.flush();
        a.stop();
        const b = globalThis.cobrowse.startCapture({ maxDelayMs: 1e9, onFrame: (f) => frames.push(f.length) });
        b.flush();
        b.stop();
      } finally {
        Object.defineProperty(CSSStyleSheet.prototype, 'cssRules', desc);
      }
      return { sheet: sheet !== null, reads, threw, frames: frames.length };
    });
    assert.deepEqual(r, { sheet: true, reads: 1, threw: 1, frames: 3 });
  } finally {
    await cctx.close();
  }
});
