/**
 * Mimir load simulator: many osquery hosts from one process, built on the osqueryd stand-in
 * (`@mimir/osquery-protocol/standin`) so every request is what osqueryd sends.
 */
export * from './answers.js';
export * from './fleet.js';
export * from './heap.js';
export * from './histogram.js';
export * from './host.js';
export * from './http.js';
export * from './keystore.js';
export * from './loadgen.js';
export * from './options.js';
export * from './schedule.js';
export * from './stats.js';
export * from './summary.js';
export * from './target.js';
