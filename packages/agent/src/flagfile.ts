/**
 * The osqueryd flagfile the agent writes before every start (osquery-protocol.md §8): TLS plugins
 * to the Mimir server, the pinned CA, `--host_identifier=uuid` (so osquery's enrollment and the
 * agent's are tied by the hardware UUID), database and pidfile in the agent's state directory.
 */
import type { AgentConfig, Layout } from './config.js';

const P = '/api/v1/osquery';

export function renderFlagfile(cfg: AgentConfig, paths: Layout): string {
  const u = new URL(cfg.serverUrl);
  const o = cfg.osquery;
  const lines = [
    '# Written by mimir-agent at every osqueryd start; edit the agent config instead.',
    `--tls_hostname=${u.host}`,
    `--tls_server_certs=${cfg.caPath}`,
    `--enroll_secret_path=${cfg.enrollSecretPath}`,
    `--enroll_tls_endpoint=${P}/enroll`,
    '--host_identifier=uuid',
    `--database_path=${paths.osqueryDb}`,
    `--pidfile=${paths.osqueryPidfile}`,
    '--config_plugin=tls',
    `--config_tls_endpoint=${P}/config`,
    `--config_refresh=${o.configRefresh}`,
    '--logger_plugin=tls',
    `--logger_tls_endpoint=${P}/log`,
    `--logger_tls_period=${o.loggerPeriod}`,
    '--logger_tls_compress=true',
    '--disable_distributed=false',
    '--distributed_plugin=tls',
    `--distributed_interval=${o.distributedInterval}`,
    `--distributed_tls_read_endpoint=${P}/distributed/read`,
    `--distributed_tls_write_endpoint=${P}/distributed/write`,
    '--distributed_tls_max_attempts=10',
    '--disable_carver=false',
    `--carver_start_endpoint=${P}/carve/begin`,
    `--carver_continue_endpoint=${P}/carve/block`,
    '--carver_block_size=2000000',
  ];
  return `${lines.join('\n')}\n`;
}
