/** The Kubernetes manifests (infra/kubernetes) and their checks against the code. */
import { loadConfig, parseDuration } from '../../../lib/config/index.js';
import {
  differencesFromDefaults,
  loadProblems,
  ncrontabToFiveField,
  providerProblems,
  repoPath,
  settingProblems,
  type Expectations,
} from './drift.js';
import { commandLine, findObject, loadKustomization, podSpecOf, type Container, type K8sObject } from './k8s.js';

export function loadKubernetes(dir = repoPath('infra', 'kubernetes')) {
  return loadKustomization(dir);
}

export const names = {
  configMap: 'taskmesh-config',
  secret: 'taskmesh-secrets',
  deployment: 'taskmesh-worker',
  subscriber: 'taskmesh-subscriber',
  cronJob: 'taskmesh-reclaimer',
};

function stringMap(obj: K8sObject, field: 'data' | 'stringData'): Record<string, string> {
  const v = (obj[field] ?? {}) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v))
    if (typeof x !== 'string') throw new Error(`${obj.kind} ${obj.metadata.name}: ${k} is not a string (quote it)`);
  return v as Record<string, string>;
}

export function configMapData(objects: readonly K8sObject[]): Record<string, string> {
  return stringMap(findObject(objects, 'ConfigMap', names.configMap), 'data');
}

export function secretData(objects: readonly K8sObject[]): Record<string, string> {
  const s = findObject(objects, 'Secret', names.secret);
  return { ...stringMap(s, 'data'), ...stringMap(s, 'stringData') };
}

/**
 * The queue providers the Kubernetes deployment runs: it declares no list of its own, it runs the one
 * its ConfigMap's Ingest__Provider selects (the code's default when unset).
 */
export function queueProviders(objects: readonly K8sObject[]): string[] {
  const selected = configMapData(objects).Ingest__Provider?.trim();
  return [selected || loadConfig({ env: {} }).Ingest.Provider];
}

/** ConfigMap + Secret hold every setting (those of the selected provider included), the secret ones only in the Secret. */
export function settingsProblems(objects: readonly K8sObject[], exp: Expectations): string[] {
  const cm = Object.keys(configMapData(objects));
  const secret = Object.keys(secretData(objects));
  const deployed = queueProviders(objects);
  const problems = [
    ...settingProblems('ConfigMap + Secret', [...cm, ...secret], exp, deployed),
    ...providerProblems('infra/kubernetes', exp, deployed, undefined, [...cm, ...secret]),
  ];
  for (const k of cm)
    if (exp.secrets.has(k)) problems.push(`ConfigMap holds the secret setting ${k}; it belongs in the Secret`);
  for (const k of secret)
    if (!exp.secrets.has(k)) problems.push(`Secret holds ${k}, which is not secret; it belongs in the ConfigMap`);
  return problems;
}

export function valueProblems(objects: readonly K8sObject[], intended: readonly string[]): string[] {
  const env = configMapData(objects);
  const problems = loadProblems(env).map((p) => `ConfigMap: ${p}`);
  if (problems.length > 0) return problems;
  const diff = differencesFromDefaults(env);
  for (const d of diff)
    if (!intended.includes(d))
      problems.push(`ConfigMap sets ${d}=${JSON.stringify(env[d])}, which differs from the code's default`);
  for (const d of intended)
    if (!diff.includes(d)) problems.push(`ConfigMap: ${d} was expected to differ from the code's default and does not`);
  return problems;
}

function envFromProblems(where: string, c: Container): string[] {
  const problems: string[] = [];
  const refs = c.envFrom ?? [];
  if (!refs.some((r) => r.configMapRef?.name === names.configMap))
    problems.push(`${where}: envFrom lacks the ConfigMap ${names.configMap}`);
  if (!refs.some((r) => r.secretRef?.name === names.secret))
    problems.push(`${where}: envFrom lacks the Secret ${names.secret}`);
  return problems;
}

/** Worker identity from the downward API (lib/worker/identity.ts reads NODE_NAME, POD_NAME, INSTANCE_ID). */
export const downwardApi: Record<string, string> = {
  NODE_NAME: 'spec.nodeName',
  POD_NAME: 'metadata.name',
  INSTANCE_ID: 'metadata.uid',
};

function downwardProblems(where: string, c: Container): string[] {
  const problems: string[] = [];
  for (const [name, path] of Object.entries(downwardApi)) {
    const e = (c.env ?? []).find((x) => x.name === name);
    if (e?.valueFrom?.fieldRef?.fieldPath !== path) problems.push(`${where}: ${name} must come from fieldRef ${path}`);
  }
  return problems;
}

/** Seconds the preStop hook sleeps (exec `sleep N` or the native sleep action). */
export function preStopSeconds(c: Container): number | undefined {
  const pre = c.lifecycle?.preStop;
  if (pre?.sleep) return pre.sleep.seconds;
  const m = /\bsleep\s+(\d+)\b/.exec((pre?.exec?.command ?? []).join(' '));
  return m ? Number(m[1]) : undefined;
}

export function deploymentProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const d = findObject(objects, 'Deployment', names.deployment);
  const pod = podSpecOf(d);
  const c = pod.containers[0];
  if (!c || pod.containers.length !== 1) return ['the worker Deployment must have one container'];
  if (!/^npm run worker(\s|$)/.test(commandLine(c)))
    problems.push(`the worker container runs "${commandLine(c)}", not npm run worker`);
  problems.push(...envFromProblems('worker', c), ...downwardProblems('worker', c));
  problems.push(...probeProblems('worker', c, commandLine(c)));
  const sleep = preStopSeconds(c);
  if (sleep === undefined) problems.push('the worker has no preStop sleep');
  const shutdownMs = parseDuration(configMapData(objects).Worker__ShutdownTimeout ?? '25000');
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (sleep !== undefined && shutdownMs !== undefined && grace <= sleep + shutdownMs / 1000) {
    problems.push(
      `terminationGracePeriodSeconds ${grace} does not exceed the preStop sleep (${sleep} s) + Worker__ShutdownTimeout (${shutdownMs / 1000} s)`,
    );
  }
  return problems;
}

interface Probe {
  httpGet?: { path?: string; port?: number | string };
}

/**
 * Liveness GETs /healthz and readiness /readyz on the port the process serves them on (its
 * --probe-port, default 8080: tools/subscriber.ts and tools/worker.ts alike).
 */
function probeProblems(who: string, c: Container, line: string): string[] {
  const problems: string[] = [];
  const served = Number(/--probe-port[ =](\d+)/.exec(line)?.[1] ?? 8080);
  for (const [kind, path] of [
    ['livenessProbe', '/healthz'],
    ['readinessProbe', '/readyz'],
  ] as const) {
    const p = c[kind] as Probe | undefined;
    if (p?.httpGet?.path !== path) problems.push(`the ${who}'s ${kind} must GET ${path}`);
    else if (probePort(c, p) !== served)
      problems.push(`the ${who}'s ${kind} probes port ${String(p.httpGet.port)}; the probes are served on ${served}`);
  }
  return problems;
}

/** The container port a probe's named or numbered port refers to. */
function probePort(c: Container, p: Probe | undefined): number | undefined {
  const port = p?.httpGet?.port;
  if (typeof port === 'number') return port;
  const ports = (c.ports ?? []) as { name?: string; containerPort: number }[];
  return ports.find((x) => x.name === port)?.containerPort;
}

/**
 * The subscriber Deployment as tools/subscriber.ts needs it: npm run subscriber, the same settings as
 * the workers, probes on the port it serves them on (/healthz, /readyz), several replicas, a preStop
 * sleep and a grace period above sleep + Ingest__ReceiveWaitTime (the receive it finishes when
 * draining), the workers' image, and a disruption budget over its pods.
 */
export function subscriberProblems(objects: readonly K8sObject[]): string[] {
  const problems: string[] = [];
  const d = findObject(objects, 'Deployment', names.subscriber);
  const pod = podSpecOf(d);
  const c = pod.containers[0];
  if (!c || pod.containers.length !== 1) return ['the subscriber Deployment must have one container'];
  const line = commandLine(c);
  if (!/^npm run subscriber(\s|$)/.test(line))
    problems.push(`the subscriber container runs "${line}", not npm run subscriber`);
  problems.push(...envFromProblems('subscriber', c));
  problems.push(...probeProblems('subscriber', c, line));
  const replicas = (d.spec as { replicas?: number }).replicas ?? 1;
  if (replicas < 2) problems.push(`the subscriber runs ${replicas} replica(s); a drain or a crash would stop ingest`);
  const sleep = preStopSeconds(c);
  if (sleep === undefined) problems.push('the subscriber has no preStop sleep');
  const waitMs = Number(
    configMapData(objects).Ingest__ReceiveWaitTime ?? loadConfig({ env: {} }).Ingest.ReceiveWaitTime,
  );
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (sleep !== undefined && grace <= sleep + waitMs / 1000)
    problems.push(
      `terminationGracePeriodSeconds ${grace} does not exceed the preStop sleep (${sleep} s) + Ingest__ReceiveWaitTime (${waitMs / 1000} s)`,
    );
  const worker = podSpecOf(findObject(objects, 'Deployment', names.deployment)).containers[0];
  if (worker && c.image !== worker.image)
    problems.push(`the subscriber runs image ${c.image}, the workers ${worker.image}`);
  const labels =
    (d.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template.metadata?.labels ?? {};
  const budgets = objects.filter((o) => {
    if (o.kind !== 'PodDisruptionBudget') return false;
    const sel = (o.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
    return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
  });
  if (budgets.length !== 1) problems.push(`the subscriber pods need one PodDisruptionBudget, found ${budgets.length}`);
  return problems;
}

export function cronJobProblems(objects: readonly K8sObject[], reclaimerSchedule: string): string[] {
  const problems: string[] = [];
  const job = findObject(objects, 'CronJob', names.cronJob);
  const spec = job.spec as { schedule?: string; concurrencyPolicy?: string; timeZone?: string };
  const expected = ncrontabToFiveField(reclaimerSchedule);
  if (spec.schedule !== expected)
    problems.push(
      `the reclaimer CronJob runs "${spec.schedule}"; the catalog's "${reclaimerSchedule}" translates to "${expected}"`,
    );
  if (spec.concurrencyPolicy !== 'Forbid')
    problems.push('the reclaimer CronJob must not overlap (concurrencyPolicy: Forbid)');
  if (spec.timeZone !== undefined && spec.timeZone !== 'Etc/UTC' && spec.timeZone !== 'UTC')
    problems.push(`the catalog's schedules are UTC; the CronJob uses ${spec.timeZone}`);
  const pod = podSpecOf(job);
  const c = pod.containers[0];
  if (!c) return [...problems, 'the reclaimer CronJob has no container'];
  if (!/^npm run reclaim(\s|$)/.test(commandLine(c)))
    problems.push(`the reclaimer runs "${commandLine(c)}", not npm run reclaim`);
  if (pod.restartPolicy !== 'Never' && pod.restartPolicy !== 'OnFailure')
    problems.push('a Job pod needs restartPolicy Never or OnFailure');
  problems.push(...envFromProblems('reclaimer', c));
  const worker = podSpecOf(findObject(objects, 'Deployment', names.deployment)).containers[0];
  if (worker && c.image !== worker.image)
    problems.push(`the reclaimer runs image ${c.image}, the workers ${worker.image}`);
  return problems;
}

/** `npm run <script>` of every container, for the package.json check. */
export function npmScripts(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'CronJob') continue;
    for (const c of podSpecOf(o).containers) {
      const m = /^npm run ([\w:-]+)/.exec(commandLine(c));
      if (m) out.push(m[1]!);
    }
  }
  return out;
}
