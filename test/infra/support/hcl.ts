/**
 * Terraform configuration read with @cdktf/hcl2json (HashiCorp's HCL parser compiled to WebAssembly,
 * shipped inside the npm package: no download, no provider, no CLI), plus an evaluator for the
 * simple expressions the drift checks need.
 *
 * hcl2json keeps literals as JSON values and turns every expression into a "${...}" string.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// Loaded through require with a local type: the package's own typings pull the DOM lib into the
// whole program.
interface Hcl2Json {
  parse(filename: string, contents: string): Promise<Record<string, unknown>>;
}
const hcl2json = createRequire(import.meta.url)('@cdktf/hcl2json') as Hcl2Json;

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type Block = { [k: string]: Json };

export interface TerraformConfig {
  files: string[];
  /** resource type -> name -> body */
  resources: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  variables: Record<string, Block>;
  locals: Record<string, Json>;
  outputs: Record<string, Block>;
  terraform: Block[];
  providers: Record<string, Block>;
}

export function parseHcl(filename: string, contents: string): Promise<Record<string, unknown>> {
  return hcl2json.parse(filename, contents);
}

function single(v: unknown, what: string): Block {
  if (!Array.isArray(v) || v.length !== 1) throw new Error(`${what}: expected one block`);
  return v[0] as Block;
}

/** Parses every *.tf file of a directory into one configuration. */
export async function loadTerraform(dir: string): Promise<TerraformConfig> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort();
  const cfg: TerraformConfig = {
    files,
    resources: {},
    data: {},
    variables: {},
    locals: {},
    outputs: {},
    terraform: [],
    providers: {},
  };
  for (const f of files) {
    const doc = await parseHcl(f, readFileSync(join(dir, f), 'utf8'));
    for (const [kind, value] of Object.entries(doc)) {
      switch (kind) {
        case 'resource':
        case 'data': {
          const target = kind === 'resource' ? cfg.resources : cfg.data;
          for (const [type, byName] of Object.entries(value as Record<string, Record<string, unknown>>)) {
            for (const [name, body] of Object.entries(byName)) {
              if (target[type]?.[name]) throw new Error(`${kind} ${type}.${name} declared twice`);
              (target[type] ??= {})[name] = single(body, `${kind} ${type}.${name}`);
            }
          }
          break;
        }
        case 'variable':
        case 'output': {
          const target = kind === 'variable' ? cfg.variables : cfg.outputs;
          for (const [name, body] of Object.entries(value as Record<string, unknown>)) {
            if (target[name]) throw new Error(`${kind} ${name} declared twice`);
            target[name] = single(body, `${kind} ${name}`);
          }
          break;
        }
        case 'locals':
          for (const block of value as Block[]) {
            for (const [k, v] of Object.entries(block)) {
              if (k in cfg.locals) throw new Error(`local ${k} declared twice`);
              cfg.locals[k] = v;
            }
          }
          break;
        case 'terraform':
          cfg.terraform.push(...(value as Block[]));
          break;
        case 'provider':
          for (const [name, body] of Object.entries(value as Record<string, unknown>))
            cfg.providers[name] = single(body, `provider ${name}`);
          break;
        default:
          throw new Error(`${f}: unexpected top-level ${kind}`);
      }
    }
  }
  return cfg;
}

// -------------------------------------------------------------------------------------------------
// Expressions
// -------------------------------------------------------------------------------------------------

/** If `value` is exactly one "${...}" expression, its source text. */
export function expressionOf(value: Json | undefined): string | undefined {
  if (typeof value !== 'string' || !value.startsWith('${') || !value.endsWith('}')) return undefined;
  // One interpolation spanning the whole string (not "${a}-${b}").
  return skipHclBalanced(value, 1) === value.length ? value.slice(2, -1).trim() : undefined;
}

function skipHclString(src: string, i: number): number {
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') j += 2;
    else if (c === '$' && src[j + 1] === '{') j = skipHclBalanced(src, j + 1);
    else if (c === '"') return j + 1;
    else j++;
  }
  throw new Error(`unterminated HCL string at ${i}`);
}

function skipHclBalanced(src: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < src.length) {
    const c = src[j]!;
    if (c === '"') {
      j = skipHclString(src, j);
      continue;
    }
    if ('{[('.includes(c)) depth++;
    else if ('}])'.includes(c)) {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  throw new Error(`unbalanced HCL expression at ${i}`);
}

function findTopLevelHcl(text: string, token: string, from = 0): number {
  let depth = 0;
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i = skipHclString(text, i);
      continue;
    }
    if (depth === 0 && text.startsWith(token, i)) return i;
    if ('{[('.includes(c)) depth++;
    else if ('}])'.includes(c)) depth--;
    i++;
  }
  return -1;
}

export type TfScalar = string | number | boolean | null;

/** Evaluates a parsed value (literal or "${...}" template); `undefined` when known only at apply time. */
export function evalTf(
  value: Json | undefined,
  cfg: TerraformConfig,
  seen: Set<string> = new Set(),
): TfScalar | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return typeof value === 'object' ? undefined : value;
  const whole = expressionOf(value);
  if (whole !== undefined) return evalTfExpr(whole, cfg, seen);
  return evalTemplate(value, cfg, seen, false);
}

/** A template's text with its "${...}" parts evaluated (`quoted`: HCL escapes apply). */
function evalTemplate(text: string, cfg: TerraformConfig, seen: Set<string>, quoted: boolean): string | undefined {
  let out = '';
  let j = 0;
  while (j < text.length) {
    const c = text[j]!;
    if (quoted && c === '\\') {
      const n = text[j + 1]!;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      j += 2;
    } else if (c === '$' && text[j + 1] === '{') {
      const close = skipHclBalanced(text, j + 1);
      const v = evalTfExpr(text.slice(j + 2, close - 1), cfg, seen);
      if (v === undefined || v === null) return undefined;
      out += String(v);
      j = close;
    } else {
      out += c;
      j++;
    }
  }
  return out;
}

/** Evaluates HCL expression source (the inside of "${...}"). */
export function evalTfExpr(source: string, cfg: TerraformConfig, seen: Set<string> = new Set()): TfScalar | undefined {
  const e = source.trim();
  const q = findTopLevelHcl(e, '?');
  if (q > 0) {
    const colon = findTopLevelHcl(e, ':', q + 1);
    if (colon < 0) return undefined;
    const cond = evalTfExpr(e.slice(0, q), cfg, seen);
    if (typeof cond !== 'boolean') return undefined;
    return evalTfExpr(cond ? e.slice(q + 1, colon) : e.slice(colon + 1), cfg, seen);
  }
  for (const op of ['==', '!=']) {
    const at = findTopLevelHcl(e, op);
    if (at > 0) {
      const a = evalTfExpr(e.slice(0, at), cfg, seen);
      const b = evalTfExpr(e.slice(at + 2), cfg, seen);
      if (a === undefined || b === undefined) return undefined;
      return op === '==' ? a === b : a !== b;
    }
  }
  const plus = findTopLevelHcl(e, '+');
  if (plus > 0) {
    const a = evalTfExpr(e.slice(0, plus), cfg, seen);
    const b = evalTfExpr(e.slice(plus + 1), cfg, seen);
    return typeof a === 'number' && typeof b === 'number' ? a + b : undefined;
  }
  if (e.startsWith('"') && skipHclString(e, 0) === e.length) return evalTemplate(e.slice(1, -1), cfg, seen, true);
  if (/^-?\d+(\.\d+)?$/.test(e)) return Number(e);
  if (e === 'true' || e === 'false') return e === 'true';
  if (e === 'null') return null;
  const call = /^(\w+)\(([\s\S]*)\)$/.exec(e);
  if (call && skipHclBalanced(e, call[1]!.length) === e.length) {
    if (call[1] === 'tostring') {
      const v = evalTfExpr(call[2]!, cfg, seen);
      return v === undefined || v === null ? v : String(v);
    }
    return undefined;
  }
  if (seen.has(e)) return undefined;
  const next = new Set(seen).add(e);
  let m: RegExpExecArray | null;
  if ((m = /^var\.(\w+)$/.exec(e))) return evalTf(cfg.variables[m[1]!]?.default, cfg, next);
  if ((m = /^local\.(\w+)$/.exec(e))) return evalTf(cfg.locals[m[1]!], cfg, next);
  if ((m = /^(\w+)\.(\w+)\.(\w+)$/.exec(e))) {
    const body = cfg.resources[m[1]!]?.[m[2]!];
    return body ? evalTf(body[m[3]!], cfg, next) : undefined;
  }
  return undefined;
}
