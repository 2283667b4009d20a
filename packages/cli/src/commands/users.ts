/** `users list|get|create|update|delete` (admin only). */
import type { Command } from 'commander';
import type { User } from '@mimir/api-contract';
import { ROLES } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import { addDelete } from './delete.js';
import type { ApiClient } from '../core/http.js';
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { isId, oneOf, withExamples, withOutput } from '../core/flags.js';
import { shortTime, type Column } from '../core/output.js';
import { ask, readStdin } from '../core/prompt.js';

const COLUMNS: Column<User>[] = [
  { header: 'ID', value: (u) => u.id },
  { header: 'EMAIL', value: (u) => u.email },
  { header: 'NAME', value: (u) => u.name },
  { header: 'ROLE', value: (u) => u.role },
  { header: 'DISABLED', value: (u) => (u.disabled ? 'yes' : '') },
  { header: 'LAST LOGIN', value: (u) => shortTime(u.lastLoginAt) },
];

async function userId(client: ApiClient, ref: string): Promise<number> {
  if (isId(ref)) return Number(ref);
  const { items } = await client.all<User>('/users');
  const u = items.find((x) => x.email.toLowerCase() === ref.toLowerCase());
  if (u === undefined) throw new CliError(`no user with email ${JSON.stringify(ref)}`, EXIT.notFound);
  return u.id;
}

async function password(ctx: Context, fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin === true) return (await readStdin(ctx.io, '--password-stdin')).replace(/\r?\n$/, '');
  const instead = 'pass --password-stdin';
  const a = await ask(ctx.io, 'Password (12+ characters): ', { hidden: true, instead });
  const b = await ask(ctx.io, 'Again: ', { hidden: true, instead });
  if (a !== b) throw new UsageError('the passwords differ');
  return a;
}

export function registerUsers(program: Command, ctx: Context): void {
  const users = program.command('users').description('People who sign in, and their roles (admin only)');

  withExamples(withOutput(users.command('list').description('List users')), 'users list')
    .action(async (_o: unknown, cmd: Command) => {
      ctx.printer(cmd).list((await ctx.client(cmd).all<User>('/users')).items, COLUMNS);
    });

  withExamples(withOutput(users.command('get').argument('<user>', 'email or id').description('Show a user')), 'users get ana@example.com')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const client = ctx.client(cmd);
      const u = await client.get<User>(`/users/${await userId(client, ref)}`);
      ctx.printer(cmd).object(COLUMNS.map((c) => [c.header.toLowerCase(), c.value(u)]), u);
    });

  withExamples(withOutput(users.command('create').description('Create a user (password prompted, or --password-stdin)')
    .option('--email <email>', 'email (sign-in name)')
    .option('--name <name>', 'display name')
    .option('--role <role>', ROLES.join(', '))
    .option('--password-stdin', 'read the password from stdin')),
  'users create --email ana@example.com --role operator', 'users create --email ci@example.com --role readonly --password-stdin < pw.txt')
    .action(async (o: { email?: string; name?: string; role?: string; passwordStdin?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.email === undefined) throw new UsageError('--email is required');
      const role = oneOf('--role', o.role, ROLES);
      if (role === undefined) throw new UsageError(`--role is required (${ROLES.join(', ')})`);
      const client = ctx.client(cmd);
      const u = await client.request<User>('POST', '/users', { body: { email: o.email, role, password: await password(ctx, o.passwordStdin), ...(o.name !== undefined ? { name: o.name } : {}) } });
      p.json(u);
      p.say(`User ${u.email} created (${u.role}, id ${u.id})`);
    });

  withExamples(withOutput(users.command('update').argument('<user>', 'email or id').description('Change a user\'s name, role, password, or disable them')
    .option('--name <name>', 'display name')
    .option('--role <role>', ROLES.join(', '))
    .option('--disable', 'block sign-in')
    .option('--enable', 'allow sign-in again')
    .option('--password-stdin', 'set a new password read from stdin')),
  'users update ana@example.com --role admin', 'users update 7 --disable')
    .action(async (ref: string, o: { name?: string; role?: string; disable?: boolean; enable?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.disable === true && o.enable === true) throw new UsageError('--disable and --enable exclude each other');
      const body: Record<string, unknown> = {};
      if (o.name !== undefined) body['name'] = o.name;
      const role = oneOf('--role', o.role, ROLES);
      if (role !== undefined) body['role'] = role;
      if (o.disable === true) body['disabled'] = true;
      if (o.enable === true) body['disabled'] = false;
      if (o.passwordStdin === true) body['password'] = await password(ctx, true);
      if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --name, --role, --disable, --enable or --password-stdin');
      const client = ctx.client(cmd);
      const u = await client.request<User>('PATCH', `/users/${await userId(client, ref)}`, { body });
      p.json(u);
      p.say(`User ${u.email} updated`);
    });

  addDelete(users, ctx, { noun: 'user', argument: 'user', description: 'Delete a user', example: 'users delete ana@example.com --yes', resolve: userId, path: (id) => `/users/${id}` });
}
