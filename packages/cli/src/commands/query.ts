/**
 * `query run`: create a live query (`POST /live-queries`), follow its Server-Sent Events stream
 * (`GET /live-queries/:id/stream`: status, result, done) printing rows as they arrive, keep a
 * progress line on stderr, then print each host's status. Exit 6 when a host failed, expired or
 * was cancelled, unless --allow-failures (fleetctl exits 0 whatever the hosts did; scripts need to know).
 */
import type { Command } from 'commander';
import type { CreateLiveQueryRequest, LiveHost, LiveQuery, LiveQuerySummary, LiveStreamStatus, LiveTargetSpec } from '@mimir/api-contract';
import type { LiveStreamResult } from '../core/api-types.js';
import { LIVE_TIMEOUT_MAX_SECONDS, LIVE_TIMEOUT_MIN_SECONDS } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { idArg, intArg, listArg, withExamples, withOutput } from '../core/flags.js';
import { csvLine, paint, colorEnabled, renderTable, shortTime, type Cell, type Printer } from '../core/output.js';
import { groupId, hostId, labelId, packId, savedQueryId } from '../core/resolve.js';

interface RunOptions {
  hosts?: string; labels?: string; groups?: string; platform?: string; all?: boolean; timeout?: string;
  saved?: string; pack?: string; allowFailures?: boolean; quiet?: boolean;
}

const PLATFORMS = ['linux', 'darwin', 'windows', 'freebsd'];
type Row = Record<string, Cell>;

/** Prints rows as they come: JSON lines, CSV (header from the first row), or a table aligned on the first batch. */
class RowWriter {
  private columns: string[] | undefined;
  private widths: number[] = [];
  private warned = new Set<string>();
  rows = 0;
  constructor(private readonly p: Printer, private readonly multi: boolean, private readonly names: string[]) {}

  write(batch: Array<{ hostId: number; hostname: string; queryIndex: number; osquery: Row; ecs?: Record<string, unknown> | undefined }>): void {
    if (batch.length === 0) return;
    const out = this.p.io.out;
    if (this.p.format === 'json') {
      for (const r of batch) {
        const line: Record<string, unknown> = { hostId: r.hostId, hostname: r.hostname };
        if (this.multi) line['query'] = this.names[r.queryIndex] ?? String(r.queryIndex);
        line['osquery'] = r.osquery;
        if (r.ecs !== undefined) line['ecs'] = r.ecs;
        out.write(`${JSON.stringify(line)}\n`);
        this.rows++;
      }
      return;
    }
    const lead = this.multi ? ['hostname', 'query'] : ['hostname'];
    if (this.columns === undefined) {
      const seen: string[] = [];
      for (const r of batch) for (const k of Object.keys(r.osquery)) if (!seen.includes(k)) seen.push(k);
      this.columns = seen;
    }
    const cols = this.columns;
    for (const r of batch) {
      for (const k of Object.keys(r.osquery)) {
        if (!cols.includes(k) && !this.warned.has(k)) {
          this.warned.add(k);
          this.p.warn(`column "${k}" first appeared after the header was printed; it is left out (use --json for every column)`);
        }
      }
    }
    const cells = batch.map((r) => [r.hostname, ...(this.multi ? [this.names[r.queryIndex] ?? String(r.queryIndex)] : []), ...cols.map((c) => r.osquery[c])]);
    if (this.p.format === 'csv') {
      if (this.rows === 0) out.write(csvLine([...lead, ...cols]));
      for (const c of cells) out.write(csvLine(c));
    } else {
      const header = [...lead, ...cols].map((h) => h.toUpperCase());
      if (this.rows === 0) {
        // Widths from the first batch; later rows keep them (a stream cannot go back and re-align).
        this.widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((c) => String(c[i] ?? '').length))));
        out.write(`${header.map((h, i) => paint(this.p.color, 'bold', h.padEnd(this.widths[i] ?? 0))).join('  ').trimEnd()}\n`);
      }
      for (const c of cells) out.write(`${c.map((v, i) => String(v ?? '').replace(/\r?\n/g, ' ').padEnd(this.widths[i] ?? 0)).join('  ').trimEnd()}\n`);
    }
    this.rows += batch.length;
  }
}

function parseEvent(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

export function registerQuery(program: Command, ctx: Context): void {
  const query = program.command('query').description('Live queries');

  withExamples(withOutput(query.command('run')
    .argument('[sql]', 'the SQL to run (or --saved / --pack)')
    .description('Run a live query on targeted hosts; rows stream to stdout as hosts answer, progress on stderr')
    .option('--hosts <hosts>', 'comma-separated host ids, hostnames or identifiers')
    .option('--labels <labels>', 'comma-separated label names or ids')
    .option('--groups <groups>', 'comma-separated group names or ids')
    .option('--platform <platforms>', 'comma-separated platforms: linux, darwin, windows, freebsd')
    .option('--all', 'every enrolled host')
    .option('--timeout <seconds>', `seconds until hosts that have not answered expire (${LIVE_TIMEOUT_MIN_SECONDS}–${LIVE_TIMEOUT_MAX_SECONDS}, default ${LIVE_TIMEOUT_MIN_SECONDS})`)
    .option('--saved <query>', 'run a saved query (name or id)')
    .option('--pack <pack>', 'run every query of a pack (name or id)')
    .option('--allow-failures', 'exit 0 even when hosts failed or expired')
    .option('--quiet', 'no progress line or per-host summary on stderr')),
  'query run "SELECT * FROM os_version" --all',
  'query run "SELECT name, pid FROM processes" --labels "Ubuntu Linux" --timeout 120 --json > rows.ndjson',
  'query run --saved processes_by_memory --groups production --csv > out.csv',
  'query run --pack incident-response --hosts web-01,web-02 --allow-failures')
    .action(async (sql: string | undefined, o: RunOptions, cmd: Command) => {
      const p = ctx.printer(cmd);
      const io = ctx.io;
      const sources = [sql !== undefined ? 'SQL' : undefined, o.saved !== undefined ? '--saved' : undefined, o.pack !== undefined ? '--pack' : undefined].filter((x) => x !== undefined);
      if (sources.length !== 1) throw new UsageError(sources.length === 0 ? 'give the SQL to run, or --saved or --pack' : `give only one of ${sources.join(', ')}`);
      if (sql?.trim() === '') throw new UsageError('the SQL is empty');
      const timeout = intArg('--timeout', o.timeout, LIVE_TIMEOUT_MIN_SECONDS, LIVE_TIMEOUT_MAX_SECONDS);
      const platforms = listArg('--platform', o.platform);
      for (const pf of platforms ?? []) if (!PLATFORMS.includes(pf)) throw new UsageError(`--platform: ${JSON.stringify(pf)} is not one of ${PLATFORMS.join(', ')}`);
      const hostRefs = listArg('--hosts', o.hosts);
      const labelRefs = listArg('--labels', o.labels);
      const groupRefs = listArg('--groups', o.groups);
      if (o.all !== true && hostRefs === undefined && labelRefs === undefined && groupRefs === undefined && platforms === undefined) {
        throw new UsageError('choose targets: --all, --hosts, --labels, --groups or --platform');
      }
      const client = ctx.client(cmd);
      const targets: LiveTargetSpec = {};
      if (o.all === true) targets.all = true;
      if (hostRefs !== undefined) targets.hostIds = await Promise.all(hostRefs.map((h) => hostId(client, h)));
      if (labelRefs !== undefined) targets.labelIds = await Promise.all(labelRefs.map((l) => labelId(client, l)));
      if (groupRefs !== undefined) targets.groupIds = await Promise.all(groupRefs.map((g) => groupId(client, g)));
      if (platforms !== undefined) targets.platforms = platforms;
      const body: CreateLiveQueryRequest = { targets };
      if (sql !== undefined) body.sql = sql;
      if (o.saved !== undefined) body.savedQueryId = await savedQueryId(client, o.saved);
      if (o.pack !== undefined) body.packId = await packId(client, o.pack);
      if (timeout !== undefined) body.timeoutSeconds = timeout;

      const lq = await client.request<LiveQuery>('POST', '/live-queries', { body });
      const quiet = o.quiet === true;
      const errColor = colorEnabled(io.err, io.env, ctx.globals(cmd).color);
      const tty = io.err.isTTY === true;
      for (const w of lq.warnings) p.warn(w);
      if (!quiet) p.say(`Live query ${lq.id}: ${lq.counts.targeted} host${lq.counts.targeted === 1 ? '' : 's'} targeted, expires ${lq.expiresAt}`);
      const writer = new RowWriter(p, lq.queries.length > 1, lq.queries.map((q) => q.name));
      const expiresAt = Date.parse(lq.expiresAt);
      let last: LiveStreamStatus = { status: lq.status, counts: lq.counts, rowCount: lq.rowCount, truncated: lq.truncated };
      let progressShown = false;
      const progress = (s: LiveStreamStatus) => {
        if (quiet) return;
        const c = s.counts;
        const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
        const text = `responded ${c.responded}/${c.targeted} · failed ${c.failed}${c.expired > 0 ? ` · expired ${c.expired}` : ''} · ${s.rowCount} rows · ${s.status === 'running' ? `${left}s left` : s.status}`;
        if (tty) {
          io.err.write(`\r\u001b[2K${paint(errColor, 'dim', text)}`);
          progressShown = true;
        } else io.err.write(`${text}\n`);
      };
      const clearProgress = () => {
        if (progressShown) io.err.write('\r\u001b[2K');
        progressShown = false;
      };
      progress(last);

      // Ctrl-C cancels the live query on the server (pending hosts become cancelled), then exits 130.
      const abort = new AbortController();
      // One object, not `let`s: the stream callback and the signal handler flip these while the loop awaits.
      const st = { done: false, interrupted: false };
      // Read through a function: TypeScript would otherwise keep a narrowing across the awaits.
      const finished = () => st.done || st.interrupted;
      const onSigint = () => {
        st.interrupted = true;
        abort.abort();
      };
      process.once('SIGINT', onSigint);
      let lastEventId: string | undefined;
      try {
        // Bounded: the server ends the stream at `done`; reconnects (after a cut) stop at the expiry plus a margin.
        for (let attempt = 0; attempt < 50 && !finished(); attempt++) {
          const r = await client.stream(`/live-queries/${lq.id}/stream`, (e) => {
            if (e.event === 'status' || e.event === 'done') {
              const s = parseEvent(e.data) as LiveStreamStatus | undefined;
              if (s !== undefined) last = s;
              if (e.event === 'done') {
                st.done = true;
                clearProgress();
                return 'stop';
              }
              progress(last);
            } else if (e.event === 'result') {
              const r = parseEvent(e.data) as LiveStreamResult | undefined;
              if (r === undefined) return undefined;
              clearProgress();
              writer.write(r.results.flatMap((a) => a.rows.map((row) => ({ hostId: a.hostId, hostname: a.hostname, queryIndex: a.queryIndex, osquery: row.osquery, ecs: row.ecs }))));
              if (!quiet) for (const a of r.results) if (a.status === 'failed' && !a.more) p.say(`${a.hostname || a.hostId}: failed: ${a.message}`, 'red');
              progress(last);
            }
            return undefined;
          }, { lastEventId, signal: abort.signal });
          lastEventId = r.lastEventId;
          if (finished()) break;
          if (Date.now() > expiresAt + 60_000) break;
          await new Promise((res) => setTimeout(res, 1000));
        }
      } finally {
        process.removeListener('SIGINT', onSigint);
        clearProgress();
      }
      if (st.interrupted) {
        await client.request('POST', `/live-queries/${lq.id}/cancel`).catch(() => undefined);
        p.say(`Live query ${lq.id} cancelled`);
      }
      const final = await client.get<LiveQuery>(`/live-queries/${lq.id}`);
      const hosts = (await client.all<LiveHost>(`/live-queries/${lq.id}/hosts`)).items;
      if (!quiet) {
        const multi = final.queries.length > 1;
        const rows = hosts.map((h) => ({ ...h, query: final.queries[h.queryIndex]?.name ?? '' }));
        io.err.write('\n');
        io.err.write(renderTable(rows, [
          { header: 'HOST', value: (h) => h.hostname || h.hostId },
          ...(multi ? [{ header: 'QUERY', value: (h: (typeof rows)[number]) => h.query }] : []),
          { header: 'STATUS', value: (h) => h.status, style: (t) => (t === 'successful' ? 'green' : t === 'pending' ? 'yellow' : 'red') },
          { header: 'ROWS', value: (h) => h.rowCount },
          { header: 'MESSAGE', value: (h) => h.message },
        ], errColor));
        const c = final.counts;
        p.say(`${c.successful} successful, ${c.failed} failed, ${c.expired} expired, ${c.cancelled} cancelled, ${c.pending} pending of ${c.targeted}; ${final.rowCount} rows${final.truncated ? ' (truncated: see the console)' : ''}`);
      }
      if (st.interrupted) throw new CliError('interrupted', EXIT.interrupted);
      const bad = final.counts.failed + final.counts.expired + final.counts.cancelled + final.counts.pending;
      if (bad > 0 && o.allowFailures !== true) {
        throw new CliError(`${bad} of ${final.counts.targeted} host answers were not successful (pass --allow-failures to exit 0)`, EXIT.hostsFailed);
      }
    });
  withExamples(withOutput(query.command('list')
    .description('Live query history, newest first')
    .option('-q, --search <text>', 'free text over the SQL and pack name')
    .option('--limit <n>', 'at most this many (default 50, 0 = all)')),
  'query list', 'query list --search users --json')
    .action(async (o: { search?: string; limit?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const { items } = await ctx.client(cmd).all<LiveQuerySummary>('/live-queries', { q: o.search }, intArg('--limit', o.limit, 0, 1_000_000) ?? 50);
      p.list(items, [
        { header: 'ID', value: (q) => q.id },
        { header: 'CREATED', value: (q) => shortTime(q.createdAt) },
        { header: 'BY', value: (q) => q.createdBy.email },
        { header: 'STATUS', value: (q) => q.status },
        { header: 'TARGETED', value: (q) => q.counts.targeted },
        { header: 'OK', value: (q) => q.counts.successful },
        { header: 'FAILED', value: (q) => q.counts.failed, style: (t) => (t !== '0' ? 'red' : undefined) },
        { header: 'ROWS', value: (q) => q.rowCount },
        { header: 'SQL', value: (q) => (q.packName !== '' ? `pack ${q.packName}` : q.sql) },
      ]);
    });

  withExamples(withOutput(query.command('cancel').argument('<id>', 'live query id')
    .description('Cancel a running live query: undelivered queries are withdrawn, pending hosts become cancelled')),
  'query cancel 42')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const p = ctx.printer(cmd);
      const r = await ctx.client(cmd).request<{ dequeued: number; cancelledHosts: number }>('POST', `/live-queries/${idArg('<id>', id)}/cancel`);
      p.json(r);
      p.say(`Live query ${id} cancelled: ${r.cancelledHosts} pending host${r.cancelledHosts === 1 ? '' : 's'} cancelled`);
    });
}
