/**
 * A self-contained docs page (no CDN: it works offline): every operation with its summary,
 * auth, parameters and schemas, from the OpenAPI document.
 */
export function docsPage(document: object): string {
  const doc = document as {
    info: { title: string; description?: string };
    paths: Record<string, Record<string, Operation>>;
  };
  const escapeHtml = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const sections = Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(
        ([method, op]) => `
    <details><summary><b class="m ${method}">${method.toUpperCase()}</b> <code>${escapeHtml(path)}</code> — ${escapeHtml(op.summary ?? '')} <i>${escapeHtml((op.tags ?? []).join(', '))}</i></summary>
      <pre>${escapeHtml(JSON.stringify({ parameters: op.parameters, requestBody: op.requestBody, responses: op.responses }, null, 2))}</pre>
    </details>`,
      ),
    )
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(doc.info.title)}</title>
<style>body{font:15px system-ui;margin:2rem auto;max-width:60rem}details{border-bottom:1px solid #ddd;padding:.4rem}
pre{background:#f6f6f6;padding:1rem;overflow:auto;font-size:12px}.m{display:inline-block;width:4rem}.get{color:#07a}.post{color:#080}.patch{color:#a60}i{color:#888}</style>
</head><body><h1>${escapeHtml(doc.info.title)}</h1><p>${escapeHtml(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Schemas are under <code>components</code> there.</p>
${sections}</body></html>`;
}

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: unknown;
  requestBody?: unknown;
  responses?: unknown;
}
