/**
 * Files an operator copies to a host: the flagfile, the enroll secret and the CA, kept under
 * `<dataDir>/osquery/` and refreshed at every start.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/config.js';
import { renderFlagfile } from './flagfile.js';

export function writeAgentFiles(config: Config, secret: string, caPath: string | undefined, tlsHostname: string): string {
  const dir = join(config.dataDir, 'osquery');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'enroll_secret'), secret + '\n', { mode: 0o600 });
  if (caPath !== undefined) copyFileSync(caPath, join(dir, 'ca.pem'));
  const flags = renderFlagfile({
    tlsHostname,
    caPath: join(dir, 'ca.pem'),
    secretPath: join(dir, 'enroll_secret'),
    configRefresh: config.osquery.configRefresh,
    distributedInterval: config.osquery.distributedInterval,
    loggerPeriod: config.osquery.loggerPeriod,
    carverBlockSize: Math.min(2_000_000, config.carves.maxBlockSize),
  });
  writeFileSync(join(dir, 'osquery.flags'), flags);
  return dir;
}
