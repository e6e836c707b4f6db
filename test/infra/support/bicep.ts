/**
 * A small structural reader for Bicep (no Bicep parser installs from npm, and the CLI downloads its
 * binary): top-level declarations (param, var, resource, module, output; `param x = ...` in
 * .bicepparam files), object literal entries, and an evaluator for the simple expressions the drift
 * checks need (literals, interpolated strings, parameters with defaults, string(), ternaries, ==/!=).
 * Anything else evaluates to `undefined` ("known only at deployment").
 */

export type Scalar = string | number | boolean | null;

export interface BicepParam {
  name: string;
  /** Undefined in .bicepparam files. */
  type?: string;
  /** Default value (main.bicep) or assigned value (.bicepparam), as source text. */
  expr?: string;
  decorators: string[];
  secure: boolean;
}

export interface BicepResource {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  /** Everything after `=`: `{...}`, `if (...) {...}` or `[for ...: {...}]`. */
  body: string;
}

export interface BicepModule {
  symbol: string;
  path: string;
  body: string;
  /** The module's `params: {...}` entries (name -> source text). */
  params: Map<string, string>;
}

export interface BicepFile {
  text: string;
  params: Map<string, BicepParam>;
  vars: Map<string, string>;
  resources: BicepResource[];
  modules: BicepModule[];
  outputs: Map<string, { type: string; expr: string }>;
  /** `using '...'` of a .bicepparam file. */
  using?: string;
}

// -------------------------------------------------------------------------------------------------
// Scanning
// -------------------------------------------------------------------------------------------------

/** Index just past the string literal starting at `i` (`'...'` with `${...}` interpolation, or `'''...'''`). */
export function skipString(src: string, i: number): number {
  if (src.startsWith("'''", i)) {
    const end = src.indexOf("'''", i + 3);
    if (end < 0) throw new Error(`unterminated ''' string at ${i}`);
    return end + 3;
  }
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') {
      j += 2;
    } else if (c === '$' && src[j + 1] === '{') {
      j = skipBalanced(src, j + 1);
    } else if (c === "'") {
      return j + 1;
    } else {
      j++;
    }
  }
  throw new Error(`unterminated string at ${i}`);
}

const OPEN = '{[(';
const CLOSE = '}])';

/** `src[i]` is an opening bracket: the index just past its matching closer (strings skipped). */
export function skipBalanced(src: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < src.length) {
    const c = src[j]!;
    if (c === "'") {
      j = skipString(src, j);
      continue;
    }
    if (OPEN.includes(c)) depth++;
    else if (CLOSE.includes(c)) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  throw new Error(`unbalanced bracket at ${i}`);
}

/** Replaces `//` and `/* *\/` comments with spaces, leaving strings alone. */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "'") {
      const end = skipString(src, i);
      out += src.slice(i, end);
      i = end;
    } else if (c === '/' && src[i + 1] === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? src.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Splits `text` at `separator` characters that are outside strings and brackets. */
export function splitTopLevel(text: string, separators: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (OPEN.includes(c)) depth++;
    else if (CLOSE.includes(c)) depth--;
    else if (depth === 0 && separators.includes(c)) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    i++;
  }
  parts.push(text.slice(start));
  return parts;
}

/** Position of the first top-level occurrence of `token` (outside strings and brackets), or -1. */
export function findTopLevel(text: string, token: string, from = 0): number {
  let depth = 0;
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (depth === 0 && text.startsWith(token, i)) return i;
    if (OPEN.includes(c)) depth++;
    else if (CLOSE.includes(c)) depth--;
    i++;
  }
  return -1;
}

// -------------------------------------------------------------------------------------------------
// Declarations
// -------------------------------------------------------------------------------------------------

const KEYWORD = /^(?:param|var|resource|module|output|targetScope|using|import|type|func|metadata|extension)\b/;

/** Parses a .bicep or .bicepparam file into its top-level declarations. */
export function parseBicep(source: string): BicepFile {
  const text = stripComments(source);
  const file: BicepFile = { text, params: new Map(), vars: new Map(), resources: [], modules: [], outputs: new Map() };

  // Top-level statement starts: line starts (depth 0) that begin with a keyword or a decorator.
  const starts: number[] = [];
  let depth = 0;
  let i = 0;
  let lineStart = true;
  while (i < text.length) {
    const c = text[i]!;
    if (lineStart && depth === 0) {
      const rest = text.slice(i).replace(/^[ \t]+/, '');
      if (KEYWORD.test(rest) || rest.startsWith('@')) starts.push(i);
    }
    lineStart = false;
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (OPEN.includes(c)) depth++;
    else if (CLOSE.includes(c)) depth--;
    else if (c === '\n') lineStart = true;
    i++;
  }
  if (depth !== 0) throw new Error('unbalanced brackets in Bicep source');

  let decorators: string[] = [];
  for (let k = 0; k < starts.length; k++) {
    const stmt = text.slice(starts[k], starts[k + 1] ?? text.length).trim();
    if (stmt.startsWith('@')) {
      // A decorator (possibly followed on the same statement by nothing else).
      decorators.push(stmt);
      continue;
    }
    readStatement(file, stmt, decorators);
    decorators = [];
  }
  return file;
}

function readStatement(file: BicepFile, stmt: string, decorators: string[]): void {
  let m: RegExpExecArray | null;
  if ((m = /^param\s+(\w+)\s+([\w.[\]]+)\s*(?:=\s*([\s\S]*))?$/.exec(stmt))) {
    const [, name, type, expr] = m;
    file.params.set(name!, {
      name: name!,
      type: type!,
      ...(expr !== undefined ? { expr: expr.trim() } : {}),
      decorators,
      secure: decorators.some((d) => d.startsWith('@secure(')),
    });
  } else if ((m = /^param\s+(\w+)\s*=\s*([\s\S]*)$/.exec(stmt))) {
    const [, name, expr] = m;
    file.params.set(name!, { name: name!, expr: expr!.trim(), decorators, secure: false });
  } else if ((m = /^var\s+(\w+)\s*=\s*([\s\S]*)$/.exec(stmt))) {
    file.vars.set(m[1]!, m[2]!.trim());
  } else if ((m = /^resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s+(existing\s+)?=\s*([\s\S]*)$/.exec(stmt))) {
    const [, symbol, type, apiVersion, existing, body] = m;
    file.resources.push({
      symbol: symbol!,
      type: type!,
      apiVersion: apiVersion!,
      existing: Boolean(existing),
      body: body!.trim(),
    });
  } else if ((m = /^module\s+(\w+)\s+'([^']+)'\s*=\s*([\s\S]*)$/.exec(stmt))) {
    const [, symbol, path, body] = m;
    const obj = firstObject(body!);
    const params = obj ? objectEntries(obj).get('params') : undefined;
    file.modules.push({
      symbol: symbol!,
      path: path!,
      body: body!.trim(),
      params: params ? objectEntries(params) : new Map(),
    });
  } else if ((m = /^output\s+(\w+)\s+(\w+)\s*=\s*([\s\S]*)$/.exec(stmt))) {
    file.outputs.set(m[1]!, { type: m[2]!, expr: m[3]!.trim() });
  } else if ((m = /^using\s+'([^']+)'/.exec(stmt))) {
    file.using = m[1]!;
  }
}

/** The first `{...}` object in `text` (a resource/module body after `if (...)` or `[for ...:`). */
export function firstObject(text: string): string | undefined {
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (c === '(') {
      i = skipBalanced(text, i);
      continue;
    }
    if (c === '{') return text.slice(i, skipBalanced(text, i));
    i++;
  }
  return undefined;
}

/** Entries of an object literal `{ key: value ... }` (keys unquoted), values as source text. */
export function objectEntries(objectText: string): Map<string, string> {
  const t = objectText.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) throw new Error(`not an object literal: ${t.slice(0, 40)}`);
  const out = new Map<string, string>();
  for (const raw of splitTopLevel(t.slice(1, -1), '\n,')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^('(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*)\s*:\s*([\s\S]*)$/.exec(item);
    if (!m) throw new Error(`cannot read object entry: ${item.slice(0, 60)}`);
    const key = m[1]!.startsWith("'") ? m[1]!.slice(1, -1) : m[1]!;
    out.set(key, m[2]!.trim());
  }
  return out;
}

/** Items of an array literal `[ a \n b ]` (newline- or comma-separated), as source text. */
export function arrayItems(arrayText: string): string[] {
  const t = arrayText.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) throw new Error(`not an array literal: ${t.slice(0, 40)}`);
  return splitTopLevel(t.slice(1, -1), '\n,')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Identifiers an expression refers to (outside string literals, but inside interpolations). */
export function identifiers(expr: string): Set<string> {
  const out = new Set<string>();
  const add = (code: string) => {
    for (const m of code.matchAll(/(?<![.\w$])([A-Za-z_][\w]*)/g)) out.add(m[1]!);
  };
  let i = 0;
  let code = '';
  while (i < expr.length) {
    if (expr[i] === "'") {
      const end = skipString(expr, i);
      for (const part of interpolations(expr.slice(i, end))) for (const id of identifiers(part)) out.add(id);
      code += ' ';
      i = end;
      continue;
    }
    code += expr[i];
    i++;
  }
  add(code);
  return out;
}

/** The `${...}` expressions inside a string literal. */
function interpolations(literal: string): string[] {
  if (literal.startsWith("'''")) return [];
  const out: string[] = [];
  let j = 1;
  while (j < literal.length - 1) {
    if (literal[j] === '\\') {
      j += 2;
    } else if (literal[j] === '$' && literal[j + 1] === '{') {
      const end = skipBalanced(literal, j + 1);
      out.push(literal.slice(j + 2, end - 1));
      j = end;
    } else {
      j++;
    }
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// Evaluation
// -------------------------------------------------------------------------------------------------

export interface BicepScope {
  params: Map<string, BicepParam>;
  vars: Map<string, string>;
  /** Values given for parameters (a .bicepparam file), winning over defaults. */
  values?: Map<string, Scalar | undefined>;
}

/** Evaluates a simple expression; `undefined` when it depends on something known only at deployment. */
export function evaluate(expr: string, scope: BicepScope, seen: Set<string> = new Set()): Scalar | undefined {
  const e = expr.trim();
  if (!e) return undefined;

  const q = findTopLevel(e, '?');
  if (q > 0 && !e.startsWith('?', q + 1) && e[q - 1] !== '?') {
    const colon = findTopLevel(e, ':', q + 1);
    if (colon < 0) return undefined;
    const cond = evaluate(e.slice(0, q), scope, seen);
    if (typeof cond !== 'boolean') return undefined;
    return evaluate(cond ? e.slice(q + 1, colon) : e.slice(colon + 1), scope, seen);
  }
  for (const op of ['==', '!=']) {
    const at = findTopLevel(e, op);
    if (at > 0) {
      const a = evaluate(e.slice(0, at), scope, seen);
      const b = evaluate(e.slice(at + 2), scope, seen);
      if (a === undefined || b === undefined) return undefined;
      return op === '==' ? a === b : a !== b;
    }
  }

  if (e.startsWith("'")) {
    if (skipString(e, 0) !== e.length) return undefined;
    return evaluateString(e, scope, seen);
  }
  if (/^-?\d+$/.test(e)) return Number(e);
  if (e === 'true' || e === 'false') return e === 'true';
  if (e === 'null') return null;
  if (e.startsWith('(') && skipBalanced(e, 0) === e.length) return evaluate(e.slice(1, -1), scope, seen);

  const call = /^(\w+)\(([\s\S]*)\)$/.exec(e);
  if (call && skipBalanced(e, call[1]!.length) === e.length) {
    const [, fn, args] = call;
    if (fn === 'string') {
      const v = evaluate(args!, scope, seen);
      // ARM's string() writes booleans capitalized.
      return v === undefined
        ? undefined
        : typeof v === 'boolean'
          ? v
            ? 'True'
            : 'False'
          : v === null
            ? 'null'
            : String(v);
    }
    return undefined;
  }

  if (/^[A-Za-z_]\w*$/.test(e)) {
    if (seen.has(e)) return undefined;
    const next = new Set(seen).add(e);
    if (scope.values?.has(e)) return scope.values.get(e);
    const p = scope.params.get(e);
    if (p) return p.expr === undefined ? undefined : evaluate(p.expr, scope, next);
    const v = scope.vars.get(e);
    if (v !== undefined) return evaluate(v, scope, next);
  }
  return undefined;
}

function evaluateString(literal: string, scope: BicepScope, seen: Set<string>): string | undefined {
  if (literal.startsWith("'''")) return literal.slice(3, -3);
  let out = '';
  let j = 1;
  const end = literal.length - 1;
  while (j < end) {
    const c = literal[j]!;
    if (c === '\\') {
      const n = literal[j + 1]!;
      out += n === 'n' ? '\n' : n === 'r' ? '\r' : n === 't' ? '\t' : n;
      j += 2;
    } else if (c === '$' && literal[j + 1] === '{') {
      const close = skipBalanced(literal, j + 1);
      const v = evaluate(literal.slice(j + 2, close - 1), scope, seen);
      if (v === undefined) return undefined;
      out += typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v);
      j = close;
    } else {
      out += c;
      j++;
    }
  }
  return out;
}
