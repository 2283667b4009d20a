/**
 * `login`, `whoami`, `logout`, `profiles`. Signing in with a password creates a named API token
 * (`POST /tokens` on a short-lived session, then the session is closed), so the profile never holds
 * a password and `logout` can revoke exactly what `login` made.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { SessionInfo } from '@mimir/api-contract';
import type { CreatedToken } from '../core/api-types.js';
import { ApiClient, apiErrorOf, normalizeServer } from '../core/http.js';
import { PROFILE_NAME, readCa, readConfig, writeConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { VERSION } from '../core/context.js';
import { ApiError, CliError, EXIT, UsageError } from '../core/errors.js';
import { intArg, withExamples, withOutput } from '../core/flags.js';
import { ask, readStdin } from '../core/prompt.js';

interface LoginOptions {
  email?: string;
  passwordStdin?: boolean;
  tokenDays?: string;
}

function cookieOf(setCookie: string[] | undefined): string {
  for (const c of setCookie ?? []) {
    const m = /^(mimir_session=[^;]+)/.exec(c);
    if (m?.[1] !== undefined) return m[1];
  }
  throw new CliError('the server did not return a session cookie', EXIT.error);
}

export function registerAuth(program: Command, ctx: Context): void {
  withExamples(program.command('login')
    .description('Sign in and save the server, CA and an API token in a profile (prompts for email and password on a terminal)')
    .option('--email <email>', 'account email (prompted when missing)')
    .option('--password-stdin', 'read the password from stdin (for scripts)')
    .option('--token-days <days>', 'expire the created API token after this many days (default: never)'),
  'login --server https://mimir.example.com:8080 --ca ./ca.pem',
  'login --profile staging --server https://staging:8080 --email me@example.com',
  'login --server https://mimir:8080 --token mimir_…            # use an existing API token',
  'login --email ci@example.com --password-stdin < password.txt')
    .action(async (opts: LoginOptions, cmd: Command) => {
      const io = ctx.io;
      const g = ctx.globals(cmd);
      const { file, config, name, profile: existing } = ctx.profileState(cmd);
      const server = normalizeServer(g.server ?? existing?.server ?? '');
      const same = existing?.server === server;
      const ca = g.ca !== undefined && g.ca !== '' ? readCa(g.ca) : same ? existing.ca : undefined;
      const days = intArg('--token-days', opts.tokenDays, 1, 3650);
      let token: string;
      let tokenId: number | undefined;
      let info: SessionInfo;
      if (g.token !== undefined && g.token !== '') {
        token = g.token;
        info = await new ApiClient({ server, token, ca, userAgent: `mimir-cli/${VERSION}` }).get<SessionInfo>('/session');
      } else {
        const anon = new ApiClient({ server, ca, userAgent: `mimir-cli/${VERSION}` });
        const instead = 'pass --email and --password-stdin, or --token (MIMIR_API_TOKEN)';
        const email = opts.email ?? (await ask(io, 'Email: ', { instead })).trim();
        if (email === '') throw new UsageError('an email is required');
        let password: string;
        if (opts.passwordStdin === true) password = (await readStdin(io, '--password-stdin')).replace(/\r?\n$/, '');
        else password = await ask(io, 'Password: ', { hidden: true, instead });
        if (password === '') throw new UsageError('a password is required');
        const login = await anon.raw('POST', '/api/v1/session', {
          body: Buffer.from(JSON.stringify({ email, password })), headers: { 'content-type': 'application/json' },
        });
        if (login.status !== 200) throw apiErrorOf('POST', '/api/v1/session', login);
        const session = JSON.parse(login.body.toString('utf8')) as SessionInfo;
        const headers = { cookie: cookieOf(login.headers['set-cookie']), 'x-csrf-token': session.csrfToken };
        const created = await anon.request<CreatedToken>('POST', '/tokens', {
          headers,
          body: { name: `mimir-cli ${hostname()} ${new Date().toISOString().slice(0, 10)}`.slice(0, 200), ...(days !== undefined ? { expiresInDays: days } : {}) },
        });
        // The session was only needed to make the token: close it (a failure here changes nothing for the user).
        await anon.request('DELETE', '/session', { headers }).catch(() => undefined);
        token = created.token;
        tokenId = created.apiToken.id;
        info = session;
      }
      // A token we made earlier for this profile is replaced: revoke it so tokens do not pile up.
      if (same && existing.tokenId !== undefined && existing.token !== undefined && existing.token !== token) {
        await new ApiClient({ server, token, ca }).request('DELETE', `/tokens/${existing.tokenId}`).catch(() => undefined);
      }
      config.profiles[name] = {
        server, token, email: info.user.email,
        ...(tokenId !== undefined ? { tokenId } : {}),
        ...(ca !== undefined ? { ca } : {}),
      };
      config.current = name;
      writeConfig(file, config);
      io.err.write(`Signed in to ${server} as ${info.user.email} (${info.user.role}); profile "${name}" saved in ${file}\n`);
    });

  withExamples(withOutput(program.command('whoami')
    .description('Show the server, profile, and the signed-in user and role')),
  'whoami', 'whoami --json', 'whoami --profile staging')
    .action(async (_opts: unknown, cmd: Command) => {
      const conn = ctx.connect(cmd);
      const p = ctx.printer(cmd);
      const s = await conn.client.get<SessionInfo>('/session');
      p.object([
        ['server', conn.client.server], ['profile', conn.profileName], ['email', s.user.email], ['name', s.user.name], ['role', s.user.role],
      ], { server: conn.client.server, profile: conn.profileName, user: s.user });
    });

  withExamples(program.command('logout')
    .description('Revoke the API token login created and remove it from the profile')
    .option('--forget', 'also remove the profile (server and CA)'),
  'logout', 'logout --profile staging --forget')
    .action(async (opts: { forget?: boolean }, cmd: Command) => {
      const io = ctx.io;
      const { file, config, name, profile } = ctx.profileState(cmd);
      if (profile === undefined) {
        io.err.write(`No profile "${name}": nothing to do\n`);
        return;
      }
      if (profile.token !== undefined && profile.tokenId !== undefined) {
        try {
          await new ApiClient({ server: profile.server, token: profile.token, ca: profile.ca }).request('DELETE', `/tokens/${profile.tokenId}`);
        } catch (e) {
          // Already revoked or expired: the goal (a dead token) holds. Anything else is reported, and the token is still forgotten.
          if (!(e instanceof ApiError && (e.status === 401 || e.status === 404))) io.err.write(`warning: could not revoke the token on the server: ${(e as Error).message}\n`);
        }
      }
      if (opts.forget === true) {
        config.profiles = Object.fromEntries(Object.entries(config.profiles).filter(([k]) => k !== name));
        if (config.current === name) delete config.current;
      } else {
        const { token: _t, tokenId: _i, ...rest } = profile;
        config.profiles[name] = rest;
      }
      writeConfig(file, config);
      io.err.write(`Signed out of ${profile.server} (profile "${name}"${opts.forget === true ? ' removed' : ''})\n`);
    });

  const profiles = program.command('profiles').description('List saved profiles, or pick the current one');
  withExamples(withOutput(profiles.command('list').description('List profiles (the current one is marked)')), 'profiles list')
    .action((_o: unknown, cmd: Command) => {
      const config = readConfig(ctx.configFile(cmd));
      const rows = Object.entries(config.profiles).map(([name, p]) => ({ name, server: p.server, email: p.email ?? '', signedIn: p.token !== undefined, current: (config.current ?? 'default') === name }));
      ctx.printer(cmd).list(rows, [
        { header: 'CURRENT', value: (r) => (r.current ? '*' : '') },
        { header: 'NAME', value: (r) => r.name },
        { header: 'SERVER', value: (r) => r.server },
        { header: 'EMAIL', value: (r) => r.email },
        { header: 'SIGNED IN', value: (r) => (r.signedIn ? 'yes' : 'no') },
      ]);
    });
  withExamples(profiles.command('use').argument('<name>', 'profile').description('Make a profile the current one'), 'profiles use staging')
    .action((name: string, _o: unknown, cmd: Command) => {
      if (!PROFILE_NAME.test(name)) throw new UsageError(`${JSON.stringify(name)} is not a profile name`);
      const file = ctx.configFile(cmd);
      const config = readConfig(file);
      if (config.profiles[name] === undefined) throw new CliError(`no profile named ${JSON.stringify(name)} in ${file}`, EXIT.notFound);
      config.current = name;
      writeConfig(file, config);
      ctx.io.err.write(`Current profile: ${name} (${config.profiles[name].server})\n`);
    });
}
