export {
  defineHandler,
  handlerIsolations,
  type HandlerContext,
  type HandlerDefinition,
  type HandlerIsolation,
  type TaskHandler,
} from './handler.js';
export { HandlerRegistry, type HandlerExecutor, type RegistryOptions } from './registry.js';
export { NonRetryableError, HandlerModuleError, HandlerCrashedError, UnknownTaskTypeRefusedError } from './errors.js';
export { builtinHandlers, echoHandler, sleepHandler, failHandler } from './builtin.js';
export { loadHandlers, type LoadHandlersOptions } from './load.js';
export { appModuleUrl, builtinModuleUrl, importHandlerModule } from './module.js';
export { taskTypeRule, type TaskTypeRule } from './known-types.js';
