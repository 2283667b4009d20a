#!/usr/bin/env node
/**
 * `mimir` command: `serve` (default), `flagfile`, `config`. Data on stdout, messages on stderr.
 */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { AuthService } from '../auth/auth.service.js';
import { ConfigError, loadConfig, renderConfigMarkdown } from '../config/config.js';
import { renderFlagfile } from '../flagfile.js';
import { publicHostname, serve } from '../main.js';
import { openStore } from '../storage/store.js';
import { ensureDefaultGroup } from '../services/enroll-secrets.js';

const HELP = `Usage: mimir <command> [options]

Commands:
  serve                 Start the server (HTTPS on MIMIR_PORT, default 8080) with embedded SQLite.
  flagfile              Print the osqueryd flagfile and enroll secret for this server.
                          --ca-path PATH      CA location on the host (default /etc/osquery/mimir/ca.pem)
                          --secret-path PATH  secret location on the host (default /etc/osquery/mimir/enroll_secret)
  setup                 Create the first admin. Prompts on a terminal; unattended installs set
                        MIMIR_ADMIN_EMAIL and MIMIR_ADMIN_PASSWORD (or MIMIR_ADMIN_PASSWORD_FILE).
  config                Print every configuration key (env var, default, meaning) as Markdown.
  help                  Show this help.

Configuration comes from MIMIR_* environment variables and an optional JSON file (MIMIR_CONFIG_FILE).
See docs/configuration.md.

Examples:
  mimir serve
  MIMIR_PORT=8443 MIMIR_DATA_DIR=/var/lib/mimir mimir serve
  mimir flagfile > /etc/osquery/osquery.flags
`;

async function flagfile(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { 'ca-path': { type: 'string' }, 'secret-path': { type: 'string' } } });
  const config = loadConfig(process.env);
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.database.url });
  try {
    const { secret } = await ensureDefaultGroup(store, config.enroll.secret, Date.now());
    process.stdout.write(
      renderFlagfile({
        tlsHostname: publicHostname(config),
        caPath: values['ca-path'] ?? '/etc/osquery/mimir/ca.pem',
        secretPath: values['secret-path'] ?? '/etc/osquery/mimir/enroll_secret',
        configRefresh: config.osquery.configRefresh,
        distributedInterval: config.osquery.distributedInterval,
        loggerPeriod: config.osquery.loggerPeriod,
        carverBlockSize: Math.min(2_000_000, config.carves.maxBlockSize),
      }),
    );
    process.stderr.write(`# enroll secret (put it in the --enroll_secret_path file): ${secret}\n`);
  } finally {
    await store.close();
  }
}

async function ask(question: string, hidden: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    // Keep the password off the screen: echo nothing while it is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.includes(question)) process.stderr.write(s);
    };
  }
  try {
    return (await rl.question(question)).trim();
  } finally {
    if (hidden) process.stderr.write('\n');
    rl.close();
  }
}

async function setup(): Promise<void> {
  const config = loadConfig(process.env);
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.database.url });
  try {
    const auth = new AuthService(store, { sessionIdleMs: config.auth.sessionIdle * 1000, sessionMaxMs: config.auth.sessionMax * 1000 });
    if (!(await auth.needsSetup())) {
      process.stderr.write('mimir setup: an admin already exists; sign in to the console or use the API to add users\n');
      process.exitCode = 1;
      return;
    }
    let email = config.admin.email;
    let password = config.admin.password;
    if (email === undefined || password === undefined) {
      if (!process.stdin.isTTY) {
        process.stderr.write('mimir setup: no terminal to prompt on: set MIMIR_ADMIN_EMAIL and MIMIR_ADMIN_PASSWORD (or MIMIR_ADMIN_PASSWORD_FILE)\n');
        process.exitCode = 2;
        return;
      }
      email ??= await ask('Admin email: ', false);
      if (password === undefined) {
        password = await ask('Password (at least 12 characters): ', true);
        if (password !== (await ask('Repeat password: ', true))) throw new Error('the passwords differ');
      }
    }
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error(`"${email}" is not an email address`);
    if (password.length < 12) throw new Error('the password must have at least 12 characters');
    await auth.setup({ email, password }, Date.now());
    process.stderr.write(`Created admin ${email.toLowerCase()}. Start the server with \`mimir serve\` and sign in.\n`);
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const [command = 'serve', ...rest] = process.argv.slice(2);
  switch (command) {
    case 'serve':
      await serve(process.env);
      return;
    case 'flagfile':
      await flagfile(rest);
      return;
    case 'setup':
      await setup();
      return;
    case 'config':
      process.stdout.write(renderConfigMarkdown());
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return;
    default:
      process.stderr.write(`mimir: unknown command "${command}"\n\n${HELP}`);
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`mimir: invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(78); // EX_CONFIG
  }
  process.stderr.write(`mimir: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
