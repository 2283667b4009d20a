/**
 * Hosts (issue #7): free-text search and filters (status, platform, OS version, osquery version,
 * agent version, group, label) kept in the URL so a filtered list can be linked (the dashboard
 * does), sortable columns, keyset pagination and a CSV export of the same filters (GET /hosts.csv).
 */
import { Alert, Anchor, Button, Group, Paper, Select, Table, Text, TextInput, UnstyledButton } from '@mantine/core';
import type { HostList, HostSortKey, HostSummary } from '@mimir/api-contract';
import type { GroupList, LabelList } from '../../components/apiTypes';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, downloadUrl } from '../../api/client';
import { PageHeader, PagerControls, useCursorPager, useUrlFilters } from '../../components/paging';
import { errorMessage } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';
import { HostStatusBadge } from '../live/badges';

/** api-contract HOST_SORT_KEYS (not imported as a value: that would pull TypeBox into the bundle). */
const SORT_KEYS: readonly string[] = ['hostname', 'lastSeen', 'enrolledAt', 'osqueryVersion', 'platform'] satisfies HostSortKey[];
const FILTERS = ['status', 'platform', 'osVersion', 'osqueryVersion', 'agentVersion', 'groupId', 'labelId'] as const;
type FilterKey = (typeof FILTERS)[number];

interface Filters extends Record<string, string | number | undefined> {
  sort?: HostSortKey;
  order?: 'asc' | 'desc';
}

function filtersFrom(params: URLSearchParams): Filters {
  const f: Filters = {};
  const q = params.get('q');
  if (q !== null && q !== '') f['q'] = q;
  for (const k of FILTERS) {
    const v = params.get(k);
    if (v === null || v === '') continue;
    if (k === 'groupId' || k === 'labelId') {
      // A hand-edited URL with a non-numeric id is ignored rather than sent (the API would refuse it).
      if (/^[1-9]\d{0,15}$/.test(v)) f[k] = Number(v);
    } else f[k] = v;
  }
  const sort = params.get('sort');
  if (sort !== null && SORT_KEYS.includes(sort)) f.sort = sort as HostSortKey;
  const order = params.get('order');
  if (order === 'asc' || order === 'desc') f.order = order;
  return f;
}

function SortHeader({ label, k, sort, order, onSort }: { label: string; k: HostSortKey; sort: string | undefined; order: string | undefined; onSort: (k: HostSortKey) => void }) {
  const active = sort === k;
  return (
    <Table.Th aria-sort={active ? (order === 'desc' ? 'descending' : 'ascending') : 'none'}>
      <UnstyledButton onClick={() => onSort(k)} fw={700} fz="sm">{label}{active ? (order === 'desc' ? ' ↓' : ' ↑') : ''}</UnstyledButton>
    </Table.Th>
  );
}

export default function HostsPage() {
  const fmt = useFormatTime();
  const pager = useCursorPager();
  const { params, setParams, setParam, setQ } = useUrlFilters(pager);
  const filters = filtersFrom(params);
  const [text, setText] = useState(params.get('q') ?? '');

  const list = useQuery({
    queryKey: ['hosts', 'list', filters, pager.cursor],
    queryFn: () => api.get<HostList>('/hosts', { ...filters, limit: 50, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
    refetchInterval: 15_000,
  });
  const summary = useQuery({ queryKey: ['hosts', 'summary'], queryFn: () => api.get<HostSummary>('/hosts/summary') });
  const groups = useQuery({ queryKey: ['groups'], queryFn: () => api.get<GroupList>('/groups') });
  const labels = useQuery({ queryKey: ['labels', 'all'], queryFn: () => api.get<LabelList>('/labels', { limit: 1000 }) });

  const onSort = (k: HostSortKey) => {
    const next = new URLSearchParams(params);
    const same = filters.sort === k;
    next.set('sort', k);
    next.set('order', same && filters.order !== 'desc' ? 'desc' : 'asc');
    setParams(next, { replace: true });
    pager.reset();
  };
  const select = (k: FilterKey, label: string, data: { value: string; label: string }[]) => (
    <Select label={label} data={data} value={params.get(k)} onChange={(v) => setParam(k, v)} clearable searchable w={170} size="xs" placeholder="Any" />
  );
  const text1 = (k: FilterKey, label: string) => (
    <TextInput label={label} size="xs" w={130} placeholder="Any" defaultValue={params.get(k) ?? ''} onBlur={(e) => setParam(k, e.currentTarget.value.trim())} onKeyDown={(e) => e.key === 'Enter' && setParam(k, e.currentTarget.value.trim())} />
  );
  const { sort, order, ...exportFilters } = filters;
  const sortAndOrder = { sort, order };

  return (
    <>
      <PageHeader
        title="Hosts"
        description={summary.data !== undefined ? `${summary.data.total} enrolled, ${summary.data.online} online` : undefined}
        actions={<Button component="a" href={downloadUrl('/hosts.csv', { ...exportFilters, ...sortAndOrder })} variant="default" download>Export CSV</Button>}
      />
      <Paper withBorder p="sm" mb="sm">
        <Group align="flex-end" gap="sm" wrap="wrap">
          <TextInput label="Search" placeholder="Hostname, UUID, serial, IP…" value={text} onChange={(e) => {
            setText(e.currentTarget.value);
            setQ(e.currentTarget.value);
          }} w={260} size="xs" />
          {select('status', 'Status', [{ value: 'online', label: 'Online' }, { value: 'offline', label: 'Offline' }, { value: 'new', label: 'New (24 h)' }])}
          {select('platform', 'Platform', ['linux', 'darwin', 'windows', 'freebsd', 'unknown'].map((p) => ({ value: p, label: p })))}
          {text1('osVersion', 'OS version')}
          {select('osqueryVersion', 'osquery version', (summary.data?.byOsqueryVersion ?? []).filter((v) => v.version !== '').map((v) => ({ value: v.version, label: `${v.version} (${v.count})` })))}
          {text1('agentVersion', 'Agent version')}
          {select('groupId', 'Group', (groups.data?.items ?? []).map((g) => ({ value: String(g.id), label: g.name })))}
          {select('labelId', 'Label', (labels.data?.items ?? []).map((l) => ({ value: String(l.id), label: l.name })))}
        </Group>
      </Paper>
      {list.isError && <Alert color="red" title="Cannot load hosts" mb="sm">{errorMessage(list.error)}</Alert>}
      <Table.ScrollContainer minWidth={900}>
        <Table striped highlightOnHover aria-label="Hosts">
          <Table.Thead>
            <Table.Tr>
              <SortHeader label="Host" k="hostname" sort={filters.sort} order={filters.order} onSort={onSort} />
              <Table.Th>Status</Table.Th>
              <SortHeader label="Platform" k="platform" sort={filters.sort} order={filters.order} onSort={onSort} />
              <Table.Th>OS</Table.Th>
              <SortHeader label="osquery" k="osqueryVersion" sort={filters.sort} order={filters.order} onSort={onSort} />
              <Table.Th>Group</Table.Th>
              <Table.Th>IP</Table.Th>
              <SortHeader label="Last seen" k="lastSeen" sort={filters.sort} order={filters.order} onSort={onSort} />
              <SortHeader label="Enrolled" k="enrolledAt" sort={filters.sort} order={filters.order} onSort={onSort} />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((h) => (
              <Table.Tr key={h.id}>
                <Table.Td><Anchor component={Link} to={`/hosts/${h.id}`}>{h.displayName}</Anchor>{h.duplicateIdentifier && <Text span c="orange" size="xs" ml={4}>clone</Text>}</Table.Td>
                <Table.Td><HostStatusBadge status={h.status} isNew={h.isNew} /></Table.Td>
                <Table.Td>{h.platform}</Table.Td>
                <Table.Td>{h.osName} {h.osVersion}</Table.Td>
                <Table.Td>{h.osqueryVersion}</Table.Td>
                <Table.Td>{h.group.name}</Table.Td>
                <Table.Td ff="monospace" fz="xs">{h.primaryIp}</Table.Td>
                <Table.Td>{fmt(h.lastSeenAt)}</Table.Td>
                <Table.Td>{fmt(h.enrolledAt)}</Table.Td>
              </Table.Tr>
            ))}
            {list.data?.items.length === 0 && <Table.Tr><Table.Td colSpan={9}><Text c="dimmed" ta="center" py="md">No hosts match.</Text></Table.Td></Table.Tr>}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <PagerControls pager={pager} nextCursor={list.data?.nextCursor} label="Hosts" />
    </>
  );
}
