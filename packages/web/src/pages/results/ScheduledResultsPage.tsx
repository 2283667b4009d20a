/**
 * Scheduled query results (osquery result logs, osquery-protocol.md §4.2): newest first, filtered
 * by pack, query, host, action, time window and free text, with CSV and NDJSON export of the same
 * filters. Filters live in the URL (the pack page links here with `packId` and `query`).
 */
import { Alert, Anchor, Badge, Button, Code, Group, Paper, Select, Table, Text, TextInput } from '@mantine/core';
import type { PackList, ScheduledResultList } from '@mimir/api-contract';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, downloadUrl } from '../../api/client';
import { PageHeader, PagerControls, useCursorPager, useUrlFilters } from '../../components/paging';
import { errorMessage } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';

const KEYS = ['packId', 'query', 'hostId', 'action', 'since', 'until', 'q'] as const;

/** `datetime-local` (the browser's zone) ↔ the API's ISO UTC. */
function toIso(local: string): string {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export default function ScheduledResultsPage() {
  const fmt = useFormatTime();
  const pager = useCursorPager();
  const { params, setParam, setQ } = useUrlFilters(pager);
  const [text, setText] = useState(params.get('q') ?? '');
  const filters: Record<string, string | number> = {};
  for (const k of KEYS) {
    const v = params.get(k);
    if (v !== null && v !== '') filters[k] = k === 'packId' || k === 'hostId' ? Number(v) : v;
  }
  const list = useQuery({
    queryKey: ['results', filters, pager.cursor],
    queryFn: () => api.get<ScheduledResultList>('/results', { ...filters, limit: 50, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
  });
  const packs = useQuery({ queryKey: ['packs', 'all'], queryFn: () => api.get<PackList>('/packs', { limit: 1000 }) });

  return (
    <>
      <PageHeader
        title="Scheduled results"
        description="Rows logged by pack queries, newest first."
        actions={<>
          <Button component="a" variant="default" href={downloadUrl('/results.csv', filters)} download>Export CSV</Button>
          <Button component="a" variant="default" href={downloadUrl('/results.ndjson', filters)} download>Export NDJSON</Button>
        </>}
      />
      <Paper withBorder p="sm" mb="sm">
        <Group align="flex-end" gap="sm">
          <TextInput label="Search" placeholder="Column names and values" size="xs" w={240} value={text} onChange={(e) => { setText(e.currentTarget.value); setQ(e.currentTarget.value); }} />
          <Select label="Pack" size="xs" w={200} clearable searchable placeholder="Any" value={params.get('packId')} onChange={(v) => setParam('packId', v)} data={(packs.data?.items ?? []).map((p) => ({ value: String(p.id), label: p.name }))} />
          <TextInput label="Query" size="xs" w={160} placeholder="Any" defaultValue={params.get('query') ?? ''} onBlur={(e) => setParam('query', e.currentTarget.value.trim())} onKeyDown={(e) => e.key === 'Enter' && setParam('query', e.currentTarget.value.trim())} />
          <TextInput label="Host ID" size="xs" w={100} placeholder="Any" defaultValue={params.get('hostId') ?? ''} onBlur={(e) => setParam('hostId', e.currentTarget.value.trim())} onKeyDown={(e) => e.key === 'Enter' && setParam('hostId', e.currentTarget.value.trim())} />
          <Select label="Action" size="xs" w={130} clearable placeholder="Any" value={params.get('action')} onChange={(v) => setParam('action', v)} data={['added', 'removed', 'snapshot']} />
          <TextInput type="datetime-local" label="Since" size="xs" w={200} onChange={(e) => setParam('since', toIso(e.currentTarget.value))} />
          <TextInput type="datetime-local" label="Until" size="xs" w={200} onChange={(e) => setParam('until', toIso(e.currentTarget.value))} />
        </Group>
      </Paper>
      {list.isError && <Alert color="red" mb="sm">{errorMessage(list.error)}</Alert>}
      <Table.ScrollContainer minWidth={1000}>
        <Table striped aria-label="Scheduled results" fz="sm">
          <Table.Thead><Table.Tr><Table.Th>Time</Table.Th><Table.Th>Host</Table.Th><Table.Th>Pack / query</Table.Th><Table.Th>Action</Table.Th><Table.Th>Columns</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{fmt(r.time)}</Table.Td>
                <Table.Td>{r.hostname !== '' ? <Anchor component={Link} to={`/hosts/${r.hostId}`} size="sm">{r.hostname}</Anchor> : <Text size="sm" c="dimmed">deleted host #{r.hostId}</Text>}</Table.Td>
                <Table.Td>{r.pack !== '' ? `${r.pack} / ${r.query}` : r.name}</Table.Td>
                <Table.Td><Badge variant="light" color={r.action === 'removed' ? 'red' : r.action === 'added' ? 'teal' : 'gray'}>{r.action}</Badge></Table.Td>
                <Table.Td><Code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>{JSON.stringify(r.columns)}</Code></Table.Td>
              </Table.Tr>
            ))}
            {list.data?.items.length === 0 && <Table.Tr><Table.Td colSpan={5}><Text c="dimmed" ta="center" py="md">No results match.</Text></Table.Td></Table.Tr>}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <PagerControls pager={pager} nextCursor={list.data?.nextCursor} label="Results" />
    </>
  );
}
