/**
 * The ARM request bodies Microsoft publishes in its management SDKs (the `@azure/arm-*`
 * devDependencies), by resource type.
 *
 * A resource type is found by its create operation: the PUT whose URL template ends in
 * `/providers/<Namespace>/<type>/{name}[/<child type>/{name}...]` (a literal in place of `{name}` is
 * a singleton, e.g. `sites/{name}/config/appsettings`, and matches only a resource of that name).
 * Its request body model names every property ARM accepts for that type, as sent on the wire:
 *
 * - AutoRest packages (`models/mappers.js`, `operations/*.js`): the operation spec's `requestBody`
 *   parameter holds a mapper whose `serializedName`s are the wire paths (`properties.maxDeliveryCount`);
 *   the mappers are loaded as modules (plain objects), the operation specs are read as source.
 * - TypeSpec ("modular") packages (`api/**\/operations.js`, `models/**\/models.js`): the PUT sends
 *   `body: <model>Serializer(parameters)`, a function returning an object literal keyed by the wire
 *   names; the functions are read as source with the TypeScript compiler API and followed through the
 *   serializers they call. Nothing of these packages is executed.
 *
 * Read-only properties are not in the serializers (AutoRest mappers mark them `readOnly`); a model
 * with additional properties (`...serializeRecord(item.additionalProperties)`, AutoRest
 * `additionalProperties`) accepts any other key.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { repoPath } from '../drift.js';

export type Shape =
  | { kind: 'object'; model: string; props: Map<string, Property>; open: boolean; discriminator?: Discriminator }
  | { kind: 'array'; of: () => Shape }
  | { kind: 'map'; of: () => Shape }
  | { kind: 'any' };

export interface Property {
  shape: () => Shape;
  readOnly: boolean;
}

export interface Discriminator {
  /** Wire name of the discriminator property (`odata.type`, `kind`). */
  key: string;
  variants: Map<string, () => Shape>;
}

export interface ArmOperation {
  package: string;
  /** URL path template of the PUT. */
  path: string;
  apiVersion: string | undefined;
  body: () => Shape;
}

const ANY: Shape = { kind: 'any' };
const lazy = <T>(f: () => T): (() => T) => {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
};

const require = createRequire(import.meta.url);

/** The `@azure/arm-*` packages the project has (its devDependencies). */
export function armPackages(): string[] {
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
    dependencies?: Record<string, string>;
  };
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
    .filter((n) => n.startsWith('@azure/arm-'))
    .sort();
}

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

function filesUnder(dir: string, name: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p, name) : f === name ? [p] : [];
  });
}

function parseJs(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
}

const stringOf = (n: ts.Node | undefined) =>
  n && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) ? n.text : undefined;
const propName = (n: ts.PropertyName) =>
  ts.isIdentifier(n) || ts.isStringLiteral(n) || ts.isNumericLiteral(n) ? n.text : undefined;

// -------------------------------------------------------------------------------------------------
// AutoRest packages: mappers
// -------------------------------------------------------------------------------------------------

interface MapperType {
  name: string;
  className?: string;
  modelProperties?: Record<string, { serializedName?: string; readOnly?: boolean; type: MapperType }>;
  additionalProperties?: unknown;
  polymorphicDiscriminator?: { serializedName: string; clientName: string };
  uberParent?: string;
  element?: { type: MapperType };
  value?: { type: MapperType };
}
interface Mapper {
  serializedName?: string;
  defaultValue?: unknown;
  type: MapperType;
}

/** The directory of an AutoRest package's ES modules (with models/mappers.js), if it is one. */
function autorestDir(pkgDir: string): string | undefined {
  return ['dist-esm/src', 'dist/esm', 'esm']
    .map((d) => join(pkgDir, d))
    .find((d) => existsSync(join(d, 'models', 'mappers.js')) && existsSync(join(d, 'operations')));
}

const splitWire = (serializedName: string) => serializedName.split(/(?<!\\)\./).map((s) => s.replace(/\\\./g, '.'));

function shapeFromMapper(type: MapperType, mappers: Record<string, Mapper | unknown>): Shape {
  switch (type.name) {
    case 'Sequence':
      return { kind: 'array', of: lazy(() => (type.element ? shapeFromMapper(type.element.type, mappers) : ANY)) };
    case 'Dictionary':
      return { kind: 'map', of: lazy(() => (type.value ? shapeFromMapper(type.value.type, mappers) : ANY)) };
    case 'Composite': {
      const m = type.className ? (mappers[type.className] as Mapper | undefined) : undefined;
      const t = m?.type ?? type;
      const root: Shape & { kind: 'object' } = {
        kind: 'object',
        model: t.className ?? type.className ?? '?',
        props: new Map(),
        open: Boolean(t.additionalProperties),
      };
      for (const p of Object.values(t.modelProperties ?? {})) {
        if (!p.serializedName) continue;
        const parts = splitWire(p.serializedName);
        let node = root;
        for (const part of parts.slice(0, -1)) {
          let next = node.props.get(part);
          if (!next) {
            const inner: Shape = { kind: 'object', model: `${node.model}.${part}`, props: new Map(), open: false };
            next = { shape: () => inner, readOnly: false };
            node.props.set(part, next);
          }
          const s = next.shape();
          if (s.kind !== 'object') break;
          node = s;
        }
        const last = parts[parts.length - 1]!;
        const existing = node.props.get(last);
        if (!existing || !p.readOnly)
          node.props.set(last, { shape: lazy(() => shapeFromMapper(p.type, mappers)), readOnly: Boolean(p.readOnly) });
      }
      const disc = t.polymorphicDiscriminator;
      const discriminators = (mappers.discriminators ?? {}) as Record<string, Mapper>;
      if (disc) {
        const base = t.uberParent ?? t.className;
        const variants = new Map<string, () => Shape>();
        for (const [key, mapper] of Object.entries(discriminators)) {
          if (key.startsWith(`${base}.`))
            variants.set(
              key.slice(base!.length + 1),
              lazy(() => shapeFromMapper(mapper.type, mappers)),
            );
        }
        if (variants.size > 0) root.discriminator = { key: disc.serializedName.replace(/\\\./g, '.'), variants };
      }
      return root;
    }
    case 'Object':
      return ANY;
    default:
      return ANY;
  }
}

async function autorestOperations(name: string, dir: string): Promise<ArmOperation[]> {
  const parameters = (await import(pathToFileURL(join(dir, 'models', 'parameters.js')).href)) as Record<
    string,
    { mapper?: Mapper } | undefined
  >;
  const mappers = (await import(pathToFileURL(join(dir, 'models', 'mappers.js')).href)) as Record<
    string,
    Mapper | unknown
  >;
  const ops: ArmOperation[] = [];
  for (const f of readdirSync(join(dir, 'operations')).filter((n) => n.endsWith('.js'))) {
    const sf = parseJs(join(dir, 'operations', f));
    const visit = (node: ts.Node) => {
      if (ts.isObjectLiteralExpression(node)) {
        const get = (k: string) =>
          node.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && propName(p.name) === k)
            ?.initializer;
        const path = stringOf(get('path'));
        if (path && stringOf(get('httpMethod')) === 'PUT') {
          const body = get('requestBody');
          const paramName = body && ts.isPropertyAccessExpression(body) ? body.name.text : undefined;
          const mapper = paramName ? parameters[paramName]?.mapper : undefined;
          const query = get('queryParameters');
          let apiVersion: string | undefined;
          if (query && ts.isArrayLiteralExpression(query)) {
            for (const e of query.elements) {
              const q = ts.isPropertyAccessExpression(e) ? parameters[e.name.text]?.mapper : undefined;
              if (q?.serializedName === 'api-version' && typeof q.defaultValue === 'string')
                apiVersion = q.defaultValue;
            }
          }
          if (mapper)
            ops.push({ package: name, path, apiVersion, body: lazy(() => shapeFromMapper(mapper.type, mappers)) });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return ops;
}

// -------------------------------------------------------------------------------------------------
// TypeSpec ("modular") packages: serializer functions
// -------------------------------------------------------------------------------------------------

/** Functions of the models files, resolved through each file's imports. */
class SerializerIndex {
  private readonly files = new Map<
    string,
    {
      sf: ts.SourceFile;
      functions: Map<string, ts.FunctionDeclaration>;
      imports: Map<string, { from: string; name: string }>;
    }
  >();
  private readonly shapes = new Map<string, Shape>();

  private file(path: string) {
    let f = this.files.get(path);
    if (!f) {
      const sf = parseJs(path);
      const functions = new Map<string, ts.FunctionDeclaration>();
      const imports = new Map<string, { from: string; name: string }>();
      for (const s of sf.statements) {
        if (ts.isFunctionDeclaration(s) && s.name) functions.set(s.name.text, s);
        if (
          ts.isImportDeclaration(s) &&
          s.importClause?.namedBindings &&
          ts.isNamedImports(s.importClause.namedBindings)
        ) {
          const from = resolve(dirname(path), (s.moduleSpecifier as ts.StringLiteral).text);
          for (const el of s.importClause.namedBindings.elements)
            imports.set(el.name.text, { from, name: (el.propertyName ?? el.name).text });
        }
      }
      f = { sf, functions, imports };
      this.files.set(path, f);
    }
    return f;
  }

  /** The function a name refers to in a file (local, or imported from a file of the package). */
  resolve(path: string, name: string): { path: string; fn: ts.FunctionDeclaration } | undefined {
    const f = this.file(path);
    const local = f.functions.get(name);
    if (local) return { path, fn: local };
    const imp = f.imports.get(name);
    if (imp && imp.from.endsWith('.js') && existsSync(imp.from)) return this.resolve(imp.from, imp.name);
    return undefined;
  }

  shapeOf(path: string, name: string): Shape {
    const target = this.resolve(path, name);
    if (!target) return ANY;
    const key = `${target.path}#${target.fn.name!.text}`;
    const hit = this.shapes.get(key);
    if (hit) return hit;
    // Placeholder against recursion (a model that contains itself).
    const placeholder: Shape & { kind: 'object' } = {
      kind: 'object',
      model: target.fn.name!.text,
      props: new Map(),
      open: true,
    };
    this.shapes.set(key, placeholder);
    const shape = this.interpret(target.path, target.fn);
    if (shape.kind === 'object') Object.assign(placeholder, shape);
    this.shapes.set(key, shape.kind === 'object' ? placeholder : shape);
    return shape.kind === 'object' ? placeholder : shape;
  }

  /** The first serializer a value expression calls. */
  private calledSerializer(expr: ts.Node, path: string): string | undefined {
    let found: string | undefined;
    const visit = (n: ts.Node) => {
      if (found) return;
      if (
        ts.isCallExpression(n) &&
        ts.isIdentifier(n.expression) &&
        /Serializer$/.test(n.expression.text) &&
        this.resolve(path, n.expression.text)
      ) {
        found = n.expression.text;
        return;
      }
      ts.forEachChild(n, visit);
    };
    visit(expr);
    return found;
  }

  private valueShape(expr: ts.Expression, path: string): () => Shape {
    const called = this.calledSerializer(expr, path);
    return called ? lazy(() => this.shapeOf(path, called)) : () => ANY;
  }

  private interpret(path: string, fn: ts.FunctionDeclaration): Shape {
    const name = fn.name!.text;
    const statements = fn.body?.statements ?? ts.factory.createNodeArray();
    const sw = statements.find(ts.isSwitchStatement);
    if (sw) return this.union(path, name, sw);
    // Record serializer: result[key] = ... for every key.
    if (statements.some((s) => /Object\.keys\(item\)/.test(s.getText()))) {
      const called = this.calledSerializer(fn.body!, path);
      return { kind: 'map', of: called ? lazy(() => this.shapeOf(path, called)) : () => ANY };
    }
    const ret = statements.find(ts.isReturnStatement)?.expression;
    if (!ret) return ANY;
    if (ts.isObjectLiteralExpression(ret)) return this.object(path, name, ret);
    if (
      ts.isCallExpression(ret) &&
      ts.isPropertyAccessExpression(ret.expression) &&
      ret.expression.name.text === 'map'
    ) {
      const called = this.calledSerializer(ret.arguments[0] ?? ret, path);
      return { kind: 'array', of: called ? lazy(() => this.shapeOf(path, called)) : () => ANY };
    }
    return ANY;
  }

  private object(path: string, name: string, lit: ts.ObjectLiteralExpression): Shape {
    const model = name.replace(/^_/, '').replace(/Serializer$/, '');
    const shape: Shape & { kind: 'object' } = {
      kind: 'object',
      model: `${model[0]!.toUpperCase()}${model.slice(1)}`,
      props: new Map(),
      open: false,
    };
    for (const p of lit.properties) {
      if (ts.isSpreadAssignment(p)) {
        const called = this.calledSerializer(p.expression, path);
        if (called) {
          const inner = this.shapeOf(path, called);
          if (inner.kind === 'object') {
            for (const [k, v] of inner.props) shape.props.set(k, v);
            shape.open ||= inner.open;
          }
        } else {
          shape.open = true; // ...serializeRecord(item.additionalProperties)
        }
        continue;
      }
      if (!ts.isPropertyAssignment(p)) continue;
      const key = propName(p.name);
      if (key === undefined) continue;
      shape.props.set(key, { shape: this.valueShape(p.initializer, path), readOnly: false });
    }
    return shape;
  }

  private union(path: string, name: string, sw: ts.SwitchStatement): Shape {
    const variants = new Map<string, () => Shape>();
    let base: (() => Shape) | undefined;
    for (const clause of sw.caseBlock.clauses) {
      const called = this.calledSerializer(clause, path);
      if (!called) continue;
      const shape = lazy(() => this.shapeOf(path, called));
      if (ts.isCaseClause(clause)) {
        const v = stringOf(clause.expression);
        if (v !== undefined) variants.set(v, shape);
      } else {
        base = shape;
      }
    }
    // switch (item.kind) / switch (item["odata.type"]): the client property; its wire name is the key the
    // base serializer writes it to.
    const e = sw.expression;
    const client = ts.isPropertyAccessExpression(e)
      ? e.name.text
      : ts.isElementAccessExpression(e)
        ? stringOf(e.argumentExpression)
        : undefined;
    const baseShape = base?.();
    let key = client ?? 'kind';
    if (baseShape?.kind === 'object' && client) {
      const fnBase = this.calledSerializer(sw.caseBlock.clauses.find(ts.isDefaultClause) ?? sw, path);
      const decl = fnBase ? this.resolve(path, fnBase) : undefined;
      const text = decl?.fn.getText() ?? '';
      const m = new RegExp(`["']?([\\w.]+)["']?\\s*:\\s*item\\[["']${client}["']\\]`).exec(text);
      if (m) key = m[1]!;
    }
    const merged: Shape & { kind: 'object' } =
      baseShape?.kind === 'object'
        ? { ...baseShape, props: new Map(baseShape.props) }
        : { kind: 'object', model: name, props: new Map(), open: true };
    merged.discriminator = { key, variants };
    return merged;
  }
}

function modularOperations(name: string, pkgDir: string): ArmOperation[] {
  const esm = join(pkgDir, 'dist', 'esm');
  const index = new SerializerIndex();
  const ops: ArmOperation[] = [];
  for (const file of filesUnder(join(esm, 'api'), 'operations.js')) {
    const sf = parseJs(file);
    for (const s of sf.statements) {
      if (!ts.isFunctionDeclaration(s) || !s.body) continue;
      let path: string | undefined;
      let apiVersion: string | undefined;
      let serializer: string | undefined;
      const visit = (n: ts.Node) => {
        if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'expandUrlTemplate') {
          path = stringOf(n.arguments[0])?.replace(/\{\?[^}]*\}$/, '');
          const vars = n.arguments[1];
          if (vars && ts.isObjectLiteralExpression(vars)) {
            for (const p of vars.properties) {
              if (ts.isPropertyAssignment(p) && propName(p.name) === 'api%2Dversion') {
                const lit = ts.isStringLiteral(p.initializer)
                  ? p.initializer
                  : ts.isBinaryExpression(p.initializer)
                    ? p.initializer.right
                    : undefined;
                apiVersion = stringOf(lit);
              }
            }
          }
        }
        if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'put') {
          const opts = n.arguments[0];
          if (opts && ts.isObjectLiteralExpression(opts)) {
            for (const p of opts.properties) {
              if (
                ts.isPropertyAssignment(p) &&
                propName(p.name) === 'body' &&
                ts.isCallExpression(p.initializer) &&
                ts.isIdentifier(p.initializer.expression)
              )
                serializer = p.initializer.expression.text;
            }
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(s.body);
      if (path && serializer) {
        const ser = serializer;
        ops.push({ package: name, path, apiVersion, body: lazy(() => index.shapeOf(file, ser)) });
      }
    }
  }
  return ops;
}

// -------------------------------------------------------------------------------------------------
// Resource types
// -------------------------------------------------------------------------------------------------

let allOperations: Promise<ArmOperation[]> | undefined;

/** Every PUT of every installed @azure/arm-* package. */
export function armOperations(): Promise<ArmOperation[]> {
  allOperations ??= (async () => {
    const out: ArmOperation[] = [];
    for (const name of armPackages()) {
      const dir = packageDir(name);
      const auto = autorestDir(dir);
      if (auto) out.push(...(await autorestOperations(name, auto)));
      else if (existsSync(join(dir, 'dist', 'esm', 'api'))) out.push(...modularOperations(name, dir));
      else
        throw new Error(
          `${name}: neither an AutoRest (models/mappers.js) nor a TypeSpec (dist/esm/api) package layout`,
        );
    }
    return out;
  })();
  return allOperations;
}

/** Segments after the last `/providers/` of a URL template: [namespace, type, name, type, name, ...]. */
function providerSegments(path: string): string[] | undefined {
  const at = path.toLowerCase().lastIndexOf('/providers/');
  return at < 0 ? undefined : path.slice(at + '/providers/'.length).split('/');
}

/** The create operation of a resource type (`Microsoft.ServiceBus/namespaces/queues`) and name. */
export function findResourceType(
  ops: readonly ArmOperation[],
  type: string,
  name: string | undefined,
  apiVersion: string,
): ArmOperation | undefined {
  const want = type.split('/');
  const lastName = name?.split('/').pop();
  const matches: { op: ArmOperation; literal: boolean }[] = [];
  for (const op of ops) {
    const segs = providerSegments(op.path);
    if (!segs || segs.length !== 2 * want.length - 1) continue;
    if (segs[0]!.toLowerCase() !== want[0]!.toLowerCase()) continue;
    let ok = true;
    let literal = false;
    for (let i = 1; i < want.length && ok; i++) {
      if (segs[2 * i - 1]!.toLowerCase() !== want[i]!.toLowerCase()) ok = false;
      const seg = segs[2 * i]!;
      // A literal name is a singleton (`blobServices/default`, `config/appsettings`): above the resource
      // it stands for its parent; as the resource's own name it must be that name.
      if (!/^\{.+\}$/.test(seg) && i === want.length - 1) {
        if (lastName !== undefined && seg.toLowerCase() === lastName.toLowerCase()) literal = true;
        else ok = false;
      }
    }
    if (ok) matches.push({ op, literal });
  }
  if (matches.length === 0) return undefined;
  const ranked = [...matches].sort(
    (a, b) =>
      Number(b.literal) - Number(a.literal) ||
      Number(b.op.apiVersion === apiVersion) - Number(a.op.apiVersion === apiVersion) ||
      (b.op.apiVersion ?? '').localeCompare(a.op.apiVersion ?? ''),
  );
  return ranked[0]!.op;
}
