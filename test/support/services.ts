/**
 * The servers a test file uses, started on first use (see test/setup/services.ts): call `mongoUri()`
 * or `azuriteConnectionString()` and only that server runs. Each is asked for once per test process.
 *
 * MONGODB_URI points the suite at another MongoDB (then nothing is started, and tests that stop and
 * restart a server of their own skip, see `mongoManaged()`); AZURITE_QUEUE_CONNECTION_STRING likewise
 * points it at another Azurite.
 */
import { expect, inject } from 'vitest';
import type { TestServiceName } from '../setup/services.js';

const asked = new Map<TestServiceName, Promise<string>>();

/** Connection string of the suite's MongoDB: MONGODB_URI, or mongo-java-server started on first use. */
export function mongoUri(): Promise<string> {
  const external = process.env.MONGODB_URI;
  return external ? Promise.resolve(external) : ask('mongo');
}

/**
 * True when the suite runs on mongo-java-server rather than on MONGODB_URI's server: then Java is
 * there, and a test may start, stop and restart a server of its own.
 */
export function mongoManaged(): boolean {
  return !process.env.MONGODB_URI;
}

/** Connection string of the suite's Azurite Queue service (in memory, free port), started on first use. */
export function azuriteConnectionString(): Promise<string> {
  const external = process.env.AZURITE_QUEUE_CONNECTION_STRING;
  return external ? Promise.resolve(external) : ask('azurite');
}

function ask(name: TestServiceName): Promise<string> {
  let answer = asked.get(name);
  if (!answer) {
    answer = request(name);
    asked.set(name, answer);
  }
  return answer;
}

async function request(name: TestServiceName): Promise<string> {
  const url = new URL(`/${name}`, inject('testServicesUrl'));
  url.searchParams.set('by', askingFile());
  const res = await fetch(url, { method: 'POST' });
  const text = await res.text();
  if (!res.ok) throw new Error(`test services: ${name} could not be started: ${text}`);
  return text;
}

/** The test file asking (for the starter's log line). */
function askingFile(): string {
  const path = expect.getState().testPath;
  return path ? path.replace(`${process.cwd()}/`, '') : 'a test';
}
