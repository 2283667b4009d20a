import type { Store } from '../../storage/store.js';
import { RETENTION_KEY } from './settings.service.js';

/** A retention override stored by the settings API (key `retention`), in days; undefined when unset. */
export async function retentionOverride(store: Store, key: 'resultRetentionDays' | 'liveQueryHistoryDays'): Promise<number | undefined> {
  const v = await store.settings.get(RETENTION_KEY);
  if (typeof v !== 'object' || v === null) return undefined;
  const days = (v as Record<string, unknown>)[key];
  return typeof days === 'number' && Number.isInteger(days) && days >= 0 ? days : undefined;
}
