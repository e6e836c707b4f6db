/**
 * The application's task handlers: register yours here (the built-in echo, sleep and fail are always there).
 *
 *   import { z } from 'zod';
 *   import { defineHandler } from '../../lib/handlers/index.js';
 *   registerTaskHandlers(defineHandler({ type: 'resize-image', schema: z.object({ url: z.string().url() }), run: async (p, ctx) => ... }));
 */
import { registerTaskHandlers } from '../../lib/app/services.js';

registerTaskHandlers();
