export * from './status.js';
export * from './transitions.js';
export * from './model.js';
