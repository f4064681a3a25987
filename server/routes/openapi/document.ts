/**
 * Builds the OpenAPI 3.1 document from the route registry (registry.ts): zod schemas become
 * JSON Schema 2020-12 (`z.toJSONSchema`), and each operation gets its auth, roles, request,
 * responses and every error code it can answer, the common ones added by kind of route.
 */
import { z } from 'zod';
import type { RouteDoc } from './registry.ts';

type Json = Record<string, unknown>;

/** The JSON Schema of `schema`, as a request (`input`: defaults optional) or a response (`output`). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  return withoutFormatPatterns(rest) as Json;
}

const FORMATS = new Set(['uuid', 'date-time', 'email']);

/** zod writes a long regex beside `format` for uuids, times and addresses; the format says it. */
function withoutFormatPatterns(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutFormatPatterns);
  if (!v || typeof v !== 'object') return v;
  const o = v as Json;
  const drop = typeof o.format === 'string' && FORMATS.has(o.format);
  return Object.fromEntries(
    Object.entries(o)
      .filter(([k]) => !(drop && k === 'pattern'))
      .map(([k, x]) => [k, withoutFormatPatterns(x)]),
  );
}

/** `/api/orgs/:orgId/x` → `/api/orgs/{orgId}/x`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z][A-Za-z0-9_]*)/g, '{$1}');
}

const WRITE = new Set(['post', 'put', 'patch', 'delete']);

/** Every error code the route can answer, by status: its own and those of its kind. */
export function errorCodes(r: RouteDoc): Map<number, string[]> {
  const out = new Map<number, Set<string>>();
  const add = (status: number, code: string) => {
    let s = out.get(status);
    if (!s) out.set(status, (s = new Set()));
    s.add(code);
  };
  const api = r.path.startsWith('/api/');
  const pathParams = [...r.path.matchAll(/:([A-Za-z]\w*)/g)].map((m) => m[1]);
  if (r.body || r.query || pathParams.some((p) => p !== 'orgId')) add(400, 'invalid_input');
  if (r.body) add(400, 'invalid_json');
  // Any /api request that carries an Authorization header is proven by it (or refused).
  if (api) add(401, 'invalid_api_key');
  if (api) add(429, 'rate_limited'); // (API keys: too many uncached key hashes from one client)
  if (api && WRITE.has(r.method)) add(403, 'csrf_failed');
  if (r.auth === 'cookie' || r.auth === 'org') add(401, 'unauthenticated');
  if (r.auth === 'operator') {
    add(401, 'unauthorized'); // a missing or wrong FLEET_ADMIN_TOKEN
    add(404, 'not_found'); // FLEET_ADMIN_TOKEN unset: the operators' API is off
  }
  if (r.auth === 'org') {
    add(404, 'org_not_found');
    if (WRITE.has(r.method)) add(423, 'org_pending_deletion');
    if (r.roles && !r.roles.includes('admin')) add(403, 'owner_required');
    else if (r.roles && !r.roles.includes('member')) add(403, 'admin_required');
    if (r.keys === false) add(403, 'api_key_forbidden');
  }
  add(500, 'internal');
  for (const [status, codes] of Object.entries(r.errors ?? {})) for (const c of codes) add(Number(status), c);
  return new Map([...out].sort(([a], [b]) => a - b).map(([s, c]) => [s, [...c].sort()]));
}

/** The JSON body of an error answer with one of `codes`. */
export function errorSchema(codes: readonly string[]): Json {
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', enum: [...codes] },
          message: { type: 'string' },
          fields: {
            type: 'array',
            items: {
              type: 'object',
              required: ['field', 'problem'],
              properties: { field: { type: 'string' }, problem: { type: 'string' } },
            },
          },
          request_id: { type: 'string' },
        },
      },
    },
  };
}

function security(r: RouteDoc): Json[] {
  if (r.auth === 'none') return [];
  if (r.auth === 'operator') return [{ fleet_admin_token: [] }];
  if (r.auth === 'cookie' || r.keys === false) return [{ session_cookie: [] }];
  return [{ session_cookie: [] }, { api_key: [] }];
}

function parameters(r: RouteDoc): Json[] {
  const shape = r.params?.shape ?? {};
  const path = [...r.path.matchAll(/:([A-Za-z]\w*)/g)].map((m) => m[1] ?? '');
  const params: Json[] = path.map((name) => {
    const s = (shape as Record<string, z.ZodType | undefined>)[name] ?? (name === 'orgId' ? z.uuid() : z.string());
    return { name, in: 'path', required: true, schema: jsonSchema(s, 'input') };
  });
  for (const [name, s] of Object.entries<z.ZodType>(r.query?.shape ?? {})) {
    const optional = s.safeParse(undefined).success;
    params.push({ name, in: 'query', required: !optional, schema: jsonSchema(s, 'input') });
  }
  return params;
}

function describe(r: RouteDoc): string {
  const who =
    r.auth === 'none'
      ? 'No sign-in needed.'
      : r.auth === 'cookie'
        ? 'A signed-in person (session cookie); API keys are not accepted.'
        : r.auth === 'operator'
          ? 'Operators only: `Authorization: Bearer <FLEET_ADMIN_TOKEN>`. Without that setting the route answers 404 `not_found`.'
          : `Members of the organisation${r.roles ? ` with role ${r.roles.join(' or ')}` : ''}, by session cookie${
              r.keys === false
                ? ' only: API keys are refused (403 `api_key_forbidden`)'
                : ' or by an API key of the organisation (its role counts)'
            }.`;
  return [r.description, who].filter(Boolean).join('\n\n');
}

function operation(r: RouteDoc): Json {
  const responses: Json = {};
  for (const [status, s] of Object.entries(r.responses)) {
    responses[status] = {
      description: s.description,
      ...(s.schema
        ? { content: { 'application/json': { schema: jsonSchema(s.schema, 'output') } } }
        : s.content
          ? { content: Object.fromEntries(s.content.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) }
          : {}),
    };
  }
  for (const [status, codes] of errorCodes(r)) {
    responses[String(status)] = {
      description: `Error: ${codes.map((c) => `\`${c}\``).join(', ')}`,
      content: { 'application/json': { schema: errorSchema(codes) } },
    };
  }
  const params = parameters(r);
  return {
    operationId: `${r.method}${openApiPath(r.path)
      .replace(/[{}]/g, '')
      .split(/[/-]/)
      .filter(Boolean)
      .map((w) => w[0]?.toUpperCase() + w.slice(1))
      .join('')}`,
    summary: r.summary,
    description: describe(r),
    tags: [r.tag],
    security: security(r),
    ...(params.length ? { parameters: params } : {}),
    ...(r.body
      ? {
          requestBody: {
            required: !r.bodyOptional,
            content: { 'application/json': { schema: jsonSchema(r.body, 'input') } },
          },
        }
      : {}),
    responses,
    'x-auth': r.auth,
    ...(r.roles ? { 'x-roles': [...r.roles] } : {}),
    ...(r.auth === 'org' ? { 'x-api-keys': r.keys !== false } : {}),
  };
}

/** The OpenAPI 3.1 document of `routes`. */
export function buildDocument(routes: readonly RouteDoc[], serverUrl: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const p = openApiPath(r.path);
    const entry = (paths[p] ??= {});
    entry[r.method] = operation(r);
  }
  const tags = [...new Set(routes.map((r) => r.tag))].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Recorder API',
      version: '1',
      description:
        'Organisations, members, recording sessions, tracks, transcripts, data lifecycle and billing. ' +
        'Errors are `{"error": {"code", "message"}}` with a stable snake_case code. ' +
        'Scripts authenticate with an organisation API key: `Authorization: Bearer rec_…` on `/api/orgs/{orgId}/…` routes.',
    },
    servers: [{ url: serverUrl }],
    tags,
    components: {
      securitySchemes: {
        session_cookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'sid',
          description:
            'The browser session after sign-in. State-changing requests must send the `csrf_token` cookie value in `x-csrf-token`.',
        },
        api_key: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An organisation API key (`rec_<prefix>_<secret>`). Cookies are ignored and CSRF does not apply.',
        },
        fleet_admin_token: {
          type: 'http',
          scheme: 'bearer',
          description: "The operators' token (FLEET_ADMIN_TOKEN) for /api/fleet/*; unset, that API answers 404.",
        },
      },
    },
    paths,
  };
}
