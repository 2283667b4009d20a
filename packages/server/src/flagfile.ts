/**
 * The osqueryd flagfile Mimir prints for operators (osquery-protocol.md §8; Fleet's generated set,
 * F-flags). One flag per line, ready for `osqueryd --flagfile=…`.
 */
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';

export interface FlagfileOptions {
  /** `host[:port]` as agents reach the server; no scheme (osquery prepends https://). */
  tlsHostname: string;
  /** Where the CA PEM will be on the host. */
  caPath: string;
  /** Where the enroll secret file will be on the host. */
  secretPath: string;
  /** Seconds. */
  configRefresh: number;
  distributedInterval: number;
  loggerPeriod: number;
  carverBlockSize: number;
}

export function renderFlagfile(o: FlagfileOptions): string {
  const flags = [
    `--tls_hostname=${o.tlsHostname}`,
    `--tls_server_certs=${o.caPath}`,
    `--enroll_secret_path=${o.secretPath}`,
    `--enroll_tls_endpoint=${OSQUERY_ENDPOINTS.enroll}`,
    // Hardware UUID: stable across reinstalls and hostname changes; clones are told apart by
    // osquery's instance_id (see docs/architecture.md "Host identity").
    '--host_identifier=uuid',
    '--config_plugin=tls',
    `--config_tls_endpoint=${OSQUERY_ENDPOINTS.config}`,
    `--config_refresh=${o.configRefresh}`,
    '--config_tls_max_attempts=3',
    '--logger_plugin=tls',
    `--logger_tls_endpoint=${OSQUERY_ENDPOINTS.log}`,
    `--logger_tls_period=${o.loggerPeriod}`,
    '--logger_tls_compress=true',
    '--disable_distributed=false',
    '--distributed_plugin=tls',
    `--distributed_interval=${o.distributedInterval}`,
    '--distributed_tls_max_attempts=10',
    `--distributed_tls_read_endpoint=${OSQUERY_ENDPOINTS.distributedRead}`,
    `--distributed_tls_write_endpoint=${OSQUERY_ENDPOINTS.distributedWrite}`,
    '--disable_carver=false',
    `--carver_start_endpoint=${OSQUERY_ENDPOINTS.carveBegin}`,
    `--carver_continue_endpoint=${OSQUERY_ENDPOINTS.carveBlock}`,
    `--carver_block_size=${o.carverBlockSize}`,
    '--pack_delimiter=/',
  ];
  return flags.join('\n') + '\n';
}
