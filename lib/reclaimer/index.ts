export { runReclaimer, type ReclaimerOptions, type ReclaimerSummary, type ReclaimerStep } from './reclaimer.js';
export { startReclaimerLoop, type ReclaimerLoop } from './schedule.js';
export { getReclaimerState, recordReclaimerRun, SERVICE_STATE_COLLECTION, type ReclaimerState } from './state.js';
