/**
 * `mimir-cli osquery|agent list|upload|register|approve|rollout|delete|progress|binaries` — seed 000
 * (Settings → Osquery Updates, and its twin Agent Updates) from the terminal, over /api/v1/updates
 * (docs/updates.md). The texts are the seed's: toasts, the empty state, the footer note, the delete
 * confirmation and "Set rollout to 0% before deleting.".
 */
import type { Command } from 'commander';
import type { RegisterUpdateRequest, UpdateArtifact, UpdateBinary, UpdateKind, UpdateProgress } from '@mimir/api-contract';
import type { RolloutResult, UpdateArtifactResult, UpdateDeleted, UploadedBinary } from '../core/api-types.js';
import { ROLLOUT_PRESETS, UPDATE_ARCHES, UPDATE_OSES } from '@mimir/api-contract';
import type { Context } from '../core/context.js';
import type { ApiClient } from '../core/http.js';
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { isId, oneOf, withExamples, withOutput } from '../core/flags.js';
import { shortTime, type Column } from '../core/output.js';
import { confirm, readStdin } from '../core/prompt.js';
import { readTextFile } from './queries.js';

const TITLE: Record<UpdateKind, string> = { osquery: 'osquery', agent: 'agent' };

/** Where Mimir serves an uploaded binary (docs/updates.md "Binaries"); the signing script's default URL. */
export function defaultUrl(kind: UpdateKind, os: string, arch: string, version: string): string {
  return kind === 'osquery' ? `/api/v1/osquery/binary/${os}/${arch}/${version}/osqueryd` : `/api/v1/osquery/agent-binary/${os}/${arch}/${version}/mimir-agent`;
}

function platformArg(v: string | undefined): { os: string; arch: string } | undefined {
  if (v === undefined) return undefined;
  const m = /^([a-z0-9]+)\/([a-z0-9]+)$/.exec(v.trim());
  if (m?.[1] === undefined || m[2] === undefined) throw new UsageError(`--platform: expected os/arch like linux/amd64, not ${JSON.stringify(v)}`);
  oneOf('--platform os', m[1], UPDATE_OSES);
  oneOf('--platform arch', m[2], UPDATE_ARCHES);
  return { os: m[1], arch: m[2] };
}

/** A row by id, or by version (+ --platform when the version is registered for several platforms). */
async function findRow(client: ApiClient, kind: UpdateKind, ref: string, platform: string | undefined): Promise<UpdateArtifact> {
  const pf = platformArg(platform);
  if (pf === undefined && isId(ref)) return client.get<UpdateArtifact>(`/updates/${kind}/artifacts/${ref}`);
  const { items } = await client.all<UpdateArtifact>(`/updates/${kind}/artifacts`, { os: pf?.os, arch: pf?.arch });
  const rows = items.filter((a) => a.version === ref);
  const first = rows[0];
  if (rows.length === 1 && first !== undefined) return first;
  if (rows.length === 0) throw new CliError(`no ${TITLE[kind]} version ${JSON.stringify(ref)}${pf !== undefined ? ` for ${pf.os}/${pf.arch}` : ''} is registered`, EXIT.notFound);
  throw new UsageError(`${TITLE[kind]} ${ref} is registered for ${rows.map((a) => a.platform).join(', ')}: add --platform os/arch (or use the id)`);
}

const COLUMNS: Column<UpdateArtifact>[] = [
  { header: 'ID', value: (a) => a.id },
  { header: 'VERSION', value: (a) => a.version },
  { header: 'PLATFORM', value: (a) => a.platform },
  { header: 'ADDED', value: (a) => shortTime(a.addedAt) },
  { header: 'STATUS', value: (a) => (a.status === 'approved' ? 'Approved' : 'Pending'), style: (t) => (t === 'Approved' ? 'green' : 'dim') },
  // Seed 000: the Rollout column shows "—" while the row is pending (rollout is unavailable until approved).
  { header: 'ROLLOUT', value: (a) => (a.status === 'pending' ? '—' : `${a.rollout}%${a.rollout === 0 ? ' (paused)' : ''}`) },
  { header: 'BINARY', value: (a) => a.binary, style: (t) => (t === 'sha_mismatch' ? 'red' : t === 'missing' ? 'yellow' : undefined) },
];

interface RegisterOptions { os?: string; arch?: string; url?: string; sha256?: string; signature?: string; timestamp?: string; fromJson?: string }

/** The signing script's `--json` output (docs/updates.md): take exactly the Register form fields. */
async function fromSigningJson(ctx: Context, kind: UpdateKind, file: string): Promise<RegisterUpdateRequest> {
  const text = file === '-' ? await readStdin(ctx.io, '--from-json -') : readTextFile('--from-json', file);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`--from-json: ${file} is not JSON (use the output of scripts/sign-osquery-manifest.sh sign --json)`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`--from-json: ${file} is not a JSON object`);
  const o = v as Record<string, unknown>;
  const fields = ['version', 'os', 'arch', 'url', 'sha256', 'signature', 'timestamp'] as const;
  const missing = fields.filter((f) => typeof o[f] !== 'string');
  if (missing.length > 0) throw new UsageError(`--from-json: ${file} lacks ${missing.join(', ')}`);
  const signedKind = o['kind'];
  if (signedKind !== undefined && signedKind !== kind) {
    const named = typeof signedKind === 'string' ? signedKind : JSON.stringify(signedKind);
    throw new UsageError(`--from-json: ${file} was signed for ${named}, not ${kind}: use \`mimir-cli ${named} register\``);
  }
  const pick = (f: (typeof fields)[number]) => o[f] as string;
  return { version: pick('version'), os: pick('os'), arch: pick('arch'), url: pick('url'), sha256: pick('sha256'), signature: pick('signature'), timestamp: pick('timestamp') };
}

function registerKind(program: Command, ctx: Context, kind: UpdateKind): void {
  const presets = ROLLOUT_PRESETS[kind];
  const title = TITLE[kind];
  const group = program.command(kind).description(`${kind === 'osquery' ? 'osquery' : 'Mimir agent'} updates: register, approve and roll out signed versions (admin only)`);

  withExamples(withOutput(group.command('list').description('Registered versions, newest first')
    .option('--platform <os/arch>', 'only this platform, e.g. linux/amd64')
    .option('--status <status>', 'pending or approved')),
  `${kind} list`, `${kind} list --platform linux/amd64 --json`)
    .action(async (o: { platform?: string; status?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const pf = platformArg(o.platform);
      const { items } = await ctx.client(cmd).all<UpdateArtifact>(`/updates/${kind}/artifacts`, { os: pf?.os, arch: pf?.arch, status: oneOf('--status', o.status, ['pending', 'approved'] as const) });
      if (items.length === 0 && p.format === 'table') {
        p.say(`No ${title} versions registered. Register a signed version to enable ${title} auto-updates across the fleet.`);
        return;
      }
      p.list(items, COLUMNS);
      if (p.format === 'table') {
        p.say(`Versions must be approved before rollout. Set rollout to 0% to pause a version. Cohort assignment is deterministic — the same host always gets the same answer for a given version and rollout %.`, 'dim');
      }
    });

  withExamples(withOutput(group.command('upload').argument('<file>', `the ${kind === 'osquery' ? 'osqueryd' : 'mimir-agent'} binary`).argument('<version>', 'version string, exactly as it will be registered')
    .description('Upload a binary to Mimir (then sign the printed URL and SHA-256, and register it)')
    .option('--os <os>', UPDATE_OSES.join(', '))
    .option('--arch <arch>', UPDATE_ARCHES.join(', '))),
  `${kind} upload ./${kind === 'osquery' ? 'osqueryd' : 'mimir-agent'} 5.12.1 --os linux --arch amd64`)
    .action(async (file: string, version: string, o: { os?: string; arch?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const os = oneOf('--os', o.os, UPDATE_OSES);
      const arch = oneOf('--arch', o.arch, UPDATE_ARCHES);
      if (os === undefined || arch === undefined) throw new UsageError('--os and --arch are required');
      const r = await ctx.client(cmd).upload<UploadedBinary>('/updates/binaries', { kind, os, arch, version }, 'file', file);
      const b = r.body.binary;
      p.say(r.body.message);
      p.object([['version', b.version], ['platform', `${b.os}/${b.arch}`], ['url', b.url], ['sha256', b.sha256], ['size', b.size]], r.body);
    });

  withExamples(withOutput(group.command('binaries').description('Uploaded binaries')), `${kind} binaries`)
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await ctx.client(cmd).all<UpdateBinary>('/updates/binaries', { kind });
      ctx.printer(cmd).list(items, [
        { header: 'ID', value: (b) => b.id }, { header: 'VERSION', value: (b) => b.version }, { header: 'PLATFORM', value: (b) => `${b.os}/${b.arch}` },
        { header: 'SIZE', value: (b) => b.size }, { header: 'SHA256', value: (b) => b.sha256 }, { header: 'UPLOADED', value: (b) => shortTime(b.uploadedAt) },
      ]);
    });

  withExamples(withOutput(group.command('register').argument('[version]', 'exactly the upstream version string (e.g. 5.12.1), kept as typed')
    .description('Register a signed version (it is Pending until approved). Paste the values the CI signing step printed (scripts/sign-osquery-manifest.sh)')
    .option('--os <os>', UPDATE_OSES.join(', '))
    .option('--arch <arch>', UPDATE_ARCHES.join(', '))
    .option('--url <path>', 'download URL, must start with /api/ (default: where Mimir serves uploaded binaries)')
    .option('--sha256 <hex>', 'exactly 64 hex characters')
    .option('--signature <hex>', 'Ed25519 manifest signature, 128 hex characters')
    .option('--timestamp <time>', 'manifest timestamp, RFC 3339 UTC (e.g. 2026-04-04T12:00:00Z)')
    .option('--from-json <file>', 'take every value from `sign-osquery-manifest.sh sign --json` output (- for stdin)')),
  `${kind} register 5.12.1 --os linux --arch amd64 --sha256 e0d8… --signature 9f2c… --timestamp 2026-04-04T12:00:00Z`,
  `${kind} register --from-json signed.json`,
  `scripts/sign-osquery-manifest.sh sign --key k.pem --binary ./bin --version 5.12.1 --os linux --arch amd64${kind === 'agent' ? ' --kind agent' : ''} --json | mimir-cli ${kind} register --from-json -`)
    .action(async (version: string | undefined, o: RegisterOptions, cmd: Command) => {
      const p = ctx.printer(cmd);
      let body: RegisterUpdateRequest;
      if (o.fromJson !== undefined) {
        const given = [version, o.os, o.arch, o.url, o.sha256, o.signature, o.timestamp].some((x) => x !== undefined);
        if (given) throw new UsageError('--from-json takes every value from the file: give no other values');
        body = await fromSigningJson(ctx, kind, o.fromJson);
      } else {
        const missing = ([['<version>', version], ['--os', o.os], ['--arch', o.arch], ['--sha256', o.sha256], ['--signature', o.signature], ['--timestamp', o.timestamp]] as const)
          .filter(([, v]) => v === undefined).map(([k]) => k);
        if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')} (or use --from-json)`);
        const v = version ?? '';
        const os = o.os ?? '';
        const arch = o.arch ?? '';
        // The server checks every field and answers all problems at once; send them as typed.
        body = { version: v, os, arch, url: o.url ?? defaultUrl(kind, os, arch, v), sha256: o.sha256 ?? '', signature: o.signature ?? '', timestamp: o.timestamp ?? '' };
      }
      const r = await ctx.client(cmd).request<UpdateArtifactResult>('POST', `/updates/${kind}/artifacts`, { body }).catch((e: unknown) => {
        // Seed 000 troubleshooting: say what usually went wrong.
        if (e instanceof CliError) throw new CliError(`Registration failed: ${e.message}`, e.exitCode, e.details);
        throw e;
      });
      p.json(r);
      p.say(r.message, 'green');
      if (p.format !== 'json') p.say(`Status: Pending (id ${r.artifact.id}). Approve it with: mimir-cli ${kind} approve ${r.artifact.id}`);
    });

  withExamples(withOutput(group.command('approve').argument('<version|id>', 'the row').description('Approve a version (the signature is verified again). Approving an approved row again makes it the most recent approval: the rollback path')
    .option('--platform <os/arch>', 'which row, when the version is registered for several platforms')),
  `${kind} approve 5.12.1 --platform linux/amd64`, `${kind} approve 7`)
    .action(async (ref: string, o: { platform?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const row = await findRow(client, kind, ref, o.platform);
      const r = await client.request<UpdateArtifactResult>('POST', `/updates/${kind}/artifacts/${row.id}/approve`).catch((e: unknown) => {
        if (e instanceof CliError) throw new CliError(`Approve failed: ${e.message}`, e.exitCode, e.details);
        throw e;
      });
      p.json(r);
      p.say(r.message, 'green');
      if (p.format !== 'json' && r.artifact.rollout === 0) p.say(`Rollout is still 0%: pick a preset with mimir-cli ${kind} rollout ${r.artifact.id} <${presets.join('|')}>`);
    });

  withExamples(withOutput(group.command('rollout').argument('<version|id>', 'the row').argument('<percent>', `one of ${presets.join(', ')} (0 pauses)`)
    .description(`Set the rollout to a preset: ${presets.map((x) => `${x}%`).join(', ')}. 0% pauses: hosts that took the version stay on it`)
    .option('--platform <os/arch>', 'which row, when the version is registered for several platforms')),
  `${kind} rollout 5.12.1 ${presets[1] ?? 1} --platform linux/amd64`, `${kind} rollout 7 0      # pause`)
    .action(async (ref: string, percentText: string, o: { platform?: string }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const t = percentText.trim().replace(/%$/, '');
      const percent = /^\d{1,3}$/.test(t) ? Number(t) : NaN;
      if (!presets.includes(percent)) throw new UsageError(`rollout must be one of ${presets.map((x) => `${x}%`).join(', ')} for ${title}, not ${JSON.stringify(percentText)}`);
      const client = ctx.client(cmd);
      const row = await findRow(client, kind, ref, o.platform);
      const r = await client.request<RolloutResult>('PUT', `/updates/${kind}/artifacts/${row.id}/rollout`, { body: { percent } });
      p.json(r);
      if (r.changed) p.say(r.message, 'green');
      else p.say(`Rollout is already ${r.artifact.rollout}%: nothing changed`);
    });

  withExamples(withOutput(group.command('delete').argument('<version|id>', 'the row').description('Delete a version (only at 0% rollout; final). Agents currently running it are unaffected')
    .option('--platform <os/arch>', 'which row, when the version is registered for several platforms')
    .option('-y, --yes', 'do not ask for confirmation')),
  `${kind} rollout 5.11.4 0 --platform linux/amd64 && mimir-cli ${kind} delete 5.11.4 --platform linux/amd64 --yes`)
    .action(async (ref: string, o: { platform?: string; yes?: boolean }, cmd: Command) => {
      const p = ctx.printer(cmd);
      const client = ctx.client(cmd);
      const row = await findRow(client, kind, ref, o.platform);
      // The console greys the button out; the CLI refuses before asking (the server refuses too).
      if (row.rollout > 0) throw new CliError('Set rollout to 0% before deleting.', EXIT.refused, [`${title} ${row.version} (${row.platform}) is at ${row.rollout}%: mimir-cli ${kind} rollout ${row.id} 0`]);
      const label = `${title} ${row.version} (${row.platform})`;
      if (!(await confirm(ctx.io, `Delete ${label}? This cannot be undone. Agents currently running this version are unaffected.`, o.yes === true))) {
        throw new CliError('not deleted', EXIT.error);
      }
      const r = await client.request<UpdateDeleted>('DELETE', `/updates/${kind}/artifacts/${row.id}`);
      p.json(r);
      p.say(r.message);
    });

  withExamples(withOutput(group.command('progress').argument('<version|id>', 'the row').description('Rollout progress: hosts of the platform, in the cohort, already on the version')
    .option('--platform <os/arch>', 'which row, when the version is registered for several platforms')),
  `${kind} progress 5.12.1 --platform linux/amd64`)
    .action(async (ref: string, o: { platform?: string }, cmd: Command) => {
      const client = ctx.client(cmd);
      const row = await findRow(client, kind, ref, o.platform);
      const g = await client.get<UpdateProgress>(`/updates/${kind}/artifacts/${row.id}/progress`);
      ctx.printer(cmd).object([
        ['version', g.version], ['platform', g.platform], ['rollout', `${g.rollout}%`], ['hosts on platform', g.hostsTotal],
        ['in cohort', g.hostsInCohort], ['on this version', g.hostsOnVersion], ['agents reporting', g.hostsReporting], ['auto-update off', g.autoUpdateOff],
      ], g);
    });
}

export function registerUpdates(program: Command, ctx: Context): void {
  registerKind(program, ctx, 'osquery');
  registerKind(program, ctx, 'agent');
}
