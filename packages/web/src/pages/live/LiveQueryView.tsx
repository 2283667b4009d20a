/**
 * One live query (seed 004 step 7–8): results arriving live in a virtualized table, the Status tab
 * with each host's state (Successful / Failed with osquery's message / Not yet responded / Expired /
 * Cancelled), CSV and NDJSON export, cancel, rerun, and "Save for later".
 */
import { Alert, Anchor, Button, Card, Code, Group, Loader, Progress, SegmentedControl, Select, Stack, Table, Tabs, Text } from '@mantine/core';
import type { LiveHostStatus, LiveQuery } from '@mimir/api-contract';
import type { LiveHostList } from '../../components/apiTypes';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, downloadUrl } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import { NotFound, PageHeader, PagerControls, useCursorPager } from '../../components/paging';
import { errorMessage, notifyError, notifySuccess } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';
import { LiveCountBadges, LiveHostStatusBadge, LiveStateBadge } from './badges';
import { ResultsTable } from './ResultsTable';
import { ResultStore } from './resultStore';
import { useLiveStream } from './useLiveStream';

const EMPTY = new ResultStore(0);

function HostStatusTab({ id, queryIndex }: { id: number; queryIndex: number }) {
  const fmt = useFormatTime();
  const [status, setStatus] = useState<LiveHostStatus | 'all'>('all');
  const pager = useCursorPager();
  const q = useQuery({
    queryKey: ['live-queries', id, 'hosts', queryIndex, status, pager.cursor],
    queryFn: () => api.get<LiveHostList>(`/live-queries/${id}/hosts`, { queryIndex, limit: 100, cursor: pager.cursor, status: status === 'all' ? undefined : status }),
    placeholderData: keepPreviousData,
  });
  return (
    <Stack gap="xs">
      <SegmentedControl
        aria-label="Filter hosts by status"
        value={status}
        onChange={(v) => {
          setStatus(v);
          pager.reset();
        }}
        data={[{ value: 'all', label: 'All' }, { value: 'successful', label: 'Successful' }, { value: 'failed', label: 'Failed' }, { value: 'pending', label: 'Not yet responded' }, { value: 'expired', label: 'Expired' }, { value: 'cancelled', label: 'Cancelled' }]}
        w="fit-content"
      />
      {q.isError && <Alert color="red">{errorMessage(q.error)}</Alert>}
      <Table fz="sm" aria-label="Per-host status">
        <Table.Thead><Table.Tr><Table.Th>Host</Table.Th><Table.Th>Platform</Table.Th><Table.Th>Status</Table.Th><Table.Th>Rows</Table.Th><Table.Th>Answered</Table.Th><Table.Th>Message</Table.Th></Table.Tr></Table.Thead>
        <Table.Tbody>
          {q.data?.items.map((h) => (
            <Table.Tr key={`${h.queryIndex}-${h.hostId}`} data-testid="live-host-row">
              <Table.Td><Anchor component={Link} to={`/hosts/${h.hostId}`}>{h.hostname}</Anchor></Table.Td>
              <Table.Td>{h.platform}</Table.Td>
              <Table.Td><LiveHostStatusBadge status={h.status} />{h.status === 'pending' && <Text span size="xs" c="dimmed" ml={4}>{h.delivered ? 'delivered' : 'not delivered'}</Text>}</Table.Td>
              <Table.Td>{h.rowCount}</Table.Td>
              <Table.Td>{fmt(h.answeredAt)}</Table.Td>
              <Table.Td><Text size="sm" {...(h.status === 'failed' ? { c: 'red' } : {})}>{h.message}</Text></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <PagerControls pager={pager} nextCursor={q.data?.nextCursor} label="Host status" />
    </Stack>
  );
}

export default function LiveQueryView() {
  const { id: idParam } = useParams();
  const id = Number(idParam);
  const user = useUser();
  const fmt = useFormatTime();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const detail = useQuery({ queryKey: ['live-queries', id, 'detail'], queryFn: () => api.get<LiveQuery>(`/live-queries/${id}`), enabled: Number.isInteger(id) && id > 0 });
  // Each `status` event (at most one a second) refreshes the details and the Status tab.
  const stream = useLiveStream(id, () => void qc.invalidateQueries({ queryKey: ['live-queries', id] }));
  const [queryIndex, setQueryIndex] = useState(0);
  const cancel = useMutation({
    mutationFn: () => api.post(`/live-queries/${id}/cancel`),
    onSuccess: () => {
      notifySuccess('Pending hosts were cancelled.', 'Live query cancelled');
      void qc.invalidateQueries({ queryKey: ['live-queries'] });
    },
    onError: (e) => notifyError(e, 'Cancel failed'),
  });
  const rerun = useMutation({
    mutationFn: () => api.post<LiveQuery>(`/live-queries/${id}/rerun`),
    onSuccess: (lq) => void navigate(`/live/${lq.id}`),
    onError: (e) => notifyError(e, 'Rerun failed'),
  });

  // `/live/new` lands here for roles that may not run queries: it is not a live query id.
  if (!Number.isInteger(id) || id <= 0) return <NotFound />;
  if (detail.isError) return <Alert color="red" title="Cannot load the live query">{errorMessage(detail.error)}</Alert>;
  const lq = detail.data;
  if (lq === undefined) return <Loader aria-label="Loading live query" />;
  const counts = stream.status?.counts ?? lq.counts;
  const state = stream.status?.status ?? lq.status;
  const part = lq.queries[queryIndex] ?? lq.queries[0];
  const store = stream.stores.get(queryIndex) ?? EMPTY;
  const answered = counts.targeted === 0 ? 100 : (100 * (counts.targeted - counts.pending)) / counts.targeted;
  const runner = canRunQueries(user.role);
  const exportQuery = lq.queries.length > 1 ? { queryIndex } : undefined;

  return (
    <Stack>
      <PageHeader
        title={`Live query #${lq.id}`}
        description={<>Run by {lq.createdBy.email} at {fmt(lq.createdAt)}{lq.packName !== '' ? `, pack ${lq.packName}` : ''}{lq.rerunOf !== null && <> (rerun of <Anchor component={Link} to={`/live/${lq.rerunOf}`}>#{lq.rerunOf}</Anchor>)</>}</>}
        actions={<>
          <Button component="a" variant="default" href={downloadUrl(`/live-queries/${lq.id}/results.csv`, exportQuery)} download>Export CSV</Button>
          <Button component="a" variant="default" href={downloadUrl(`/live-queries/${lq.id}/results.ndjson`, exportQuery)} download>Export NDJSON</Button>
          {runner && part !== undefined && lq.queries.length === 1 && <Button variant="default" onClick={() => void navigate('/queries/new', { state: { sql: part.sql, ecsMapping: part.ecsMapping } })}>Save for later</Button>}
          {runner && state === 'running' && <Button color="red" variant="light" loading={cancel.isPending} onClick={() => cancel.mutate()}>Cancel</Button>}
          {runner && <Button loading={rerun.isPending} onClick={() => rerun.mutate()}>Rerun</Button>}
        </>}
      />
      <Card withBorder>
        <Group justify="space-between" mb="xs">
          <Group gap="xs"><LiveStateBadge state={state} />{!stream.done && state === 'running' && <Loader size="xs" aria-label="Receiving results" />}</Group>
          <Text size="sm" c="dimmed">Timeout {lq.timeoutSeconds}s, expires {fmt(lq.expiresAt)}</Text>
        </Group>
        <Progress value={answered} aria-label="Hosts answered" mb="xs" />
        <Group gap="xs" data-testid="live-counts">
          <LiveCountBadges counts={counts} />
        </Group>
        {lq.queries.length > 1 && (
          <Select mt="sm" label="Query" w={360} value={String(queryIndex)} onChange={(v) => setQueryIndex(Number(v ?? 0))} data={lq.queries.map((q) => ({ value: String(q.index), label: q.name }))} allowDeselect={false} />
        )}
        {part !== undefined && <Code block mt="sm">{part.sql}</Code>}
        {lq.warnings.map((w) => <Text key={w} size="sm" c="yellow.8" mt={4}>{w}</Text>)}
        {lq.notice !== null && <Alert color="yellow" mt="sm">{lq.notice}</Alert>}
        {stream.error !== null && <Alert color="red" mt="sm">{stream.error}</Alert>}
      </Card>
      <Tabs defaultValue="results" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="results">Results</Tabs.Tab>
          <Tabs.Tab value="status">Status{counts.failed > 0 ? ` (${counts.failed} failed)` : ''}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="results" pt="sm"><ResultsTable store={store} version={stream.version} ecsMapping={part?.ecsMapping} /></Tabs.Panel>
        <Tabs.Panel value="status" pt="sm"><HostStatusTab id={lq.id} queryIndex={queryIndex} /></Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
