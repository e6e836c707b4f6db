/** docs/deploy.md stays in step with infra/: every template file is described, the commands are there. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schedules } from '../../lib/app/catalog.js';
import { ncrontabToFiveField, repoPath } from './support/drift.js';
import { infraFiles } from './support/tools.js';

const doc = readFileSync(repoPath('docs', 'deploy.md'), 'utf8');

describe('docs/deploy.md', () => {
  it('describes every file under infra/', () => {
    const undocumented = infraFiles().filter((f) => {
      const inTarget = f.split('/').slice(2).join('/'); // infra/<target>/<path>
      return !doc.includes(inTarget);
    });
    expect(undocumented).toEqual([]);
  });

  it('gives the deployment commands of each target', () => {
    for (const command of [
      'az deployment group create',
      'func azure functionapp publish',
      'terraform init',
      'terraform plan',
      'terraform apply',
      'docker build -f infra/kubernetes/Dockerfile',
      'kubectl apply -k infra/kubernetes',
    ]) {
      expect(doc).toContain(command);
    }
  });

  it("documents the reclaimer CronJob's translation of the catalog schedule", () => {
    expect(doc).toContain(`\`${schedules.reclaimer}\``);
    expect(doc).toContain(`\`${ncrontabToFiveField(schedules.reclaimer)}\``);
    expect(doc).toContain('npm run reclaim');
  });
});
