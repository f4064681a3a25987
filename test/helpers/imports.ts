/**
 * The import graph of the repository's TypeScript, for test/architecture.test.ts: every
 * relative import (static, dynamic, type-only, re-export, `new URL('./x.ts', import.meta.url)`
 * worker entries) resolved to a repository path, and the cycle search over a graph of
 * folders or files.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import: the importing file, the imported repository path, and the line it is on. */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

/** Every .ts file under `roots` (repository-relative, forward slashes), skipping node_modules. */
export function tsFiles(repoRoot: string, roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(repoRoot, rel);
    if (!fs.existsSync(abs)) return;
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory() && e.name !== 'node_modules') walk(child);
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(child);
    }
  };
  for (const r of roots) walk(r);
  return out.sort();
}

/** The relative imports of one file's source, resolved against `file` (repository path). */
export function importsOf(file: string, source: string): Edge[] {
  const info = ts.preProcessFile(source, true, true);
  const specs = info.importedFiles.map((f) => ({ spec: f.fileName, pos: f.pos }));
  // Worker entries are imports too: new URL('./exportWorker.ts', import.meta.url).
  for (const m of source.matchAll(/new URL\(\s*['"](\.[^'"]+\.ts)['"]\s*,\s*import\.meta\.url/g))
    specs.push({ spec: m[1] ?? '', pos: m.index });
  const edges: Edge[] = [];
  for (const { spec, pos } of specs) {
    if (!spec.startsWith('.')) continue;
    const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    edges.push({ from: file, to, line: source.slice(0, pos).split('\n').length });
  }
  return edges;
}

/** The import edges of every file under `roots`. */
export function importGraph(repoRoot: string, roots: readonly string[]): Edge[] {
  return tsFiles(repoRoot, roots).flatMap((f) => importsOf(f, fs.readFileSync(path.join(repoRoot, f), 'utf8')));
}

/**
 * The cycles of the graph whose nodes are `group(path)` (edges inside one node ignored):
 * one cycle per strongly connected component of more than one node, each as the node names.
 */
export function cycles(edges: readonly Edge[], group: (p: string) => string | undefined): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = group(e.from);
    const b = group(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    if (!next.has(a)) next.set(a, new Set());
    next.get(a)?.add(b);
    if (!next.has(b)) next.set(b, new Set());
  }
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!idx.has(v)) visit(v);
  return found;
}

/** The part of `p` below `prefix` up to the next slash, e.g. ('server/routes/x.ts', 'server/') → 'server/routes'. */
export function folderOf(p: string, prefix: string): string | undefined {
  if (!p.startsWith(prefix)) return undefined;
  const rest = p.slice(prefix.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? p : prefix + rest.slice(0, slash);
}
