/**
 * Run-time settings kept in the `settings` table (key → JSON):
 * - display: time zone and date format for the console (every role reads them);
 * - osquery options: the global `options` served in every config (key GLOBAL_OPTIONS_KEY, read by
 *   OsqueryConfigService), restricted to known-safe flags; configs are rebuilt after a change;
 * - retention: days of scheduled results and live query history. The MIMIR_* environment values
 *   are the defaults; a stored value overrides them for whatever reads RETENTION_KEY at run time.
 */
import { DATE_FORMATS } from '@mimir/api-contract';
import { ValidationError } from '../../errors.js';
import type { Store } from '../../storage/store.js';
import { GLOBAL_OPTIONS_KEY } from '../osquery-config.service.js';
import { SAFE_OSQUERY_OPTIONS, optionProblem, type OptionSpec } from './osquery-options.js';

export const DISPLAY_KEY = 'ui.display';
/** `{resultRetentionDays?: number, liveQueryHistoryDays?: number}`; absent = environment default. */
export const RETENTION_KEY = 'retention';

export type DateFormat = (typeof DATE_FORMATS)[number];

export interface Display {
  timeZone: string;
  dateFormat: DateFormat;
}

export interface Retention {
  resultRetentionDays: number | null;
  liveQueryHistoryDays: number | null;
}

export type OptionValue = string | number | boolean;

const DEFAULT_DISPLAY = { timeZone: 'UTC', dateFormat: 'iso' as DateFormat };
const MAX_DAYS = 3650;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The canonical IANA name when `tz` is one Intl knows (e.g. "europe/paris" → "Europe/Paris"). */
export function canonicalTimeZone(tz: string): string | undefined {
  if (tz.trim() === '' || tz.length > 100) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export class SettingsService {
  constructor(
    private readonly store: Store,
    private readonly deps: { now(): number; invalidateConfigs(): void },
  ) {}

  private async read(key: string): Promise<Record<string, unknown>> {
    const value = await this.store.settings.get(key);
    return isRecord(value) ? value : {};
  }

  async display(): Promise<Display> {
    const value = await this.read(DISPLAY_KEY);
    const tz = typeof value['timeZone'] === 'string' ? canonicalTimeZone(value['timeZone']) : undefined;
    const fmt = DATE_FORMATS.find((f) => f === value['dateFormat']);
    return { timeZone: tz ?? DEFAULT_DISPLAY.timeZone, dateFormat: fmt ?? DEFAULT_DISPLAY.dateFormat };
  }

  async updateDisplay(patch: { timeZone?: string | undefined; dateFormat?: DateFormat | undefined }): Promise<Display> {
    const current = await this.display();
    let timeZone = current.timeZone;
    if (patch.timeZone !== undefined) {
      const tz = canonicalTimeZone(patch.timeZone);
      if (tz === undefined) throw new ValidationError('unknown time zone', [{ path: '/timeZone', message: `"${patch.timeZone}" is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)` }]);
      timeZone = tz;
    }
    await this.store.settings.set(DISPLAY_KEY, { timeZone, dateFormat: patch.dateFormat ?? current.dateFormat }, this.deps.now());
    return this.display();
  }

  async osqueryOptions(): Promise<{ options: Record<string, OptionValue>; allowed: Array<OptionSpec & { key: string }> }> {
    const value = await this.read(GLOBAL_OPTIONS_KEY);
    const options: Record<string, OptionValue> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') options[k] = v;
    }
    return { options, allowed: Object.entries(SAFE_OSQUERY_OPTIONS).map(([key, spec]) => ({ key, ...spec })) };
  }

  /** Replace the global options (send `{}` to clear them); every problem is reported at once. */
  async setOsqueryOptions(options: Record<string, unknown>): Promise<Awaited<ReturnType<SettingsService['osqueryOptions']>>> {
    const problems = Object.entries(options).map(([k, v]) => optionProblem(k, v)).filter((p) => p !== undefined);
    if (problems.length > 0) throw new ValidationError(`${problems.length} osquery option(s) refused (see details)`, problems);
    await this.store.settings.set(GLOBAL_OPTIONS_KEY, options, this.deps.now());
    this.deps.invalidateConfigs();
    return this.osqueryOptions();
  }

  async retention(): Promise<Retention> {
    const value = await this.read(RETENTION_KEY);
    const days = (k: string): number | null => (typeof value[k] === 'number' && Number.isInteger(value[k]) ? value[k] : null);
    return { resultRetentionDays: days('resultRetentionDays'), liveQueryHistoryDays: days('liveQueryHistoryDays') };
  }

  /** `null` clears an override (back to the environment default); omitted keys stay as they are. */
  async updateRetention(patch: { resultRetentionDays?: unknown; liveQueryHistoryDays?: unknown }): Promise<Retention> {
    const problems: Array<{ path: string; message: string }> = [];
    const days = (v: unknown, min: number, key: string, hint: string): number | null | undefined => {
      if (v === undefined || v === null) return v;
      if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= MAX_DAYS) return v;
      problems.push({ path: `/${key}`, message: `must be ${min}–${MAX_DAYS} days${hint} or null` });
      return undefined;
    };
    const r = days(patch.resultRetentionDays, 0, 'resultRetentionDays', ' (0 keeps results forever)');
    const l = days(patch.liveQueryHistoryDays, 1, 'liveQueryHistoryDays', '');
    if (problems.length > 0) throw new ValidationError('retention is invalid (see details)', problems);
    const current = await this.retention();
    const next = {
      resultRetentionDays: r === undefined ? current.resultRetentionDays : r,
      liveQueryHistoryDays: l === undefined ? current.liveQueryHistoryDays : l,
    };
    const stored = Object.fromEntries(Object.entries(next).filter(([, v]) => v !== null));
    await this.store.settings.set(RETENTION_KEY, stored, this.deps.now());
    return this.retention();
  }
}
