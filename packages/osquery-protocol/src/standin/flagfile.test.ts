import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flagsToStandinOptions, loadFlagfile, parseFlagfile } from './flagfile.js';

const FLAGFILE = `
# Mimir
--tls_hostname=mdm.example.com:8443
--tls_server_certs=/etc/osquery/server-ca.pem
--enroll_secret_path=/etc/osquery/enroll_secret.txt
--enroll_tls_endpoint=/api/v1/osquery/enroll
--host_identifier=uuid
--config_plugin=tls
--config_tls_endpoint=/api/v1/osquery/config
--config_refresh=60
--logger_plugin=tls,filesystem
--logger_tls_endpoint=/api/v1/osquery/log
--logger_tls_period=10
--disable_distributed=false
--distributed_plugin=tls
--distributed_interval=10
--distributed_tls_read_endpoint=/api/v1/osquery/distributed/read
--distributed_tls_write_endpoint=/api/v1/osquery/distributed/write
--disable_carver=false
--carver_start_endpoint=/api/v1/osquery/carve/begin
--carver_continue_endpoint=/api/v1/osquery/carve/block
--carver_block_size=2000000
--logger_tls_compress
--noenroll_always
  --tls_enroll_override=osquery_secret
--distributed_tls_max_attempts=10
`;

const files: Record<string, string> = {
  '/etc/osquery/server-ca.pem': '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n',
  '/etc/osquery/enroll_secret.txt': '  topsecret \n',
  '/etc/osquery/osquery.flags': FLAGFILE,
};
const readFile = (p: string): string => {
  const f = files[p];
  if (f === undefined) throw new Error(`ENOENT: ${p}`);
  return f;
};

describe('flagfile', () => {
  it('parses lines, comments, bare and --no booleans; later lines win', () => {
    const { flags, warnings } = parseFlagfile('#c\n\n--a=1\n--verbose\n--notls_dump\n--a=2\nbogus\n--x=a=b\n');
    assert.deepEqual([...flags], [['a', '2'], ['verbose', 'true'], ['tls_dump', 'false'], ['x', 'a=b']]);
    assert.equal(warnings.length, 1);
  });

  it('maps the §8 flagfile to stand-in options', () => {
    const r = loadFlagfile('/etc/osquery/osquery.flags', { version: '5.22.1' }, { readFile, env: {} });
    assert.deepEqual(r.warnings, []);
    assert.equal(r.carverEnabled, true);
    assert.deepEqual(r.options, {
      tlsHostname: 'mdm.example.com:8443',
      ca: files['/etc/osquery/server-ca.pem'],
      enrollSecret: 'topsecret',
      enrollSecretKey: 'osquery_secret',
      hostIdentifier: 'uuid',
      endpoints: {
        enroll: '/api/v1/osquery/enroll',
        config: '/api/v1/osquery/config',
        log: '/api/v1/osquery/log',
        distributedRead: '/api/v1/osquery/distributed/read',
        distributedWrite: '/api/v1/osquery/distributed/write',
        carveBegin: '/api/v1/osquery/carve/begin',
        carveBlock: '/api/v1/osquery/carve/block',
      },
      loggerCompress: true,
      enrollAlways: false,
      distributedMaxAttempts: 10,
      distributedIntervalSec: 10,
      configRefreshSec: 60,
      loggerPeriodSec: 10,
      carverBlockSize: 2000000,
      plugins: { config: true, logger: true, distributed: true },
      version: '5.22.1',
    });
  });

  it('applies osquery defaults: hostname identifier, env secret untrimmed, plugins off', () => {
    const { flags } = parseFlagfile('--tls_hostname=h\n--enroll_secret_env=SECRET\n--host_identifier=specified\n--specified_identifier=me\n');
    const r = flagsToStandinOptions(flags, { readFile, env: { SECRET: ' s ' } });
    assert.equal(r.options.enrollSecret, ' s ');
    assert.deepEqual(r.options.hostIdentifier, { value: 'me' });
    assert.deepEqual(r.options.plugins, { config: false, logger: false, distributed: false });
    assert.equal(r.carverEnabled, false);
    const d = flagsToStandinOptions(parseFlagfile('--tls_hostname=h\n--tls_server_certs=/missing\n').flags, { readFile, env: {} });
    assert.equal(d.options.hostIdentifier, 'hostname');
    assert.equal(d.options.enrollSecret, '');
    assert.equal(d.warnings.length, 1);
    assert.throws(() => flagsToStandinOptions(new Map(), { readFile }), /tls_hostname/);
  });
});
