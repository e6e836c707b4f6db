/**
 * Fails on import cycles among the TypeScript files under the given roots (default: lib functions tools),
 * between files and between folders: `npx tsx tools/check-import-cycles.ts [--strict-folders] [root...]`.
 * Paths print relative to the working directory.
 *
 * Folders: by default a folder holds its subfolders, and the subfolders of each folder must not import
 * each other in a cycle (lib/worker -> lib/reclaimer -> lib/worker fails, and so would
 * lib/store/mongo -> lib/worker -> lib/store), while a folder's own files and its subfolders may use each
 * other (lib/store/create.ts builds lib/store/mongo, which implements lib/store/task-store.ts).
 * `--strict-folders` makes every directory a node of its own, so those parent-child pairs count too.
 *
 * Type-only imports count, and so do dynamic `import()`s: erased or deferred at run time, they still
 * say each side needs the other, which is the design cycle this check is for.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

export interface ImportEdge {
  from: string;
  to: string;
  /** `import type`, `export type` or an `import('…').T` type query: erased from the emitted code. */
  typeOnly: boolean;
  /** A dynamic `import()`: loaded on first use. */
  dynamic: boolean;
}

export interface FolderCycle {
  /** The folders in order, the first repeated at the end. */
  folders: string[];
  /** Per step folders[i] -> folders[i + 1], the file imports that make it. */
  via: ImportEdge[][];
}

export interface CycleReport {
  roots: string[];
  mode: FolderMode;
  files: number;
  fileCycles: string[][];
  folderCycles: FolderCycle[];
  /** Enumeration stopped at the limit: more cycles exist than are listed. */
  truncated: boolean;
}

/** Enough to show what to fix; a knot of files can hold exponentially many cycles. */
const MAX_CYCLES = 200;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'target', 'coverage', '.git']);
const SOURCE = /\.(ts|tsx|mts|cts)$/;

const resolution: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  resolveJsonModule: true,
};

const toPosix = (p: string) => p.split(sep).join('/');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) out.push(...sourceFiles(path));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

interface Specifier {
  text: string;
  typeOnly: boolean;
  dynamic: boolean;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false;
  if (clause.isTypeOnly) return true;
  // `import { type A, type B } from` is erased too; a default or namespace binding is not.
  const bindings = clause.namedBindings;
  return (
    !clause.name &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

function specifiers(file: string): Specifier[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Specifier[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ text: node.moduleSpecifier.text, typeOnly: isTypeOnlyImport(node), dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.length > 0 &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      out.push({ text: node.moduleSpecifier.text, typeOnly, dynamic: false });
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      out.push({ text: node.moduleReference.expression.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push({ text: node.arguments[0].text, typeOnly: false, dynamic: true });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.push({ text: node.argument.literal.text, typeOnly: true, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The import graph of the files under `roots`; edges only between those files. */
export function importGraph(roots: readonly string[], cwd: string): { files: string[]; edges: ImportEdge[] } {
  const absolute = [...new Set(roots.flatMap((r) => sourceFiles(resolve(cwd, r))))].sort();
  const known = new Set(absolute);
  const cache = ts.createModuleResolutionCache(cwd, (f) => f, resolution);
  const name = (abs: string) => toPosix(relative(cwd, abs));
  const edges = new Map<string, ImportEdge>();
  for (const file of absolute) {
    for (const s of specifiers(file)) {
      const target = ts.resolveModuleName(s.text, file, resolution, ts.sys, cache).resolvedModule?.resolvedFileName;
      if (!target || !known.has(resolve(target))) continue;
      const edge = { from: name(file), to: name(resolve(target)), typeOnly: s.typeOnly, dynamic: s.dynamic };
      const key = `${edge.from}\0${edge.to}`;
      const seen = edges.get(key);
      // Two imports of one file: the edge is as strong as its strongest import (a value import beats a type one).
      if (seen) {
        seen.typeOnly &&= edge.typeOnly;
        seen.dynamic &&= edge.dynamic;
      } else {
        edges.set(key, edge);
      }
    }
  }
  return { files: absolute.map(name), edges: [...edges.values()] };
}

/** `start`'s strongly connected component among `allowed` (Tarjan; recursion as deep as an import chain). */
function componentOf(start: string, adjacency: Map<string, string[]>, allowed: Set<string>): Set<string> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  let found = new Set<string>();
  let counter = 0;
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of adjacency.get(v) ?? []) {
      if (!allowed.has(w)) continue;
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = new Set<string>();
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.add(w);
      } while (w !== v);
      if (component.has(start)) found = component;
    }
  };
  strong(start);
  return found;
}

/**
 * Every elementary cycle (Johnson's algorithm), each starting at its smallest node, in a stable order.
 * Stops after `limit` cycles.
 */
export function elementaryCycles(
  nodes: readonly string[],
  adjacency: Map<string, string[]>,
  limit = MAX_CYCLES,
): { cycles: string[][]; truncated: boolean } {
  const order = [...nodes].sort();
  const cycles: string[][] = [];
  let truncated = false;
  for (let i = 0; i < order.length && !truncated; i++) {
    const start = order[i]!;
    const component = componentOf(start, adjacency, new Set(order.slice(i)));
    const next = (v: string) => (adjacency.get(v) ?? []).filter((w) => component.has(w));
    if (!next(start).length) continue;
    const blocked = new Set<string>();
    const blockedBy = new Map<string, Set<string>>();
    const path: string[] = [];
    const unblock = (v: string): void => {
      blocked.delete(v);
      const waiting = blockedBy.get(v);
      blockedBy.delete(v);
      for (const w of waiting ?? []) if (blocked.has(w)) unblock(w);
    };
    const circuit = (v: string): boolean => {
      let closed = false;
      path.push(v);
      blocked.add(v);
      for (const w of next(v)) {
        if (truncated) break;
        if (w === start) {
          cycles.push([...path, start]);
          closed = true;
          if (cycles.length >= limit) truncated = true;
        } else if (!blocked.has(w) && circuit(w)) {
          closed = true;
        }
      }
      if (closed) unblock(v);
      else for (const w of next(v)) (blockedBy.get(w) ?? blockedBy.set(w, new Set()).get(w)!).add(v);
      path.pop();
      return closed;
    };
    circuit(start);
  }
  const key = (c: string[]) => c.join('\0');
  return { cycles: cycles.sort((a, b) => a.length - b.length || (key(a) < key(b) ? -1 : 1)), truncated };
}

function adjacencyOf(pairs: Iterable<[string, string]>): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const [a, b] of pairs) (out.get(a) ?? out.set(a, new Set()).get(a)!).add(b);
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

const byPath = (a: ImportEdge, b: ImportEdge) =>
  a.from === b.from ? (a.to < b.to ? -1 : 1) : a.from < b.from ? -1 : 1;

export type FolderMode = 'nested' | 'strict';

/**
 * The two folders an import joins: the files' directories (strict), or the two sibling folders that hold
 * them (nested). None when it stays in one folder or (nested) joins a folder and one of its subfolders.
 */
export function folderStep(from: string, to: string, mode: FolderMode): [string, string] | undefined {
  const a = posix.dirname(from);
  const b = posix.dirname(to);
  if (a === b) return undefined;
  if (mode === 'strict') return [a, b];
  const pa = a === '.' ? [] : a.split('/');
  const pb = b === '.' ? [] : b.split('/');
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  if (i === pa.length || i === pb.length) return undefined;
  return [pa.slice(0, i + 1).join('/'), pb.slice(0, i + 1).join('/')];
}

export function checkImportCycles(
  roots: readonly string[],
  cwd = process.cwd(),
  mode: FolderMode = 'nested',
): CycleReport {
  const { files, edges } = importGraph(roots, cwd);
  const fileAdjacency = adjacencyOf(edges.map((e) => [e.from, e.to] as [string, string]));
  const fileResult = elementaryCycles(files, fileAdjacency);

  const between = new Map<string, ImportEdge[]>();
  for (const e of edges) {
    const step = folderStep(e.from, e.to, mode);
    if (!step) continue;
    const [a, b] = step;
    const key = `${a}\0${b}`;
    (between.get(key) ?? between.set(key, []).get(key)!).push(e);
  }
  const folderAdjacency = adjacencyOf([...between.keys()].map((k) => k.split('\0') as [string, string]));
  const folderResult = elementaryCycles([...folderAdjacency.keys()], folderAdjacency);
  const folderCycles = folderResult.cycles.map((folders) => ({
    folders,
    via: folders.slice(1).map((to, i) => [...between.get(`${folders[i]}\0${to}`)!].sort(byPath)),
  }));
  return {
    roots: [...roots],
    mode,
    files: files.length,
    fileCycles: fileResult.cycles,
    folderCycles,
    truncated: fileResult.truncated || folderResult.truncated,
  };
}

const describeEdge = (e: ImportEdge) =>
  `${e.from} -> ${e.to}${e.typeOnly ? ' (type-only)' : e.dynamic ? ' (dynamic)' : ''}`;

export function formatReport(report: CycleReport): string {
  const where = report.roots.join(', ');
  if (!report.fileCycles.length && !report.folderCycles.length) {
    return `No import cycles among ${report.files} files in ${where}.\n`;
  }
  const out: string[] = [];
  if (report.fileCycles.length) out.push(`Import cycles between files (${report.fileCycles.length}):`);
  for (const c of report.fileCycles) out.push(`  ${c.join(' -> ')}`);
  if (report.folderCycles.length) out.push(`Import cycles between folders (${report.folderCycles.length}):`);
  for (const c of report.folderCycles) {
    out.push(`  ${c.folders.join(' -> ')}`);
    for (const step of c.via) for (const e of step) out.push(`      ${describeEdge(e)}`);
  }
  if (report.truncated) out.push(`(stopped after ${MAX_CYCLES} cycles; there are more)`);
  const folders = report.mode === 'strict' ? 'every directory a folder' : 'subfolders inside their folder';
  out.push(`${report.files} files in ${where} (${folders}); type-only and dynamic imports count.`);
  return `${out.join('\n')}\n`;
}

const USAGE =
  'usage: tsx tools/check-import-cycles.ts [--strict-folders] [root...] (default roots: lib functions tools)';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const roots = args.filter((a) => !a.startsWith('--'));
  const options = args.filter((a) => a.startsWith('--'));
  const missing = roots.filter((r) => !existsSync(resolve(r)));
  if (options.some((o) => o !== '--strict-folders') || missing.length) {
    process.stderr.write(`${missing.map((r) => `no folder ${r}\n`).join('')}${USAGE}\n`);
    process.exit(2);
  }
  const mode: FolderMode = options.includes('--strict-folders') ? 'strict' : 'nested';
  const report = checkImportCycles(roots.length ? roots : ['lib', 'functions', 'tools'], process.cwd(), mode);
  const text = formatReport(report);
  if (report.fileCycles.length || report.folderCycles.length) {
    process.stderr.write(text);
    process.exitCode = 1;
  } else {
    process.stdout.write(text);
  }
}
