/**
 * taskctl's entry: `npx tsx tools/taskctl.ts ...`, or the `taskctl` bin (bin/taskctl.mjs), which loads
 * this file through tsx so no build is needed. The CLI itself is lib/cli/.
 */
import { main } from '../lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
