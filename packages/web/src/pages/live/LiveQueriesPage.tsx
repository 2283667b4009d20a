/**
 * Live queries history (seed 004 "View or rerun previous live queries"): the last 30 days by
 * default, searchable; rerun (a new live query with the same SQL and targets, resolved again) and
 * view results.
 */
import { ActionIcon, Alert, Anchor, Button, Group, Select, Table, Text, TextInput, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { LiveQuery } from '@mimir/api-contract';
import type { LiveQueryList } from '../../components/apiTypes';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import { PageHeader, PagerControls, useCursorPager } from '../../components/paging';
import { errorMessage, notifyError } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';
import { LiveStateBadge } from './badges';

export default function LiveQueriesPage() {
  const user = useUser();
  const fmt = useFormatTime();
  const navigate = useNavigate();
  const [text, setText] = useState('');
  const [q] = useDebouncedValue(text.trim(), 300);
  const [days, setDays] = useState<string | null>('30');
  const pager = useCursorPager();
  const list = useQuery({
    queryKey: ['live-queries', 'list', q, days, pager.cursor],
    queryFn: () => api.get<LiveQueryList>('/live-queries', { q, days: days ?? undefined, limit: 50, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  });
  const rerun = useMutation({
    mutationFn: (id: number) => api.post<LiveQuery>(`/live-queries/${id}/rerun`),
    onSuccess: (lq) => void navigate(`/live/${lq.id}`),
    onError: (e) => notifyError(e, 'Rerun failed'),
  });
  const runner = canRunQueries(user.role);

  return (
    <>
      <PageHeader
        title="Live queries"
        description="Queries run on hosts on demand, with their results and per-host status."
        actions={runner && <Button component={Link} to="/live/new">New live query</Button>}
      />
      <Group mb="sm" align="flex-end">
        <TextInput label="Search" placeholder="SQL or pack name" value={text} onChange={(e) => { setText(e.currentTarget.value); pager.reset(); }} w={320} size="xs" />
        <Select label="Period" size="xs" w={160} value={days} onChange={(v) => { setDays(v); pager.reset(); }} allowDeselect={false} data={[{ value: '1', label: 'Last 24 hours' }, { value: '7', label: 'Last 7 days' }, { value: '30', label: 'Last 30 days' }, { value: '365', label: 'Last year' }]} />
      </Group>
      {list.isError && <Alert color="red" mb="sm">{errorMessage(list.error)}</Alert>}
      <Table.ScrollContainer minWidth={900}>
        <Table striped highlightOnHover aria-label="Live query history">
          <Table.Thead>
            <Table.Tr><Table.Th>Query</Table.Th><Table.Th>Status</Table.Th><Table.Th>Hosts</Table.Th><Table.Th>Rows</Table.Th><Table.Th>Run by</Table.Th><Table.Th>Started</Table.Th><Table.Th aria-label="Actions" /></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((l) => (
              <Table.Tr key={l.id}>
                <Table.Td maw={480}>
                  <Anchor component={Link} to={`/live/${l.id}`} ff="monospace" size="sm" lineClamp={2}>{l.packName !== '' ? `Pack ${l.packName} (${l.queryCount} queries)` : l.sql}</Anchor>
                </Table.Td>
                <Table.Td><LiveStateBadge state={l.status} /></Table.Td>
                <Table.Td><Text size="sm">{l.counts.successful} ok, {l.counts.failed} failed, {l.counts.pending + l.counts.expired} no answer / {l.counts.targeted}</Text></Table.Td>
                <Table.Td>{l.rowCount}{l.truncated ? '+' : ''}</Table.Td>
                <Table.Td>{l.createdBy.email}</Table.Td>
                <Table.Td>{fmt(l.createdAt)}</Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Tooltip label="View results"><ActionIcon variant="subtle" component={Link} to={`/live/${l.id}`} aria-label={`View results of live query ${l.id}`}>▦</ActionIcon></Tooltip>
                    {runner && <Tooltip label="Rerun"><ActionIcon variant="subtle" aria-label={`Rerun live query ${l.id}`} loading={rerun.isPending && rerun.variables === l.id} onClick={() => rerun.mutate(l.id)}>▶</ActionIcon></Tooltip>}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
            {list.data?.items.length === 0 && <Table.Tr><Table.Td colSpan={7}><Text c="dimmed" ta="center" py="md">No live queries in this period.</Text></Table.Td></Table.Tr>}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <PagerControls pager={pager} nextCursor={list.data?.nextCursor} label="Live queries" />
    </>
  );
}
