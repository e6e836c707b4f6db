import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const prettier = join(repo, 'node_modules/.bin/prettier');

describe("prettier --check with the project's .prettierrc.json and .prettierignore", () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'format-'));
    for (const f of ['.prettierrc.json', '.prettierignore']) copyFileSync(join(repo, f), join(root, f));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const plant = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const run = (...args: string[]) => {
    // No colours: CI sets variables that make Prettier colour its warnings, and the output is asserted verbatim.
    const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
    const r = spawnSync(prettier, args, { cwd: root, encoding: 'utf8', env });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('passes formatted code: single quotes, semicolons, trailing commas, lines up to 120 characters', () => {
    plant(
      'lib/good.ts',
      [
        "export const joined = (first: string, second: string, third: string) => [first, second, third].join(', ');",
        'export const settings = {',
        "  'x-functions-key': 'key',",
        '  retries: 3,',
        '};',
        '',
      ].join('\n'),
    );
    // Ignored: built output and generated files are not ours to format.
    plant('dist/lib/built.js', 'var a = "x"\n');
    plant('README.md', '| a |  b |\n|---|---|\n');
    expect(run('--check', '.')).toEqual({
      status: 0,
      stdout: 'Checking formatting...\nAll matched files use Prettier code style!\n',
      stderr: '',
    });
  });

  it('fails on an unformatted file and names it', () => {
    plant(
      'lib/bad.ts',
      'const greeting = "hello"\nexport const options = { a: 1, b: [1, 2, 3], }\nexport default greeting\n',
    );
    expect(run('--check', '.')).toEqual({
      status: 1,
      stdout: 'Checking formatting...\n',
      stderr: [
        '[warn] lib/bad.ts',
        '[warn] Code style issues found in the above file. Run Prettier with --write to fix.',
        '',
      ].join('\n'),
    });
    expect(run('lib/bad.ts').stdout).toBe(
      "const greeting = 'hello';\nexport const options = { a: 1, b: [1, 2, 3] };\nexport default greeting;\n",
    );
  });
});
