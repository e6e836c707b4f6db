export { runReclaimer, type ReclaimerOptions } from './reclaimer.js';
export type { ReclaimerSummary, ReclaimerStep } from './summary.js';
export { startReclaimerLoop, type ReclaimerLoop } from './schedule.js';
export { getReclaimerState, recordReclaimerRun, SERVICE_STATE_COLLECTION, type ReclaimerState } from './state.js';
