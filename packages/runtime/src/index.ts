export * from './core.js';
export * from './kafka/index.js';
