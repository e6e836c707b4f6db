/**
 * The limits every door into the task store applies to what a caller sends (a queue message, a
 * `POST /api/tasks` body, a `taskctl enqueue` line, a replayed dead letter): size, nesting depth, keys
 * MongoDB would misread, and value types. One module, so the doors cannot drift apart.
 *
 * The scan is iterative and runs before zod or any other recursive work: a document nested 5,000 levels
 * deep (which JSON.parse reads without trouble) must be refused here, not exhaust the stack in a
 * recursive schema such as `z.json()`.
 */

/** MongoDB refuses documents nested deeper than 100 levels; stay well inside with the task around it. */
export const MAX_TASK_DEPTH = 64;
/** Default size limit of one task's input (UTF-8 bytes), the same as Ingest:MaxBodyBytes' default. */
export const DEFAULT_MAX_TASK_BYTES = 64 * 1024;
/** Longest key accepted; longer ones are almost certainly not a field name. */
export const MAX_KEY_CHARS = 1024;

export const inputViolationCodes = ['BodyTooLarge', 'ForbiddenKey', 'PayloadTooDeep', 'UnsupportedValue'] as const;
export type InputViolationCode = (typeof inputViolationCodes)[number];

/** Why an input was refused, and where in it (a path such as `payload.items[3]`, or `(root)`). */
export interface InputViolation {
  code: InputViolationCode;
  detail: string;
  path: string;
}

export interface ScanLimits {
  /** Levels of objects/arrays below the root (default MAX_TASK_DEPTH). */
  maxDepth?: number;
  /**
   * false: depth and value types only, for a request that holds more than task input (a message's
   * properties may have dotted names); its task input is scanned in full where it is taken out.
   */
  checkKeys?: boolean;
}

/** The UTF-8 size check: cheap, and done before anything reads the text. */
export function checkSize(text: string, maxBytes: number, setting?: string): InputViolation | undefined {
  // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: skip the count when it cannot exceed.
  if (text.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return undefined;
  return {
    code: 'BodyTooLarge',
    detail: `the body is ${bytes} bytes; ${setting ? `${setting} is ` : 'the limit is '}${maxBytes}`,
    path: '(root)',
  };
}

/**
 * Walks a parsed document without recursion and returns its first violation: nesting deeper than the
 * limit, a key starting with `$`, containing `.` or NUL (operator or path injection), an overlong key,
 * or a value JSON cannot hold (a function, a symbol, a bigint, a non-finite number, a class instance).
 */
export function scanDocument(doc: unknown, limits: ScanLimits = {}): InputViolation | undefined {
  const maxDepth = limits.maxDepth ?? MAX_TASK_DEPTH;
  const checkKeys = limits.checkKeys ?? true;
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: doc, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    const unsupported = unsupportedValue(value);
    if (unsupported) return { code: 'UnsupportedValue', detail: `${unsupported} at ${at(path)}`, path: at(path) };
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth)
      return {
        code: 'PayloadTooDeep',
        detail: `the document is nested deeper than ${maxDepth} levels (at ${at(path)})`,
        path: at(path),
      };
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, v] = entries[i]!;
      const where = path ? `${path}.${k}` : k;
      const bad = checkKeys ? keyProblem(k) : undefined;
      if (bad) return { code: 'ForbiddenKey', detail: `key ${bad} at ${at(truncate(where))}`, path: truncate(where) };
      stack.push({ value: v, path: where, depth: depth + 1 });
    }
  }
  return undefined;
}

export type ParsedInput =
  { ok: true; value: unknown } | { ok: false; violation?: InputViolation; invalidJson?: string };

/** Size, JSON and scan, in that order: the whole check of a text door (message body, CLI line). */
export function parseTaskInput(text: string, opts: { maxBytes: number; setting?: string }): ParsedInput {
  const tooLarge = checkSize(text, opts.maxBytes, opts.setting);
  if (tooLarge) return { ok: false, violation: tooLarge };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, invalidJson: e instanceof Error ? e.message : String(e) };
  }
  const violation = scanDocument(value);
  return violation ? { ok: false, violation } : { ok: true, value };
}

/** A one-line description for logs, CLI output and dead-letter reasons. */
export function describeViolation(v: InputViolation): string {
  return `${v.code}: ${v.detail}`;
}

function keyProblem(k: string): string | undefined {
  const shown = `"${k.slice(0, 100).split('\u0000').join('\\u0000')}"`;
  if (k.startsWith('$')) return `${shown} starts with "$" (MongoDB operator injection)`;
  if (k.includes('.')) return `${shown} contains "." (MongoDB path injection)`;
  if (k.includes('\u0000')) return `${shown} contains a NUL character`;
  if (k.length > MAX_KEY_CHARS) return `${shown}... is longer than ${MAX_KEY_CHARS} characters`;
  return undefined;
}

function unsupportedValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `a non-finite number (${String(value)})`;
    case 'object': {
      if (value === null || Array.isArray(value)) return undefined;
      const proto: unknown = Object.getPrototypeOf(value);
      return proto === Object.prototype || proto === null ? undefined : 'an object that is not plain JSON';
    }
    default:
      return `a ${typeof value} (not a JSON value)`;
  }
}

function at(path: string): string {
  return path || '(root)';
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
