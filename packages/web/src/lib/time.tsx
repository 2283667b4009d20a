/**
 * Times everywhere in the console follow Settings → Time & Display (time zone + format), read once
 * per session and refreshed when an admin saves them. The API always speaks ISO 8601 UTC.
 */
import type { DisplaySettings } from '@mimir/api-contract';
import { useQuery } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api } from '../api/client';

export const DISPLAY_QUERY_KEY = ['settings', 'display'] as const;

const DEFAULT: DisplaySettings = { timeZone: 'UTC', dateFormat: 'iso' };

function parts(d: Date, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  const fmt = new Intl.DateTimeFormat('en-GB', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
  for (const p of fmt.formatToParts(d)) out[p.type] = p.value;
  return out;
}

function relative(d: Date, now: number): string {
  const s = Math.round((d.getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(s, 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

export function formatTime(iso: string | null | undefined, s: DisplaySettings, now = Date.now()): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  let tz = s.timeZone;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    tz = 'UTC';
  }
  if (s.dateFormat === 'relative') return relative(d, now);
  const p = parts(d, tz);
  const [Y, M, D, h, m, sec] = [p['year'], p['month'], p['day'], p['hour'], p['minute'], p['second']];
  switch (s.dateFormat) {
    case 'iso':
      return tz === 'UTC' ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : `${Y}-${M}-${D}T${h}:${m}:${sec} ${tz}`;
    case 'YYYY-MM-DD HH:mm:ss':
      return `${Y}-${M}-${D} ${h}:${m}:${sec}`;
    case 'DD/MM/YYYY HH:mm:ss':
      return `${D}/${M}/${Y} ${h}:${m}:${sec}`;
    case 'DD.MM.YYYY HH:mm:ss':
      return `${D}.${M}.${Y} ${h}:${m}:${sec}`;
    case 'MM/DD/YYYY hh:mm:ss A': {
      const hour = Number(h);
      const h12 = String(hour % 12 === 0 ? 12 : hour % 12).padStart(2, '0');
      return `${M}/${D}/${Y} ${h12}:${m}:${sec} ${hour < 12 ? 'AM' : 'PM'}`;
    }
  }
}

export function useDisplaySettings(): DisplaySettings {
  const q = useQuery({ queryKey: DISPLAY_QUERY_KEY, queryFn: () => api.get<DisplaySettings>('/settings/display'), staleTime: 5 * 60_000 });
  return q.data ?? DEFAULT;
}

/** `const fmt = useFormatTime(); fmt(host.lastSeenAt)` */
export function useFormatTime(): (iso: string | null | undefined) => string {
  const s = useDisplaySettings();
  return useCallback((iso) => formatTime(iso, s), [s]);
}
