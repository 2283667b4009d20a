/**
 * `mimir-agent status`: what is installed, running and pending on this host, from the local tree
 * and state only (no server call) — the answer to seed 000's "check with whoever provisioned the
 * agents" (is osquery auto-update on? which build failed and why?).
 */
import { existsSync, readFileSync } from 'node:fs';
import { layout, type AgentConfig } from './config.js';
import { loadState, readJson, type AgentUpdateMarker } from './state.js';
import { currentVersion } from './tree.js';
import { AGENT_VERSION } from './version.js';

function osquerydPid(pidfile: string): number | null {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

export async function status(cfg: AgentConfig) {
  const paths = layout(cfg.root);
  const state = await loadState(paths.stateFile);
  return {
    server: cfg.serverUrl,
    enrolled: existsSync(paths.keyFile),
    osquery: { current: (await currentVersion(paths.osqueryDir)) ?? null, autoUpdate: cfg.osqueryAutoUpdate, pid: osquerydPid(paths.osqueryPidfile) },
    agent: { current: (await currentVersion(paths.agentDir)) ?? null, thisBuild: AGENT_VERSION, autoUpdate: cfg.agentAutoUpdate },
    pending: state.pending,
    failed: state.failed,
    agentUpdateInProgress: (await readJson<AgentUpdateMarker>(paths.agentUpdateFile)) ?? null,
    pollSeconds: cfg.pollSeconds,
    staggerSeconds: cfg.staggerSeconds,
  };
}
