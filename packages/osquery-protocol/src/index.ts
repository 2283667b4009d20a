export * from './endpoints.js';
export * from './platform.js';
export * from './coerce.js';
export * from './validate.js';
export * from './wire.js';
export * from './normalize.js';
