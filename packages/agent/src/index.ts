/**
 * mimir-agent (issue #6): wraps osqueryd on each host, supervises it and updates it safely.
 * The command is `src/bin/mimir-agent.ts`; docs/agent.md describes it.
 */
export { parseConfig, loadConfig, layout, ConfigError, DEFAULTS, type AgentConfig } from './config.js';
export { canonicalManifest, verifySignature, freshnessProblem, compareVersions, loadPublicKey, type ManifestFields, type UpdateTarget } from './manifest.js';
export { renderFlagfile } from './flagfile.js';
export { install, systemdUnit, versionOf, type InstallOptions } from './install.js';
export { runLauncher } from './launcher.js';
export { runWorker, REEXEC_EXIT_CODE } from './worker.js';
export { installBuild, switchCurrent, currentVersion, versionDir } from './tree.js';
export { hardwareUuid, updateArch, updateOs } from './identity.js';
export { AGENT_VERSION } from './version.js';
