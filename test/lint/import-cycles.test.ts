import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const tsx = join(repo, 'node_modules/.bin/tsx');
const tool = join(repo, 'tools/check-import-cycles.ts');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temporary source tree: path -> content. */
function plant(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cycles-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** Runs the check as `npm run lint:cycles` does, in `cwd`, on the given roots. */
async function check(cwd: string, ...args: string[]) {
  const child = spawn(tsx, [tool, ...args], { cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

describe('tools/check-import-cycles.ts', () => {
  it('fails on a file-level cycle, type-only and dynamic imports included, and prints each cycle', async () => {
    const root = plant({
      'lib/jobs/one.ts':
        "import { two } from './two.js';\nexport type One = string;\nexport const one = () => two();\n",
      // A type-only import closes a cycle too: the two files still need each other's design.
      'lib/jobs/two.ts':
        "import type { Three } from './three.js';\nexport type { One } from './one.js';\n" +
        'export const two = (): Three | undefined => undefined;\n',
      'lib/jobs/three.ts': "export type Three = number;\nexport const later = () => import('./one.js');\n",
      'lib/jobs/leaf.ts': 'export const leaf = 1;\n',
      'tools/run.ts':
        "import { one } from '../lib/jobs/one.js';\nimport { leaf } from '../lib/jobs/leaf.js';\none();\nvoid leaf;\n",
    });
    const r = await check(root, 'lib', 'tools');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'Import cycles between files (2):',
        '  lib/jobs/one.ts -> lib/jobs/two.ts -> lib/jobs/one.ts',
        '  lib/jobs/one.ts -> lib/jobs/two.ts -> lib/jobs/three.ts -> lib/jobs/one.ts',
        '5 files in lib, tools (subfolders inside their folder); type-only and dynamic imports count.',
        '',
      ].join('\n'),
    );
  });

  it('fails on a folder-level cycle that no file-level cycle shows, naming the imports that make it', async () => {
    const root = plant({
      'lib/worker/run.ts': "import { pass } from '../reclaimer/pass.js';\nexport const run = () => pass();\n",
      'lib/worker/policy.ts': 'export const backoff = (n: number) => n * 2;\n',
      'lib/reclaimer/pass.ts':
        "import { backoff } from '../worker/policy.js';\nexport const pass = () => backoff(1);\n",
      'lib/store/mongo/store.ts':
        "import type { Lease } from '../../worker/lease.js';\nexport type Store = { lease?: Lease };\n",
      'lib/worker/lease.ts':
        "import type { Store } from '../store/mongo/store.js';\n" +
        'export type Lease = { id: string };\nexport type S = Store;\n',
    });
    const r = await check(root, 'lib');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      [
        'Import cycles between files (1):',
        '  lib/store/mongo/store.ts -> lib/worker/lease.ts -> lib/store/mongo/store.ts',
        'Import cycles between folders (2):',
        '  lib/reclaimer -> lib/worker -> lib/reclaimer',
        '      lib/reclaimer/pass.ts -> lib/worker/policy.ts',
        '      lib/worker/run.ts -> lib/reclaimer/pass.ts',
        '  lib/store -> lib/worker -> lib/store',
        '      lib/store/mongo/store.ts -> lib/worker/lease.ts (type-only)',
        '      lib/worker/lease.ts -> lib/store/mongo/store.ts (type-only)',
        '5 files in lib (subfolders inside their folder); type-only and dynamic imports count.',
        '',
      ].join('\n'),
    );
  });

  // The layout the store keeps: the interface in lib/store, its MongoDB implementation in lib/store/mongo,
  // and the factory in lib/store building it. A folder and its own subfolder may use each other.
  const layered = {
    'lib/store/task-store.ts': 'export interface TaskStore { get(id: string): Promise<unknown> }\n',
    'lib/store/create.ts':
      "import type { TaskStore } from './task-store.js';\nimport { MongoTaskStore } from './mongo/store.js';\n" +
      'export const createStore = (): TaskStore => new MongoTaskStore();\n',
    'lib/store/mongo/store.ts':
      "import type { TaskStore } from '../task-store.js';\nimport { backoff } from '../../db/resilience.js';\n" +
      'export class MongoTaskStore implements TaskStore {\n' +
      '  async get(id: string) {\n    return backoff(id.length);\n  }\n}\n',
    'lib/db/resilience.ts': 'export const backoff = (n: number) => n;\n',
    'tools/db.ts': "import { createStore } from '../lib/store/create.js';\nvoid createStore();\n",
  };

  it('passes on an acyclic tree, including a folder and its subfolder that use each other', async () => {
    const root = plant(layered);
    const r = await check(root, 'lib', 'tools');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('No import cycles among 5 files in lib, tools.\n');
    expect(r.status).toBe(0);
  });

  it('with --strict-folders, counts every directory as a folder of its own', async () => {
    const root = plant(layered);
    const r = await check(root, '--strict-folders', 'lib', 'tools');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      [
        'Import cycles between folders (1):',
        '  lib/store -> lib/store/mongo -> lib/store',
        '      lib/store/create.ts -> lib/store/mongo/store.ts',
        '      lib/store/mongo/store.ts -> lib/store/task-store.ts (type-only)',
        '5 files in lib, tools (every directory a folder); type-only and dynamic imports count.',
        '',
      ].join('\n'),
    );
  });

  it('refuses an unknown option or a missing root instead of checking nothing', async () => {
    const root = plant(layered);
    const r = await check(root, 'lib', 'nowhere');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'no folder nowhere\n' +
        'usage: tsx tools/check-import-cycles.ts [--strict-folders] [root...] (default roots: lib functions tools)\n',
    );
  });
});
