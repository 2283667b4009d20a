/**
 * Live-query target picker (seed 004 step 4: "Start typing in the search field, and you'll get
 * suggestions for agents by name, ID, platform, and policy"). Suggestions come from
 * GET /targets/search as you type; the selection is counted by POST /targets/count (total and
 * online), so the operator sees how many hosts will answer before pressing Submit.
 */
import { Badge, CheckIcon, Combobox, Group, Loader, Pill, PillsInput, Text, useCombobox } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { HostPlatform, TargetSearchResult, TargetSpec } from '@mimir/api-contract';
import type { TargetCount } from './apiTypes';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';

export type TargetKind = 'all' | 'host' | 'group' | 'label' | 'platform';
export interface Target {
  kind: TargetKind;
  /** Host/group/label id; platform name for platforms; 0 for all. */
  id: number | string;
  label: string;
}

const KIND_LABEL: Record<TargetKind, string> = { all: 'All', host: 'Host', group: 'Group', label: 'Label', platform: 'Platform' };
const ALL: Target = { kind: 'all', id: 0, label: 'All hosts' };

export function targetKey(t: Target): string {
  return `${t.kind}:${String(t.id)}`;
}

/** The API's target spec (a host matching any part is targeted). */
export function toTargetSpec(targets: readonly Target[]): TargetSpec {
  const spec: TargetSpec = {};
  const ids = (k: TargetKind) => targets.filter((t) => t.kind === k).map((t) => Number(t.id));
  if (targets.some((t) => t.kind === 'all')) spec.all = true;
  const hostIds = ids('host');
  const groupIds = ids('group');
  const labelIds = ids('label');
  const platforms = targets.filter((t) => t.kind === 'platform').map((t) => String(t.id) as Exclude<HostPlatform, 'unknown'>);
  if (hostIds.length > 0) spec.hostIds = hostIds;
  if (groupIds.length > 0) spec.groupIds = groupIds;
  if (labelIds.length > 0) spec.labelIds = labelIds;
  if (platforms.length > 0) spec.platforms = platforms;
  return spec;
}

/** Platforms the selection names explicitly (for SQL platform warnings); empty when unknown. */
export function targetPlatforms(targets: readonly Target[]): string[] {
  return targets.filter((t) => t.kind === 'platform').map((t) => String(t.id));
}

function suggestions(r: TargetSearchResult | undefined, q: string): Target[] {
  const out: Target[] = [];
  if ('all hosts'.includes(q.toLowerCase())) out.push(ALL);
  if (r === undefined) return out;
  for (const h of r.hosts) out.push({ kind: 'host', id: h.id, label: `${h.displayName} (${h.platform}, ${h.status}, #${h.id})` });
  for (const g of r.groups) out.push({ kind: 'group', id: g.id, label: `${g.name} (${g.hostCount} hosts)` });
  for (const l of r.labels) out.push({ kind: 'label', id: l.id, label: `${l.name} (${l.hostCount} hosts)` });
  for (const p of r.platforms) out.push({ kind: 'platform', id: p.platform, label: `${p.platform} (${p.hostCount} hosts)` });
  return out;
}

export function useTargetCount(targets: readonly Target[]) {
  const spec = toTargetSpec(targets);
  return useQuery({
    queryKey: ['targets', 'count', spec],
    queryFn: () => api.post<TargetCount>('/targets/count', spec),
    enabled: targets.length > 0,
    placeholderData: keepPreviousData,
  });
}

export function TargetPicker({ value, onChange, error }: { value: readonly Target[]; onChange: (t: Target[]) => void; error?: string | undefined }) {
  const combobox = useCombobox({ onDropdownClose: () => combobox.resetSelectedOption() });
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search, 200);
  const found = useQuery({
    queryKey: ['targets', 'search', debounced],
    queryFn: () => api.get<TargetSearchResult>('/targets/search', { q: debounced.trim(), limit: 10 }),
    // The API needs some text; with none the picker offers "All hosts" only.
    enabled: debounced.trim() !== '',
    placeholderData: keepPreviousData,
  });
  const count = useTargetCount(value);
  const selected = new Set(value.map(targetKey));
  const options = suggestions(debounced.trim() === '' ? undefined : found.data, debounced.trim());

  const toggle = (key: string) => {
    const t = options.find((o) => targetKey(o) === key);
    if (selected.has(key)) onChange(value.filter((v) => targetKey(v) !== key));
    else if (t !== undefined) onChange([...value, t]);
    setSearch('');
  };

  return (
    <div>
      <Combobox store={combobox} onOptionSubmit={toggle} withinPortal>
        <Combobox.DropdownTarget>
          <PillsInput label="Targets" description="Hosts by name, ID or platform, groups and labels" error={error} onClick={() => combobox.openDropdown()}>
            <Pill.Group>
              {value.map((t) => (
                <Pill key={targetKey(t)} withRemoveButton onRemove={() => onChange(value.filter((v) => targetKey(v) !== targetKey(t)))}>
                  {KIND_LABEL[t.kind]}: {t.label}
                </Pill>
              ))}
              <Combobox.EventsTarget>
                <PillsInput.Field
                  aria-label="Search targets"
                  placeholder={value.length === 0 ? 'Type a host name, ID, platform, group or label' : ''}
                  value={search}
                  onFocus={() => combobox.openDropdown()}
                  onBlur={() => combobox.closeDropdown()}
                  onChange={(e) => {
                    combobox.updateSelectedOptionIndex();
                    combobox.openDropdown();
                    setSearch(e.currentTarget.value);
                  }}
                  onKeyDown={(e) => {
                    const last = value[value.length - 1];
                    if (e.key === 'Backspace' && search === '' && last !== undefined) onChange(value.slice(0, -1));
                  }}
                />
              </Combobox.EventsTarget>
            </Pill.Group>
          </PillsInput>
        </Combobox.DropdownTarget>
        <Combobox.Dropdown>
          <Combobox.Options mah={320} style={{ overflowY: 'auto' }}>
            {found.isFetching && options.length === 0 && <Combobox.Empty><Loader size="xs" /></Combobox.Empty>}
            {!found.isFetching && options.length === 0 && <Combobox.Empty>Nothing matches</Combobox.Empty>}
            {options.map((o) => (
              <Combobox.Option value={targetKey(o)} key={targetKey(o)} active={selected.has(targetKey(o))}>
                <Group gap="xs" wrap="nowrap">
                  {selected.has(targetKey(o)) && <CheckIcon size={10} />}
                  <Badge size="xs" variant="light" w={64}>{KIND_LABEL[o.kind]}</Badge>
                  <Text size="sm">{o.label}</Text>
                </Group>
              </Combobox.Option>
            ))}
          </Combobox.Options>
        </Combobox.Dropdown>
      </Combobox>
      <Text size="sm" c="dimmed" mt={4} data-testid="target-count">
        {value.length === 0 ? 'No targets selected' : count.data !== undefined ? `${count.data.total} hosts selected, ${count.data.online} online` : 'Counting…'}
      </Text>
    </div>
  );
}
