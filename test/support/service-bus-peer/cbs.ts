/**
 * The `$cbs` put-token exchange. SAS tokens are verified against the peer's key (so a wrong key fails
 * the way it does against Azure: 401 and UnauthorizedAccess); JWTs from a TokenCredential cannot be
 * checked locally and are accepted. A connection may attach to an address only under a token whose
 * audience covers it.
 */
import { createHmac } from 'node:crypto';
import type { WireMessage } from './amqp-values.js';

export interface SasKey {
  name: string;
  key: string;
}

export interface PutTokenResult {
  reply: WireMessage;
  /** The audience now authorised, when the token was good. */
  audience?: string;
}

export function handlePutToken(request: WireMessage, sas: SasKey): PutTokenResult {
  const props = request.application_properties ?? {};
  const audience = typeof props.name === 'string' ? props.name : '';
  const token = typeof request.body === 'string' ? request.body : '';
  const problem =
    props.type === 'servicebus.windows.net:sastoken' ? checkSas(token, audience, sas) : token ? undefined : 'no token';
  if (problem || props.operation !== 'put-token') {
    return { reply: status(401, `InvalidSignature: ${problem ?? 'unsupported operation'}`) };
  }
  return { reply: status(202, 'Accepted'), audience };
}

/** Whether some authorised audience is the address or a prefix of it (namespace-wide tokens cover all). */
export function covers(audiences: Iterable<string>, resource: string): boolean {
  const target = resource.toLowerCase().replace(/\/+$/, '');
  for (const a of audiences) {
    const prefix = a.toLowerCase().replace(/\/+$/, '');
    if (target === prefix || target.startsWith(`${prefix}/`)) return true;
  }
  return false;
}

function checkSas(token: string, audience: string, sas: SasKey): string | undefined {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return 'not a SharedAccessSignature';
  const params = new URLSearchParams(token.slice(prefix.length));
  const sr = params.get('sr') ?? '';
  const se = params.get('se') ?? '';
  if (params.get('skn') !== sas.name) return 'unknown key name';
  if (!(Number(se) > Date.now() / 1000)) return 'token expired';
  if (!covers([sr], audience)) return 'token audience does not match';
  const expected = createHmac('sha256', sas.key)
    .update(`${encodeURIComponent(sr)}\n${se}`)
    .digest('base64');
  return params.get('sig') === expected ? undefined : 'signature mismatch';
}

function status(code: number, description: string): WireMessage {
  return { application_properties: { 'status-code': code, 'status-description': description } };
}
