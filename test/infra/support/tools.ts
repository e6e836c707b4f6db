/** External tools and code facts the infra tests look at when they are there. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './drift.js';

/** Whether an executable is on the PATH. */
export function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Runs a tool; returns its exit status and output. */
export function run(
  tool: string,
  args: string[],
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}), timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function filesUnder(dir: string, ext: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules' || f.startsWith('.')) return [];
    return statSync(p).isDirectory() ? filesUnder(p, ext) : ext.test(f) ? [p] : [];
  });
}

/** Connection names the Azure Functions code registers its triggers with (`connection: '...'`), if that code exists. */
export function azureCodeConnections(): string[] {
  const names = new Set<string>();
  for (const f of filesUnder(repoPath('functions', 'azure'), /\.ts$/)) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\bconnection\s*:\s*['"`]([\w-]+)['"`]/g)) names.add(m[1]!);
  }
  return [...names];
}

/** host.json of the Azure Functions app, where the code keeps it (repository root or functions/azure). */
export function hostJsonPath(): string | undefined {
  return [repoPath('host.json'), repoPath('functions', 'azure', 'host.json')].find((p) => existsSync(p));
}

export function packageScripts(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return pkg.scripts ?? {};
}

/** Every file under infra/, relative to the repository root. */
export function infraFiles(): string[] {
  const root = repoPath();
  return filesUnder(repoPath('infra'), /./)
    .map((p) => p.slice(root.length + 1))
    .sort();
}
