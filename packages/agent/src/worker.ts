/**
 * The agent proper (`mimir-agent worker`, started by the launcher): supervise osqueryd, check in
 * with the server every poll period plus jitter, and act on the update targets it names.
 * SIGTERM/SIGINT stop osqueryd and exit 0; SIGHUP is passed on to osqueryd.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { ServerClient as ServerClientType } from './client.js';
import { ServerClient } from './client.js';
import { layout, type AgentConfig } from './config.js';
import { renderFlagfile } from './flagfile.js';
import { AgentHttp } from './http.js';
import { hardwareUuid, machineHostname, updateArch, updateOs } from './identity.js';
import { createLogger, errorText, type AgentLogger } from './log.js';
import { loadPublicKey } from './manifest.js';
import { readJson, type AgentUpdateMarker } from './state.js';
import { OsquerydSupervisor } from './supervisor.js';
import { currentFile, currentVersionSync } from './tree.js';
import { Updater } from './updater.js';
import { AGENT_VERSION } from './version.js';

/** Exit code asking the launcher to start the (new) current agent build. */
export const REEXEC_EXIT_CODE = 75;

/** Build the server client the worker and the launcher share. */
export async function makeClient(cfg: AgentConfig, log: AgentLogger): Promise<ServerClientType> {
  const paths = layout(cfg.root);
  const http = new AgentHttp({ serverUrl: cfg.serverUrl, ca: await readFile(cfg.caPath, 'utf8') });
  const uuid = hardwareUuid(cfg.hardwareUuid);
  return new ServerClient(http, paths, {
    enrollSecretPath: cfg.enrollSecretPath,
    hardwareUuid: uuid,
    log,
    self: () => ({
      hostname: machineHostname(),
      os: updateOs(),
      arch: updateArch(),
      agentVersion: AGENT_VERSION,
      osqueryVersion: currentVersionSync(paths.osqueryDir) ?? '',
      autoUpdate: cfg.osqueryAutoUpdate,
    }),
  });
}

export async function runWorker(cfg: AgentConfig): Promise<number> {
  const log = createLogger({ level: cfg.logLevel, base: { component: 'agent', agentVersion: AGENT_VERSION } });
  const paths = layout(cfg.root);
  await mkdir(paths.state, { recursive: true, mode: 0o700 });
  const keys = cfg.updatePublicKeys.map(loadPublicKey);
  const client = await makeClient(cfg, log);
  const abort = new AbortController();
  let exitCode = 0;
  const stopped = (): boolean => abort.signal.aborted;

  const supervisor = new OsquerydSupervisor({
    log: log.child({ component: 'osqueryd' }),
    backoffMs: cfg.restartBackoffMs,
    backoffMaxMs: cfg.restartBackoffMaxMs,
    command: () => ({ file: currentFile(paths.osqueryDir, 'osqueryd'), args: [`--flagfile=${paths.flagfile}`] }),
    beforeStart: async () => writeFile(paths.flagfile, renderFlagfile(cfg, paths), { mode: 0o644 }),
  });
  const updater = new Updater({
    cfg, paths, client, keys, log, supervisor, os: updateOs(), arch: updateArch(), agentVersion: AGENT_VERSION, signal: abort.signal,
    requestReexec: () => {
      exitCode = REEXEC_EXIT_CODE;
      abort.abort();
    },
  });

  const stop = (sig: string) => {
    if (abort.signal.aborted) return;
    log.info('stopping', { signal: sig });
    abort.abort();
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  const onHup = () => supervisor.signal('SIGHUP');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);

  log.info('agent starting', { root: cfg.root, server: cfg.serverUrl, osqueryVersion: currentVersionSync(paths.osqueryDir) ?? '', osqueryAutoUpdate: cfg.osqueryAutoUpdate });
  supervisor.start();
  try {
    while (!abort.signal.aborted) {
      try {
        const answer = await client.checkIn();
        await settleOwnUpdate(client, paths.agentUpdateFile, log);
        log.debug('checked in', { host: answer.host, osquery: answer.osquery?.version ?? null, agent: answer.agent?.version ?? null });
        await updater.handle(answer);
      } catch (e) {
        log.warn('check-in failed', { err: errorText(e) });
      }
      if (stopped()) break;
      const wait = (cfg.pollSeconds + Math.random() * cfg.pollJitterSeconds) * 1000;
      try {
        await delay(wait, undefined, { signal: abort.signal });
      } catch {
        break;
      }
    }
  } finally {
    await supervisor.stop();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
  }
  log.info('agent stopped', { exitCode });
  return exitCode;
}

/**
 * This build was just installed by the previous agent: the first successful check-in proves it
 * works, so the update is kept and reported (the launcher rolls back when this never happens).
 */
async function settleOwnUpdate(client: ServerClientType, file: string, log: AgentLogger): Promise<void> {
  const marker = await readJson<AgentUpdateMarker>(file);
  if (marker?.to !== AGENT_VERSION) return;
  await rm(file, { force: true });
  log.info('agent update healthy', { from: marker.from, to: marker.to });
  try {
    await client.report({ kind: 'agent', fromVersion: marker.from, toVersion: marker.to, outcome: 'installed', message: '' });
  } catch (e) {
    log.warn('could not report the agent update', { err: errorText(e) });
  }
}
