/**
 * The API reference page: the OpenAPI document rendered as plain HTML on the server (no
 * script, nothing from another origin: the CSP stays strict), styled by the design system.
 */

type Json = Record<string, unknown>;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** `code` spans for backticked words; everything else escaped. */
const prose = (s: string) =>
  s
    .split(/\n\n+/)
    .map((p) => `<p>${esc(p).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
    .join('');
const anchor = (method: string, path: string) =>
  `${method}-${path}`
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();

/** A parameter's schema in a few words: `string (uuid)`, `integer 1–500, default 100`, `txt | srt`. */
function brief(schema: unknown): string {
  const s = obj(schema);
  if (Array.isArray(s.enum)) return s.enum.map((x) => JSON.stringify(x)).join(' | ');
  const range = [s.minimum ?? s.minLength, s.maximum ?? s.maxLength].map((x) =>
    typeof x === 'number' ? String(x) : '',
  );
  return [
    str(s.type) || 'value',
    s.format ? `(${str(s.format)})` : '',
    range.some(Boolean) ? `${range[0] || '…'}–${range[1] || '…'}` : '',
    s.pattern ? `matching ${str(s.pattern)}` : '',
    s.default !== undefined ? `default ${JSON.stringify(s.default)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function schemaBlock(schema: unknown, label: string): string {
  return `<details><summary>${esc(label)}</summary><pre><code>${esc(JSON.stringify(schema, null, 2))}</code></pre></details>`;
}

function operationHtml(path: string, method: string, op: Json): string {
  const params = (Array.isArray(op.parameters) ? op.parameters : []).map(obj);
  const body = obj(obj(obj(op.requestBody).content)['application/json']).schema;
  const responses = Object.entries(obj(op.responses));
  const roles = Array.isArray(op['x-roles']) ? (op['x-roles'] as string[]) : [];
  const auth = str(op['x-auth']);
  const who =
    auth === 'none'
      ? 'No sign-in'
      : auth === 'cookie'
        ? 'Session cookie'
        : auth === 'operator'
          ? 'Operators (FLEET_ADMIN_TOKEN bearer token)'
          : `Session cookie${op['x-api-keys'] === false ? '' : ' or API key'}; ${roles.length ? roles.join(', ') : 'any member'}`;
  return `<section class="card" id="${anchor(method, path)}" aria-labelledby="${anchor(method, path)}-h">
<h3 id="${anchor(method, path)}-h"><code>${esc(method.toUpperCase())} ${esc(path)}</code></h3>
<p><strong>${esc(str(op.summary))}</strong></p>
${prose(str(op.description))}
<p>Who: ${esc(who)}</p>
${
  params.length
    ? `<table><caption>Parameters</caption><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Required</th><th scope="col">Schema</th></tr></thead><tbody>${params
        .map(
          (p) =>
            `<tr><td><code>${esc(str(p.name))}</code></td><td>${esc(str(p.in))}</td><td>${p.required ? 'yes' : 'no'}</td><td>${esc(brief(p.schema))}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : ''
}
${body ? schemaBlock(body, 'Request body (JSON)') : ''}
<table><caption>Responses</caption><thead><tr><th scope="col">Status</th><th scope="col">Meaning</th><th scope="col">Body</th></tr></thead><tbody>${responses
    .map(([status, r]) => {
      const content = obj(obj(r).content);
      const json = obj(content['application/json']).schema;
      const types = Object.keys(content).filter((t) => t !== 'application/json');
      return `<tr><td>${esc(status)}</td><td>${esc(str(obj(r).description)).replace(/`([^`]+)`/g, '<code>$1</code>')}</td><td>${
        json && !status.startsWith('4') && !status.startsWith('5')
          ? schemaBlock(json, 'Schema')
          : types.length
            ? esc(types.join(', '))
            : json
              ? 'error'
              : '—'
      }</td></tr>`;
    })
    .join('')}</tbody></table>
</section>`;
}

/** The reference page of `doc` (an OpenAPI 3.1 document built by document.ts). */
export function referencePage(doc: Json): string {
  const info = obj(doc.info);
  const paths = Object.entries(obj(doc.paths));
  const byTag = new Map<string, string[]>();
  const toc = new Map<string, string[]>();
  for (const [path, item] of paths)
    for (const [method, raw] of Object.entries(obj(item))) {
      const op = obj(raw);
      const tag = str((op.tags as string[] | undefined)?.[0]) || 'other';
      (byTag.get(tag) ?? byTag.set(tag, []).get(tag) ?? []).push(operationHtml(path, method, op));
      (toc.get(tag) ?? toc.set(tag, []).get(tag) ?? []).push(
        `<li><a href="#${anchor(method, path)}"><code>${esc(method.toUpperCase())} ${esc(path)}</code></a></li>`,
      );
    }
  const schemes = Object.entries(obj(obj(doc.components).securitySchemes));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>API reference · Recorder</title><link rel="stylesheet" href="/static/app.bundle.css"></head>
<body data-page="api-reference">
<header class="topbar"><a class="brand" href="/">Recorder</a></header>
<main id="main" class="wide">
<h1>${esc(str(info.title))}</h1>
${prose(str(info.description))}
<p>The machine-readable document: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${esc(str(doc.openapi))}).</p>
<h2>Authentication</h2>
<ul>${schemes.map(([name, s]) => `<li><code>${esc(name)}</code>: ${prose(str(obj(s).description))}</li>`).join('')}</ul>
<nav aria-label="Endpoints"><h2>Endpoints</h2>${[...toc]
    .map(([tag, items]) => `<h3>${esc(tag)}</h3><ul>${items.join('')}</ul>`)
    .join('')}</nav>
${[...byTag].map(([tag, ops]) => `<h2>${esc(tag)}</h2>${ops.join('\n')}`).join('\n')}
</main>
</body></html>`;
}
