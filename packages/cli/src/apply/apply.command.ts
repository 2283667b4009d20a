/** `apply -f mimir.yml [--dry-run] [--prune]` and `export`: declarative configuration (plan.ts has the rules). */
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import type { Context } from '../core/context.js';
import { CliError, UsageError } from '../core/errors.js';
import { withExamples, withOutput } from '../core/flags.js';
import { paint, type Printer } from '../core/output.js';
import { readStdin } from '../core/prompt.js';
import { readTextFile } from '../commands/queries.js';
import { parseConfigText } from './file.js';
import { buildPlan, type Change, type GroupIds, type Plan } from './plan.js';
import { readState, toSpec } from './state.js';

const SIGN = { create: '+', update: '~', delete: '-' } as const;
const STYLE = { create: 'green', update: 'yellow', delete: 'red' } as const;

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

function renderPlan(plan: Plan, color: boolean): string {
  const lines: string[] = [];
  for (const c of plan.changes) {
    lines.push(paint(color, STYLE[c.action], `${SIGN[c.action]} ${c.kind} "${c.name}"${c.action === 'delete' ? ' (delete)' : c.action === 'create' ? ' (create)' : ''}`));
    for (const f of c.fields) lines.push(c.action === 'create' ? `    ${f.field}: ${show(f.to)}` : `    ${f.field}: ${show(f.from)} → ${show(f.to)}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function summary(plan: Plan): string {
  const n = (a: Change['action']) => plan.changes.filter((c) => c.action === a).length;
  return `${n('create')} to create, ${n('update')} to change, ${n('delete')} to delete, ${plan.unchanged} unchanged`;
}

const planJson = (plan: Plan) => ({
  changes: plan.changes.map((c) => ({ kind: c.kind, name: c.name, action: c.action, fields: c.fields })),
  unchanged: plan.unchanged,
});

async function execute(plan: Plan, groupIds: GroupIds, p: Printer): Promise<void> {
  let done = 0;
  for (const c of plan.changes) {
    try {
      await c.run(groupIds);
    } catch (e) {
      if (e instanceof CliError) {
        throw new CliError(`${c.kind} "${c.name}" (${c.action}) failed: ${e.message}; ${done} of ${plan.changes.length} changes were applied before it (run apply again once fixed)`, e.exitCode, e.details);
      }
      throw e;
    }
    done++;
    p.say(`${SIGN[c.action]} ${c.kind} "${c.name}" ${c.action === 'create' ? 'created' : c.action === 'update' ? 'updated' : 'deleted'}`, STYLE[c.action]);
  }
}

export function registerApply(program: Command, ctx: Context): void {
  withExamples(withOutput(program.command('apply')
    .description('Make the server match a mimir.yml file (queries, packs, labels, groups, settings). Objects not in the file are left alone unless --prune')
    .option('-f, --file <file>', 'the mimir.yml file (- for stdin)')
    .option('--dry-run', 'show the changes, change nothing')
    .option('--prune', 'also delete objects of the kinds the file lists that are not in it (never built-in or prebuilt ones, nor the default group)')),
  'apply -f mimir.yml --dry-run', 'apply -f mimir.yml', 'apply -f mimir.yml --prune --dry-run', 'export > mimir.yml && mimir-cli apply -f mimir.yml   # changes nothing')
    .addHelpText('after', `
Format (every key optional; fields omitted are left as they are on the server):
  apiVersion: mimir/v1
  groups:   [{name, description, options: {distributed_interval: 30}}]
  labels:   [{name, type: dynamic|manual, description, query, platforms: [linux]}]
  queries:  [{name, sql, description, timeout, interval, platform, minOsqueryVersion, ecsMapping}]
  packs:    [{name, description, enabled, platform, minOsqueryVersion, discovery, global, globalShard,
              targets: [{group, shard}], queries: [{name, sql, interval, snapshot, removed, platform, ...}]}]
  settings: {osqueryOptions: {...}, display: {timeZone, dateFormat}, retention: {resultRetentionDays, liveQueryHistoryDays}}
See docs/cli.md for the full reference.`)
    .action(async (o: { file?: string; dryRun?: boolean; prune?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.file === undefined) throw new UsageError('-f/--file is required (the mimir.yml to apply; - for stdin)');
      const text = o.file === '-' ? await readStdin(ctx.io, 'apply -f -') : readTextFile('--file', o.file);
      const spec = parseConfigText(text, o.file === '-' ? '<stdin>' : o.file);
      const client = ctx.client(cmd);
      const state = await readState(client, (m) => p.warn(m));
      const plan = await buildPlan(client, spec, state, o.prune === true);
      if (o.dryRun === true) {
        if (p.format === 'json') p.json(planJson(plan));
        else ctx.io.out.write(renderPlan(plan, p.color));
        p.say(`Dry run: ${summary(plan)}. Nothing was changed.`);
        return;
      }
      p.json(planJson(plan));
      if (plan.changes.length === 0) {
        p.say(`Nothing to change (${plan.unchanged} unchanged).`);
        return;
      }
      await execute(plan, new Map(state.groups.map((g) => [g.name, g.id])), p);
      p.say(`Applied: ${summary(plan)}.`);
    });

  withExamples(program.command('export')
    .description('Write the server\'s configuration (queries, packs, labels, groups, settings) as mimir.yml; apply of it changes nothing')
    .option('-f, --file <file>', 'write to this file instead of stdout')
    .option('--force', 'overwrite the file if it exists'),
  'export > mimir.yml', 'export -f mimir.yml --force')
    .action(async (o: { file?: string; force?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      if (o.file !== undefined && existsSync(o.file) && o.force !== true) throw new UsageError(`${o.file} exists: pass --force to overwrite it`);
      const client = ctx.client(cmd);
      const spec = toSpec(await readState(client, (m) => p.warn(m)));
      const text = `# Mimir configuration exported from ${client.server} at ${new Date().toISOString()}\n# mimir-cli apply -f <this file>   (see docs/cli.md)\n${stringifyYaml(spec, { lineWidth: 0 })}`;
      if (o.file !== undefined) {
        writeFileSync(o.file, text);
        p.say(`Exported ${spec.groups?.length ?? 0} groups, ${spec.labels?.length ?? 0} labels, ${spec.queries?.length ?? 0} queries, ${spec.packs?.length ?? 0} packs to ${o.file}`);
      } else ctx.io.out.write(text);
    });
}
