#!/usr/bin/env node
/**
 * `mimir-agent`: install | run | worker | version. Messages on stderr, the agent's log (JSON lines)
 * on stdout. Exit codes: 0 ok, 1 failure, 2 bad usage or config.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { install } from '../install.js';
import { runLauncher } from '../launcher.js';
import { status } from '../status.js';
import { AGENT_VERSION } from '../version.js';
import { runWorker } from '../worker.js';

const HELP = `Usage: mimir-agent <command> [options]

Commands:
  install   Lay out the install tree, write the config and a systemd unit.
              --root DIR                 install root (absolute; e.g. /opt/mimir-agent)
              --server URL               https://host[:port] of the Mimir server
              --enroll-secret S | --enroll-secret-file F
              --ca FILE                  CA certificate (PEM) to pin for the server
              --update-key KEY           Ed25519 public key for update manifests: 64 hex, base64 or a PEM file (repeatable)
              --osqueryd FILE            the osqueryd binary to install first
              --osquery-version V        its version (default: what \`osqueryd --version\` prints)
              --agent-binary FILE        the agent build to install (default: this agent)
              --no-osquery-auto-update   never update osqueryd (seed 000 troubleshooting (2))
              --stagger-seconds N        client-side stagger before installing a new build (default 86400)
              --config-json JSON         further config keys, e.g. '{"pollSeconds":3600}'
              --unit-dir DIR             where to write mimir-agent.service (default /etc/systemd/system; "" = none)
  run       Run the agent (what the systemd unit starts).  --config FILE
  status    Print what is installed and pending as JSON.    --config FILE
  worker    The agent process the launcher runs (internal). --config FILE
  version   Print the version (also --version).

See docs/agent.md.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.error(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'version' || cmd === '--version') {
    console.log(`mimir-agent ${AGENT_VERSION}`);
    return 0;
  }
  if (cmd === 'run' || cmd === 'worker' || cmd === 'status') {
    const { values } = parseArgs({ args: rest, options: { config: { type: 'string' } }, strict: true });
    if (values.config === undefined) throw new ConfigError(['--config FILE is required']);
    const cfg = loadConfig(values.config);
    if (cmd === 'status') {
      console.log(JSON.stringify(await status(cfg), null, 2));
      return 0;
    }
    return cmd === 'run' ? runLauncher(cfg, values.config) : runWorker(cfg);
  }
  if (cmd === 'install') {
    const { values } = parseArgs({
      args: rest, strict: true,
      options: {
        root: { type: 'string' }, server: { type: 'string' }, 'enroll-secret': { type: 'string' }, 'enroll-secret-file': { type: 'string' },
        ca: { type: 'string' }, 'update-key': { type: 'string', multiple: true }, osqueryd: { type: 'string' }, 'osquery-version': { type: 'string' },
        'agent-binary': { type: 'string' }, 'no-osquery-auto-update': { type: 'boolean' }, 'stagger-seconds': { type: 'string' },
        'config-json': { type: 'string' }, 'unit-dir': { type: 'string' },
      },
    });
    const missing = (['root', 'server', 'ca', 'osqueryd'] as const).filter((k) => values[k] === undefined).map((k) => `--${k} is required`);
    let extra: Record<string, unknown> = {};
    if (values['config-json'] !== undefined) {
      try {
        const parsed: unknown = JSON.parse(values['config-json']);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        extra = parsed as Record<string, unknown>;
      } catch (e) {
        missing.push(`--config-json: must be a JSON object (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    if (values['stagger-seconds'] !== undefined) {
      const n = Number(values['stagger-seconds']);
      if (!Number.isFinite(n) || n < 0) missing.push('--stagger-seconds: must be a number ≥ 0');
      else extra['staggerSeconds'] = n;
    }
    if (missing.length > 0) throw new ConfigError(missing);
    const r = await install({
      root: values.root ?? '', serverUrl: values.server ?? '', enrollSecret: values['enroll-secret'], enrollSecretFile: values['enroll-secret-file'],
      caFile: values.ca ?? '', updateKeys: values['update-key'] ?? [], osquerydFile: values.osqueryd ?? '', osqueryVersion: values['osquery-version'],
      agentFile: values['agent-binary'], osqueryAutoUpdate: values['no-osquery-auto-update'] === true ? false : undefined,
      unitDir: values['unit-dir'], extraConfig: extra,
    });
    console.error(`installed mimir-agent ${r.agentVersion} with osqueryd ${r.osqueryVersion} under ${r.config.root}`);
    console.error(`config: ${r.configFile}`);
    if (r.unitFile !== undefined) console.error(`systemd unit: ${r.unitFile}\nnext: systemctl daemon-reload && systemctl enable --now mimir-agent`);
    return 0;
  }
  console.error(`unknown command: ${cmd}\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(2);
  }
  console.error(`mimir-agent: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof TypeError && /parseArgs|option/i.test(e.message) ? 2 : 1);
});
