/**
 * Every Bicep resource of a directory against the ARM models of the `@azure/arm-*` SDKs
 * (support/schemas/arm.ts): its type has a create operation in one of them, and every property the
 * resource body sets, nested objects and arrays of objects included, is one that operation's request
 * body declares (discriminated models by their discriminator's value). Values that are expressions
 * (parameters, function calls, conditions) are not followed; literal objects and arrays are.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  arrayItems,
  evaluate,
  findTopLevel,
  firstObject,
  objectEntries,
  parseBicep,
  skipBalanced,
  type BicepFile,
} from '../bicep.js';
import { repoRoot } from '../drift.js';
import { armOperations, findResourceType, type ArmOperation, type Shape } from './arm.js';

/** Bicep's own resource keywords; not part of the ARM body. */
const BICEP_KEYWORDS = new Set(['parent', 'scope', 'dependsOn']);

export interface BicepResourceRef {
  file: string;
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  name: string | undefined;
  body: string | undefined;
}

function bicepFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? bicepFiles(p) : f.endsWith('.bicep') ? [p] : [];
  });
}

/** The resources of every .bicep file under a directory. */
export function bicepResources(dir: string): BicepResourceRef[] {
  const out: BicepResourceRef[] = [];
  for (const path of bicepFiles(dir).sort()) {
    const rel = relative(repoRoot, path);
    const file: BicepFile = parseBicep(readFileSync(path, 'utf8'));
    const scope = { params: file.params, vars: file.vars };
    for (const r of file.resources) {
      const body = firstObject(r.body);
      const nameExpr = body ? objectEntries(body).get('name') : undefined;
      const name = nameExpr !== undefined ? evaluate(nameExpr, scope) : undefined;
      out.push({
        file: rel.startsWith('..') ? path : rel,
        symbol: r.symbol,
        type: r.type,
        apiVersion: r.apiVersion,
        existing: r.existing,
        name: typeof name === 'string' ? name : undefined,
        body,
      });
    }
  }
  return out;
}

const isLiteralKey = (k: string) => !k.includes('${');

interface Found {
  path: string;
  message: string;
}

function checkValue(text: string, shape: Shape, path: string, where: string, problems: Found[]): void {
  const t = text.trim();
  if (shape.kind === 'any') return;
  if (t.startsWith('{') && skipBalanced(t, 0) === t.length) {
    checkObject(objectEntries(t), shape, path, where, problems);
    return;
  }
  if (t.startsWith('[') && skipBalanced(t, 0) === t.length) {
    const element = shape.kind === 'array' ? shape.of() : undefined;
    if (!element) {
      problems.push({
        path,
        message: `${where}: ${path} is an array; the model expects ${shape.kind === 'object' ? `an object (${shape.model})` : 'a map'}`,
      });
      return;
    }
    if (/^\[\s*for\b/.test(t)) {
      // [for x in xs: { ... }]
      const colon = findTopLevel(t.slice(1, -1), ':');
      const obj = colon >= 0 ? firstObject(t.slice(colon + 2, -1)) : undefined;
      if (obj) checkValue(obj, element, `${path}[]`, where, problems);
      return;
    }
    arrayItems(t).forEach((item, i) => checkValue(item, element, `${path}[${i}]`, where, problems));
  }
}

function checkObject(entries: Map<string, string>, shape: Shape, path: string, where: string, problems: Found[]): void {
  if (shape.kind === 'any') return;
  if (shape.kind === 'map') {
    const value = shape.of();
    for (const [k, v] of entries) checkValue(v, value, `${path}.${k}`, where, problems);
    return;
  }
  if (shape.kind === 'array') {
    problems.push({ path, message: `${where}: ${path} is an object; the model expects an array` });
    return;
  }
  let model = shape;
  if (model.discriminator) {
    const given = entries.get(model.discriminator.key);
    const value = given !== undefined && /^'[^'$]*'$/.test(given.trim()) ? given.trim().slice(1, -1) : undefined;
    if (value !== undefined) {
      const variant = model.discriminator.variants.get(value);
      if (!variant)
        problems.push({
          path: `${path}.${model.discriminator.key}`,
          message: `${where}: ${path}.${model.discriminator.key} '${value}' is none of ${[...model.discriminator.variants.keys()].join(', ')}`,
        });
      else {
        const v = variant();
        if (v.kind === 'object') model = v;
      }
    }
  }
  for (const [key, value] of entries) {
    if (!isLiteralKey(key)) continue;
    const at = path ? `${path}.${key}` : key;
    const prop = model.props.get(key);
    if (!prop) {
      if (model.open) continue;
      const other = [...model.props.keys()].find((k) => k.toLowerCase() === key.toLowerCase());
      problems.push({
        path: at,
        message: `${where}: ${at} is not a property of ${model.model}${other ? ` (the model spells it ${other})` : ''}`,
      });
      continue;
    }
    if (prop.readOnly) {
      problems.push({ path: at, message: `${where}: ${at} is read-only in ${model.model}` });
      continue;
    }
    checkValue(value, prop.shape(), at, where, problems);
  }
}

/**
 * Properties the template sets that the SDK's (older) API version does not have yet: resource type ->
 * property path -> the API version that introduced it (from Microsoft's ARM reference). Accepted only
 * while the template's api-version is at least that one and the SDK's is older.
 */
export type NewerThanSdk = Record<string, Record<string, string>>;

export interface BicepSchemaReport {
  problems: string[];
  /** `type property` pairs accepted through NewerThanSdk. */
  acceptedByReading: string[];
}

/** Checks one resource body against its create operation's request body. */
export function resourceProblems(r: BicepResourceRef, op: ArmOperation, newer: NewerThanSdk = {}): BicepSchemaReport {
  const where = `${r.file}: resource ${r.symbol} '${r.type}@${r.apiVersion}'`;
  const report: BicepSchemaReport = { problems: [], acceptedByReading: [] };
  if (r.existing || !r.body) return report;
  const found: Found[] = [];
  const entries = objectEntries(r.body);
  for (const k of BICEP_KEYWORDS) entries.delete(k);
  // The name is a path parameter of the PUT (read-only in the body models).
  entries.delete('name');
  checkObject(entries, op.body(), '', where, found);
  for (const f of found) {
    const since = newer[r.type]?.[f.path];
    if (since && op.apiVersion !== undefined && op.apiVersion < since && r.apiVersion >= since)
      report.acceptedByReading.push(`${r.type} ${f.path}`);
    else report.problems.push(f.message);
  }
  return report;
}

/** Every Bicep resource under a directory against the SDKs' models (problems empty: all conform). */
export async function bicepSchemaReport(dir: string, newer: NewerThanSdk = {}): Promise<BicepSchemaReport> {
  const ops = await armOperations();
  const report: BicepSchemaReport = { problems: [], acceptedByReading: [] };
  for (const r of bicepResources(dir)) {
    const op = findResourceType(ops, r.type, r.name, r.apiVersion);
    if (!op) {
      report.problems.push(
        `${r.file}: resource ${r.symbol}: type ${r.type} has no create (PUT) operation in any of the @azure/arm-* packages (misspelt, or its SDK is not a devDependency)`,
      );
      continue;
    }
    const one = resourceProblems(r, op, newer);
    report.problems.push(...one.problems);
    for (const a of one.acceptedByReading) if (!report.acceptedByReading.includes(a)) report.acceptedByReading.push(a);
  }
  return report;
}

/** Resource type -> SDK package and api-version it is checked against (the report and docs). */
export async function bicepTypeMapping(dir: string): Promise<Record<string, string>> {
  const ops = await armOperations();
  const out: Record<string, string> = {};
  for (const r of bicepResources(dir)) {
    const op = findResourceType(ops, r.type, r.name, r.apiVersion);
    out[`${r.type}@${r.apiVersion}`] = op
      ? `${op.package} api-version ${op.apiVersion ?? '?'}: PUT ${op.path}`
      : 'unknown';
  }
  return out;
}
