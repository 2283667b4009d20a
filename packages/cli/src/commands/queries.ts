/** `queries list|get|create|delete`: saved queries (seed 004 "Save queries"). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CreateSavedQueryRequest, SavedQuery } from '@mimir/api-contract';
import { SAVED_QUERY_TIMEOUT_MAX_SECONDS, SAVED_QUERY_TIMEOUT_MIN_SECONDS } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import { addDelete } from './delete.js';
import { UsageError } from '../core/errors.js';
import { intArg, withExamples, withOutput } from '../core/flags.js';
import { shortTime } from '../core/output.js';
import { savedQueryId } from '../core/resolve.js';

export function readTextFile(flag: string, path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function registerQueries(program: Command, ctx: Context): void {
  const queries = program.command('queries').description('Saved queries');

  withExamples(withOutput(queries.command('list')
    .description('List saved queries (prebuilt ones included unless --mine)')
    .option('-q, --search <text>', 'free text over name, description and SQL')
    .option('--mine', 'only user queries, no prebuilt ones')
    .option('--limit <n>', 'at most this many (default: all)')),
  'queries list', 'queries list --search users --json')
    .action(async (o: { search?: string; mine?: boolean; limit?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const { items } = await ctx.client(cmd).all<SavedQuery>('/queries', { q: o.search, prebuilt: o.mine === true ? false : undefined }, intArg('--limit', o.limit, 0, 1_000_000) ?? 0);
      p.list(items, [
        { header: 'ID', value: (q) => q.id },
        { header: 'NAME', value: (q) => q.name },
        { header: 'PREBUILT', value: (q) => (q.prebuilt ? 'yes' : '') },
        { header: 'TIMEOUT', value: (q) => q.timeout },
        { header: 'SQL', value: (q) => q.sql },
        { header: 'UPDATED', value: (q) => shortTime(q.updatedAt) },
      ]);
    });

  withExamples(withOutput(queries.command('get').argument('<query>', 'name or id').description('Show a saved query')), 'queries get users_with_shell')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const q = await client.get<SavedQuery>(`/queries/${await savedQueryId(client, ref)}`);
      p.object([
        ['id', q.id], ['name', q.name], ['description', q.description], ['sql', q.sql], ['timeout', q.timeout], ['interval', q.interval],
        ['platform', q.platform], ['min osquery', q.minOsqueryVersion], ['prebuilt', q.prebuilt], ['tables', q.tables.join(', ')],
        ['warnings', q.warnings.map((w) => w.message).join('; ')], ['updated', `${shortTime(q.updatedAt)} by ${q.updatedBy ?? 'mimir'}`],
      ], q);
    });

  withExamples(withOutput(queries.command('create')
    .description('Save a query (the SQL is checked against the osquery schema)')
    .option('--name <name>', 'unique ID: letters, digits, _ and -')
    .option('--sql <sql>', 'the SQL')
    .option('--sql-file <file>', 'read the SQL from a file (- for stdin)')
    .option('--description <text>', 'what it is for')
    .option('--timeout <seconds>', `live-run timeout, ${SAVED_QUERY_TIMEOUT_MIN_SECONDS}–${SAVED_QUERY_TIMEOUT_MAX_SECONDS}`)
    .option('--interval <seconds>', 'pack default interval')
    .option('--platform <platforms>', 'pack default platform filter (e.g. linux,darwin)')
    .option('--min-osquery-version <version>', 'pack default minimum osquery version')),
  'queries create --name listening_ports --sql "SELECT * FROM listening_ports"',
  'queries create --name big_procs --sql-file big_procs.sql --timeout 120')
    .action(async (o: { name?: string; sql?: string; sqlFile?: string; description?: string; timeout?: string; interval?: string; platform?: string; minOsqueryVersion?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.name === undefined) throw new UsageError('--name is required');
      if ((o.sql === undefined) === (o.sqlFile === undefined)) throw new UsageError('give exactly one of --sql and --sql-file');
      const sql = o.sql ?? readTextFile('--sql-file', o.sqlFile ?? '');
      const body: CreateSavedQueryRequest = { name: o.name, sql };
      if (o.description !== undefined) body.description = o.description;
      const timeout = intArg('--timeout', o.timeout, SAVED_QUERY_TIMEOUT_MIN_SECONDS, SAVED_QUERY_TIMEOUT_MAX_SECONDS);
      if (timeout !== undefined) body.timeout = timeout;
      const interval = intArg('--interval', o.interval, 1, 604_800);
      if (interval !== undefined) body.interval = interval;
      if (o.platform !== undefined) body.platform = o.platform;
      if (o.minOsqueryVersion !== undefined) body.minOsqueryVersion = o.minOsqueryVersion;
      const q = await ctx.client(cmd).request<SavedQuery>('POST', '/queries', { body });
      p.json(q);
      for (const w of q.warnings) p.warn(w.message);
      p.say(`Saved query ${q.name} created (id ${q.id})`);
    });

  addDelete(queries, ctx, {
    noun: 'saved query', argument: 'query', description: 'Delete a saved query (not a prebuilt one)', example: 'queries delete old_query --yes',
    resolve: savedQueryId, path: (id) => `/queries/${id}`,
  });
}
