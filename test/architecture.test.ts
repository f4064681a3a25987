/**
 * The layering rules of docs/architecture.md, checked on the imports of every TypeScript file
 * (test/helpers/imports.ts parses them with the TypeScript compiler): the SFU, the API and
 * the job worker depend on server/core and lib/, not on each other; no folder-level import
 * loop; every entry point opens its dependencies through server/core/deps.ts openDeps().
 * The last tests feed the checks a forbidden import, so they are known to fail when one
 * appears.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cycles, folderOf, importGraph, importsOf, type Edge } from './helpers/imports.ts';

const root = path.resolve(import.meta.dirname, '..');
/** Production code; test/ may reach into any module. */
const PRODUCTION = ['server', 'sfu', 'lib', 'standalone', 'scripts', 'bench'];
/** The processes' entry points and the one-process composition root. */
const ENTRY_POINTS = [
  'standalone/start.ts',
  'server/main.ts',
  'server/jobs/main.ts',
  'sfu/main.ts',
  'scripts/keys-rotate.ts',
  'bench/export.ts',
];
/** Composition roots that may start the job side (through its one starter). */
const JOB_STARTERS = ['server/main.ts', 'standalone/start.ts'];
/** API-only code the job worker must not import. */
const API_ONLY = [
  'server/routes/',
  'server/middleware/',
  'server/web/',
  'server/app.ts',
  'server/api.ts',
  'server/main.ts',
];
/** Calls that assemble dependencies by hand: only server/core may make them. */
const ASSEMBLY =
  /\b(openStorage|createMetrics|createMailer|startEmbeddedPostgres|withKeyReload|openDatabase|migrate)\(|Secrets\.load\(/g;
/** Files allowed an assembly call outside core: the export's worker thread opens its own small pool. */
const ASSEMBLY_EXCEPTIONS: Record<string, string[]> = { 'server/services/exportWorker.ts': ['openDatabase('] };

const under = (p: string, ...prefixes: string[]) => prefixes.some((x) => (x.endsWith('/') ? p.startsWith(x) : p === x));

interface Rule {
  readonly name: string;
  /** True when the edge breaks the rule. */
  readonly breaks: (e: Edge) => boolean;
}

const RULES: Rule[] = [
  {
    name: 'sfu/ imports only sfu/, server/core/ and lib/',
    breaks: (e) => under(e.from, 'sfu/') && !under(e.to, 'sfu/', 'server/core/', 'lib/'),
  },
  {
    name: 'server/core/ imports only server/core/ and lib/',
    breaks: (e) => under(e.from, 'server/core/') && !under(e.to, 'server/core/', 'lib/'),
  },
  {
    name: 'lib/ imports only lib/ (neither server/, sfu/ nor standalone/)',
    breaks: (e) => under(e.from, 'lib/') && !under(e.to, 'lib/'),
  },
  {
    name: 'server/ imports nothing from sfu/ or standalone/',
    breaks: (e) => under(e.from, 'server/') && under(e.to, 'sfu/', 'standalone/'),
  },
  {
    name: 'server/jobs/ imports no API code (routes, middleware, web, app, api, main)',
    breaks: (e) => under(e.from, 'server/jobs/') && under(e.to, ...API_ONLY),
  },
  {
    name: 'outside server/jobs/, only composition roots import it, and only its starter server/jobs/index.ts',
    breaks: (e) =>
      !under(e.from, 'server/jobs/') &&
      under(e.to, 'server/jobs/') &&
      !(e.to === 'server/jobs/index.ts' && JOB_STARTERS.includes(e.from)),
  },
  {
    name: 'only standalone/ (and the benchmarks) import sfu/ from outside it',
    breaks: (e) => !under(e.from, 'sfu/', 'standalone/', 'bench/') && under(e.to, 'sfu/'),
  },
];

/** Violations of RULES among `edges`, as readable lines. */
function violations(edges: readonly Edge[]): string[] {
  return RULES.flatMap((r) => edges.filter((e) => r.breaks(e)).map((e) => `${r.name}: ${e.from}:${e.line} → ${e.to}`));
}

const topFolder = (p: string) => (PRODUCTION.includes(p.split('/')[0] ?? '') ? p.split('/')[0] : undefined);
const serverPart = (p: string) => (p.startsWith('server/core/') ? 'server/core' : folderOf(p, 'server/'));
const corePart = (p: string) => folderOf(p, 'server/core/');
const file = (p: string) => p;

/** Every folder-level (and file-level) import loop among `edges`, as readable lines. */
function loops(edges: readonly Edge[]): string[] {
  return [
    ...cycles(edges, topFolder).map((c) => `top-level folders: ${c.join(' ↔ ')}`),
    ...cycles(edges, serverPart).map((c) => `server/ subfolders: ${c.join(' ↔ ')}`),
    ...cycles(edges, corePart).map((c) => `server/core/ parts: ${c.join(' ↔ ')}`),
    ...cycles(edges, file).map((c) => `files: ${c.join(' ↔ ')}`),
  ];
}

const edges = importGraph(root, PRODUCTION);
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

test('the import graph is read (a parser that finds nothing would pass every rule)', () => {
  assert.ok(edges.length > 300, `only ${edges.length} imports found`);
  assert.ok(edges.some((e) => e.from === 'sfu/main.ts' && e.to === 'server/core/deps.ts'));
  for (const e of edges) assert.ok(fs.existsSync(path.join(root, e.to)), `${e.from}:${e.line} imports missing ${e.to}`);
});

test('layering: sfu, core, lib, server and jobs import only what their layer may', () => {
  assert.deepEqual(violations(edges), []);
});

test('no import loop between top-level folders, server/ subfolders, core parts or files', () => {
  assert.deepEqual(loops(edges), []);
});

test('every entry point opens its dependencies through openDeps() of server/core/deps.ts', () => {
  for (const entry of ENTRY_POINTS) {
    const src = read(entry);
    assert.ok(
      importsOf(entry, src).some((e) => e.to === 'server/core/deps.ts'),
      `${entry} does not import server/core/deps.ts`,
    );
    assert.match(src, /\bopenDeps\(/, `${entry} does not call openDeps()`);
  }
});

test('outside server/core/ nothing assembles dependencies by hand', () => {
  const found: string[] = [];
  for (const f of new Set(edges.map((e) => e.from))) {
    if (f.startsWith('server/core/')) continue;
    for (const m of read(f).matchAll(ASSEMBLY)) {
      if (!ASSEMBLY_EXCEPTIONS[f]?.includes(m[0])) found.push(`${f}: ${m[0]}`);
    }
  }
  assert.deepEqual(found, []);
});

test('the checks fail on a forbidden import (each rule, and a loop)', () => {
  const edge = (from: string, to: string): Edge => ({ from, to, line: 1 });
  const forbidden = [
    edge('sfu/Room.ts', 'server/services/sessions.ts'),
    edge('server/core/logger.ts', 'server/repositories/orgs.ts'),
    edge('lib/media/ogg.ts', 'server/core/logger.ts'),
    edge('server/services/sessions.ts', 'sfu/Room.ts'),
    edge('server/jobs/transcribe.ts', 'server/routes/sessions/index.ts'),
    edge('server/routes/sessions/index.ts', 'server/jobs/sweep.ts'),
    edge('scripts/keys-rotate.ts', 'sfu/Room.ts'),
  ];
  for (const e of forbidden) assert.ok(violations([e]).length > 0, `${e.from} → ${e.to} was not caught`);
  // One more import from a file of the real graph makes a loop: services ↔ routes.
  const looped = [...edges, edge('server/services/sessions.ts', 'server/routes/sessions/index.ts')];
  assert.ok(loops(looped).some((l) => l.includes('server/routes') && l.includes('server/services')));
  // Parsing: type-only, dynamic and worker imports count.
  const src =
    "import type { A } from '../core/a.ts';\nconst m = await import('./b.ts');\nnew URL('./w.ts', import.meta.url);";
  assert.deepEqual(
    importsOf('server/services/x.ts', src).map((e) => e.to),
    ['server/core/a.ts', 'server/services/b.ts', 'server/services/w.ts'],
  );
});
