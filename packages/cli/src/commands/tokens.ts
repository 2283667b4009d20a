/** `tokens list|create|revoke`: API tokens for automation (shown once). */
import type { Command } from 'commander';
import type { ApiToken } from '@mimir/api-contract';
import type { CreatedToken, CreateTokenRequest, TokenList } from '../core/api-types.js';
import { ROLES } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { idArg, intArg, oneOf, withExamples, withOutput } from '../core/flags.js';
import { shortTime } from '../core/output.js';

export function registerTokens(program: Command, ctx: Context): void {
  const tokens = program.command('tokens').description('API tokens for automation');

  withExamples(withOutput(tokens.command('list').description('Your API tokens (admins see everyone\'s)')), 'tokens list')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await ctx.client(cmd).get<TokenList>('/tokens');
      ctx.printer(cmd).list(items, [
        { header: 'ID', value: (t: ApiToken) => t.id },
        { header: 'NAME', value: (t) => t.name },
        { header: 'PREFIX', value: (t) => t.prefix },
        { header: 'ROLE', value: (t) => t.role },
        { header: 'USER', value: (t) => t.userId },
        { header: 'EXPIRES', value: (t) => shortTime(t.expiresAt) || 'never' },
        { header: 'LAST USED', value: (t) => shortTime(t.lastUsedAt) },
        { header: 'REVOKED', value: (t) => (t.revoked ? 'yes' : ''), style: (s) => (s === 'yes' ? 'red' : undefined) },
      ], items);
    });

  withExamples(withOutput(tokens.command('create').description('Create an API token; the token is printed once, on stdout')
    .option('--name <name>', 'what it is for')
    .option('--days <n>', 'expire after this many days (default: never)')
    .option('--role <role>', `${ROLES.join(', ')} (default and maximum: your role)`)),
  'tokens create --name ci-deploy --days 90 --role operator > token.txt')
    .action(async (o: { name?: string; days?: string; role?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.name === undefined) throw new UsageError('--name is required');
      const body: CreateTokenRequest = { name: o.name };
      const days = intArg('--days', o.days, 1, 3650);
      if (days !== undefined) body.expiresInDays = days;
      const role = oneOf('--role', o.role, ROLES);
      if (role !== undefined) body.role = role;
      const r = await ctx.client(cmd).request<CreatedToken>('POST', '/tokens', { body });
      if (p.format === 'json') p.json(r);
      else ctx.io.out.write(`${r.token}\n`);
      p.say(`Token ${r.apiToken.name} created (id ${r.apiToken.id}, ${r.apiToken.role}); it is shown only this once`);
    });

  withExamples(withOutput(tokens.command('revoke').argument('<id>', 'token id').description('Revoke an API token')), 'tokens revoke 4')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      p.json(await ctx.client(cmd).request('DELETE', `/tokens/${idArg('<id>', id)}`));
      p.say(`Token ${id} revoked`);
    });
}
