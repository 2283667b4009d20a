/**
 * `mimir-agent run`, what the systemd unit starts: runs the current agent build as a worker and
 * is the agent's re-exec. Node cannot replace its own process image, so a self-update ends the
 * worker with REEXEC_EXIT_CODE and the launcher starts `<root>/agent/current/mimir-agent worker`
 * again — now the new build. While a self-update is unsettled (`state/agent-update.json`) the
 * launcher watches it: if the new worker exits or has not checked in within the health timeout,
 * `current` goes back to the previous build, the failure is reported and the old agent runs again.
 * Any other worker exit restarts it with exponential backoff. SIGTERM/SIGINT/SIGHUP are passed on.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { layout, type AgentConfig } from './config.js';
import { createLogger, errorText } from './log.js';
import { clearPending, loadState, markFailed, readJson, writeJson, type AgentUpdateMarker } from './state.js';
import { currentFile, currentVersion, switchCurrent } from './tree.js';
import { AGENT_VERSION } from './version.js';
import { makeClient, REEXEC_EXIT_CODE } from './worker.js';

export async function runLauncher(cfg: AgentConfig, configFile: string): Promise<number> {
  const log = createLogger({ level: cfg.logLevel, base: { component: 'launcher', launcherVersion: AGENT_VERSION } });
  const paths = layout(cfg.root);
  const run = { stopping: false };
  const stopAbort = new AbortController();
  const isStopping = (): boolean => run.stopping;
  let child: ReturnType<typeof spawn> | undefined;
  const forward = (sig: NodeJS.Signals) => () => {
    if (sig !== 'SIGHUP') {
      run.stopping = true;
      stopAbort.abort();
    }
    child?.kill(sig);
  };
  const handlers = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((sig) => [sig, forward(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  let quickExits = 0;
  try {
    for (;;) {
      // A signal that arrived between two workers (a re-exec) has nobody to forward it to.
      if (isStopping()) return 0;
      const marker = await readJson<AgentUpdateMarker>(paths.agentUpdateFile);
      const current = await currentVersion(paths.agentDir);
      const trial = marker !== undefined && marker.to === current ? marker : undefined;
      const file = currentFile(paths.agentDir, 'mimir-agent');
      const startedAt = Date.now();
      const worker = spawn(file, ['worker', '--config', configFile], { stdio: 'inherit' });
      child = worker;
      log.info('worker started', { pid: worker.pid, version: current, trial: trial !== undefined });
      const health = { timedOut: false };
      const timer = trial === undefined ? undefined : setTimeout(() => {
        void readJson<AgentUpdateMarker>(paths.agentUpdateFile).then((m) => {
          if (m?.to !== trial.to) return;
          health.timedOut = true;
          log.warn('new agent build did not check in in time: stopping it', { version: trial.to });
          worker.kill('SIGTERM');
        });
      }, cfg.healthTimeoutSeconds * 1000);
      const code = await new Promise<number>((resolve) => {
        worker.on('exit', (c, s) => resolve(c ?? (s === null ? 1 : 128)));
        worker.on('error', (e) => {
          log.error('cannot start the worker', { err: errorText(e), file });
          resolve(127);
        });
      });
      if (timer !== undefined) clearTimeout(timer);
      child = undefined;
      log.info('worker exited', { code });
      if (run.stopping) return code === REEXEC_EXIT_CODE ? 0 : code;

      // A self-update that never settled: the new build failed. Roll back and say so.
      const after = await readJson<AgentUpdateMarker>(paths.agentUpdateFile);
      if (trial !== undefined && after?.to === trial.to && code !== REEXEC_EXIT_CODE) {
        const reason = health.timedOut
          ? `mimir-agent ${trial.to} did not check in within ${cfg.healthTimeoutSeconds} s`
          : `mimir-agent ${trial.to} exited with code ${code} ${Date.now() - startedAt} ms after start`;
        log.error('agent update failed: rolling back', { from: trial.to, to: trial.from, reason });
        try {
          await switchCurrent(paths.agentDir, trial.from);
        } catch (e) {
          log.error('rollback impossible: previous build missing', { err: errorText(e) });
        }
        const state = await loadState(paths.stateFile);
        clearPending(state, 'agent');
        markFailed(state, 'agent', { version: trial.to, sha256: trial.sha256, at: Date.now(), reason });
        await writeJson(paths.stateFile, state);
        await rm(paths.agentUpdateFile, { force: true });
        try {
          const client = await makeClient(cfg, log);
          await client.report({ kind: 'agent', fromVersion: trial.from, toVersion: trial.to, outcome: 'rolled_back', message: reason });
        } catch (e) {
          log.warn('could not report the agent rollback', { err: errorText(e) });
        }
        continue;
      }
      if (code === REEXEC_EXIT_CODE) {
        quickExits = 0;
        continue;
      }
      quickExits = Date.now() - startedAt > 60_000 ? 0 : quickExits + 1;
      const wait = Math.min(cfg.restartBackoffMaxMs, cfg.restartBackoffMs * 2 ** Math.min(quickExits, 20));
      log.warn('worker died: restarting', { code, inMs: wait });
      await delay(wait, undefined, { signal: stopAbort.signal }).catch(() => undefined);
      if (isStopping()) return code;
    }
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}
