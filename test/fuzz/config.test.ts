/**
 * Fuzzing the configuration: generated environment variables (every known setting, in any case, with
 * hostile values) and settings files. Property: loadConfig returns a configuration or throws one
 * ConfigError naming the bad keys; never another error, and never a secret echoed in the message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, settingNames } from '../../lib/config/index.js';
import { deepText, fuzzParams, hostileJson } from './arbitraries.js';

const names = settingNames();
const SECRET = 'SharedAccessKey=fuzz-secret-0123456789';

const value = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1e309',
    'NaN',
    'true',
    'yes',
    '00:00:00',
    '25:61:61',
    '99999999999999999999',
    'mongodb://',
    SECRET,
  ),
  fc.integer().map(String),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** Setting names as env vars, case varied as platforms may carry them. */
const envName = fc.tuple(fc.constantFrom(...names), fc.boolean()).map(([n, lower]) => {
  const v = n.replace(':', '__');
  return lower ? v.toLowerCase() : v;
});

function check(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain('fuzz-secret');
  }
}

describe('fuzz: configuration', () => {
  it('generated environment variables: a configuration or one ConfigError', () => {
    fc.assert(
      fc.property(fc.dictionary(envName, value, { maxKeys: 8 }), (env) => check(() => loadConfig({ env }))),
      fuzzParams(10),
    );
  });

  it('generated settings files: a configuration or one ConfigError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fuzz-config-'));
    const file = join(dir, 'settings.json');
    const section = fc.constantFrom(...new Set(names.map((n) => n.split(':')[0]!)));
    const fileText = fc.oneof(
      fc
        .dictionary(
          section,
          fc.oneof(
            fc.dictionary(fc.constantFrom(...names.map((n) => n.split(':')[1]!)), fc.oneof(value, hostileJson), {
              maxKeys: 5,
            }),
            hostileJson,
          ),
          { maxKeys: 4 },
        )
        .map((v) => JSON.stringify(v)),
      hostileJson.map((v) => JSON.stringify(v) ?? ''),
      deepText,
      fc.string({ maxLength: 50 }),
    );
    fc.assert(
      fc.property(fileText, (text) => {
        writeFileSync(file, text);
        check(() => loadConfig({ env: {}, file }));
      }),
      fuzzParams(5),
    );
  });
});
