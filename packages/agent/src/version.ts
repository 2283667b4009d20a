/**
 * The agent's own version. Release builds bundle the agent into one file and set
 * `MIMIR_AGENT_BUILD_VERSION` at bundle time (esbuild `define`), so the version travels inside the
 * binary the server distributes and signs; running from source it is the package version.
 */
declare const MIMIR_AGENT_BUILD_VERSION: string | undefined;

export const PACKAGE_VERSION = '0.1.0';

export const AGENT_VERSION: string = typeof MIMIR_AGENT_BUILD_VERSION === 'string' ? MIMIR_AGENT_BUILD_VERSION : PACKAGE_VERSION;

/** Running as a single-file bundle (a distributable build) rather than from the npm package. */
export const BUNDLED: boolean = typeof MIMIR_AGENT_BUILD_VERSION === 'string';
