export * from './promtool.js';
export * from './alert-rules.js';
