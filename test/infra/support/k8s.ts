/** Kubernetes manifests of a kustomization, parsed with `yaml`. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  [k: string]: unknown;
  /** File it came from (relative to the kustomization). */
  file: string;
}

export interface Kustomization {
  resources: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  [k: string]: unknown;
}

export function loadKustomization(dir: string): { kustomization: Kustomization; objects: K8sObject[] } {
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const objects: K8sObject[] = [];
  for (const file of kustomization.resources ?? []) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const obj = doc.toJS() as Record<string, unknown> | null;
      if (obj) objects.push({ ...obj, file } as K8sObject);
    }
  }
  return { kustomization, objects };
}

export function findObject(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; [k: string]: unknown } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  [k: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  restartPolicy?: string;
  [k: string]: unknown;
}

/** The pod spec of a Deployment (spec.template.spec) or CronJob (spec.jobTemplate.spec.template.spec). */
export function podSpecOf(obj: K8sObject): PodSpec {
  const spec = obj.spec as Record<string, unknown>;
  if (obj.kind === 'CronJob') {
    const job = spec.jobTemplate as { spec: { template: { spec: PodSpec } } };
    return job.spec.template.spec;
  }
  return (spec.template as { spec: PodSpec }).spec;
}

/** The command line a container runs (command + args), joined with spaces. */
export function commandLine(c: Container): string {
  return [...(c.command ?? []), ...(c.args ?? [])].join(' ');
}
