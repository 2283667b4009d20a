/**
 * Profiles: one per server, in `$XDG_CONFIG_HOME/mimir/config.yml` (else `~/.config/mimir/config.yml`;
 * `--cli-config`/`MIMIR_CLI_CONFIG` overrides). The file holds API tokens, so it is written with mode
 * 0600 in a 0700 directory, atomically (temp file + rename): a crash never leaves half a file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CliError, EXIT, UsageError } from './errors.js';

const ProfileSchema = Type.Object({
  server: Type.String(),
  token: Type.Optional(Type.String()),
  /** The API token's id when `login` created it (so `logout` can revoke it). */
  tokenId: Type.Optional(Type.Integer()),
  email: Type.Optional(Type.String()),
  /** PEM of the pinned CA (copied at login, so moving the file later breaks nothing). */
  ca: Type.Optional(Type.String()),
}, { additionalProperties: false });
export type Profile = Type.Static<typeof ProfileSchema>;

const ConfigSchema = Type.Object({
  current: Type.Optional(Type.String()),
  profiles: Type.Record(Type.String(), ProfileSchema),
}, { additionalProperties: false });
export type CliConfig = Type.Static<typeof ConfigSchema>;

const checkConfig = Compile(ConfigSchema);
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Where the config file lives. */
export function configPath(override: string | undefined, env: NodeJS.ProcessEnv): string {
  if (override !== undefined && override !== '') return override;
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env['HOME'] ?? homedir(), '.config');
  return join(base, 'mimir', 'config.yml');
}

export function readConfig(path: string): CliConfig {
  if (!existsSync(path)) return { profiles: {} };
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`${path}: not valid YAML (${(e as Error).message.split('\n')[0] ?? ''}); fix or delete it`, EXIT.usage);
  }
  if (data === null || data === undefined) return { profiles: {} };
  if (!checkConfig.Check(data)) {
    const problems = checkConfig.Errors(data).slice(0, 3).map((e) => `${e.instancePath || '/'}: ${e.message}`);
    throw new CliError(`${path}: not a mimir-cli config file (${problems.join('; ')}); fix or delete it`, EXIT.usage);
  }
  return data;
}

export function writeConfig(path: string, cfg: CliConfig): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const text = `# mimir-cli profiles (holds API tokens: keep it private)\n${stringifyYaml(cfg)}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  // writeFileSync's mode only applies to new files; make sure, then swap in atomically.
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function profileName(flag: string | undefined, cfg: CliConfig): string {
  const name = flag !== undefined && flag !== '' ? flag : (cfg.current ?? 'default');
  if (!PROFILE_NAME.test(name)) throw new UsageError(`--profile: ${JSON.stringify(name)} is not a profile name (letters, digits, . _ -, up to 64)`);
  return name;
}

/** `--ca`/`MIMIR_CA`: a PEM file path, or PEM text itself. */
export function readCa(value: string): string {
  const text = value.trimStart().startsWith('-----BEGIN') ? value : (() => {
    try {
      return readFileSync(value, 'utf8');
    } catch (e) {
      throw new UsageError(`--ca: cannot read ${value} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  })();
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca: ${value.startsWith('-----') ? 'the text' : value} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}
