/**
 * The `mimir-cli` command tree (commander). Every flag is also an environment variable:
 * `--foo-bar` is `MIMIR_FOO_BAR` (except `--token` = `MIMIR_API_TOKEN`); flags on the command line
 * win. Booleans from the environment take 1/true/yes or 0/false/no, nothing else, so
 * `MIMIR_PRUNE=0` never prunes.
 */
import { Command, CommanderError, type Option } from 'commander';
import { CliError, EXIT, UsageError, type ExitCode } from './core/errors.js';
import { Context, VERSION } from './core/context.js';
import type { Io } from './core/output.js';
import { registerAuth } from './commands/auth.js';
import { registerHosts } from './commands/hosts.js';
import { registerQuery } from './commands/query.js';
import { registerQueries } from './commands/queries.js';
import { registerPacks } from './commands/packs.js';
import { registerLabels } from './commands/labels.js';
import { registerGroups } from './commands/groups.js';
import { registerUsers } from './commands/users.js';
import { registerTokens } from './commands/tokens.js';
import { registerAudit } from './commands/audit.js';
import { registerUpdates } from './commands/updates.js';
import { registerApply } from './apply/apply.command.js';

/** Env name of an option: `--foo-bar` → MIMIR_FOO_BAR. */
export function envNameOf(opt: Option): string | undefined {
  const long = opt.long?.replace(/^--/, '');
  if (long === undefined || long === 'help' || long === 'version' || long === 'no-color') return undefined;
  if (long === 'token') return 'MIMIR_API_TOKEN';
  return `MIMIR_${long.replace(/-/g, '_').toUpperCase()}`;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** Fill options not given on the command line from the environment. */
function applyEnv(cmd: Command, env: NodeJS.ProcessEnv): void {
  for (let c: Command | null = cmd; c !== null; c = c.parent) {
    for (const opt of c.options) {
      const name = envNameOf(opt);
      if (name === undefined) continue;
      const value = env[name];
      if (value === undefined) continue;
      const key = opt.attributeName();
      if (c.getOptionValueSource(key) === 'cli') continue;
      if (opt.required || opt.optional) {
        if (value !== '') c.setOptionValueWithSource(key, value, 'env');
        continue;
      }
      const v = value.trim().toLowerCase();
      if (TRUE.has(v)) c.setOptionValueWithSource(key, true, 'env');
      else if (FALSE.has(v)) c.setOptionValueWithSource(key, false, 'env');
      else throw new UsageError(`${name}=${JSON.stringify(value)}: use 1/true/yes or 0/false/no`);
    }
  }
}

/** `osquery rollout` for that command (the root's name left out). */
function commandPath(cmd: Command): string[] {
  return cmd.parent === null ? [] : [...commandPath(cmd.parent), cmd.name()];
}

/** Mark every option with its variable in --help, and make commander errors exit 2 (usage). */
function finish(cmd: Command, io: Io): void {
  for (const opt of cmd.options as Option[]) {
    const name = envNameOf(opt);
    if (name !== undefined && !opt.description.includes('(env:')) opt.description = `${opt.description} (env: ${name})`;
  }
  const first = cmd.commands[0];
  if (cmd.parent !== null && first !== undefined) {
    // A noun's help points at its verbs' examples (each verb's --help has its own).
    cmd.addHelpText('after', `\nExamples:\n  $ mimir-cli ${commandPath(cmd).join(' ')} ${first.name()} --help`);
  }
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });
  cmd.showHelpAfterError('(run with --help for usage and examples)');
  for (const sub of cmd.commands) finish(sub, io);
}

export function buildProgram(ctx: Context): Command {
  const program = new Command('mimir-cli')
    .description('Manage a Mimir osquery fleet from the terminal: hosts, live queries, saved queries, packs, labels, groups, users, tokens, audit, signed updates, and declarative config (apply/export).')
    .version(VERSION, '-V, --version')
    .option('--server <url>', 'Mimir server, https://host:port (default: the profile\'s)')
    .option('--token <token>', 'API token (mimir_…) instead of the profile\'s')
    .option('--ca <file>', 'PEM CA certificate to trust for the server (Mimir\'s own: <data dir>/tls/ca.pem)')
    .option('--profile <name>', 'profile to use (default: the current one, else "default")')
    .option('--cli-config <file>', 'profiles file (default: $XDG_CONFIG_HOME/mimir/config.yml or ~/.config/mimir/config.yml)')
    .option('--no-color', 'no colours (also NO_COLOR=1; colours are only used on a terminal anyway)')
    .addHelpText('after', `
Every flag is also an environment variable: --foo-bar is MIMIR_FOO_BAR (--token is MIMIR_API_TOKEN).
Exit codes: 0 ok, 1 error, 2 usage/bad input, 3 not signed in/forbidden, 4 not found,
5 refused by the server (validation, conflict), 6 hosts failed (query run), 7 cannot connect, 130 interrupted.

Examples:
  $ mimir-cli login --server https://mimir.example.com:8080 --ca ca.pem
  $ mimir-cli hosts list --status online --platform linux
  $ mimir-cli query run "SELECT * FROM os_version" --all
  $ mimir-cli apply -f mimir.yml --dry-run
  $ mimir-cli osquery rollout 5.12.1 25 --platform linux/amd64`);
  registerAuth(program, ctx);
  registerHosts(program, ctx);
  registerQuery(program, ctx);
  registerQueries(program, ctx);
  registerPacks(program, ctx);
  registerLabels(program, ctx);
  registerGroups(program, ctx);
  registerUsers(program, ctx);
  registerTokens(program, ctx);
  registerAudit(program, ctx);
  registerUpdates(program, ctx);
  registerApply(program, ctx);
  program.hook('preAction', (_root, action) => applyEnv(action, ctx.io.env));
  finish(program, ctx.io);
  return program;
}

/** Run with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<ExitCode> {
  const ctx = new Context(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' || err.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      io.err.write(`mimir-cli: ${err.message}\n`);
      for (const d of err.details) io.err.write(`  - ${d}\n`);
      return err.exitCode;
    }
    io.err.write(`mimir-cli: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.error;
  }
}
