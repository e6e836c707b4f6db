#!/usr/bin/env node
// The `taskctl` bin. It runs the TypeScript entry without a build: tsx's ESM loader is registered for
// this process (tsx/esm/api), then tools/taskctl.ts is imported. Where tsx is not installed (a
// production install without dev dependencies) it runs the compiled entry from `npm run build`.
let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch {
  register = undefined;
}
if (register) {
  register();
  await import('../tools/taskctl.ts');
} else {
  await import('../dist/tools/taskctl.js');
}
