/** `groups …` with enroll secrets, and `flagfile` (the osqueryd flagfile of a group). */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CreateGroupRequest, EnrollSecret, Group } from '@mimir/api-contract';
import type { DeleteGroupResult, EnrollSecretList, GroupList, MoveHostsResult, RotateSecretResult } from '../core/api-types.js';
import type { Context } from '../core/context.js';
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { idArg, listArg, withExamples, withOutput } from '../core/flags.js';
import { shortTime, type Column } from '../core/output.js';
import { confirm } from '../core/prompt.js';
import { groupId, groupOf, hostId } from '../core/resolve.js';

/** `--options '{"distributed_interval": 30}'`: a JSON object of osquery options. */
export function optionsArg(value: string | undefined): Record<string, string | number | boolean> | undefined {
  if (value === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    throw new UsageError(`--options: not JSON: ${value}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError('--options: expected a JSON object, e.g. {"distributed_interval": 30}');
  const out: Record<string, string | number | boolean> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw new UsageError(`--options: ${k} must be a string, number or boolean (osquery options)`);
    out[k] = x;
  }
  return out;
}

const SECRET_COLUMNS: Column<EnrollSecret>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'NAME', value: (s) => s.name },
  { header: 'SECRET', value: (s) => s.secret },
  { header: 'ACTIVE', value: (s) => (s.active ? 'yes' : 'revoked'), style: (t) => (t === 'yes' ? 'green' : 'dim') },
  { header: 'CREATED', value: (s) => shortTime(s.createdAt) },
];

export function registerGroups(program: Command, ctx: Context): void {
  const groups = program.command('groups').description('Groups of hosts: osquery options and enroll secrets');

  withExamples(withOutput(groups.command('list').description('List groups with host counts')), 'groups list')
    .action(async (_o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const { items } = await ctx.client(cmd).get<GroupList>('/groups');
      p.list(items, [
        { header: 'ID', value: (g) => g.id },
        { header: 'NAME', value: (g) => `${g.name}${g.isDefault ? ' (default)' : ''}` },
        { header: 'HOSTS', value: (g) => g.hostCount },
        { header: 'SECRETS', value: (g) => g.activeSecrets },
        { header: 'OPTIONS', value: (g) => JSON.stringify(g.options) },
        { header: 'DESCRIPTION', value: (g) => g.description },
      ], items);
    });

  withExamples(withOutput(groups.command('get').argument('<group>', 'name or id').description('Show a group')), 'groups get production')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const g = await groupOf(ctx.client(cmd), ref);
      ctx.printer(cmd).object([['id', g.id], ['name', g.name], ['description', g.description], ['default', g.isDefault], ['hosts', g.hostCount], ['active secrets', g.activeSecrets], ['options', JSON.stringify(g.options)]], g);
    });

  withExamples(withOutput(groups.command('create').description('Create a group (with a first enroll secret unless --no-secret)')
    .option('--name <name>', 'group name')
    .option('--description <text>', 'description')
    .option('--options <json>', 'osquery options as a JSON object')
    .option('--no-secret', 'do not create a first enroll secret')),
  'groups create --name production --options \'{"distributed_interval": 30}\'')
    .action(async (o: { name?: string; description?: string; options?: string; secret: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.name === undefined) throw new UsageError('--name is required');
      const body: CreateGroupRequest = { name: o.name };
      if (o.description !== undefined) body.description = o.description;
      const options = optionsArg(o.options);
      if (options !== undefined) body.options = options;
      if (!o.secret) body.createSecret = false;
      const g = await ctx.client(cmd).request<Group>('POST', '/groups', { body });
      p.json(g);
      p.say(`Group ${g.name} created (id ${g.id})`);
    });

  withExamples(withOutput(groups.command('delete').argument('<group>', 'name or id').description('Delete a group; its hosts must move elsewhere')
    .option('--move-hosts-to <group>', 'where its hosts go (required when it has hosts)')
    .option('-y, --yes', 'do not ask for confirmation')), 'groups delete staging --move-hosts-to default --yes')
    .action(async (ref: string, o: { moveHostsTo?: string; yes?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const id = await groupId(client, ref);
      const to = o.moveHostsTo !== undefined ? await groupId(client, o.moveHostsTo) : undefined;
      if (!(await confirm(ctx.io, `Delete group ${ref}?`, o.yes === true))) throw new CliError('not deleted', EXIT.error);
      const r = await client.request<DeleteGroupResult>('DELETE', `/groups/${id}`, to !== undefined ? { query: { moveHostsTo: to } } : {});
      p.json(r);
      p.say(`Group ${ref} deleted${r.movedHosts > 0 ? `; ${r.movedHosts} hosts moved` : ''}`);
    });

  withExamples(withOutput(groups.command('move-hosts').argument('<group>', 'target group').argument('<hosts>', 'comma-separated host ids or hostnames')
    .description('Move hosts into a group (they get its config on their next poll)')), 'groups move-hosts production web-01,web-02')
    .action(async (ref: string, hosts: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const hostIds = await Promise.all((listArg('<hosts>', hosts) ?? []).map((h) => hostId(client, h)));
      const r = await client.request<MoveHostsResult>('POST', `/groups/${await groupId(client, ref)}/hosts`, { body: { hostIds } });
      p.json(r);
      p.say(`${r.moved} hosts moved to ${ref}`);
    });

  const secrets = groups.command('secrets').description('Enroll secrets of a group (admin only)');
  withExamples(withOutput(secrets.command('list').argument('<group>', 'name or id').description('List a group\'s enroll secrets (revoked ones included)')), 'groups secrets list default')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const client = ctx.client(cmd);
      const { items } = await client.get<EnrollSecretList>(`/groups/${await groupId(client, ref)}/secrets`);
      ctx.printer(cmd).list(items, SECRET_COLUMNS);
    });
  withExamples(withOutput(secrets.command('create').argument('<group>', 'name or id').description('Add an enroll secret (generated unless --secret)')
    .option('--name <name>', 'a name for it').option('--secret <value>', 'the secret (16–256 printable characters)')), 'groups secrets create production --name 2026-q2')
    .action(async (ref: string, o: { name?: string; secret?: string }, cmd: Command) => {
      const client = ctx.client(cmd);
      const s = await client.request<EnrollSecret>('POST', `/groups/${await groupId(client, ref)}/secrets`, { body: { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.secret !== undefined ? { secret: o.secret } : {}) } });
      const p = ctx.printer(cmd);
      p.object([['id', s.id], ['name', s.name], ['secret', s.secret]], s);
    });
  withExamples(withOutput(secrets.command('rotate').argument('<group>', 'name or id').description('Add a new secret and optionally revoke the others (enrolled hosts keep working)')
    .option('--revoke-old', 'revoke the other active secrets').option('--name <name>', 'name of the new secret')), 'groups secrets rotate production --revoke-old')
    .action(async (ref: string, o: { revokeOld?: boolean; name?: string }, cmd: Command) => {
      const client = ctx.client(cmd);
      const r = await client.request<RotateSecretResult>('POST', `/groups/${await groupId(client, ref)}/secrets/rotate`, { body: { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.revokeOld === true ? { revokeOld: true } : {}) } });
      const p = ctx.printer(cmd);
      p.object([['id', r.created.id], ['name', r.created.name], ['secret', r.created.secret], ['revoked', r.revoked.map((s) => s.id).join(', ')]], r);
    });
  withExamples(withOutput(secrets.command('revoke').argument('<group>', 'name or id').argument('<secret-id>', 'secret id')
    .description('Revoke an enroll secret (new enrollments with it are refused)')), 'groups secrets revoke production 4')
    .action(async (ref: string, sid: string, _o: unknown, cmd: Command) => {
      const client = ctx.client(cmd);
      const s = await client.request<EnrollSecret>('DELETE', `/groups/${await groupId(client, ref)}/secrets/${idArg('<secret-id>', sid)}`);
      const p = ctx.printer(cmd);
      p.json(s);
      p.say(`Secret ${s.id} revoked`);
    });

  withExamples(withOutput(program.command('flagfile').description('Print the osqueryd flagfile for a group (and optionally save its enroll secret and CA)')
    .option('--group <group>', 'group name or id (default: the default group)')
    .option('--tls-hostname <host:port>', 'what agents use to reach Mimir (default: the server\'s public hostname)')
    .option('--ca-path <path>', 'where the CA will be on the host (--tls_server_certs)')
    .option('--secret-path <path>', 'where the secret will be on the host (--enroll_secret_path)')
    .option('--write-secret <file>', 'also write the enroll secret to this file (mode 0600)')
    .option('--write-ca <file>', 'also write the server\'s CA certificate to this file')),
  'flagfile > osquery.flags', 'flagfile --group production --write-secret enroll_secret --write-ca ca.pem > osquery.flags')
    .action(async (o: { group?: string; tlsHostname?: string; caPath?: string; secretPath?: string; writeSecret?: string; writeCa?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const id = o.group !== undefined ? await groupId(client, o.group) : ((await client.get<GroupList>('/groups')).items.find((g) => g.isDefault)?.id ?? 1);
      const f = await client.get<{ flagfile: string; enrollSecret: string; caPath: string; secretPath: string }>(`/groups/${id}/flagfile`, { tlsHostname: o.tlsHostname, caPath: o.caPath, secretPath: o.secretPath });
      if (o.writeSecret !== undefined) {
        writeFileSync(o.writeSecret, `${f.enrollSecret}\n`, { mode: 0o600 });
        p.say(`Enroll secret written to ${o.writeSecret} (copy it to ${f.secretPath} on the host)`);
      }
      if (o.writeCa !== undefined) {
        const a = await client.raw('GET', `/api/v1/groups/${id}/ca.pem`, { headers: { accept: 'application/x-pem-file' } });
        if (a.status !== 200) throw new CliError('the server has no CA of its own (operator-supplied certificate): give agents the CA that issued it', EXIT.notFound);
        writeFileSync(o.writeCa, a.body);
        p.say(`CA certificate written to ${o.writeCa} (copy it to ${f.caPath} on the host)`);
      }
      if (p.format === 'json') p.json(f);
      else ctx.io.out.write(f.flagfile.endsWith('\n') ? f.flagfile : `${f.flagfile}\n`);
    });
}
