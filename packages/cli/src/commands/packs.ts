/** `packs list|get|import|enable|disable|delete` (seed 004 "Schedule queries with packs"). */
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { ImportPackRequest, Pack, PackSaved, PackSummary } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import { addDelete } from './delete.js';
import { intArg, withExamples, withOutput } from '../core/flags.js';
import { renderTable, shortTime } from '../core/output.js';
import { packId } from '../core/resolve.js';
import { readTextFile } from './queries.js';

export function registerPacks(program: Command, ctx: Context): void {
  const packs = program.command('packs').description('Query packs (scheduled queries)');

  withExamples(withOutput(packs.command('list').description('List packs')
    .option('-q, --search <text>', 'free text over name and description')
    .option('--limit <n>', 'at most this many (default: all)')), 'packs list', 'packs list --json')
    .action(async (o: { search?: string; limit?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const { items } = await ctx.client(cmd).all<PackSummary>('/packs', { q: o.search }, intArg('--limit', o.limit, 0, 1_000_000) ?? 0);
      p.list(items, [
        { header: 'ID', value: (x) => x.id },
        { header: 'NAME', value: (x) => x.name },
        { header: 'ACTIVE', value: (x) => (x.enabled ? 'yes' : 'no'), style: (t) => (t === 'yes' ? 'green' : 'dim') },
        { header: 'QUERIES', value: (x) => x.queryCount },
        { header: 'TARGETS', value: (x) => (x.global ? `all groups (${x.globalShard}%)` : x.targets.map((t) => t.groupName).join(', ')) },
        { header: 'PREBUILT', value: (x) => (x.readOnly ? 'yes' : '') },
        { header: 'UPDATED', value: (x) => shortTime(x.updatedAt) },
      ]);
    });

  withExamples(withOutput(packs.command('get').argument('<pack>', 'name or id').description('Show a pack and its queries')), 'packs get incident-response')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const x = await client.get<Pack>(`/packs/${await packId(client, ref)}`);
      p.object([
        ['id', x.id], ['name', x.name], ['description', x.description], ['active', x.enabled], ['platform', x.platform],
        ['targets', x.global ? `all groups (${x.globalShard}%)` : x.targets.map((t) => `${t.groupName} (${t.shard}%)`).join(', ')],
        ['discovery', x.discovery.join('\n')], ['prebuilt', x.readOnly],
      ], x);
      if (p.format === 'table') {
        ctx.io.out.write(`\n${renderTable(x.queries, [
          { header: 'QUERY', value: (q) => q.name },
          { header: 'INTERVAL', value: (q) => q.interval },
          { header: 'PLATFORM', value: (q) => q.platform },
          { header: 'SNAPSHOT', value: (q) => (q.snapshot ? 'yes' : '') },
          { header: 'SQL', value: (q) => q.sql },
        ], p.color, 80)}`);
      }
    });

  withExamples(withOutput(packs.command('import').argument('<file>', 'an osquery .conf pack file (- for stdin)')
    .description('Import an osquery .conf pack as it is')
    .option('--name <name>', 'pack name (default: the file name without .conf)')
    .option('--description <text>', 'description')
    .option('--inactive', 'import it inactive (hosts do not get it until `packs enable`)')),
  'packs import incident-response.conf', 'packs import osquery-monitoring.conf --name monitoring --inactive')
    .action(async (file: string, o: { name?: string; description?: string; inactive?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const conf = readTextFile('packs import', file);
      const body: ImportPackRequest = { conf };
      if (file !== '-') body.fileName = basename(file);
      if (o.name !== undefined) body.name = o.name;
      if (o.description !== undefined) body.description = o.description;
      if (o.inactive === true) body.enabled = false;
      const r = await ctx.client(cmd).request<PackSaved>('POST', '/packs/import', { body });
      p.json(r);
      for (const w of r.warnings) p.warn(`${w.query !== null ? `${w.query}: ` : ''}${w.message}`);
      p.say(`Pack ${r.pack.name} imported (id ${r.pack.id}, ${r.pack.queries.length} queries, ${r.pack.enabled ? 'active' : 'inactive'})`);
    });

  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    withExamples(withOutput(packs.command(verb).argument('<pack>', 'name or id').description(`${enabled ? 'Activate' : 'Deactivate'} a pack (hosts pick it up at their next config fetch)`)), `packs ${verb} incident-response`)
      .action(async (ref: string, _o: unknown, cmd: Command) => {
        const p = ctx.printer(cmd);
        const client = ctx.client(cmd);
        const r = await client.request<PackSaved>('PATCH', `/packs/${await packId(client, ref)}`, { body: { enabled } });
        p.json(r);
        p.say(`Pack ${r.pack.name} ${enabled ? 'activated' : 'deactivated'}`);
      });
  }

  addDelete(packs, ctx, {
    noun: 'pack', argument: 'pack', description: 'Delete a pack (hosts drop it at their next config fetch)', example: 'packs delete old-pack --yes',
    resolve: packId, path: (id) => `/packs/${id}`,
  });
}
