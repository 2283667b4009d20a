/** `audit list`: the audit log, newest first (admin only). */
import type { Command } from 'commander';
import type { AuditEntry } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { intArg, withExamples, withOutput } from '../core/flags.js';
import { shortTime } from '../core/output.js';

function timeArg(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`${name}: not a time: ${JSON.stringify(v)} (e.g. 2026-04-04 or 2026-04-04T12:00:00Z)`);
  return new Date(t).toISOString();
}

export function registerAudit(program: Command, ctx: Context): void {
  const audit = program.command('audit').description('The audit log');
  withExamples(withOutput(audit.command('list').description('Search the audit log, newest first')
    .option('-q, --search <text>', 'free text over action, actor and target')
    .option('--action <action>', 'exact action, e.g. live_query.run, update.rollout')
    .option('--actor <id>', 'actor user id')
    .option('--since <time>', 'from this time (ISO 8601)')
    .option('--until <time>', 'until this time (ISO 8601)')
    .option('--limit <n>', 'at most this many entries (default 50, 0 = all)')),
  'audit list', 'audit list --action update.rollout --json', 'audit list --since 2026-04-01 --limit 0 --csv > audit.csv')
    .action(async (o: { search?: string; action?: string; actor?: string; since?: string; until?: string; limit?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const limit = intArg('--limit', o.limit, 0, 10_000_000) ?? 50;
      const { items, more } = await ctx.client(cmd).all<AuditEntry>('/audit', {
        q: o.search, action: o.action, actorId: intArg('--actor', o.actor, 1, Number.MAX_SAFE_INTEGER),
        since: timeArg('--since', o.since), until: timeArg('--until', o.until),
      }, limit);
      p.list(items, [
        { header: 'ID', value: (e) => e.id },
        { header: 'AT', value: (e) => shortTime(e.at) },
        { header: 'ACTOR', value: (e) => e.actorEmail },
        { header: 'ACTION', value: (e) => e.action },
        { header: 'TARGET', value: (e) => (e.targetType !== '' ? `${e.targetType} ${e.targetId}` : '') },
        { header: 'IP', value: (e) => e.ip },
        { header: 'DETAILS', value: (e) => (e.details === null || e.details === undefined ? '' : JSON.stringify(e.details)) },
      ]);
      if (more) p.say(`(first ${items.length} entries; --limit 0 for all)`, 'dim');
    });
}
