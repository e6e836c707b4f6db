/**
 * The alicloud Terraform provider's schema as published in @pulumi/alicloud (generated from
 * terraform-provider-alicloud by Pulumi's Terraform bridge), read from its .d.ts files with the
 * TypeScript compiler API, and a check of infra/aliyun's resources and data sources against it.
 *
 * Terraform type -> Pulumi resource. Every resource class carries its type token (`static
 * __pulumiType = 'alicloud:<module>/<file>:<Class>'`, in the module's .js); data sources are
 * functions that invoke `alicloud:<module>/<file>:get<Name>`. The bridge names tokens by its
 * standard rule: the Terraform type without `alicloud_`, split into a module and a PascalCase member
 * (`alicloud_fcv3_function` -> `fc` + `V3Function`, `alicloud_log_store` -> `log` + `Store`;
 * `index` for no module). So a Terraform type maps to the one token whose module + member, lower
 * case and without separators, equals the type's remainder without underscores (data sources: the
 * member without its `get`). Exactly one token must match: none (a misspelt type, or one the
 * provider renamed by hand, e.g. `alicloud_db_instance` -> `rds.Instance`) or several is a failure.
 *
 * Argument names: the bridge writes Terraform's snake_case names in camelCase and pluralizes the name
 * of a list or set block with more than one item (`query_list` -> `queryLists`, `field_search` ->
 * `fieldSearches`); a block that holds at most one item becomes a single object. Nested blocks are
 * the `inputs.<module>.<Name>` interfaces of types/input.d.ts. Properties marked @deprecated carry
 * the provider's deprecation message.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

export const alicloudPackageDir = dirname(createRequire(import.meta.url).resolve('@pulumi/alicloud/package.json'));

export type PulumiType =
  { kind: 'scalar' } | { kind: 'map' } | { kind: 'object'; ref: string } | { kind: 'array'; of: PulumiType };

export interface PulumiProperty {
  name: string;
  optional: boolean;
  type: PulumiType;
  deprecated?: string;
}

export interface PulumiInterface {
  name: string;
  props: Map<string, PulumiProperty>;
}

export interface PulumiMember {
  token: string;
  module: string;
  member: string;
  kind: 'resource' | 'data';
  /** The .d.ts file declaring it, relative to the package. */
  file: string;
  args: PulumiInterface;
}

// -------------------------------------------------------------------------------------------------
// Reading the .d.ts files
// -------------------------------------------------------------------------------------------------

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function deprecation(node: ts.Node): string | undefined {
  for (const tag of ts.getJSDocTags(node)) {
    if (tag.tagName.text === 'deprecated')
      return (ts.getTextOfJSDocComment(tag.comment) ?? 'deprecated').trim() || 'deprecated';
  }
  return undefined;
}

/** `pulumi.Input<X | undefined>` and friends, reduced to what the check needs. */
export function pulumiType(node: ts.TypeNode): PulumiType {
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    if ((name === 'pulumi.Input' || name === 'Input') && node.typeArguments?.length === 1)
      return pulumiType(node.typeArguments[0]!);
    const m = /^inputs\.(\w+)\.(\w+)$/.exec(name);
    if (m) return { kind: 'object', ref: `${m[1]}.${m[2]}` };
    return { kind: 'scalar' };
  }
  if (ts.isUnionTypeNode(node)) {
    const parts = node.types.filter(
      (t) =>
        t.kind !== ts.SyntaxKind.UndefinedKeyword &&
        !(ts.isLiteralTypeNode(t) && t.literal.kind === ts.SyntaxKind.NullKeyword),
    );
    const shaped = parts.map(pulumiType).filter((t) => t.kind !== 'scalar');
    return shaped[0] ?? { kind: 'scalar' };
  }
  if (ts.isArrayTypeNode(node)) return { kind: 'array', of: pulumiType(node.elementType) };
  if (ts.isTypeLiteralNode(node))
    return node.members.some(ts.isIndexSignatureDeclaration) ? { kind: 'map' } : { kind: 'scalar' };
  if (ts.isParenthesizedTypeNode(node)) return pulumiType(node.type);
  return { kind: 'scalar' };
}

function readInterface(decl: ts.InterfaceDeclaration): PulumiInterface {
  const props = new Map<string, PulumiProperty>();
  for (const m of decl.members) {
    if (!ts.isPropertySignature(m) || !m.type) continue;
    const name = m.name.getText().replace(/^["']|["']$/g, '');
    const dep = deprecation(m);
    props.set(name, {
      name,
      optional: Boolean(m.questionToken),
      type: pulumiType(m.type),
      ...(dep ? { deprecated: dep } : {}),
    });
  }
  return { name: decl.name.text, props };
}

function interfacesOf(sf: ts.SourceFile): Map<string, ts.InterfaceDeclaration> {
  const out = new Map<string, ts.InterfaceDeclaration>();
  for (const s of sf.statements) if (ts.isInterfaceDeclaration(s)) out.set(s.name.text, s);
  return out;
}

let nested: Map<string, PulumiInterface> | undefined;

/** The nested block types: `inputs.<module>.<Name>` of types/input.d.ts. */
export function nestedType(ref: string): PulumiInterface | undefined {
  if (!nested) {
    nested = new Map();
    const sf = parse(join(alicloudPackageDir, 'types', 'input.d.ts'));
    for (const s of sf.statements) {
      if (!ts.isModuleDeclaration(s) || !s.body || !ts.isModuleBlock(s.body)) continue;
      for (const d of s.body.statements)
        if (ts.isInterfaceDeclaration(d)) nested.set(`${s.name.text}.${d.name.text}`, readInterface(d));
    }
  }
  return nested.get(ref);
}

// -------------------------------------------------------------------------------------------------
// Terraform type -> Pulumi token
// -------------------------------------------------------------------------------------------------

const squash = (s: string) => s.replace(/[_-]/g, '').toLowerCase();

function moduleDirs(): string[] {
  return readdirSync(alicloudPackageDir).filter(
    (d) =>
      !['types', 'config', 'node_modules', 'scripts'].includes(d) &&
      statSync(join(alicloudPackageDir, d)).isDirectory(),
  );
}

interface TokenCandidate {
  token: string;
  module: string;
  member: string;
  jsFile: string;
}

const tokenCache = new Map<string, TokenCandidate[]>();

/** The tokens a module's .js files declare (resources: `__pulumiType`; data sources: `invoke`). */
function tokensOf(module: string, kind: 'resource' | 'data'): TokenCandidate[] {
  const key = `${kind}:${module}`;
  const hit = tokenCache.get(key);
  if (hit) return hit;
  const dir = module === 'index' ? alicloudPackageDir : join(alicloudPackageDir, module);
  const out: TokenCandidate[] = [];
  const re =
    kind === 'resource'
      ? /static __pulumiType = '(alicloud:([\w]+)\/\w+:(\w+))'/g
      : /invoke\("(alicloud:([\w]+)\/\w+:(get\w+))"/g;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.js')) continue;
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(re)) {
      if (m[2] !== module) continue;
      if (!out.some((c) => c.token === m[1]))
        out.push({ token: m[1]!, module: m[2]!, member: m[3]!, jsFile: join(dir, f) });
    }
  }
  tokenCache.set(key, out);
  return out;
}

export type Mapping = { ok: true; member: PulumiMember } | { ok: false; reason: string };

const mappingCache = new Map<string, Mapping>();

/** The Pulumi resource (or data source function) of a Terraform type, by the bridge's naming rule. */
export function mapTerraformType(tfType: string, kind: 'resource' | 'data'): Mapping {
  const cacheKey = `${kind}:${tfType}`;
  const hit = mappingCache.get(cacheKey);
  if (hit) return hit;
  const result = mapUncached(tfType, kind);
  mappingCache.set(cacheKey, result);
  return result;
}

function mapUncached(tfType: string, kind: 'resource' | 'data'): Mapping {
  if (!tfType.startsWith('alicloud_')) return { ok: false, reason: `${tfType} is not an alicloud type` };
  const target = squash(tfType.slice('alicloud_'.length));
  const modules = ['index', ...moduleDirs().filter((m) => target.startsWith(m.toLowerCase()))];
  const matches: TokenCandidate[] = [];
  for (const module of modules) {
    for (const c of tokensOf(module, kind)) {
      const member = kind === 'data' ? c.member.replace(/^get/, '') : c.member;
      const key = squash(module === 'index' ? member : `${module}${member}`);
      if (key === target) matches.push(c);
    }
  }
  const what = kind === 'data' ? 'data source' : 'resource';
  if (matches.length === 0)
    return {
      ok: false,
      reason: `${what} type ${tfType} has no ${kind === 'data' ? 'function' : 'resource'} in @pulumi/alicloud (by the bridge's module + member naming); misspelt, or renamed by the provider`,
    };
  if (matches.length > 1)
    return {
      ok: false,
      reason: `${what} type ${tfType} matches several tokens: ${matches.map((m) => m.token).join(', ')}`,
    };
  const c = matches[0]!;
  const dts = c.jsFile.replace(/\.js$/, '.d.ts');
  const interfaces = interfacesOf(parse(dts));
  const argsName = kind === 'data' ? `${c.member[0]!.toUpperCase()}${c.member.slice(1)}Args` : `${c.member}Args`;
  const decl = interfaces.get(argsName);
  // A data source without arguments has no Args interface.
  if (!decl && kind === 'resource') return { ok: false, reason: `${c.token}: no ${argsName} interface in ${dts}` };
  const args = decl ? readInterface(decl) : { name: argsName, props: new Map<string, PulumiProperty>() };
  return {
    ok: true,
    member: {
      token: c.token,
      module: c.module,
      member: c.member,
      kind,
      file: dts.slice(alicloudPackageDir.length + 1),
      args,
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Names
// -------------------------------------------------------------------------------------------------

export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The bridge's pluralization of list/set block names (an inflector; enough for English names). */
export function pluralize(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

/** The Pulumi property a Terraform argument or block is, if any. */
export function propertyFor(tfName: string, schema: PulumiInterface): PulumiProperty | undefined {
  const direct = schema.props.get(camelCase(tfName));
  if (direct) return direct;
  const plural = schema.props.get(camelCase(pluralize(tfName)));
  return plural && plural.type.kind === 'array' ? plural : undefined;
}
