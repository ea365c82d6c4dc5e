import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The house rules read from the imports themselves (type-only imports included: they are edges too). */
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
const MAX_LINES = 420;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

/** Each source file (relative to src/) and the source files it imports. */
function importGraph(files: string[] = sourceFiles(SRC)): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = path.resolve(path.dirname(file), (m[1] ?? m[2])!).replace(/\.js$/, '.ts');
      if (known.has(target)) targets.add(path.relative(SRC, target));
    }
    graph.set(path.relative(SRC, file), [...targets]);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan): each is an import circle. */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const layer = (file: string) => file.split(path.sep)[0]!;

describe('the house, read from the imports', () => {
  const graph = importGraph();

  it('finds the files and their imports (so the rules below can fail)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get(path.join('server', 'http.ts'))).toContain(path.join('context', 'request-context.ts'));
  });

  it('modules and the request context never import the GraphQL layer or the server', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      ['modules', 'context'].includes(layer(file)) ? targets.filter((t) => ['graphql', 'server'].includes(layer(t))).map((t) => `${file} -> ${t}`) : [],
    );
    expect(wrong).toEqual([]);
  });

  it('has no import circles', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('sees a circle when there is one', () => {
    const a = path.join('modules', 'a.ts');
    const b = path.join('graphql', 'b.ts');
    expect(circles(new Map([[a, [b]], [b, [a]]]))).toEqual([[b, a].sort()]);
  });

  it(`keeps every source file under ${MAX_LINES} lines`, () => {
    const long = sourceFiles(SRC)
      .map((file) => ({ file: path.relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
