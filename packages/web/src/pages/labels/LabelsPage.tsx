/**
 * Labels (fleet.md §1.6): built-in platform labels (read-only), dynamic labels (SQL run on each
 * host: a host is a member while the query returns rows; changing the query re-runs it everywhere)
 * and manual labels (an explicit host list: hosts are added in the form and removed from its member
 * list, POST /labels/:id/hosts and /labels/:id/hosts/remove). A label's hosts open in the Hosts page
 * filter.
 */
import { ActionIcon, Alert, Anchor, Badge, Button, Group, Modal, MultiSelect, Radio, SegmentedControl, Stack, Table, Text, TextInput, Textarea, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { Host, HostList, Label, LabelHostsResult, LabelType } from '@mimir/api-contract';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import type { LabelList, LabelWriteResult } from '../../components/apiTypes';
import { fieldErrorsOf, otherErrors } from '../../components/formErrors';
import { PageHeader, PagerControls, confirmDanger, useCursorPager } from '../../components/paging';
import { SqlEditor } from '../../components/SqlEditor';
import { errorMessage, notifyError, notifySuccess } from '../../lib/notify';

const PLATFORMS = [{ value: 'darwin', label: 'macOS' }, { value: 'linux', label: 'Linux' }, { value: 'windows', label: 'Windows' }, { value: 'freebsd', label: 'FreeBSD' }];

/** Hosts to add to a manual label, searched as you type (GET /hosts?q=). */
function HostMultiSelect({ value, onChange, label }: { value: string[]; onChange: (v: string[]) => void; label: string }) {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 200);
  const [known, setKnown] = useState<Record<string, string>>({});
  const found = useQuery({ queryKey: ['hosts', 'pick', q], queryFn: () => api.get<HostList>('/hosts', { q, limit: 20 }), placeholderData: keepPreviousData });
  const data = new Map<string, string>(Object.entries(known));
  for (const h of found.data?.items ?? []) data.set(String(h.id), `${h.displayName} (#${h.id})`);
  return (
    <MultiSelect
      label={label}
      placeholder="Search hosts by name, IP, serial…"
      searchable
      searchValue={search}
      onSearchChange={setSearch}
      filter={({ options }) => options}
      data={[...data].map(([v, l]) => ({ value: v, label: l }))}
      value={value}
      onChange={(v) => {
        setKnown(Object.fromEntries([...data].filter(([k]) => v.includes(k))));
        onChange(v);
      }}
    />
  );
}

/**
 * The members of a manual label, each with a Remove button (removal applies at once: adding the host
 * back in the form undoes it). Dynamic membership comes from the hosts' answers, so only manual
 * labels get this list.
 */
function ManualLabelMembers({ label }: { label: Label }) {
  const qc = useQueryClient();
  const pager = useCursorPager();
  const members = useQuery({
    queryKey: ['labels', label.id, 'hosts', pager.cursor],
    queryFn: () => api.get<HostList>(`/labels/${label.id}/hosts`, { limit: 25, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
  });
  const remove = useMutation({
    mutationFn: (h: Host) => api.post<LabelHostsResult>(`/labels/${label.id}/hosts/remove`, { hostIds: [h.id] }),
    onSuccess: (r, h) => {
      notifySuccess(`${h.displayName} removed from ${label.name}; ${r.hostCount} ${r.hostCount === 1 ? 'host remains' : 'hosts remain'}.`);
      // A removal can empty the last page: go back to the first.
      if (members.data?.items.length === 1) pager.reset();
      void qc.invalidateQueries({ queryKey: ['labels'] });
      void qc.invalidateQueries({ queryKey: ['hosts'] });
    },
    onError: (e) => notifyError(e, 'The host was not removed'),
  });
  const items = members.data?.items ?? [];
  return (
    <Stack gap={4}>
      <Text size="sm" fw={500}>Member hosts</Text>
      {members.isError && <Alert color="red">{errorMessage(members.error)}</Alert>}
      {members.data !== undefined && items.length === 0 && <Text size="sm" c="dimmed">No hosts in this label yet.</Text>}
      {items.length > 0 && (
        <Table fz="sm" aria-label={`Hosts in ${label.name}`}>
          <Table.Tbody>
            {items.map((h) => (
              <Table.Tr key={h.id}>
                <Table.Td>{h.displayName} <Text span size="xs" c="dimmed">(#{h.id}, {h.platform})</Text></Table.Td>
                <Table.Td w={110}>
                  <Button size="compact-xs" variant="light" color="red" aria-label={`Remove ${h.displayName} from ${label.name}`} loading={remove.isPending && remove.variables.id === h.id} onClick={() => remove.mutate(h)}>Remove</Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {(pager.page > 1 || (members.data?.nextCursor ?? null) !== null) && <PagerControls pager={pager} nextCursor={members.data?.nextCursor} label={`Hosts in ${label.name}`} />}
    </Stack>
  );
}

function LabelForm({ label, onClose }: { label: Label | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState(label?.name ?? '');
  const [description, setDescription] = useState(label?.description ?? '');
  const [type, setType] = useState<'dynamic' | 'manual'>(label?.type === 'manual' ? 'manual' : 'dynamic');
  const [query, setQuery] = useState(label?.query ?? '');
  const [platforms, setPlatforms] = useState<string[]>(label?.platforms ?? []);
  const [hostIds, setHostIds] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: async () => {
      const plats = platforms as Label['platforms'];
      if (label === null) {
        return api.post<LabelWriteResult>('/labels', {
          name: name.trim(), description, type,
          ...(type === 'dynamic' ? { query, platforms: plats } : { hostIds: hostIds.map(Number) }),
        });
      }
      const r = await api.patch<LabelWriteResult>(`/labels/${label.id}`, { name: name.trim(), description, ...(label.type === 'dynamic' ? { query, platforms: plats } : {}) });
      if (label.type === 'manual' && hostIds.length > 0) await api.post(`/labels/${label.id}/hosts`, { hostIds: hostIds.map(Number) });
      return r;
    },
    onSuccess: (r) => {
      notifySuccess(`Label ${r.label.name} saved.${r.queuedHosts > 0 ? ` Its query runs on ${r.queuedHosts} hosts at their next check-in.` : ''}`);
      void qc.invalidateQueries({ queryKey: ['labels'] });
      onClose();
    },
    onError: (e) => {
      const f = fieldErrorsOf(e);
      setErrors(f);
      if (Object.keys(f).length === 0) notifyError(e, 'The label was not saved');
    },
  });
  const rest = otherErrors(errors, ['name', 'description', 'query', 'platforms', 'hostIds']);
  const isDynamic = (label?.type ?? type) === 'dynamic';
  return (
    <Stack>
      <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors['name']} data-autofocus />
      <Textarea label="Description" autosize minRows={1} value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={errors['description']} />
      {label === null && (
        <Radio.Group label="Type" value={type} onChange={(v) => setType(v === 'manual' ? 'manual' : 'dynamic')}>
          <Group mt={4}><Radio value="dynamic" label="Dynamic (SQL)" /><Radio value="manual" label="Manual (host list)" /></Group>
        </Radio.Group>
      )}
      {isDynamic ? (
        <>
          <SqlEditor label="Membership query" description="A host is a member while this returns at least one row" value={query} onChange={setQuery} platforms={platforms} error={errors['query']} minHeight="80px" />
          <MultiSelect label="Platforms" placeholder="All platforms" data={PLATFORMS} value={platforms} onChange={setPlatforms} error={errors['platforms']} />
        </>
      ) : (
        <>
          {label !== null && <ManualLabelMembers label={label} />}
          <HostMultiSelect value={hostIds} onChange={setHostIds} label={label === null ? 'Hosts' : 'Add hosts'} />
        </>
      )}
      {rest.length > 0 && <Alert color="red">{rest.map((m) => <div key={m}>{m}</div>)}</Alert>}
      <Group justify="flex-end">
        <Button variant="default" onClick={onClose}>Cancel</Button>
        <Button onClick={() => save.mutate()} loading={save.isPending} disabled={name.trim() === '' || (isDynamic && query.trim() === '')}>Save label</Button>
      </Group>
    </Stack>
  );
}

export default function LabelsPage() {
  const user = useUser();
  const qc = useQueryClient();
  const [text, setText] = useState('');
  const [q] = useDebouncedValue(text.trim(), 300);
  const [type, setType] = useState<LabelType | 'all'>('all');
  const pager = useCursorPager();
  const [editing, setEditing] = useState<Label | null | undefined>(undefined);
  const list = useQuery({
    queryKey: ['labels', 'list', q, type, pager.cursor],
    queryFn: () => api.get<LabelList>('/labels', { q, type: type === 'all' ? undefined : type, limit: 100, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
  });
  const del = useMutation({
    mutationFn: (l: Label) => api.del(`/labels/${l.id}`),
    onSuccess: () => {
      notifySuccess('Label deleted.');
      void qc.invalidateQueries({ queryKey: ['labels'] });
    },
    onError: (e) => notifyError(e, 'Delete failed'),
  });
  const writer = canRunQueries(user.role);

  return (
    <>
      <PageHeader title="Labels" description="Group hosts by platform, by a query they answer, or by hand." actions={writer && <Button onClick={() => setEditing(null)}>Add label</Button>} />
      <Modal opened={editing !== undefined} onClose={() => setEditing(undefined)} title={editing === null ? 'Add label' : `Edit ${editing?.name ?? ''}`} size="xl">
        {editing !== undefined && <LabelForm label={editing} onClose={() => setEditing(undefined)} />}
      </Modal>
      <Group mb="sm" align="flex-end">
        <TextInput label="Search" placeholder="Label name" size="xs" w={260} value={text} onChange={(e) => { setText(e.currentTarget.value); pager.reset(); }} />
        <SegmentedControl size="xs" aria-label="Label type" value={type} onChange={(v) => { setType(v); pager.reset(); }} data={[{ value: 'all', label: 'All' }, { value: 'builtin', label: 'Built-in' }, { value: 'dynamic', label: 'Dynamic' }, { value: 'manual', label: 'Manual' }]} />
      </Group>
      {list.isError && <Alert color="red" mb="sm">{errorMessage(list.error)}</Alert>}
      <Table striped highlightOnHover aria-label="Labels">
        <Table.Thead><Table.Tr><Table.Th>Label</Table.Th><Table.Th>Type</Table.Th><Table.Th>Hosts</Table.Th><Table.Th>Query / platforms</Table.Th><Table.Th aria-label="Actions" /></Table.Tr></Table.Thead>
        <Table.Tbody>
          {list.data?.items.map((l) => (
            <Table.Tr key={l.id}>
              <Table.Td><Text size="sm" fw={600}>{l.name}</Text><Text size="xs" c="dimmed">{l.description}</Text></Table.Td>
              <Table.Td><Badge variant="light" color={l.type === 'builtin' ? 'gray' : l.type === 'dynamic' ? 'indigo' : 'grape'}>{l.type}</Badge></Table.Td>
              <Table.Td><Anchor component={Link} to={`/hosts?labelId=${l.id}`}>{l.hostCount}</Anchor></Table.Td>
              <Table.Td maw={420}><Text size="xs" ff="monospace" lineClamp={2}>{l.query !== '' ? l.query : l.platforms.join(', ')}</Text></Table.Td>
              <Table.Td>
                {writer && !l.readOnly && (
                  <Group gap={4} wrap="nowrap">
                    <Tooltip label="Edit"><ActionIcon variant="subtle" aria-label={`Edit ${l.name}`} onClick={() => setEditing(l)}>✎</ActionIcon></Tooltip>
                    <Tooltip label="Delete"><ActionIcon variant="subtle" color="red" aria-label={`Delete ${l.name}`} onClick={() => confirmDanger({ title: `Delete label ${l.name}?`, message: 'Packs and live queries that target it no longer reach its hosts.', confirm: 'Delete label', onConfirm: () => del.mutate(l) })}>✕</ActionIcon></Tooltip>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <PagerControls pager={pager} nextCursor={list.data?.nextCursor} label="Labels" />
    </>
  );
}
