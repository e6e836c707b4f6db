import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { clientConfig, dashboardScript } from '../../lib/admin/dashboard/script.js';
import { JobTaskStatus, leasedStatuses, retryableByOperatorStatuses, waitingStatuses } from '../../lib/tasks/status.js';

const clientDir = resolve(import.meta.dirname, '../../lib/admin/dashboard/client');
const clientFiles = readdirSync(clientDir)
  .filter((f) => f.endsWith('.ts'))
  .sort();
const parse = (file: string) =>
  ts.createSourceFile(file, readFileSync(join(clientDir, file), 'utf8'), ts.ScriptTarget.Latest, true);

describe('the dashboard client (lib/admin/dashboard/client)', () => {
  it('is made of self-contained exported functions: at top level only type imports, types and functions', () => {
    const strays: string[] = [];
    for (const file of clientFiles) {
      for (const st of parse(file).statements) {
        const allowed =
          (ts.isImportDeclaration(st) && st.importClause?.isTypeOnly === true) ||
          ts.isInterfaceDeclaration(st) ||
          ts.isTypeAliasDeclaration(st) ||
          (ts.isFunctionDeclaration(st) && st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword));
        if (!allowed) strays.push(`${file}: ${st.getText().split('\n')[0]}`);
      }
    }
    expect(strays).toEqual([]);
  });

  it('spells no status name itself: the names come from JobTaskStatus, passed in as data', () => {
    const names = new Set(Object.keys(JobTaskStatus));
    // Words that are also status names but label something else: the detail drawer's "Created" timestamp.
    const labels = new Set(["tasks.ts: 'Created'"]);
    const found: string[] = [];
    for (const file of clientFiles) {
      const visit = (node: ts.Node): void => {
        if (ts.isStringLiteralLike(node) && names.has(node.text)) found.push(`${file}: '${node.text}'`);
        ts.forEachChild(node, visit);
      };
      visit(parse(file));
    }
    expect(found.filter((f) => !labels.has(f))).toEqual([]);
  });

  it('gets the status table, the cancellable and the retryable statuses from lib/tasks/status.ts', () => {
    const config = clientConfig();
    expect(config.statuses).toEqual(Object.entries(JobTaskStatus).map(([name, value]) => ({ name, value })));
    expect(config.cards.filter((name) => !(name in JobTaskStatus))).toEqual([]);
    expect([...config.cancellable].sort()).toEqual([...waitingStatuses, ...leasedStatuses].sort());
    expect(config.retryable).toEqual(retryableByOperatorStatuses);
  });

  it('embeds as one script that parses, imports nothing and cannot end its <script> element early', () => {
    const script = dashboardScript();
    expect(() => new Function(script)).not.toThrow();
    expect(script).not.toMatch(/\bimport\s*[({]|\brequire\(/);
    expect(script.toLowerCase()).not.toContain('</script');
  });
});
