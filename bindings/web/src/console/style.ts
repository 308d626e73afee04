// The console's styles (scoped under .cbc).
export const CONSOLE_CSS = `
.cbc{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;color:#1b1f24;display:flex;flex-direction:column;height:100vh;box-sizing:border-box}
.cbc [hidden]{display:none!important}
.cbc .bar{display:flex;gap:6px;align-items:center;padding:6px 8px;border-bottom:1px solid #d0d7de;flex-wrap:wrap}
.cbc .header{background:#f6f8fa}
.cbc .sid{font-weight:700;letter-spacing:1px}
.cbc .pill{background:#ddf4ff;border-radius:10px;padding:1px 8px}
.cbc .muted{color:#57606a;font-size:12px}
.cbc button{font:inherit;border:1px solid #d0d7de;background:#f6f8fa;border-radius:6px;padding:3px 9px;cursor:pointer}
.cbc button.primary{background:#1f6feb;color:#fff}
.cbc button.danger{color:#cf222e;border-color:#cf222e}
.cbc button.on{background:#ffd33d}
.cbc button:disabled{opacity:.5;cursor:default}
.cbc .url{flex:1;font:inherit;padding:3px 6px}
.cbc .notice{color:#9a6700;padding:0 8px;min-height:1.2em}
.cbc .denial{color:#cf222e;padding:0 8px;min-height:1.2em}
.cbc .main{flex:1;display:flex;min-height:0}
.cbc .viewport{flex:1;overflow:auto;background:#e6e8eb;position:relative}
.cbc .stage{position:relative;margin:2px}
.cbc .stage iframe{border:0;background:#fff;transform-origin:0 0;position:absolute;left:0;top:0}
.cbc .glass{position:absolute;left:0;top:0;cursor:crosshair}
.cbc .cpointer{position:absolute;width:10px;height:10px;margin:-5px 0 0 -5px;border-radius:50%;background:#2da44e;pointer-events:none}
.cbc .hl{position:absolute;border:3px solid rgba(255,170,0,.95);background:rgba(255,200,0,.18);border-radius:4px;pointer-events:none}
.cbc .editor{position:absolute;font:inherit;border:2px solid #1f6feb;box-sizing:border-box}
.cbc .side{width:260px;border-left:1px solid #d0d7de;display:flex;flex-direction:column;padding:6px;gap:6px}
.cbc .side .log{flex:1;overflow:auto;font-size:13px}
.cbc .side input{width:170px}
`;
