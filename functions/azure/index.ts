/**
 * The Azure Functions app (v4 programming model): package.json "main" points the host here, and each
 * import registers its functions with `app.*`. No logic lives in functions/: each handler translates
 * its trigger into one call of lib/app.
 */
import './ingest.js';
import './processor.js';
import './reclaimer.js';
import './admin.js';
