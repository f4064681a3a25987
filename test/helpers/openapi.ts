/**
 * Validates real API answers against the OpenAPI document the server publishes: each answer's
 * status must be documented for its route, and a JSON body must match the schema documented
 * for that status (ajv, JSON Schema 2020-12, with formats).
 */
import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { HttpClient, type Res } from './http.ts';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** One answer as the tests saw it. */
export interface Seen {
  method: string;
  path: string;
  res: Res<unknown>;
}

export class OpenApiChecker {
  readonly doc: Json;
  readonly #ajv: Ajv2020;
  readonly #routes: { template: string; re: RegExp; params: number }[];
  readonly #compiled = new Map<string, ValidateFunction>();
  /** Operations (`METHOD template`) that some checked answer exercised, by status. */
  readonly covered = new Map<string, Set<number>>();

  constructor(doc: Json) {
    this.doc = doc;
    this.#ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    this.#routes = Object.keys(obj(doc.paths)).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      params: (template.match(/\{/g) ?? []).length,
    }));
  }

  /** The documented path template of a concrete path (the most literal one that matches). */
  templateOf(path: string): string | undefined {
    const bare = path.split('?')[0] ?? path;
    return this.#routes.filter((r) => r.re.test(bare)).sort((a, b) => a.params - b.params)[0]?.template;
  }

  /** The JSON Schema of an operation's answer, or undefined when the status is not documented. */
  responseOf(method: string, template: string, status: number): { schema?: Json } | undefined {
    const op = obj(obj(obj(this.doc.paths)[template])[method.toLowerCase()]);
    const r = obj(op.responses)[String(status)];
    if (!r) return undefined;
    const schema = obj(obj(obj(r).content)['application/json']).schema;
    return schema ? { schema: schema as Json } : {};
  }

  /** Every JSON Schema in the document compiles (it is valid 2020-12). */
  compileAll(): number {
    let n = 0;
    for (const [template, item] of Object.entries(obj(this.doc.paths)))
      for (const [method, op] of Object.entries(obj(item))) {
        for (const [status, r] of Object.entries(obj(obj(op).responses))) {
          const schema = obj(obj(obj(r).content)['application/json']).schema;
          if (!schema) continue;
          this.#validator(`${method} ${template} ${status}`, schema as Json);
          n++;
        }
        const body = obj(obj(obj(obj(op).requestBody).content)['application/json']).schema;
        if (!body) continue;
        this.#validator(`${method} ${template} body`, body as Json);
        n++;
      }
    return n;
  }

  #validator(key: string, schema: Json): ValidateFunction {
    let v = this.#compiled.get(key);
    if (!v) {
      v = this.#ajv.compile(schema);
      this.#compiled.set(key, v);
    }
    return v;
  }

  /** @throws AssertionError when the answer's route or status is undocumented or its body does not match. */
  check(s: Seen): void {
    const template = this.templateOf(s.path);
    const what = `${s.method} ${s.path} -> ${s.res.status}`;
    assert.ok(template, `${what}: no such path in the OpenAPI document`);
    const doc = this.responseOf(s.method, template, s.res.status);
    assert.ok(
      doc,
      `${what}: status ${s.res.status} is not documented for ${s.method} ${template} (${s.res.text.slice(0, 200)})`,
    );
    const key = `${s.method.toUpperCase()} ${template}`;
    let set = this.covered.get(key);
    if (!set) this.covered.set(key, (set = new Set()));
    set.add(s.res.status);
    const isJson = /application\/json/.test(s.res.headers.get('content-type') ?? '');
    if (!doc.schema) {
      assert.ok(!isJson || s.res.status === 204 || s.res.text === '', `${what}: undocumented JSON body`);
      return;
    }
    assert.ok(isJson, `${what}: documented as JSON, got ${s.res.headers.get('content-type')}`);
    const validate = this.#validator(`${s.method.toLowerCase()} ${template} ${s.res.status}`, doc.schema);
    assert.ok(
      validate(s.res.body),
      `${what}: body does not match the document: ${JSON.stringify(validate.errors?.slice(0, 5))} in ${s.res.text.slice(0, 300)}`,
    );
  }
}

/** An HttpClient that records every answer it gets (to check them against the document afterwards). */
export class RecordingClient extends HttpClient {
  readonly seen: Seen[];
  constructor(base: string, seen: Seen[]) {
    super(base);
    this.seen = seen;
  }
  override async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Res<T>> {
    const res = await super.request<T>(method, path, body, headers);
    this.seen.push({ method, path, res });
    return res;
  }
}
