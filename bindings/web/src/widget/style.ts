// The widget's own styles (inside its shadow root: the site's CSS cannot reach them).
export const WIDGET_CSS = `
:host{all:initial}
.panel{position:fixed;right:16px;bottom:16px;z-index:2147483647;font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;color:#1b1f24;max-width:320px}
.panel.left{left:16px;right:auto}
.body{background:#fff;border:1px solid #d0d7de;border-radius:10px;box-shadow:0 8px 24px rgba(0,0,0,.18);padding:12px;margin-top:8px}
[hidden]{display:none!important}
button{font:inherit;border:1px solid #d0d7de;background:#f6f8fa;border-radius:6px;padding:4px 10px;cursor:pointer;margin:2px}
button.primary{background:#1f6feb;color:#fff;border-color:#1f6feb}
button.danger{background:#fff;color:#cf222e;border-color:#cf222e}
.sid{font-size:20px;letter-spacing:1px;font-variant-numeric:tabular-nums}
.state{font-weight:600;margin:4px 0}
.muted{color:#57606a;font-size:12px}
.request{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px;margin:6px 0}
.row{margin:4px 0}
.hidden{font-size:12px;margin:6px 0}
.hidden ul{margin:4px 0;padding-left:18px}
.link{background:#ddf4ff;border-radius:6px;padding:6px;margin:6px 0}
.chat .log{max-height:120px;overflow:auto;font-size:13px}
.chat input{font:inherit;width:190px;padding:3px}
`;
