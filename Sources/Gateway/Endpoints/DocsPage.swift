import Foundation
import HTTPTypes
import HummingbirdCore
import ServiceKit

/// Self-contained HTML pages that render `/openapi.json` (no CDN): an explorer with a "try it"
/// panel at `/docs`, a read-only reference at `/redoc`.
enum DocsPage {
    enum Style {
        case swagger, redoc
    }

    static func response(_ style: Style) -> Response {
        let nonce = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let html = template
            .replacingOccurrences(of: "{{NONCE}}", with: nonce)
            .replacingOccurrences(of: "{{TRY}}", with: style == .swagger ? "true" : "false")
            .replacingOccurrences(of: "{{TITLE}}", with: style == .swagger ? "MySehat API — explorer" : "MySehat API — reference")
        var response = Response.text(html, contentType: "text/html; charset=utf-8")
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        return response
    }

    static let template = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style nonce="{{NONCE}}">
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#0f5c4d;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
.tag{margin:22px 0 8px;font-size:17px;border-bottom:1px solid #d5d9e3;padding-bottom:4px}
.op{background:#fff;border:1px solid #d5d9e3;border-radius:6px;margin:6px 0}
.op summary{cursor:pointer;padding:8px 12px;display:flex;gap:12px;align-items:center;list-style:none}
.m{font-weight:700;font-size:12px;min-width:62px;text-align:center;border-radius:4px;padding:3px 0;color:#fff}
.GET{background:#2f7ed8}.POST{background:#3aa564}.PUT{background:#d59a20}.PATCH{background:#8e5bd1}.DELETE{background:#d9534f}.HEAD{background:#777}
code{font-family:ui-monospace,Menlo,monospace}.desc{padding:0 12px 10px;color:#4a5163}
.try{padding:0 12px 12px}.try input,.try textarea{width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;margin:3px 0}
.try button{background:#0f5c4d;color:#fff;border:0;border-radius:4px;padding:6px 14px;cursor:pointer}
pre{background:#1d2330;color:#e6e6e6;padding:10px;border-radius:4px;overflow:auto;max-height:360px}
#token{width:420px;max-width:100%}#filter{width:280px}
</style></head>
<body><header><h1>{{TITLE}}</h1><p id="info">Loading /openapi.json…</p></header>
<main><p><input id="filter" placeholder="Filter paths"> <input id="token" placeholder="Bearer token (optional)"></p><div id="ops"></div></main>
<script nonce="{{NONCE}}">
const TRY = {{TRY}};
const el = (tag, attrs = {}, ...children) => { const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c); return e; };
async function main() {
  const doc = await (await fetch('/openapi.json')).json();
  document.getElementById('info').textContent = doc.info.title + ' ' + doc.info.version + ' — OpenAPI ' + doc.openapi;
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) {
    const tag = (op.tags || ['other'])[0]; (byTag[tag] = byTag[tag] || []).push({ path, method: method.toUpperCase(), op });
  }
  const root = document.getElementById('ops');
  const render = () => {
    const q = document.getElementById('filter').value.toLowerCase(); root.replaceChildren();
    for (const tag of Object.keys(byTag).sort()) {
      const ops = byTag[tag].filter(o => o.path.toLowerCase().includes(q)); if (!ops.length) continue;
      root.append(el('h2', { class: 'tag' }, tag));
      for (const o of ops) {
        const d = el('details', { class: 'op' });
        d.append(el('summary', {}, el('span', { class: 'm ' + o.method }, o.method), el('code', {}, o.path), el('span', {}, o.op.summary || '')));
        d.append(el('div', { class: 'desc' }, o.op.description || ''));
        if (TRY) d.append(tryPanel(o)); root.append(d);
      }
    }
  };
  document.getElementById('filter').addEventListener('input', render); render();
}
function tryPanel(o) {
  const box = el('div', { class: 'try' }); const url = el('input', { value: o.path });
  const body = el('textarea', { rows: '4', placeholder: 'JSON body' }); const out = el('pre', {}, '');
  const go = el('button', {}, 'Send'); box.append(url); if (!['GET', 'HEAD', 'DELETE'].includes(o.method)) box.append(body); box.append(go, out);
  go.addEventListener('click', async () => {
    const headers = {}; const token = document.getElementById('token').value.trim();
    if (token) headers['Authorization'] = 'Bearer ' + token; if (body.value) headers['Content-Type'] = 'application/json';
    const res = await fetch(url.value, { method: o.method, headers, body: body.value && o.method !== 'GET' ? body.value : undefined });
    const text = await res.text(); let shown = text; try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
    out.textContent = res.status + ' ' + res.statusText + '\n\n' + shown;
  });
  return box;
}
main().catch(e => { document.getElementById('info').textContent = 'Could not load /openapi.json: ' + e; });
</script></body></html>
"""#
}
