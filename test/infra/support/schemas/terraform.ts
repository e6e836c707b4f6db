/**
 * Every resource and data source of a Terraform directory against the alicloud provider's schema
 * (support/schemas/alicloud.ts): the type is known, every argument and nested block is one the
 * provider declares (nested blocks recursively), no block that holds one item is given twice, no
 * required argument is missing, and no deprecated argument is used. Expressions ("${...}") are not
 * evaluated: their type is the provider's business at plan time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseHcl, type Block, type Json } from '../hcl.js';
import { repoRoot } from '../drift.js';
import { mapTerraformType, nestedType, propertyFor, type PulumiInterface, type PulumiProperty } from './alicloud.js';

/** Terraform's meta-arguments and blocks, which no provider declares. */
const META = new Set([
  'count',
  'for_each',
  'depends_on',
  'lifecycle',
  'provider',
  'provisioner',
  'connection',
  'timeouts',
]);

export interface TerraformDeclaration {
  /** Path relative to the repository root (or to the directory when outside it). */
  file: string;
  kind: 'resource' | 'data';
  type: string;
  name: string;
  body: Block;
}

/** The resources and data sources of every *.tf file of a directory, with the file each is in. */
export async function terraformDeclarations(dir: string): Promise<TerraformDeclaration[]> {
  const out: TerraformDeclaration[] = [];
  const rel = relative(repoRoot, dir);
  const prefix = rel.startsWith('..') ? `${dir.replace(/\/$/, '')}/` : `${rel}/`;
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.tf'))
    .sort()) {
    const doc = await parseHcl(f, readFileSync(join(dir, f), 'utf8'));
    for (const kind of ['resource', 'data'] as const) {
      const byType = (doc[kind] ?? {}) as Record<string, Record<string, Block[]>>;
      for (const [type, byName] of Object.entries(byType)) {
        for (const [name, bodies] of Object.entries(byName))
          for (const body of bodies) out.push({ file: `${prefix}${f}`, kind, type, name, body });
      }
    }
  }
  return out;
}

const isExpression = (v: Json) => typeof v === 'string' && v.includes('${');

/** `at`: the path of the block checked (`log_config`), empty at the top level. */
function checkBlock(
  body: Block,
  schema: PulumiInterface,
  where: string,
  owner: string,
  problems: string[],
  at: string,
): void {
  const topLevel = at === '';
  const used = new Set<string>();
  const visit = (key: string, value: Json, name: string) => {
    const path = topLevel ? name : `${at}.${name}`;
    const prop = propertyFor(key, schema);
    if (!prop) {
      problems.push(`${where}: ${path} is not an argument of ${owner} (${schema.name})`);
      return;
    }
    used.add(prop.name);
    if (prop.deprecated) problems.push(`${where}: ${path} is deprecated (${prop.deprecated.replace(/\s+/g, ' ')})`);
    checkValue(value, prop, path, where, owner, problems);
  };
  for (const [key, value] of Object.entries(body)) {
    if (topLevel && META.has(key)) continue;
    if (key === 'dynamic' && value && typeof value === 'object' && !Array.isArray(value)) {
      // dynamic "name" { for_each = ...; content { ... } }: the content is a `name` block.
      for (const [blockName, defs] of Object.entries(value)) {
        for (const def of Array.isArray(defs) ? defs : []) {
          const content = (def as Block).content;
          visit(blockName, Array.isArray(content) ? content : [], `dynamic "${blockName}"`);
        }
      }
      continue;
    }
    visit(key, value, key);
  }
  for (const p of schema.props.values()) {
    if (!p.optional && !used.has(p.name))
      problems.push(
        `${where}: missing required argument ${topLevel ? '' : `${at}.`}${snake(p.name)} of ${owner} (${schema.name})`,
      );
  }
}

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function checkValue(
  value: Json,
  prop: PulumiProperty,
  path: string,
  where: string,
  owner: string,
  problems: string[],
): void {
  if (value === null || isExpression(value)) return;
  const t = prop.type;
  const element = t.kind === 'array' ? t.of : t;
  if (element.kind !== 'object') return; // scalars, maps and lists of scalars: values are the provider's business
  const schema = nestedType(element.ref);
  if (!schema) {
    problems.push(`${where}: ${path}: the provider's type ${element.ref} is missing from types/input.d.ts`);
    return;
  }
  const items: Json[] = Array.isArray(value) ? value : [value];
  if (t.kind === 'object' && items.length > 1)
    problems.push(`${where}: ${path} is given ${items.length} times; ${owner} takes one`);
  items.forEach((item) => {
    if (item && typeof item === 'object' && !Array.isArray(item))
      checkBlock(item, schema, where, owner, problems, path);
  });
}

/** Problems of one directory's Terraform against the provider schema (empty: it conforms). */
export async function terraformSchemaProblems(dir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const d of await terraformDeclarations(dir)) {
    const where = `${d.file}: ${d.kind === 'data' ? 'data ' : ''}${d.type}.${d.name}`;
    const mapped = mapTerraformType(d.type, d.kind);
    if (!mapped.ok) {
      problems.push(`${where}: ${mapped.reason}`);
      continue;
    }
    checkBlock(d.body, mapped.member.args, where, mapped.member.token, problems, '');
  }
  return problems;
}

/** Which Pulumi token each declared type maps to (for the report and the docs). */
export async function terraformTypeMapping(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const d of await terraformDeclarations(dir)) {
    const m = mapTerraformType(d.type, d.kind);
    out[`${d.kind === 'data' ? 'data.' : ''}${d.type}`] = m.ok
      ? `${m.member.token} (${m.member.file})`
      : `unmapped: ${m.reason}`;
  }
  return out;
}
