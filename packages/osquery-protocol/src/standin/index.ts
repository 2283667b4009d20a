/**
 * osqueryd stand-in: a TypeScript client that behaves like osqueryd 5.23.1 (and older versions by
 * option) on the wire. Package subpath `@mimir/osquery-protocol/standin`.
 */
export * from './version.js';
export * from './json.js';
export * from './http.js';
export * from './log-lines.js';
export * from './host-templates.js';
export * from './query-engine.js';
export * from './osqueryd.js';
export * from './flagfile.js';
export * from './testing.js';
