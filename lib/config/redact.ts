/**
 * Secret redaction for anything that may reach a message or a log line.
 * Connection strings keep their shape (so a user can see which host was meant) without the secret.
 */
const MASK = '***';

export function redactConnectionString(value: string): string {
  return (
    value
      // scheme://user:password@host -> scheme://user:***@host (anywhere in the text)
      .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]*@/gi, `$1${MASK}@`)
      // Service Bus / Storage style Key=Value; pairs
      .replace(
        /((?:SharedAccessKey|SharedAccessSignature|AccountKey|AccessKeySecret|Password|SecurityToken)\s*=)[^;]*/gi,
        `$1${MASK}`,
      )
      // SAS query parameters in URLs
      .replace(/([?&](?:sig|Signature|SecurityToken)=)[^&]*/gi, `$1${MASK}`)
  );
}

/** Masks a value known to be a secret entirely, unless it is a connection string whose shape helps. */
export function redactSecretValue(value: unknown): string {
  if (typeof value !== 'string') return MASK;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /;/.test(value)) return redactConnectionString(value);
  return MASK;
}

const secretKeyPattern = /(secret|password|token|sharedaccesskey|accountkey|apikey|connectionstring|credential)/i;

/** Deeply redacts an object for logging: secret-looking keys masked, connection strings stripped. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return redactConnectionString(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redactConnectionString(value.message) };
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        secretKeyPattern.test(k) && v !== undefined && v !== null ? redactSecretValue(v) : redactDeep(v, depth + 1);
    }
    return out;
  }
  return value;
}
