import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../errors/message.js';
import type { WorkerHostFacts } from '../worker-registry/model.js';
import { WorkerIdentityError } from './errors.js';

/**
 * Worker identity: `{node-name}-{pod-name}-{guid}`, as in the original .NET design.
 *
 * - Serverless (WEBSITE_INSTANCE_ID on Azure, FC_INSTANCE_ID on Function Compute, or an instance id
 *   passed from the invocation context): `{site|function}-{instance}-{per-process guid}`.
 * - Kubernetes / plain process: node = NODE_NAME or the host name, pod = POD_NAME or "local".
 *   The guid part:
 *   - with a state directory (Worker:StateDirectory): the worker takes the first free *slot* (a lock
 *     file held by a live process) and reuses the guid persisted for that slot, so a restarted worker
 *     gets its id back and two live workers on one node never share one;
 *   - without one, INSTANCE_ID (the pod uid, stable across container restarts) when set, made
 *     distinct per process by the same slot locks (kept in the temp directory); else a new random
 *     guid per start.
 */
export interface WorkerIdentity {
  id: string;
  host: WorkerHostFacts;
  source: 'state-directory' | 'instance-id' | 'random' | 'serverless';
  /** The slot held (state directory or instance-id locks). */
  slot?: number;
  /** Frees the slot lock so a restarted worker can take the id back. Idempotent. */
  release(): void;
}

export interface ResolveIdentityOptions {
  env?: Record<string, string | undefined>;
  /** Worker:StateDirectory. */
  stateDirectory?: string;
  hostname?: string;
  pid?: number;
  /** A platform instance id known from the invocation context rather than the environment. */
  platformInstanceId?: string;
  /** Slots tried before giving up (workers per node per state directory). */
  maxSlots?: number;
}

/** One guid per process for serverless hosts: invocations in one process are one worker. */
const processGuid = randomUUID();

/** Lock tokens taken in this process: a lock naming our own pid is live only if we took it here (pid reuse in containers). */
const heldTokens = new Set<string>();

const lockSchema = z.object({ pid: z.number().int(), hostname: z.string(), token: z.string(), at: z.string() });
const slotStateSchema = z.object({ guid: z.string().min(1), createdAt: z.string() });

/** Keeps id parts readable and safe in file names, URLs and log lines. */
function part(s: string): string {
  const cleaned = s
    .trim()
    .replace(/[^A-Za-z0-9._]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned || 'unknown';
}

export function resolveWorkerIdentity(opts: ResolveIdentityOptions = {}): WorkerIdentity {
  const env = opts.env ?? process.env;
  const host = opts.hostname ?? osHostname();
  const pid = opts.pid ?? process.pid;
  const baseFacts = { hostname: host, pid, platform: process.platform, nodeVersion: process.version };

  const azure = env.WEBSITE_INSTANCE_ID?.trim();
  const fc = (opts.platformInstanceId ?? env.FC_INSTANCE_ID)?.trim();
  if (azure || fc) {
    const runtime = azure ? 'azure-functions' : 'function-compute';
    const site = azure ? (env.WEBSITE_SITE_NAME ?? 'azure') : (env.FC_FUNCTION_NAME ?? 'fc');
    const instanceId = (azure ?? fc)!;
    // The platform's instance ids are long (64 hex on Azure); 16 characters keep them distinct and readable.
    const id = `${part(site)}-${part(instanceId).slice(0, 16)}-${processGuid}`;
    return { id, host: { ...baseFacts, instanceId, runtime }, source: 'serverless', release: () => undefined };
  }

  const nodeName = env.NODE_NAME?.trim() || undefined;
  const podName = env.POD_NAME?.trim() || undefined;
  const instanceId = env.INSTANCE_ID?.trim() || undefined;
  const prefix = `${part(nodeName ?? host)}-${part(podName ?? 'local')}`;
  const facts: WorkerHostFacts = {
    ...baseFacts,
    ...(nodeName ? { nodeName } : {}),
    ...(podName ? { podName } : {}),
    ...(instanceId ? { instanceId } : {}),
    runtime: podName ? 'kubernetes' : 'process',
  };
  const maxSlots = opts.maxSlots ?? 64;

  if (opts.stateDirectory) {
    const dir = opts.stateDirectory;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new WorkerIdentityError(
        `cannot create the worker state directory ${dir}: ${errorMessage(e)}`,
        'Worker:StateDirectory',
        { cause: e },
      );
    }
    const lock = acquireSlot(dir, 'worker', maxSlots, host, pid);
    const guid = readOrCreateGuid(join(dir, `worker-${lock.slot}.json`), () =>
      instanceId ? slotted(part(instanceId), lock.slot) : randomUUID(),
    );
    return { id: `${prefix}-${guid}`, host: facts, source: 'state-directory', slot: lock.slot, release: lock.release };
  }

  if (instanceId) {
    let lock: SlotLock;
    try {
      const dir = join(tmpdir(), 'taskmesh-worker-locks');
      mkdirSync(dir, { recursive: true });
      lock = acquireSlot(dir, `${prefix}-${part(instanceId)}`, maxSlots, host, pid);
    } catch {
      // No writable temp directory (read-only root filesystem): the pid still tells processes of one pod apart.
      return {
        id: `${prefix}-${part(instanceId)}.p${pid}`,
        host: facts,
        source: 'instance-id',
        release: () => undefined,
      };
    }
    return {
      id: `${prefix}-${slotted(part(instanceId), lock.slot)}`,
      host: facts,
      source: 'instance-id',
      slot: lock.slot,
      release: lock.release,
    };
  }

  return { id: `${prefix}-${randomUUID()}`, host: facts, source: 'random', release: () => undefined };
}

const slotted = (guid: string, slot: number) => (slot === 0 ? guid : `${guid}.${slot}`);

function readOrCreateGuid(file: string, create: () => string): string {
  try {
    const parsed = slotStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success) return part(parsed.data.guid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) {
      throw new WorkerIdentityError(
        `cannot read the worker state file ${file}: ${errorMessage(e)}`,
        'Worker:StateDirectory',
        { cause: e },
      );
    }
  }
  const guid = create();
  // Written under the slot lock, so no other process writes this file now; rename keeps it whole.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ guid, createdAt: new Date().toISOString() }));
  renameSync(tmp, file);
  return guid;
}

interface SlotLock {
  slot: number;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): z.infer<typeof lockSchema> | null | 'garbled' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const parsed = lockSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'garbled';
  } catch {
    return 'garbled';
  }
}

/**
 * Takes the first free slot `<name>-<n>.lock` in `dir`. A lock is free when missing or stale (its
 * process is gone). Creation is atomic (link of a complete temp file). A stale lock is taken over by
 * renaming it aside and checking that what was moved is the stale lock that was judged (else it is
 * put back), so two workers starting together never both take one slot.
 */
function acquireSlot(dir: string, name: string, maxSlots: number, host: string, pid: number): SlotLock {
  for (let slot = 0; slot < maxSlots; slot++) {
    const file = join(dir, `${name}-${slot}.lock`);
    const token = randomUUID();
    if (tryCreate(file, { pid, hostname: host, token, at: new Date().toISOString() })) return held(file, slot, token);
    const current = readLock(file);
    if (current === null) {
      slot--; // vanished meanwhile: try this slot again
      continue;
    }
    const stale =
      current === 'garbled' ||
      (current.hostname === host && (current.pid === pid ? !heldTokens.has(current.token) : !isAlive(current.pid)));
    if (!stale) continue;
    const aside = `${file}.${token}.stale`;
    try {
      renameSync(file, aside);
    } catch {
      continue;
    }
    const moved = readLock(aside);
    const movedTheStaleOne =
      current === 'garbled'
        ? moved === 'garbled'
        : moved !== null && moved !== 'garbled' && moved.token === current.token;
    if (!movedTheStaleOne) {
      // We moved a fresh lock another worker just took: put it back, and leave the slot to it.
      try {
        linkSync(aside, file);
      } catch {
        // Someone recreated it meanwhile; theirs stands.
      }
      safeUnlink(aside);
      continue;
    }
    safeUnlink(aside);
    if (tryCreate(file, { pid, hostname: host, token, at: new Date().toISOString() })) return held(file, slot, token);
  }
  throw new WorkerIdentityError(
    `no free worker slot in ${dir} (${maxSlots} live workers hold them)`,
    'Worker:StateDirectory',
  );
}

function tryCreate(file: string, content: z.infer<typeof lockSchema>): boolean {
  const tmp = `${file}.${content.token}.tmp`;
  writeFileSync(tmp, JSON.stringify(content));
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new WorkerIdentityError(
      `cannot create the worker lock ${file}: ${errorMessage(e)}`,
      'Worker:StateDirectory',
      { cause: e },
    );
  } finally {
    safeUnlink(tmp);
  }
}

function held(file: string, slot: number, token: string): SlotLock {
  heldTokens.add(token);
  let released = false;
  return {
    slot,
    release: () => {
      if (released) return;
      released = true;
      heldTokens.delete(token);
      const current = readLock(file);
      if (current && current !== 'garbled' && current.token === token) safeUnlink(file);
    },
  };
}

function safeUnlink(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
