export { defineHandler, type HandlerContext, type TaskHandler } from './handler.js';
export { HandlerRegistry } from './registry.js';
export { NonRetryableError } from './errors.js';
export { builtinHandlers, echoHandler, sleepHandler, failHandler } from './builtin.js';
