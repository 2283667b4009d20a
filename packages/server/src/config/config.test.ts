import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConfigError,
  describeConfig,
  formatBytes,
  formatDuration,
  loadConfig,
  parseBoolean,
  parseBytes,
  parseDuration,
  parseInteger,
  parseList,
  renderConfigMarkdown,
  type Config,
} from './config.js';
import { CONFIG_DOC_PATH, exampleConfigFile } from './docs.js';

// Compile-time pin of the public Config shape: changing the schema without meaning to change the
// type (or the reverse) fails typechecking here. Mutual assignability catches added, removed,
// retyped and optional-vs-required keys; readonly-ness is checked at runtime by the freeze test.
type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
interface ExpectedConfig {
  readonly dataDir: string;
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly publicHostname?: string;
    readonly shutdownTimeout: number;
  };
  readonly tls: {
    readonly cert?: string;
    readonly key?: string;
    readonly hostnames: readonly string[];
    readonly clientCa?: string;
    readonly clientGroup: string;
  };
  readonly enroll: { readonly secret?: string; readonly secretKey: string };
  readonly admin: { readonly email?: string; readonly password?: string };
  readonly auth: { readonly sessionIdle: number; readonly sessionMax: number };
  readonly liveQueries: { readonly historyRetention: number; readonly maxResultRows: number };
  readonly updates: { readonly publicKeys: readonly string[] };
  readonly database: { readonly url?: string };
  readonly log: {
    readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    readonly format: 'auto' | 'json' | 'pretty';
  };
  readonly results: { readonly retention: number; readonly ndjsonFile?: string; readonly statusNdjsonFile?: string };
  readonly osquery: {
    readonly distributedInterval: number;
    readonly configRefresh: number;
    readonly loggerPeriod: number;
    readonly detailInterval: number;
    readonly labelInterval: number;
    readonly onlineBuffer: number;
  };
  readonly limits: { readonly logBody: number; readonly distributedWriteBody: number; readonly otherBody: number };
  readonly carves: { readonly maxBlockSize: number; readonly maxSize: number; readonly expiry: number };
}
const configTypeIsPinned: Equals<Config, ExpectedConfig> = true;

const MiB = 1024 * 1024;
let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mimir-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** Runs `fn`, which must throw a ConfigError, and returns its problems. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

void describe('loadConfig', () => {
  void it('pins the Config type', () => {
    assert.equal(configTypeIsPinned, true);
  });

  void it('returns every default for an empty environment', () => {
    const config = loadConfig({}, { cwd: '/srv/mimir' });
    assert.deepEqual(config, {
      dataDir: '/srv/mimir/data',
      server: { host: '0.0.0.0', port: 8080, shutdownTimeout: 10 },
      tls: { hostnames: [], clientGroup: 'default' },
      enroll: { secretKey: 'enroll_secret' },
      admin: {},
      auth: { sessionIdle: 43_200, sessionMax: 604_800 },
      liveQueries: { historyRetention: 2_592_000, maxResultRows: 1_000_000 },
      updates: { publicKeys: [] },
      database: {},
      log: { level: 'info', format: 'auto' },
      results: { retention: 30 * 86_400 },
      osquery: { distributedInterval: 10, configRefresh: 60, loggerPeriod: 10, detailInterval: 3600, labelInterval: 3600, onlineBuffer: 60 },
      limits: { logBody: 10 * MiB, distributedWriteBody: 10 * MiB, otherBody: MiB },
      carves: { maxBlockSize: 8 * MiB, maxSize: 8 * 1024 * MiB, expiry: 86_400 },
    });
    // Optional settings are absent, not present-but-undefined (exactOptionalPropertyTypes).
    assert.equal('publicHostname' in config.server, false);
    assert.equal('url' in config.database, false);
  });

  void it('defaults cwd to the process working directory', () => {
    assert.equal(loadConfig({}).dataDir, resolve(process.cwd(), 'data'));
  });

  void it('casts env strings by schema type', () => {
    const config = loadConfig(
      {
        MIMIR_DATA_DIR: '/var/lib/mimir',
        MIMIR_HOST: '::',
        MIMIR_PORT: '9443',
        MIMIR_PUBLIC_HOSTNAME: 'mimir.example.com:8443',
        MIMIR_TLS_HOSTNAMES: ' mimir.example.com, 10.0.0.5 ,',
        MIMIR_TLS_CLIENT_GROUP: 'laptops',
        MIMIR_ENROLL_SECRET: 'correct horse battery',
        MIMIR_ENROLL_SECRET_KEY: 'secret',
        MIMIR_DATABASE_URL: 'postgres://mimir:pw@db/mimir',
        MIMIR_LOG_LEVEL: 'DEBUG',
        MIMIR_LOG_FORMAT: 'json',
        MIMIR_RESULT_RETENTION: '0',
        MIMIR_DISTRIBUTED_INTERVAL: '90',
        MIMIR_CONFIG_REFRESH: '5m',
        MIMIR_LOGGER_PERIOD: '1m30s',
        MIMIR_DETAIL_INTERVAL: '2h',
        MIMIR_LABEL_INTERVAL: '1d',
        MIMIR_ONLINE_BUFFER: '0',
        MIMIR_MAX_LOG_BODY: '512KiB',
        MIMIR_MAX_DISTRIBUTED_WRITE_BODY: '1048576',
        MIMIR_MAX_BODY: '1.5mib',
        MIMIR_CARVE_MAX_BLOCK_SIZE: '4MiB',
        MIMIR_CARVE_MAX_SIZE: '1TiB',
        MIMIR_CARVE_EXPIRY: '7d',
        MIMIR_SHUTDOWN_TIMEOUT: '30s',
      },
      { cwd: dir },
    );
    assert.equal(config.dataDir, '/var/lib/mimir');
    assert.deepEqual(config.server, { host: '::', port: 9443, publicHostname: 'mimir.example.com:8443', shutdownTimeout: 30 });
    assert.deepEqual(config.tls.hostnames, ['mimir.example.com', '10.0.0.5']);
    assert.equal(config.tls.clientGroup, 'laptops');
    assert.deepEqual(config.enroll, { secret: 'correct horse battery', secretKey: 'secret' });
    assert.equal(config.database.url, 'postgres://mimir:pw@db/mimir');
    assert.deepEqual(config.log, { level: 'debug', format: 'json' });
    assert.equal(config.results.retention, 0);
    assert.deepEqual(config.osquery, {
      distributedInterval: 90,
      configRefresh: 300,
      loggerPeriod: 90,
      detailInterval: 7200,
      labelInterval: 86_400,
      onlineBuffer: 0,
    });
    assert.deepEqual(config.limits, { logBody: 512 * 1024, distributedWriteBody: MiB, otherBody: 1.5 * MiB });
    assert.deepEqual(config.carves, { maxBlockSize: 4 * MiB, maxSize: 1024 ** 4, expiry: 7 * 86_400 });
  });

  void it('treats an empty env var as unset', () => {
    const config = loadConfig({ MIMIR_PORT: '', MIMIR_ENROLL_SECRET: '' }, { cwd: dir });
    assert.equal(config.server.port, 8080);
    assert.equal('secret' in config.enroll, false);
  });

  void it('reports every bad value at once, naming the env var and what is expected', () => {
    const env = {
      MIMIR_PORT: '80x',
      MIMIR_DISTRIBUTED_INTERVAL: '2h',
      MIMIR_DETAIL_INTERVAL: '30s',
      MIMIR_LOG_LEVEL: 'loud',
      MIMIR_MAX_BODY: '10MB',
      MIMIR_CARVE_EXPIRY: 'soon',
      MIMIR_PUBLIC_HOSTNAME: 'https://mimir.example.com/',
      MIMIR_ENROLL_SECRET: 'hunter2',
      MIMIR_DATABASE_URL: 'mysql://root:pw@db',
    };
    let error: unknown;
    try {
      loadConfig(env, { cwd: dir });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError);
    assert.equal(error.name, 'ConfigError');
    assert.deepEqual(error.problems, [
      'MIMIR_PORT: "80x" is not an integer between 1 and 65535',
      'MIMIR_PUBLIC_HOSTNAME: "https://mimir.example.com/" is not a host name with an optional port, like mimir.example.com or mimir.example.com:8443 (no scheme, no path)',
      'MIMIR_ENROLL_SECRET: the value (hidden, 7 characters) is not a string of at least 8 characters',
      'MIMIR_DATABASE_URL: the value (hidden, 18 characters) is not a URL starting with postgres://, postgresql:// or sqlite:',
      'MIMIR_LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
      'MIMIR_DISTRIBUTED_INTERVAL: "2h" is not a duration between 1s and 1h (like 30s, 5m, 1h30m, 30d or plain seconds)',
      'MIMIR_DETAIL_INTERVAL: "30s" is not a duration of at least 1m (like 30s, 5m, 1h30m, 30d or plain seconds)',
      'MIMIR_MAX_BODY: "10MB" is not a byte size of at least 1KiB (like 512KiB, 10MiB, 1.5GiB or plain bytes)',
      'MIMIR_CARVE_EXPIRY: "soon" is not a duration of at least 1m (like 30s, 5m, 1h30m, 30d or plain seconds)',
    ]);
    for (const problem of error.problems) assert.ok(error.message.includes(problem), `message lacks: ${problem}`);
    // Secrets end up in logs via the error message, so they must never be quoted.
    assert.ok(!error.message.includes('hunter2'));
    assert.ok(!error.message.includes('root:pw'));
  });

  void it('reports out-of-range numbers with the same wording as unparsable ones', () => {
    assert.deepEqual(problemsOf(() => loadConfig({ MIMIR_PORT: '70000' })), ['MIMIR_PORT: "70000" is not an integer between 1 and 65535']);
    assert.deepEqual(problemsOf(() => loadConfig({ MIMIR_PORT: '0' })), ['MIMIR_PORT: "0" is not an integer between 1 and 65535']);
  });

  void it('reports unknown MIMIR_* variables, with a suggestion for near misses', () => {
    const problems = problemsOf(() =>
      loadConfig({ MIMIR_FOO: '1', MIMIR_PROT: '8080', MIMIR_PORT_FILE: '/run/port', PATH: '/usr/bin', HOME: '/root' }),
    );
    assert.deepEqual(problems, [
      'MIMIR_FOO: unknown setting',
      'MIMIR_PROT: unknown setting (did you mean MIMIR_PORT?)',
      'MIMIR_PORT_FILE: only secrets (MIMIR_ENROLL_SECRET, MIMIR_ADMIN_PASSWORD, MIMIR_DATABASE_URL) can be read from a file; set MIMIR_PORT instead',
    ]);
  });

  void it('reads secrets from MIMIR_X_FILE, trimming the trailing line break', () => {
    write('enroll', 'correct horse battery staple\n');
    write('db', 'postgresql://mimir:s3cret@db:5432/mimir\r\n');
    const config = loadConfig(
      { MIMIR_ENROLL_SECRET_FILE: join(dir, 'enroll'), MIMIR_DATABASE_URL_FILE: 'db' /* relative to cwd */ },
      { cwd: dir },
    );
    assert.equal(config.enroll.secret, 'correct horse battery staple');
    assert.equal(config.database.url, 'postgresql://mimir:s3cret@db:5432/mimir');
  });

  void it('validates a secret read from a file like any other value', () => {
    write('short', 'abc\n');
    assert.deepEqual(problemsOf(() => loadConfig({ MIMIR_ENROLL_SECRET_FILE: 'short' }, { cwd: dir })), [
      'MIMIR_ENROLL_SECRET_FILE: the value (hidden, 3 characters) is not a string of at least 8 characters',
    ]);
  });

  void it('rejects setting both MIMIR_X and MIMIR_X_FILE', () => {
    write('enroll-both', 'correct horse battery staple\n');
    const problems = problemsOf(() =>
      loadConfig({ MIMIR_ENROLL_SECRET: 'another long secret', MIMIR_ENROLL_SECRET_FILE: 'enroll-both' }, { cwd: dir }),
    );
    assert.deepEqual(problems, ['MIMIR_ENROLL_SECRET and MIMIR_ENROLL_SECRET_FILE are both set: set only one of them']);
  });

  void it('reports unreadable and empty secret files', () => {
    write('empty', '\n');
    const problems = problemsOf(() =>
      loadConfig({ MIMIR_ENROLL_SECRET_FILE: 'missing', MIMIR_DATABASE_URL_FILE: 'empty' }, { cwd: dir }),
    );
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /^MIMIR_ENROLL_SECRET_FILE: cannot read .*missing: ENOENT/);
    assert.equal(problems[1], `MIMIR_DATABASE_URL_FILE: ${join(dir, 'empty')} is empty, expected a URL starting with postgres://, postgresql:// or sqlite:`);
  });

  void it('reads the config file, nested or dotted, and lets env vars override it', () => {
    write(
      'mimir.json',
      JSON.stringify({
        server: { host: '127.0.0.1', port: 9000 },
        'osquery.distributedInterval': '30s',
        osquery: { configRefresh: 120 },
        tls: { hostnames: ['a.example', 'b.example'], cert: 'tls/cert.pem', key: '/etc/mimir/key.pem' },
        limits: { logBody: 2048, otherBody: '64KiB' },
        enroll: { secret: 'from the config file' },
        results: { ndjsonFile: null },
      }),
    );
    const config = loadConfig({ MIMIR_CONFIG_FILE: 'mimir.json', MIMIR_PORT: '9100', MIMIR_ENROLL_SECRET: 'from the environment' }, { cwd: dir });
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.port, 9100);
    assert.equal(config.osquery.distributedInterval, 30);
    assert.equal(config.osquery.configRefresh, 120);
    assert.deepEqual(config.tls.hostnames, ['a.example', 'b.example']);
    // Relative paths in the file resolve against cwd too, not against the file's directory.
    assert.equal(config.tls.cert, join(dir, 'tls/cert.pem'));
    assert.equal(config.tls.key, '/etc/mimir/key.pem');
    assert.deepEqual(config.limits, { logBody: 2048, distributedWriteBody: 10 * MiB, otherBody: 64 * 1024 });
    assert.equal(config.enroll.secret, 'from the environment');
    assert.equal('ndjsonFile' in config.results, false);
  });

  void it('reports unknown, duplicate and mistyped keys in the config file', () => {
    const file = write(
      'bad.json',
      JSON.stringify({
        server: { prot: 8080, port: '80x' },
        'server.host': 1,
        tls: 'yes',
        'log.level': 'debug',
        log: { level: 'info' },
        limits: { logBody: 1.5 },
        color: true,
      }),
    );
    const problems = problemsOf(() => loadConfig({ MIMIR_CONFIG_FILE: file }, { cwd: dir }));
    assert.deepEqual(problems, [
      `MIMIR_CONFIG_FILE: unknown key "server.prot" in ${file} (did you mean "server.port"?)`,
      `MIMIR_CONFIG_FILE: key "tls" in ${file} must be an object`,
      `MIMIR_CONFIG_FILE: key "log.level" is set more than once in ${file}`,
      `MIMIR_CONFIG_FILE: unknown key "color" in ${file}`,
      `server.host in ${file}: 1 is not a non-empty string`,
      `server.port in ${file}: "80x" is not an integer between 1 and 65535`,
      `limits.logBody in ${file}: 1.5 is not a byte size of at least 1KiB (like 512KiB, 10MiB, 1.5GiB or plain bytes)`,
    ]);
  });

  void it('reports a missing, malformed or non-object config file', () => {
    assert.match(problemsOf(() => loadConfig({ MIMIR_CONFIG_FILE: 'nope.json' }, { cwd: dir }))[0] ?? '', /^MIMIR_CONFIG_FILE: cannot read .*nope\.json: ENOENT/);
    write('broken.json', '{ "server": ');
    assert.match(problemsOf(() => loadConfig({ MIMIR_CONFIG_FILE: 'broken.json' }, { cwd: dir }))[0] ?? '', /broken\.json is not valid JSON/);
    write('array.json', '[]');
    assert.deepEqual(problemsOf(() => loadConfig({ MIMIR_CONFIG_FILE: 'array.json' }, { cwd: dir })), [
      `MIMIR_CONFIG_FILE: ${join(dir, 'array.json')} must contain a JSON object`,
    ]);
  });

  void it('keeps collecting env problems when the config file is broken', () => {
    const problems = problemsOf(() => loadConfig({ MIMIR_CONFIG_FILE: 'nope.json', MIMIR_PORT: 'x', MIMIR_FOO: '1' }, { cwd: dir }));
    assert.equal(problems.length, 3);
  });

  void it('requires TLS cert and key together', () => {
    assert.deepEqual(problemsOf(() => loadConfig({ MIMIR_TLS_CERT: 'cert.pem' }, { cwd: dir })), [
      'MIMIR_TLS_CERT is set but MIMIR_TLS_KEY is not: set both (certificate and its private key), or neither to use a generated certificate',
    ]);
    assert.deepEqual(problemsOf(() => loadConfig({ MIMIR_TLS_KEY: 'key.pem' }, { cwd: dir })), [
      'MIMIR_TLS_KEY is set but MIMIR_TLS_CERT is not: set both (certificate and its private key), or neither to use a generated certificate',
    ]);
    const config = loadConfig({ MIMIR_TLS_CERT: 'cert.pem', MIMIR_TLS_KEY: 'key.pem' }, { cwd: dir });
    assert.deepEqual([config.tls.cert, config.tls.key], [join(dir, 'cert.pem'), join(dir, 'key.pem')]);
  });

  void it('rejects a carve block size above the carve size limit', () => {
    assert.deepEqual(problemsOf(() => loadConfig({ MIMIR_CARVE_MAX_SIZE: '1MiB' })), [
      'MIMIR_CARVE_MAX_BLOCK_SIZE (8MiB) must not be larger than MIMIR_CARVE_MAX_SIZE (1MiB)',
    ]);
  });

  void it('resolves relative paths against cwd and keeps absolute ones', () => {
    const cwd = join(dir, 'work');
    mkdirSync(cwd, { recursive: true });
    const config = loadConfig(
      {
        MIMIR_DATA_DIR: 'state',
        MIMIR_TLS_CLIENT_CA: '../ca.pem',
        MIMIR_RESULT_LOG_FILE: '/var/log/mimir/results.ndjson',
        MIMIR_STATUS_LOG_FILE: 'logs/status.ndjson',
      },
      { cwd },
    );
    assert.equal(config.dataDir, join(cwd, 'state'));
    assert.equal(config.tls.clientCa, join(dir, 'ca.pem'));
    assert.equal(config.results.ndjsonFile, '/var/log/mimir/results.ndjson');
    assert.equal(config.results.statusNdjsonFile, join(cwd, 'logs/status.ndjson'));
  });

  void it('returns a deeply frozen object', () => {
    const config = loadConfig({ MIMIR_TLS_HOSTNAMES: 'a,b' });
    assert.ok(Object.isFrozen(config));
    for (const group of Object.values(config)) {
      if (typeof group === 'object') assert.ok(Object.isFrozen(group));
    }
    assert.ok(Object.isFrozen(config.tls.hostnames));
    assert.equal(Reflect.set(config.server, 'port', 1), false);
    assert.equal(Reflect.set(config.tls.hostnames, 0, 'evil'), false);
    // Each load gets its own copy of default arrays, so freezing never reaches the schema's.
    assert.notEqual(loadConfig({}).tls.hostnames, loadConfig({}).tls.hostnames);
  });
});

void describe('value formats', () => {
  void it('parses durations into seconds', () => {
    const cases: Array<[string, number | undefined]> = [
      ['0', 0],
      ['90', 90],
      ['10s', 10],
      ['5m', 300],
      ['1h', 3600],
      ['30d', 30 * 86_400],
      ['1h30m', 5400],
      [' 2m ', 120],
      ['', undefined],
      ['1.5h', undefined],
      ['10ms', undefined],
      ['-5', undefined],
      ['5 m', undefined],
      ['1w', undefined],
      ['h', undefined],
    ];
    for (const [text, expected] of cases) assert.equal(parseDuration(text), expected, text);
  });

  void it('parses byte sizes into bytes', () => {
    const cases: Array<[string, number | undefined]> = [
      ['1048576', MiB],
      ['0', 0],
      ['100B', 100],
      ['512KiB', 512 * 1024],
      ['10MiB', 10 * MiB],
      ['10 mib', 10 * MiB],
      ['1.5GiB', 1.5 * 1024 * MiB],
      ['8GiB', 8 * 1024 * MiB],
      ['10MB', undefined],
      ['10K', undefined],
      ['1e3', undefined],
      ['1.5', undefined],
      ['0.1KiB', undefined],
      ['-1KiB', undefined],
      ['', undefined],
    ];
    for (const [text, expected] of cases) assert.equal(parseBytes(text), expected, text);
  });

  void it('parses integers, booleans and lists', () => {
    assert.equal(parseInteger('42'), 42);
    assert.equal(parseInteger(' -3 '), -3);
    for (const bad of ['4.2', '1e3', '0x10', '', '12abc', '99999999999999999999']) assert.equal(parseInteger(bad), undefined, bad);
    assert.equal(parseBoolean('true'), true);
    assert.equal(parseBoolean('TRUE'), true);
    assert.equal(parseBoolean('1'), true);
    assert.equal(parseBoolean('false'), false);
    assert.equal(parseBoolean('0'), false);
    assert.equal(parseBoolean('yes'), undefined);
    assert.deepEqual(parseList('a, b,,c ,'), ['a', 'b', 'c']);
    assert.deepEqual(parseList(''), []);
  });

  void it('formats durations and sizes with the largest exact unit, round-tripping', () => {
    assert.equal(formatDuration(86_400), '1d');
    assert.equal(formatDuration(90), '90s');
    assert.equal(formatDuration(0), '0');
    assert.equal(formatBytes(10 * MiB), '10MiB');
    assert.equal(formatBytes(1000), '1000');
    for (const n of [1, 59, 60, 3600, 5400, 86_400 * 30]) assert.equal(parseDuration(formatDuration(n)), n);
    for (const n of [1, 1023, 1024, 1536, 8 * 1024 * MiB]) assert.equal(parseBytes(formatBytes(n)), n);
  });
});

void describe('describeConfig and docs', () => {
  const ENV_NAMES = [
    'MIMIR_DATA_DIR',
    'MIMIR_HOST',
    'MIMIR_PORT',
    'MIMIR_PUBLIC_HOSTNAME',
    'MIMIR_SHUTDOWN_TIMEOUT',
    'MIMIR_TLS_CERT',
    'MIMIR_TLS_KEY',
    'MIMIR_TLS_HOSTNAMES',
    'MIMIR_TLS_CLIENT_CA',
    'MIMIR_TLS_CLIENT_GROUP',
    'MIMIR_ENROLL_SECRET',
    'MIMIR_ENROLL_SECRET_KEY',
    'MIMIR_ADMIN_EMAIL',
    'MIMIR_ADMIN_PASSWORD',
    'MIMIR_SESSION_IDLE_TIMEOUT',
    'MIMIR_SESSION_MAX_AGE',
    'MIMIR_LIVE_QUERY_HISTORY',
    'MIMIR_LIVE_QUERY_MAX_ROWS',
    'MIMIR_UPDATE_PUBLIC_KEYS',
    'MIMIR_DATABASE_URL',
    'MIMIR_LOG_LEVEL',
    'MIMIR_LOG_FORMAT',
    'MIMIR_RESULT_RETENTION',
    'MIMIR_RESULT_LOG_FILE',
    'MIMIR_STATUS_LOG_FILE',
    'MIMIR_DISTRIBUTED_INTERVAL',
    'MIMIR_CONFIG_REFRESH',
    'MIMIR_LOGGER_PERIOD',
    'MIMIR_DETAIL_INTERVAL',
    'MIMIR_LABEL_INTERVAL',
    'MIMIR_ONLINE_BUFFER',
    'MIMIR_MAX_LOG_BODY',
    'MIMIR_MAX_DISTRIBUTED_WRITE_BODY',
    'MIMIR_MAX_BODY',
    'MIMIR_CARVE_MAX_BLOCK_SIZE',
    'MIMIR_CARVE_MAX_SIZE',
    'MIMIR_CARVE_EXPIRY',
  ];

  void it('describes every setting once, with docs, secrets flagged', () => {
    const settings = describeConfig();
    assert.deepEqual(settings.map((s) => s.env).sort(), [...ENV_NAMES].sort());
    for (const s of settings) assert.ok(s.doc.length > 10, `${s.env} needs a doc`);
    assert.deepEqual(settings.filter((s) => s.secret).map((s) => s.env), ['MIMIR_ENROLL_SECRET', 'MIMIR_ADMIN_PASSWORD', 'MIMIR_DATABASE_URL']);
    const port = settings.find((s) => s.env === 'MIMIR_PORT');
    assert.deepEqual(port, { env: 'MIMIR_PORT', key: 'server.port', type: 'port', default: '8080', secret: false, doc: port?.doc });
    const byEnv = new Map(settings.map((s) => [s.env, s]));
    assert.equal(byEnv.get('MIMIR_RESULT_RETENTION')?.default, '30d');
    assert.equal(byEnv.get('MIMIR_CARVE_MAX_SIZE')?.default, '8GiB');
    assert.equal(byEnv.get('MIMIR_DISTRIBUTED_INTERVAL')?.type, 'duration (between 1s and 1h)');
    assert.equal(byEnv.get('MIMIR_TLS_CERT')?.default, undefined);
  });

  void it('documents defaults that load back to the defaults', () => {
    const file = write('example.json', exampleConfigFile());
    assert.deepEqual(loadConfig({ MIMIR_CONFIG_FILE: file }, { cwd: dir }), loadConfig({}, { cwd: dir }));
  });

  void it('keeps docs/configuration.md in sync with the schema', () => {
    const path = new URL(`../../../../${CONFIG_DOC_PATH}`, import.meta.url);
    const committed = readFileSync(path, 'utf8');
    assert.ok(
      committed === renderConfigMarkdown(),
      `${CONFIG_DOC_PATH} is out of date; regenerate it with: npx tsx packages/server/src/config/render-docs.ts`,
    );
    for (const env of ENV_NAMES) assert.ok(committed.includes(`| \`${env}\` |`), `${env} missing from the table`);
  });
});
