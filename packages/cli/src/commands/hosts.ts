/** `hosts list|get|delete|refetch` over `GET /hosts` and friends (filters as the API's, fleet.md §1.1). */
import type { Command } from 'commander';
import type { Host, HostDetail } from '@mimir/api-contract';
import { HOST_SORT_KEYS } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import { addDelete } from './delete.js';
import { intArg, oneOf, withExamples, withOutput } from '../core/flags.js';
import type { Column } from '../core/output.js';
import { shortTime } from '../core/output.js';
import { groupId, hostId, labelId } from '../core/resolve.js';

export const HOST_COLUMNS: Column<Host>[] = [
  { header: 'ID', value: (h) => h.id },
  { header: 'HOSTNAME', value: (h) => h.displayName },
  { header: 'STATUS', value: (h) => h.status, style: (t) => (t === 'online' ? 'green' : 'dim') },
  { header: 'PLATFORM', value: (h) => h.platform },
  { header: 'OS', value: (h) => `${h.osName} ${h.osVersion}`.trim() },
  { header: 'OSQUERY', value: (h) => h.osqueryVersion },
  { header: 'GROUP', value: (h) => h.group.name },
  { header: 'IP', value: (h) => h.primaryIp },
  { header: 'LAST SEEN', value: (h) => shortTime(h.lastSeenAt) },
];

interface ListOptions {
  search?: string; status?: string; platform?: string; osName?: string; osVersion?: string; osqueryVersion?: string; agentVersion?: string;
  group?: string; label?: string; duplicates?: boolean; sort?: string; order?: string; limit?: string;
}

export function registerHosts(program: Command, ctx: Context): void {
  const hosts = program.command('hosts').description('Enrolled osquery hosts');

  withExamples(withOutput(hosts.command('list')
    .description('List hosts with the API\'s filters')
    .option('-q, --search <text>', 'free text over hostname, computer name, UUID, identifier, serial, IP')
    .option('--status <status>', 'online, offline or new (enrolled in the last 24 h)')
    .option('--platform <platform>', 'linux, darwin, windows, freebsd or unknown')
    .option('--os-name <name>', 'exact OS name, e.g. Ubuntu')
    .option('--os-version <version>', 'exact OS version')
    .option('--osquery-version <version>', 'exact osquery version, e.g. 5.12.1 (check a rollout)')
    .option('--agent-version <version>', 'exact Mimir agent version')
    .option('--group <group>', 'group name or id')
    .option('--label <label>', 'label name or id')
    .option('--duplicates', 'only hosts sharing an identifier with another live osquery (clones)')
    .option('--sort <key>', `sort by ${HOST_SORT_KEYS.join(', ')}`)
    .option('--order <order>', 'asc or desc')
    .option('--limit <n>', 'at most this many hosts (default: all)')),
  'hosts list', 'hosts list --status online --platform linux', 'hosts list --osquery-version 5.12.1 --csv > hosts.csv',
  'hosts list --label "Ubuntu Linux" --json | jq \'.[].hostname\'')
    .action(async (o: ListOptions, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const limit = intArg('--limit', o.limit, 0, 10_000_000) ?? 0;
      const query = {
        q: o.search,
        status: oneOf('--status', o.status, ['online', 'offline', 'new'] as const),
        platform: oneOf('--platform', o.platform, ['linux', 'darwin', 'windows', 'freebsd', 'unknown'] as const),
        osName: o.osName, osVersion: o.osVersion, osqueryVersion: o.osqueryVersion, agentVersion: o.agentVersion,
        sort: oneOf('--sort', o.sort, HOST_SORT_KEYS), order: oneOf('--order', o.order, ['asc', 'desc'] as const),
        duplicateIdentifier: o.duplicates === true ? true : undefined,
        groupId: o.group !== undefined ? await groupId(client, o.group) : undefined,
        labelId: o.label !== undefined ? await labelId(client, o.label) : undefined,
      };
      const { items, more } = await client.all<Host>('/hosts', query, limit);
      p.list(items, HOST_COLUMNS);
      if (more) p.say(`(first ${items.length} hosts; raise --limit for more)`, 'dim');
      else if (items.length === 0 && p.format === 'table') p.say('No hosts match.', 'dim');
    });

  withExamples(withOutput(hosts.command('get')
    .argument('<host>', 'host id, hostname, identifier or hardware UUID')
    .description('Show one host: vitals, labels, packs, recent errors')),
  'hosts get 12', 'hosts get web-01 --json')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const h = await client.get<HostDetail>(`/hosts/${await hostId(client, ref)}`);
      p.object([
        ['id', h.id], ['hostname', h.hostname], ['display name', h.displayName], ['identifier', h.identifier], ['status', h.status],
        ['platform', h.platform], ['os', `${h.osName} ${h.osVersion}`.trim()], ['arch', h.arch], ['osquery', h.osqueryVersion],
        ['agent', h.agentVersion], ['group', h.group.name], ['ip', h.primaryIp], ['serial', h.hardwareSerial], ['uuid', h.hardwareUuid],
        ['cpu', h.cpuBrand], ['memory', h.physicalMemory], ['enrolled', shortTime(h.enrolledAt)], ['last seen', shortTime(h.lastSeenAt)],
        ['labels', h.labels.map((l) => l.name).join(', ')], ['packs', h.packs.map((x) => x.name).join(', ')],
        ['recent errors', h.recentErrors.length], ['duplicate identifier', h.duplicateIdentifier],
      ], h);
    });

  addDelete(hosts, ctx, {
    noun: 'host', argument: 'host', description: 'Delete a host (it re-enrolls as a new host if osquery still runs there)', example: 'hosts delete web-01 --yes',
    resolve: hostId, path: (id) => `/hosts/${id}`, consequence: 'It re-enrolls as a new host if osquery still runs there.',
  });

  withExamples(withOutput(hosts.command('refetch')
    .argument('<host>', 'host id, hostname, identifier or hardware UUID')
    .description('Refetch host vitals at its next check-in')),
  'hosts refetch web-01')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const h = await client.request<Host>('POST', `/hosts/${await hostId(client, ref)}/refetch`);
      p.json(h);
      p.say(`Refetch requested for ${h.displayName} (${h.status === 'online' ? 'at its next check-in' : 'when it comes back online'})`);
    });
}
