import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readmeWithReference } from '../../tools/config-docs.js';
import { settingNames } from '../../lib/config/index.js';

describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');
  it('has the current configuration reference (regenerate with `npx tsx tools/config-docs.ts --write`)', () => {
    expect(readme).toBe(readmeWithReference(readme));
  });
  it('documents every setting the code reads', () => {
    for (const name of settingNames()) expect(readme).toContain(`\`${name}\``);
  });
  it('has the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });
});

describe('local.settings.example.json', () => {
  it('is current (regenerate with `npx tsx tools/local-settings.ts --write`)', async () => {
    const { render } = await import('../../tools/local-settings.js');
    expect(readFileSync('local.settings.example.json', 'utf8')).toBe(render());
  });
});
