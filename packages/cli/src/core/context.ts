/**
 * What every command gets: the global flags (each also an environment variable), the profile,
 * an API client, and a printer for the chosen output format.
 */
import type { Command } from 'commander';
import { ApiClient, normalizeServer } from './http.js';
import { configPath, profileName, readCa, readConfig, type CliConfig, type Profile } from './config.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { FORMATS, makePrinter, type Format, type Io, type Printer } from './output.js';

export const VERSION = '0.1.0';

export interface GlobalOptions {
  server?: string;
  token?: string;
  ca?: string;
  profile?: string;
  cliConfig?: string;
  color: boolean;
}

export interface OutputOptions {
  output?: string;
  json?: boolean;
  csv?: boolean;
}

export interface Connection {
  client: ApiClient;
  profileName: string;
  profile: Profile | undefined;
  configFile: string;
  config: CliConfig;
}

export class Context {
  constructor(readonly io: Io) {}

  /** The global flags, read from the root command whatever subcommand runs. */
  globals(cmd: Command): GlobalOptions {
    let root = cmd;
    while (root.parent !== null) root = root.parent;
    return root.opts<GlobalOptions>();
  }

  printer(cmd: Command): Printer {
    const o = cmd.opts<OutputOptions>();
    const chosen: string[] = [];
    if (o.json === true) chosen.push('json');
    if (o.csv === true) chosen.push('csv');
    if (o.output !== undefined) chosen.push(o.output);
    const unique = [...new Set(chosen)];
    if (unique.length > 1) throw new UsageError(`choose one output format, not ${unique.join(' and ')}`);
    const f = unique[0] ?? 'table';
    if (!FORMATS.includes(f as Format)) throw new UsageError(`--output must be one of ${FORMATS.join(', ')}, not ${JSON.stringify(f)}`);
    return makePrinter(this.io, f as Format, this.globals(cmd).color);
  }

  configFile(cmd: Command): string {
    return configPath(this.globals(cmd).cliConfig, this.io.env);
  }

  /** The profiles file, its content, and the profile this run names (which may not exist yet). */
  profileState(cmd: Command): { file: string; config: CliConfig; name: string; profile: Profile | undefined } {
    const file = this.configFile(cmd);
    const config = readConfig(file);
    const name = profileName(this.globals(cmd).profile, config);
    return { file, config, name, profile: config.profiles[name] };
  }

  /**
   * The server, token and CA for this run: flags and environment first, then the profile. A
   * profile's token is only sent to that profile's server, never to another `--server`.
   */
  connect(cmd: Command, opts: { requireToken?: boolean } = {}): Connection {
    const g = this.globals(cmd);
    const file = this.configFile(cmd);
    const config = readConfig(file);
    const name = profileName(g.profile, config);
    const profile = config.profiles[name];
    const fromFlag = g.server !== undefined && g.server !== '';
    if (!fromFlag && profile === undefined && g.profile !== undefined && g.profile !== '') {
      throw new UsageError(`no profile named ${JSON.stringify(name)} in ${file}; run \`mimir-cli login --profile ${name} --server https://host:port\``);
    }
    const server = normalizeServer(fromFlag ? (g.server ?? '') : (profile?.server ?? ''));
    const sameServer = profile !== undefined && profile.server === server;
    const token = g.token !== undefined && g.token !== '' ? g.token : sameServer ? profile.token : undefined;
    const ca = g.ca !== undefined && g.ca !== '' ? readCa(g.ca) : sameServer ? profile.ca : undefined;
    if (opts.requireToken !== false && (token === undefined || token === '')) {
      throw new CliError(`not signed in to ${server}: run \`mimir-cli login\`, or pass --token / MIMIR_API_TOKEN`, EXIT.auth);
    }
    return {
      client: new ApiClient({ server, token, ca, userAgent: `mimir-cli/${VERSION}` }),
      profileName: name, profile, configFile: file, config,
    };
  }

  client(cmd: Command): ApiClient {
    return this.connect(cmd).client;
  }
}
