/**
 * ECS mapping rows (seed 004 "Map result fields to ECS"): pick an ECS field (GET /ecs/fields, which
 * leaves out restricted fields), then either an osquery column the query returns ("Osquery value")
 * or a static value; list fields such as event.category take comma-separated static values. The
 * server checks field names, list-ness and allowed values and answers 422 naming each bad entry.
 */
import { ActionIcon, Autocomplete, Button, Group, SegmentedControl, Stack, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { EcsMapping } from '@mimir/api-contract';
import type { EcsFieldList } from './apiTypes';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from '../api/client';

export interface EcsRow {
  ecs: string;
  kind: 'field' | 'value';
  value: string;
}

export function rowsFromMapping(m: EcsMapping | null | undefined): EcsRow[] {
  if (m === null || m === undefined) return [];
  return Object.entries(m).map(([ecs, e]) => (e.field !== undefined
    ? { ecs, kind: 'field' as const, value: e.field }
    : { ecs, kind: 'value' as const, value: Array.isArray(e.value) ? e.value.join(', ') : String(e.value ?? '') }));
}

/** Rows → mapping; comma-separated static values become lists (ECS list fields). */
export function mappingFromRows(rows: readonly EcsRow[]): EcsMapping {
  const out: EcsMapping = {};
  for (const r of rows) {
    const ecs = r.ecs.trim();
    if (ecs === '') continue;
    if (r.kind === 'field') out[ecs] = { field: r.value.trim() };
    else out[ecs] = { value: r.value.includes(',') ? r.value.split(',').map((v) => v.trim()).filter((v) => v !== '') : r.value.trim() };
  }
  return out;
}

function EcsFieldInput({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [q] = useDebouncedValue(value, 200);
  const fields = useQuery({ queryKey: ['ecs', 'fields', q], queryFn: () => api.get<EcsFieldList>('/ecs/fields', { q, limit: 30 }), placeholderData: keepPreviousData, staleTime: 10 * 60_000 });
  return (
    <Autocomplete
      aria-label="ECS field"
      placeholder="ECS field, e.g. user.name"
      value={value}
      onChange={onChange}
      data={(fields.data?.items ?? []).map((f) => f.name)}
      w={240}
      size="xs"
      limit={30}
    />
  );
}

export function EcsMappingEditor({ rows, onChange, columns, errors }: { rows: readonly EcsRow[]; onChange: (rows: EcsRow[]) => void; columns: readonly string[] | null; errors?: Record<string, string> }) {
  const set = (i: number, patch: Partial<EcsRow>) => {
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  };
  return (
    <Stack gap="xs">
      <Text size="sm" fw={500}>ECS mapping</Text>
      {rows.length === 0 && <Text size="xs" c="dimmed">No ECS fields mapped. Results keep the osquery columns under osquery.*</Text>}
      {rows.map((r, i) => (
        <Group key={i} gap="xs" align="flex-start" wrap="nowrap">
          <EcsFieldInput value={r.ecs} onChange={(v) => set(i, { ecs: v })} />
          <SegmentedControl size="xs" value={r.kind} onChange={(v) => set(i, { kind: v === 'field' ? 'field' : 'value', value: '' })} data={[{ value: 'field', label: 'Osquery value' }, { value: 'value', label: 'Static value' }]} aria-label="Value type" />
          {r.kind === 'field'
            ? <Autocomplete size="xs" w={200} aria-label="osquery column" placeholder="osquery column" value={r.value} onChange={(v) => set(i, { value: v })} data={[...(columns ?? [])]} error={errors?.[r.ecs]} />
            : <TextInput size="xs" w={200} aria-label="Static value" placeholder="value (a, b for lists)" value={r.value} onChange={(e) => set(i, { value: e.currentTarget.value })} error={errors?.[r.ecs]} />}
          <ActionIcon variant="subtle" color="red" aria-label={`Remove mapping ${r.ecs}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>✕</ActionIcon>
        </Group>
      ))}
      <Button size="xs" variant="light" w="fit-content" onClick={() => onChange([...rows, { ecs: '', kind: 'field', value: '' }])}>Add ECS field</Button>
    </Stack>
  );
}
