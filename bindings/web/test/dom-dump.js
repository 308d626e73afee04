// A canonical dump of a live DOM, in exactly the format of wasm/src/dump.rs, so tests can
// compare a page (or the agent's iframe) with the engine's trees. Evaluated in the page as a
// plain script: defines globalThis.domDump(root, skipFlagAttrs, view). `view` (optional, the
// capture's `debugPageView()`) gives children, attribute values and text as the capture tells
// the engine (URLs resolved, CSSOM rules as style text, capture-owned style elements).
globalThis.domDump = function domDump(root, skipFlagAttrs, view) {
  const XHTML = 'http://www.w3.org/1999/xhtml';
  const elPrefix = {
    [XHTML]: '',
    'http://www.w3.org/2000/svg': 'svg:',
    'http://www.w3.org/1998/Math/MathML': 'math:',
  };
  const attrPrefix = {
    'http://www.w3.org/1999/xlink': 'xlink:',
    'http://www.w3.org/XML/1998/namespace': 'xml:',
    'http://www.w3.org/2000/xmlns/': 'xmlns:',
  };
  const esc = (s) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  // The replayer's view-flag attributes (replay.ts FLAG_ATTRS); never part of the page.
  const FLAG_ATTRS = new Set(['data-cobrowse-blocked', 'data-cobrowse-masked', 'data-cobrowse-disabled']);
  const isHtml = (el, name) => el.localName === name && el.namespaceURI === XHTML;
  const lines = [];
  const stack = [[root, 0]];
  while (stack.length > 0) {
    const [n, depth] = stack.pop();
    let line = '  '.repeat(depth);
    let kids = [];
    if (view) kids = view.children(n);
    else for (let c = n.firstChild; c !== null; c = c.nextSibling) kids.push(c);
    switch (n.nodeType) {
      case 9:
        line += '#document';
        break;
      case 11:
        line += '#fragment';
        break;
      case 10:
        line += `<!DOCTYPE ${esc(n.name)} "${esc(n.publicId)}" "${esc(n.systemId)}">`;
        break;
      case 3:
      case 4:
        line += `"${esc(view ? view.text(n) : n.data)}"`;
        break;
      case 8:
      case 7:
        line += `<!--${esc(n.data)}-->`;
        break;
      case 1: {
        const p = elPrefix[n.namespaceURI] ?? 'none:';
        line += `<${p}${n.localName}`;
        // The replayer's iframes showing a content document keep their URLs from loading
        // under these names (replay.ts); the page had them as `src` / `srcdoc`.
        const frameDoc = skipFlagAttrs && isHtml(n, 'iframe') ? n[Symbol.for('cobrowse.frameDocument')] : undefined;
        for (const a of n.attributes) {
          if (skipFlagAttrs && FLAG_ATTRS.has(a.name)) continue;
          let ap = attrPrefix[a.namespaceURI] ?? '';
          if (a.namespaceURI === 'http://www.w3.org/2000/xmlns/' && a.localName === 'xmlns') ap = '';
          let local = a.localName;
          if (isHtml(n, 'iframe') && skipFlagAttrs && (local === 'data-cobrowse-src' || local === 'data-cobrowse-srcdoc')) local = local.slice(14);
          line += ` ${ap}${local}="${esc(view ? view.attr(a) : a.value)}"`;
        }
        // A same-origin iframe's document: the capture's view has it as the iframe's child; in
        // the mirror it is the document the replayer filled.
        if (frameDoc) kids = [frameDoc];
        if (isHtml(n, 'input') && n.type !== 'file') {
          if (n.type === 'checkbox' || n.type === 'radio') {
            if (n.checked !== n.defaultChecked) line += ` :checked=${n.checked}`;
          } else if (n.value !== n.defaultValue) {
            line += ` :value="${esc(n.value)}"`;
          }
        } else if (isHtml(n, 'textarea') && n.value !== n.defaultValue) {
          line += ` :value="${esc(n.value)}"`;
        } else if (isHtml(n, 'option') && n.selected !== n.defaultSelected) {
          line += ` :selected=${n.selected}`;
        }
        line += '>';
        if (isHtml(n, 'template')) {
          // The capture's (and the replayer's) stand-in for an open shadow root: its host's.
          const host = n.hasAttribute('data-cobrowse-shadow') ? n.parentNode : null;
          kids = [view ? view.contents(n) : (host?.shadowRoot ?? n.content)];
        }
        break;
      }
      default:
        line += '<!---->';
    }
    lines.push(line);
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
  return lines.join('\n') + '\n';
};
