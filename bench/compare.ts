/** The `compare` suite of `npm run bench`: see bench/compare/index.ts. */
export { benchCompare, type CompareBenchOptions } from './compare/index.js';
