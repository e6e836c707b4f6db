/**
 * Starts and stops mongo-java-server, the MongoDB wire-protocol server the project uses for tests
 * and local runs (no real mongod can be installed here). The jar classpath comes from Maven
 * (tools/pom.xml); the launcher is a single-file Java program run straight from source.
 */
import { exitOf, stopChild } from './child-process.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';

const toolsDir = dirname(fileURLToPath(import.meta.url));
const classpathFile = join(toolsDir, 'target', 'classpath.txt');
const launcher = join(toolsDir, 'MongoServerLauncher.java');
const classesDir = join(toolsDir, 'target', 'launcher');

export interface MongoServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  backend?: 'memory' | 'h2';
  /** Data file for the h2 backend. */
  file?: string;
  /**
   * Keep an oplog, which the server's change streams read (default off). Without it a $changeStream
   * aggregate answers an empty, closed cursor. Every write is then also kept for the life of the process.
   */
  oplog?: boolean;
  /** How long to wait for the server to answer a ping. */
  startTimeoutMs?: number;
}

export interface MongoServerHandle {
  uri: string;
  port: number;
  pid: number;
  options: Required<Pick<MongoServerOptions, 'host' | 'backend'>> & MongoServerOptions;
  /** Resolves when the process has exited, stopped or not. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** Resolves the jars with Maven once; later runs read the cached classpath file. */
export function mongoServerClasspath(): string {
  if (!existsSync(classpathFile)) {
    const args = [
      '-q',
      '-f',
      join(toolsDir, 'pom.xml'),
      'dependency:build-classpath',
      `-Dmdep.outputFile=${classpathFile}`,
    ];
    // Offline first: CI resolves the dependencies before the tests, and local runs have them after the first start.
    let res = spawnSync('mvn', ['-o', ...args], { encoding: 'utf8' });
    if (res.status !== 0) res = spawnSync('mvn', args, { encoding: 'utf8' });
    if (res.status !== 0 || !existsSync(classpathFile)) {
      throw new Error(
        `could not resolve mongo-java-server with Maven (tools/pom.xml): ${(res.stderr || res.stdout || String(res.error)).slice(0, 2000)}`,
      );
    }
  }
  return readFileSync(classpathFile, 'utf8').trim();
}

/**
 * Compiles the launcher once (running a .java source compiles it on every start, which costs seconds);
 * recompiles when the source is newer than the class.
 */
function compiledLauncher(classpath: string): string {
  const cls = join(classesDir, 'MongoServerLauncher.class');
  if (!existsSync(cls) || statSync(cls).mtimeMs < statSync(launcher).mtimeMs) {
    // Compile aside and rename: several test processes may start servers at once.
    const tmp = mkdtempSync(join(toolsDir, 'target', 'launcher-'));
    const res = spawnSync('javac', ['-nowarn', '-d', tmp, '-cp', classpath, launcher], { encoding: 'utf8' });
    if (res.status !== 0)
      throw new Error(`could not compile ${launcher}: ${(res.stderr || String(res.error)).slice(0, 2000)}`);
    mkdirSync(classesDir, { recursive: true });
    renameSync(join(tmp, 'MongoServerLauncher.class'), cls);
    rmSync(tmp, { recursive: true, force: true });
  }
  return classesDir;
}

export async function startMongoServer(opts: MongoServerOptions = {}): Promise<MongoServerHandle> {
  const options = { host: '127.0.0.1', port: 0, backend: 'memory' as const, startTimeoutMs: 60_000, ...opts };
  if (options.backend === 'h2') {
    if (!options.file) throw new Error('startMongoServer: the h2 backend needs a data file');
    options.file = resolve(options.file);
    mkdirSync(dirname(options.file), { recursive: true });
  }
  const classpath = mongoServerClasspath();
  const args = [
    '-cp',
    `${compiledLauncher(classpath)}:${classpath}`,
    'MongoServerLauncher',
    '--host',
    options.host,
    '--port',
    String(options.port),
    '--backend',
    options.backend,
  ];
  if (options.file) args.push('--file', options.file);
  if (options.oplog) args.push('--oplog');
  // Its own process group: a Ctrl-C meant for the parent must not stop the database before the parent has
  // released its tasks. The launcher still exits when our stdin pipe closes (parent gone, even by SIGKILL).
  const child = spawn('java', ['-XX:+UseSerialGC', '-Xss512k', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const uri = await waitForReady(child, options.startTimeoutMs);
  await waitForPing(uri, options.startTimeoutMs);
  const port = Number(new URL(uri).port);
  return {
    uri,
    port,
    pid: child.pid ?? -1,
    options,
    exited: exitOf(child),
    stop: () => stopChild(child),
  };
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mongo-java-server did not start within ${timeoutMs} ms: ${err.slice(-2000)}`));
    }, timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /MONGO-JAVA-SERVER READY (mongodb:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mongo-java-server exited with code ${code} before it was ready: ${err.slice(-2000)}`));
    });
  });
}

async function waitForPing(uri: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new Error(`mongo-java-server at ${uri} did not answer ping: ${String(last)}`);
}
