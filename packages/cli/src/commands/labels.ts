/** `labels list|get|create|delete|hosts|add-hosts|remove-hosts` (fleet.md §1.6). */
import type { Command } from 'commander';
import type { CreateLabelRequest, Host, Label, PlatformFamily } from '@mimir/api-contract';
import type { LabelHostsResult, LabelWriteResult } from '../core/api-types.js';
import type { Context } from '../core/context.js';
import { addDelete } from './delete.js';
import { UsageError } from '../core/errors.js';
import { listArg, oneOf, withExamples, withOutput } from '../core/flags.js';
import { hostId, labelId } from '../core/resolve.js';
import { HOST_COLUMNS } from './hosts.js';
import { readTextFile } from './queries.js';

const PLATFORMS = ['linux', 'darwin', 'windows', 'freebsd'] as const;

export function registerLabels(program: Command, ctx: Context): void {
  const labels = program.command('labels').description('Built-in, dynamic (SQL) and manual labels');

  withExamples(withOutput(labels.command('list').description('List labels with host counts')
    .option('--type <type>', 'builtin, dynamic or manual')
    .option('-q, --search <text>', 'substring of the name')), 'labels list', 'labels list --type dynamic --json')
    .action(async (o: { type?: string; search?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const type = oneOf('--type', o.type, ['builtin', 'dynamic', 'manual'] as const);
      const { items } = await ctx.client(cmd).all<Label>('/labels', { type, q: o.search });
      p.list(items, [
        { header: 'ID', value: (l) => l.id },
        { header: 'NAME', value: (l) => l.name },
        { header: 'TYPE', value: (l) => l.type },
        { header: 'HOSTS', value: (l) => l.hostCount },
        { header: 'PLATFORMS', value: (l) => l.platforms.join(',') },
        { header: 'QUERY', value: (l) => l.query },
      ]);
    });

  withExamples(withOutput(labels.command('get').argument('<label>', 'name or id').description('Show a label')), 'labels get "Ubuntu Linux"')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const l = await client.get<Label>(`/labels/${await labelId(client, ref)}`);
      p.object([['id', l.id], ['name', l.name], ['description', l.description], ['type', l.type], ['query', l.query], ['platforms', l.platforms.join(', ')], ['hosts', l.hostCount], ['read only', l.readOnly]], l);
    });

  withExamples(withOutput(labels.command('hosts').argument('<label>', 'name or id').description('List the hosts in a label')), 'labels hosts "Ubuntu Linux"')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const { items } = await client.all<Host>(`/labels/${await labelId(client, ref)}/hosts`);
      p.list(items, HOST_COLUMNS);
    });

  withExamples(withOutput(labels.command('create').description('Create a dynamic label (SQL: a host is a member while it returns rows) or a manual one')
    .option('--name <name>', 'label name')
    .option('--type <type>', 'dynamic (default when --query is given) or manual')
    .option('--query <sql>', 'membership SQL (dynamic)')
    .option('--query-file <file>', 'read the SQL from a file (- for stdin)')
    .option('--platforms <list>', 'dynamic: only run on these platforms (linux,darwin,windows,freebsd)')
    .option('--hosts <hosts>', 'manual: first members (ids or hostnames)')
    .option('--description <text>', 'description')),
  'labels create --name has-docker --query "SELECT 1 FROM processes WHERE name = \'dockerd\'" --platforms linux',
  'labels create --name canary --type manual --hosts web-01,web-02')
    .action(async (o: { name?: string; type?: string; query?: string; queryFile?: string; platforms?: string; hosts?: string; description?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.name === undefined) throw new UsageError('--name is required');
      if (o.query !== undefined && o.queryFile !== undefined) throw new UsageError('give --query or --query-file, not both');
      const query = o.query ?? (o.queryFile !== undefined ? readTextFile('--query-file', o.queryFile) : undefined);
      const type = oneOf('--type', o.type, ['dynamic', 'manual'] as const) ?? (query !== undefined ? 'dynamic' : 'manual');
      if (type === 'dynamic' && query === undefined) throw new UsageError('a dynamic label needs --query');
      if (type === 'manual' && (query !== undefined || o.platforms !== undefined)) throw new UsageError('a manual label takes --hosts, not --query or --platforms');
      if (type === 'dynamic' && o.hosts !== undefined) throw new UsageError('a dynamic label takes --query, not --hosts');
      const platforms = listArg('--platforms', o.platforms);
      for (const pf of platforms ?? []) oneOf('--platforms', pf, PLATFORMS);
      const client = ctx.client(cmd);
      const body: CreateLabelRequest = { name: o.name, type };
      if (o.description !== undefined) body.description = o.description;
      if (query !== undefined) body.query = query;
      if (platforms !== undefined) body.platforms = platforms as PlatformFamily[];
      const hostRefs = listArg('--hosts', o.hosts);
      if (hostRefs !== undefined) body.hostIds = await Promise.all(hostRefs.map((h) => hostId(client, h)));
      const r = await client.request<LabelWriteResult>('POST', '/labels', { body });
      p.json(r);
      p.say(`Label ${r.label.name} created (id ${r.label.id}${type === 'dynamic' ? `; queued on ${r.queuedHosts} hosts` : ''})`);
    });

  for (const [verb, path, past] of [['add-hosts', 'hosts', 'added'], ['remove-hosts', 'hosts/remove', 'removed']] as const) {
    withExamples(withOutput(labels.command(verb).argument('<label>', 'manual label name or id').argument('<hosts>', 'comma-separated host ids or hostnames')
      .description(`${verb === 'add-hosts' ? 'Add hosts to' : 'Remove hosts from'} a manual label`)), `labels ${verb} canary web-03`)
      .action(async (ref: string, hosts: string, _o: unknown, cmd: Command) => {
        const p = ctx.printer(cmd);
        const client = ctx.client(cmd);
        const refs = listArg('<hosts>', hosts) ?? [];
        const hostIds = await Promise.all(refs.map((h) => hostId(client, h)));
        const r = await client.request<LabelHostsResult>('POST', `/labels/${await labelId(client, ref)}/${path}`, { body: { hostIds } });
        p.json(r);
        p.say(`${r.changed} host${r.changed === 1 ? '' : 's'} ${past}; the label has ${r.hostCount}`);
      });
  }

  addDelete(labels, ctx, {
    noun: 'label', argument: 'label', description: 'Delete a label (built-in labels stay)', example: 'labels delete canary --yes',
    resolve: labelId, path: (id) => `/labels/${id}`,
  });
}

