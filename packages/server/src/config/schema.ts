// The single declaration of every Mimir setting. Parsing, validation, the Config type and the
// generated documentation are all derived from ConfigSchema, so adding a setting here is the whole
// job. Mimir-specific facts that JSON Schema has no keyword for (the environment variable, how to
// read the text of an env var, whether the value is secret) travel on the schema itself as `x-mimir-*`
// annotation keywords, which validators ignore and which keep the schema exportable as plain JSON Schema.
import Type, {
  type TArray,
  type TEnum,
  type TInteger,
  type TNumberOptions,
  type TString,
  type TStringOptions,
} from 'typebox';
import { parseBytes, parseDuration } from './format.js';

/** How a setting's text is read from an env var and shown in the docs; the JSON type alone cannot tell a duration from a port. */
export type LeafKind = 'string' | 'path' | 'port' | 'integer' | 'boolean' | 'list' | 'bytes' | 'duration' | 'enum';
export const LEAF_KINDS: readonly LeafKind[] = ['string', 'path', 'port', 'integer', 'boolean', 'list', 'bytes', 'duration', 'enum'];

export const META_ENV = 'x-mimir-env';
export const META_KIND = 'x-mimir-kind';
export const META_SECRET = 'x-mimir-secret';
/** Human wording of a constraint that the schema states only as a regular expression. */
export const META_EXPECT = 'x-mimir-expect';
/** The default as declared (`60s`), since the schema default is in seconds or bytes and `1m` would read differently from the source. */
export const META_DEFAULT_TEXT = 'x-mimir-default-text';

interface Common {
  /** Environment variable, also the name every problem report uses. */
  env: string;
  /** One or two sentences for the docs and `mimir config`. */
  doc: string;
}

function annotate(options: TStringOptions | TNumberOptions, env: string, kind: LeafKind): void {
  options[META_ENV] = env;
  options[META_KIND] = kind;
}

// Options are assembled field by field (rather than with `key: value ?? undefined`) so absent
// settings leave no `default: undefined` behind, which would read as "has a default" when walking.

function text(kind: 'string' | 'path', o: Common & { default?: string; minLength?: number; pattern?: string; expect?: string; secret?: boolean }): TString {
  const options: TStringOptions = { description: o.doc, minLength: o.minLength ?? 1 };
  if (o.default !== undefined) options.default = o.default;
  if (o.pattern !== undefined) options.pattern = o.pattern;
  annotate(options, o.env, kind);
  if (o.expect !== undefined) options[META_EXPECT] = o.expect;
  if (o.secret === true) options[META_SECRET] = true;
  return Type.String(options);
}

const str = (o: Parameters<typeof text>[1]): TString => text('string', o);
/** Relative paths are resolved against the working directory when loading. */
const path = (o: Common & { default?: string }): TString => text('path', o);

function integer(
  kind: 'port' | 'integer' | 'bytes' | 'duration',
  o: Common & { default?: number; defaultText?: string; minimum?: number; maximum?: number },
): TInteger {
  const options: TNumberOptions = { description: o.doc };
  if (o.default !== undefined) options.default = o.default;
  if (o.defaultText !== undefined) options[META_DEFAULT_TEXT] = o.defaultText;
  if (o.minimum !== undefined) options.minimum = o.minimum;
  if (o.maximum !== undefined) options.maximum = o.maximum;
  annotate(options, o.env, kind);
  return Type.Integer(options);
}

const port = (o: Common & { default?: number }): TInteger => integer('port', { ...o, minimum: 1, maximum: 65_535 });

// Durations and sizes are declared in the same human notation users write, and converted with the
// same parser that reads env vars; a typo in a declaration therefore fails loudly at import time.
function mustParse(parse: (s: string) => number | undefined, value: string): number {
  const n = parse(value);
  if (n === undefined) throw new Error(`config schema: cannot parse "${value}"`);
  return n;
}

function humanInteger(
  kind: 'bytes' | 'duration',
  parse: (s: string) => number | undefined,
  o: Common & { default?: string; minimum?: string; maximum?: string },
): TInteger {
  const opts: Parameters<typeof integer>[1] = { env: o.env, doc: o.doc, minimum: o.minimum === undefined ? 0 : mustParse(parse, o.minimum) };
  if (o.maximum !== undefined) opts.maximum = mustParse(parse, o.maximum);
  if (o.default !== undefined) {
    opts.default = mustParse(parse, o.default);
    opts.defaultText = o.default;
  }
  return integer(kind, opts);
}

/** Whole seconds in the loaded Config. */
const duration = (o: Common & { default?: string; minimum?: string; maximum?: string }): TInteger => humanInteger('duration', parseDuration, o);

/** Whole bytes in the loaded Config. */
const bytes = (o: Common & { default?: string; minimum?: string }): TInteger => humanInteger('bytes', parseBytes, o);

function list(o: Common & { default: string[] }): TArray<TString> {
  const options: TStringOptions = { description: o.doc, default: o.default };
  annotate(options, o.env, 'list');
  return Type.Array(Type.String({ minLength: 1 }), options);
}

function oneOf<const Values extends string[]>(o: Common & { values: readonly [...Values]; default: Values[number] }): TEnum<Values> {
  const options: TStringOptions = { description: o.doc, default: o.default };
  annotate(options, o.env, 'enum');
  return Type.Enum(o.values, options);
}

// Sub-objects reject unknown keys so a misspelt key in the config file is an error, not a no-op.
const group = { additionalProperties: false } as const;

export const ConfigSchema = Type.Object(
  {
    dataDir: path({
      env: 'MIMIR_DATA_DIR',
      default: './data',
      doc: 'Directory for Mimir state: the embedded SQLite database, generated TLS material and file carves.',
    }),
    server: Type.Object(
      {
        host: str({
          env: 'MIMIR_HOST',
          default: '0.0.0.0',
          doc: 'Address the server listens on. `0.0.0.0` means every IPv4 interface, `::` every interface.',
        }),
        port: port({
          env: 'MIMIR_PORT',
          default: 8080,
          doc: 'TCP port for the osquery remote API, the operator API and the console.',
        }),
        publicHostname: Type.Optional(
          str({
            env: 'MIMIR_PUBLIC_HOSTNAME',
            // No scheme and no path: osquery prepends `https://` itself, and a pasted URL is the usual mistake.
            pattern: '^(?:\\[[0-9A-Fa-f:.]+\\]|[^\\s/:\\[\\]]+)(?::[0-9]{1,5})?$',
            expect: 'a host name with an optional port, like mimir.example.com or mimir.example.com:8443 (no scheme, no path)',
            doc: 'The `host[:port]` osquery agents use to reach Mimir (osquery `--tls_hostname`). When unset it is derived from the listen address and port.',
          }),
        ),
        shutdownTimeout: duration({
          env: 'MIMIR_SHUTDOWN_TIMEOUT',
          default: '10s',
          doc: 'How long a graceful shutdown waits for in-flight requests before closing them.',
        }),
      },
      group,
    ),
    tls: Type.Object(
      {
        cert: Type.Optional(
          path({
            env: 'MIMIR_TLS_CERT',
            doc: 'PEM certificate (chain) to serve. Set together with `MIMIR_TLS_KEY`; when both are unset Mimir generates a certificate in the data directory.',
          }),
        ),
        key: Type.Optional(path({ env: 'MIMIR_TLS_KEY', doc: 'PEM private key for `MIMIR_TLS_CERT`.' })),
        hostnames: list({
          env: 'MIMIR_TLS_HOSTNAMES',
          default: [],
          doc: 'Extra DNS names or IP addresses to put in the generated certificate.',
        }),
        clientCa: Type.Optional(
          path({
            env: 'MIMIR_TLS_CLIENT_CA',
            doc: 'PEM CA certificate(s) that sign osquery client certificates. When set, agents presenting a valid client certificate are enrolled by it (TLS client authentication).',
          }),
        ),
        clientGroup: str({
          env: 'MIMIR_TLS_CLIENT_GROUP',
          default: 'default',
          doc: 'Group given to hosts identified by a client certificate.',
        }),
      },
      group,
    ),
    enroll: Type.Object(
      {
        secret: Type.Optional(
          str({
            env: 'MIMIR_ENROLL_SECRET',
            secret: true,
            minLength: 8,
            doc: 'Shared enroll secret agents present (the content of the file osquery reads through `--enroll_secret_path`).',
          }),
        ),
        secretKey: str({
          env: 'MIMIR_ENROLL_SECRET_KEY',
          default: 'enroll_secret',
          doc: 'Request body field that carries the enroll secret (osquery `--tls_enroll_override`).',
        }),
      },
      group,
    ),
    admin: Type.Object(
      {
        email: Type.Optional(
          str({
            env: 'MIMIR_ADMIN_EMAIL',
            doc: 'Unattended installs: `mimir setup` (and the first `mimir serve`) creates the first admin with this email when no user exists yet.',
          }),
        ),
        password: Type.Optional(
          str({
            env: 'MIMIR_ADMIN_PASSWORD',
            secret: true,
            minLength: 12,
            doc: 'Password of that first admin (at least 12 characters). Prefer MIMIR_ADMIN_PASSWORD_FILE.',
          }),
        ),
      },
      group,
    ),
    auth: Type.Object(
      {
        sessionIdle: duration({
          env: 'MIMIR_SESSION_IDLE_TIMEOUT',
          default: '12h',
          minimum: '5m',
          doc: 'A console session ends after this long without use.',
        }),
        sessionMax: duration({
          env: 'MIMIR_SESSION_MAX_AGE',
          default: '7d',
          minimum: '5m',
          doc: 'A console session ends this long after sign-in, used or not.',
        }),
      },
      group,
    ),
    liveQueries: Type.Object(
      {
        historyRetention: duration({
          env: 'MIMIR_LIVE_QUERY_HISTORY',
          default: '30d',
          minimum: '1d',
          doc: 'How long live queries and their results are kept (seed 004: 30 days).',
        }),
        maxResultRows: integer('integer', {
          env: 'MIMIR_LIVE_QUERY_MAX_ROWS',
          default: 1_000_000,
          minimum: 1,
          doc: 'Rows stored per live query; past this, results are counted but not stored and the query says so.',
        }),
      },
      group,
    ),
    updates: Type.Object(
      {
        publicKeys: list({
          env: 'MIMIR_UPDATE_PUBLIC_KEYS',
          default: [],
          doc: 'Ed25519 public keys trusted for signed osquery and agent updates (seed 000), comma-separated. Each is the path of a PEM public key file, or a raw 32-byte key in hex (64 characters) or base64. List two keys while rotating. See docs/updates.md.',
        }),
      },
      group,
    ),
    database: Type.Object(
      {
        url: Type.Optional(
          str({
            env: 'MIMIR_DATABASE_URL',
            secret: true,
            pattern: '^(?:postgres://|postgresql://|sqlite:)',
            expect: 'a URL starting with postgres://, postgresql:// or sqlite:',
            doc: 'Database connection URL: `postgres://…` or `postgresql://…` for PostgreSQL, `sqlite:<path>` for SQLite. Unset means the embedded SQLite database `<dataDir>/mimir.db`.',
          }),
        ),
      },
      group,
    ),
    log: Type.Object(
      {
        level: oneOf({
          env: 'MIMIR_LOG_LEVEL',
          values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
          doc: 'Least severe level of log record that is written.',
        }),
        format: oneOf({
          env: 'MIMIR_LOG_FORMAT',
          values: ['auto', 'json', 'pretty'],
          default: 'auto',
          doc: '`json` writes one JSON object per line, `pretty` human-readable lines, `auto` pretty on a terminal and JSON otherwise.',
        }),
      },
      group,
    ),
    results: Type.Object(
      {
        retention: duration({
          env: 'MIMIR_RESULT_RETENTION',
          default: '30d',
          doc: 'How long stored query results are kept. `0` keeps them forever.',
        }),
        ndjsonFile: Type.Optional(
          path({
            env: 'MIMIR_RESULT_LOG_FILE',
            doc: 'Also append every result log record to this file as NDJSON (one JSON object per line), e.g. for a log shipper.',
          }),
        ),
        statusNdjsonFile: Type.Optional(
          path({
            env: 'MIMIR_STATUS_LOG_FILE',
            doc: 'Also append every osquery status log record to this file as NDJSON.',
          }),
        ),
      },
      group,
    ),
    osquery: Type.Object(
      {
        distributedInterval: duration({
          env: 'MIMIR_DISTRIBUTED_INTERVAL',
          default: '10s',
          minimum: '1s',
          maximum: '1h',
          doc: 'How often agents poll for live queries (osquery `--distributed_interval`).',
        }),
        configRefresh: duration({
          env: 'MIMIR_CONFIG_REFRESH',
          default: '60s',
          minimum: '1s',
          doc: 'How often agents fetch their configuration (osquery `--config_refresh`).',
        }),
        loggerPeriod: duration({
          env: 'MIMIR_LOGGER_PERIOD',
          default: '10s',
          minimum: '1s',
          doc: 'How often agents send buffered result and status logs (osquery `--logger_tls_period`).',
        }),
        detailInterval: duration({
          env: 'MIMIR_DETAIL_INTERVAL',
          default: '1h',
          minimum: '1m',
          doc: 'How often host details (OS, hardware, osquery version) are refreshed.',
        }),
        labelInterval: duration({
          env: 'MIMIR_LABEL_INTERVAL',
          default: '1h',
          minimum: '1m',
          doc: 'How often label membership queries are re-run on each host.',
        }),
        onlineBuffer: duration({
          env: 'MIMIR_ONLINE_BUFFER',
          default: '60s',
          doc: 'A host counts as online if it was seen within `max(distributedInterval, configRefresh)` plus this buffer.',
        }),
      },
      group,
    ),
    limits: Type.Object(
      {
        logBody: bytes({
          env: 'MIMIR_MAX_LOG_BODY',
          default: '10MiB',
          minimum: '1KiB',
          doc: 'Largest accepted request body for osquery log uploads.',
        }),
        distributedWriteBody: bytes({
          env: 'MIMIR_MAX_DISTRIBUTED_WRITE_BODY',
          default: '10MiB',
          minimum: '1KiB',
          doc: 'Largest accepted request body for live query results.',
        }),
        otherBody: bytes({
          env: 'MIMIR_MAX_BODY',
          default: '1MiB',
          minimum: '1KiB',
          doc: 'Largest accepted request body for every other endpoint.',
        }),
      },
      group,
    ),
    carves: Type.Object(
      {
        maxBlockSize: bytes({
          env: 'MIMIR_CARVE_MAX_BLOCK_SIZE',
          default: '8MiB',
          minimum: '1KiB',
          doc: 'Largest accepted file carve block; osquery `--carver_block_size` must not exceed it.',
        }),
        maxSize: bytes({
          env: 'MIMIR_CARVE_MAX_SIZE',
          default: '8GiB',
          minimum: '1KiB',
          doc: 'Largest total size of one file carve.',
        }),
        expiry: duration({
          env: 'MIMIR_CARVE_EXPIRY',
          default: '24h',
          minimum: '1m',
          doc: 'Unfinished file carves are dropped after this long.',
        }),
      },
      group,
    ),
  },
  group,
);
