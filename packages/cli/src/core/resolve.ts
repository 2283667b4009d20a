/**
 * Name → id lookups, so people can type `--labels "Ubuntu Linux"` or `hosts get web-01` instead
 * of ids. An id is taken as is; a name must match exactly one object, otherwise the error lists
 * what matched.
 */
import type { Group, Host, Label, PackSummary, SavedQuery } from '@mimir/api-contract';
import type { GroupList } from './api-types.js';
import type { ApiClient } from './http.js';
import { CliError, EXIT } from './errors.js';
import { isId } from './flags.js';

function one<T extends { id: number }>(kind: string, ref: string, matches: T[], describe: (x: T) => string): number {
  const first = matches[0];
  if (matches.length === 1 && first !== undefined) return first.id;
  if (matches.length === 0) throw new CliError(`no ${kind} named ${JSON.stringify(ref)}`, EXIT.notFound);
  throw new CliError(`${JSON.stringify(ref)} matches ${matches.length} ${kind}s: use the id (${matches.slice(0, 5).map(describe).join(', ')})`, EXIT.usage);
}

export async function hostId(client: ApiClient, ref: string): Promise<number> {
  if (isId(ref)) return Number(ref);
  const { items } = await client.all<Host>('/hosts', { q: ref }, 1000);
  const exact = items.filter((h) => [h.hostname, h.displayName, h.computerName, h.identifier, h.hardwareUuid].includes(ref));
  return one('host', ref, exact, (h) => `${h.id} ${h.displayName}`);
}

export async function labelId(client: ApiClient, ref: string): Promise<number> {
  if (isId(ref)) return Number(ref);
  const { items } = await client.all<Label>('/labels', { q: ref });
  return one('label', ref, items.filter((l) => l.name === ref), (l) => `${l.id}`);
}

export async function groupOf(client: ApiClient, ref: string): Promise<Group> {
  const { items } = await client.get<GroupList>('/groups');
  const matches = isId(ref) ? items.filter((g) => g.id === Number(ref)) : items.filter((g) => g.name === ref);
  const id = one('group', ref, matches, (g) => `${g.id}`);
  return matches.find((g) => g.id === id) as Group;
}

export async function groupId(client: ApiClient, ref: string): Promise<number> {
  return (await groupOf(client, ref)).id;
}

export async function savedQueryId(client: ApiClient, ref: string): Promise<number> {
  if (isId(ref)) return Number(ref);
  const { items } = await client.all<SavedQuery>('/queries', { q: ref });
  return one('saved query', ref, items.filter((q) => q.name === ref), (q) => `${q.id}`);
}

export async function packId(client: ApiClient, ref: string): Promise<number> {
  if (isId(ref)) return Number(ref);
  const { items } = await client.all<PackSummary>('/packs', { q: ref });
  return one('pack', ref, items.filter((p) => p.name === ref), (p) => `${p.id}`);
}
