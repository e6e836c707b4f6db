/**
 * The application's task handlers: every host loads this module (the Azure app, the Function Compute
 * functions, `npm start`, `npm run worker`), so a type added here runs everywhere. Export them as an
 * array (or a record). Keep handlers elsewhere? Point Handlers:Module at your module instead.
 * See README "Writing a task handler".
 */
import { webhook } from './webhook.js';

export const handlers = [webhook];
