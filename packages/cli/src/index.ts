/** mimir-cli as a library (the `bin/mimir-cli.ts` entry calls `main`). */
export { main, buildProgram, envNameOf } from './program.js';
export { EXIT, CliError, UsageError, ApiError, type ExitCode } from './core/errors.js';
export type { Io } from './core/output.js';
