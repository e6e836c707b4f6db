import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveWorkerIdentity, type WorkerIdentity } from '../../lib/worker/identity.js';

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const held: WorkerIdentity[] = [];
const dirs: string[] = [];
const take = (i: WorkerIdentity) => (held.push(i), i);
const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'taskmesh-id-'));
  dirs.push(d);
  return d;
};

afterEach(() => {
  for (const i of held.splice(0)) i.release();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('worker identity', () => {
  it("has the original .NET design's form {node-name}-{pod-name}-{guid} from the downward API variables", () => {
    const id = take(
      resolveWorkerIdentity({ env: { NODE_NAME: 'aks-node-1', POD_NAME: 'task-workers-7f9c-abcde' }, hostname: 'h' }),
    );
    expect(id.id).toMatch(new RegExp(`^aks-node-1-task-workers-7f9c-abcde-${uuid}$`));
    expect(id.host).toMatchObject({
      nodeName: 'aks-node-1',
      podName: 'task-workers-7f9c-abcde',
      runtime: 'kubernetes',
      hostname: 'h',
    });
    expect(id.source).toBe('random');
  });

  it('falls back to the host name, and uses INSTANCE_ID (the pod uid) as the guid', () => {
    expect(take(resolveWorkerIdentity({ env: {}, hostname: 'devbox' })).id).toMatch(
      new RegExp(`^devbox-local-${uuid}$`),
    );
    const a = take(
      resolveWorkerIdentity({
        env: { NODE_NAME: 'n1', POD_NAME: 'p1', INSTANCE_ID: '0b6b3a52-1111-2222-3333-444455556666' },
        hostname: 'p1',
      }),
    );
    expect(a.id).toBe('n1-p1-0b6b3a52-1111-2222-3333-444455556666');
    expect(a.source).toBe('instance-id');
  });

  it('two workers on one node never share an id', () => {
    const env = { NODE_NAME: 'n1', POD_NAME: 'p1', INSTANCE_ID: 'same-uid' };
    const a = take(resolveWorkerIdentity({ env, hostname: 'p1' }));
    const b = take(resolveWorkerIdentity({ env, hostname: 'p1' }));
    expect(a.id).not.toBe(b.id);
    const dir = stateDir();
    const c = take(resolveWorkerIdentity({ env: { NODE_NAME: 'n1' }, stateDirectory: dir }));
    const d = take(resolveWorkerIdentity({ env: { NODE_NAME: 'n1' }, stateDirectory: dir }));
    expect(c.id).not.toBe(d.id);
    expect(take(resolveWorkerIdentity({ env: {} })).id).not.toBe(take(resolveWorkerIdentity({ env: {} })).id);
  });

  it('persists its id across restarts with a state directory', () => {
    const dir = stateDir();
    const first = resolveWorkerIdentity({ env: { NODE_NAME: 'n1', POD_NAME: 'p1' }, stateDirectory: dir });
    expect(first.id).toMatch(new RegExp(`^n1-p1-${uuid}$`));
    expect(first.source).toBe('state-directory');
    first.release();
    const again = take(resolveWorkerIdentity({ env: { NODE_NAME: 'n1', POD_NAME: 'p1' }, stateDirectory: dir }));
    expect(again.id).toBe(first.id);
  });

  it('takes back the id of a worker that died without releasing it (stale lock), but not of a live one', () => {
    const dir = stateDir();
    // A process that takes slot 0 and exits without releasing: its lock names a dead pid.
    const script = `import { resolveWorkerIdentity } from './lib/worker/identity.ts';
      const i = resolveWorkerIdentity({ env: { NODE_NAME: 'n1' }, stateDirectory: ${JSON.stringify(dir)} });
      process.stdout.write(i.id);`;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: new URL('../..', import.meta.url).pathname,
    });
    expect(res.status, res.stderr).toBe(0);
    const deadId = res.stdout.trim();
    expect(readdirSync(dir)).toContain('worker-0.lock');
    const revived = take(resolveWorkerIdentity({ env: { NODE_NAME: 'n1' }, stateDirectory: dir }));
    expect(revived.id).toBe(deadId);
    expect(revived.slot).toBe(0);
    // While it lives, the next worker gets another slot and id.
    const other = take(resolveWorkerIdentity({ env: { NODE_NAME: 'n1' }, stateDirectory: dir }));
    expect(other.slot).toBe(1);
    expect(other.id).not.toBe(deadId);
  });

  it('treats a garbled lock as stale', () => {
    const dir = stateDir();
    writeFileSync(join(dir, 'worker-0.lock'), 'not json');
    expect(take(resolveWorkerIdentity({ env: {}, stateDirectory: dir })).slot).toBe(0);
  });

  it('on serverless hosts: the platform instance id plus a per-process guid', () => {
    const az = resolveWorkerIdentity({
      env: { WEBSITE_INSTANCE_ID: 'a'.repeat(64), WEBSITE_SITE_NAME: 'taskmesh-func' },
    });
    expect(az.id).toMatch(new RegExp(`^taskmesh-func-a{16}-${uuid}$`));
    expect(az.host).toMatchObject({ runtime: 'azure-functions', instanceId: 'a'.repeat(64) });
    expect(
      resolveWorkerIdentity({ env: { WEBSITE_INSTANCE_ID: 'a'.repeat(64), WEBSITE_SITE_NAME: 'taskmesh-func' } }).id,
    ).toBe(az.id);
    const fc = resolveWorkerIdentity({
      env: { FC_INSTANCE_ID: 'c-66a1b2c3-d4e5f6a7b8c9', FC_FUNCTION_NAME: 'processor' },
    });
    expect(fc.id).toMatch(new RegExp(`^processor-c-66a1b2c3-d4e5f-${uuid}$`));
    expect(fc.host.runtime).toBe('function-compute');
    expect(resolveWorkerIdentity({ env: {}, platformInstanceId: 'from-context' }).id).toMatch(
      new RegExp(`^fc-from-context-${uuid}$`),
    );
  });
});
