/**
 * Dashboard (issue #7): hosts by status, platform and osquery version (GET /hosts/summary, cached
 * a few seconds server-side), the newest live queries, and packs whose queries fail or were
 * denylisted by the osquery watchdog (GET /packs/:id/status per active pack).
 */
import { BarChart, DonutChart } from '@mantine/charts';
import { Alert, Anchor, Badge, Card, Group, SimpleGrid, Skeleton, Stack, Table, Text, Title } from '@mantine/core';
import type { HostSummary, PackList, PackStatus } from '@mimir/api-contract';
import type { LiveQueryList } from '../../components/apiTypes';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { useFormatTime } from '../../lib/time';
import { errorMessage } from '../../lib/notify';
import { PageHeader } from '../../components/paging';
import { LiveStateBadge } from '../live/badges';

/** Status of at most this many active packs is fetched for the failing-packs card. */
const PACKS_CHECKED = 25;

function Stat({ label, value, color, to }: { label: string; value: number | undefined; color: string; to: string }) {
  return (
    <Card withBorder padding="md" component={Link} to={to} aria-label={`${label}: ${value ?? '…'} hosts`}>
      <Text size="sm" c="dimmed">{label}</Text>
      <Text fz={30} fw={700} c={color} data-testid={`stat-${label.toLowerCase()}`}>{value ?? '…'}</Text>
    </Card>
  );
}

function FailingPacks() {
  const q = useQuery({
    queryKey: ['dashboard', 'failing-packs'],
    queryFn: async () => {
      const packs = await api.get<PackList>('/packs', { enabled: true, limit: PACKS_CHECKED });
      const statuses = await Promise.all(packs.items.map((p) => api.get<PackStatus>(`/packs/${p.id}/status`)));
      return statuses
        .map((s) => ({ s, bad: s.queries.filter((x) => x.state === 'errors' || x.state === 'denylisted') }))
        .filter((x) => x.bad.length > 0);
    },
    refetchInterval: 60_000,
  });
  if (q.isError) return <Alert color="red" title="Cannot load pack status">{errorMessage(q.error)}</Alert>;
  if (q.data === undefined) return <Skeleton h={60} />;
  if (q.data.length === 0) return <Text size="sm" c="dimmed">No active pack reports errors.</Text>;
  return (
    <Table>
      <Table.Thead><Table.Tr><Table.Th>Pack</Table.Th><Table.Th>Failing queries</Table.Th></Table.Tr></Table.Thead>
      <Table.Tbody>
        {q.data.map(({ s, bad }) => (
          <Table.Tr key={s.packId}>
            <Table.Td><Anchor component={Link} to={`/packs/${s.packId}`}>{s.name}</Anchor></Table.Td>
            <Table.Td>
              <Group gap={4}>
                {bad.map((b) => <Badge key={b.queryId} color={b.state === 'denylisted' ? 'orange' : 'red'} variant="light">{b.name}: {b.state}</Badge>)}
              </Group>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function RecentLiveQueries() {
  const fmt = useFormatTime();
  const q = useQuery({ queryKey: ['live-queries', 'recent'], queryFn: () => api.get<LiveQueryList>('/live-queries', { limit: 5 }), refetchInterval: 15_000 });
  if (q.isError) return <Alert color="red" title="Cannot load live queries">{errorMessage(q.error)}</Alert>;
  if (q.data === undefined) return <Skeleton h={60} />;
  if (q.data.items.length === 0) return <Text size="sm" c="dimmed">No live queries yet.</Text>;
  return (
    <Table>
      <Table.Tbody>
        {q.data.items.map((l) => (
          <Table.Tr key={l.id}>
            <Table.Td><Anchor component={Link} to={`/live/${l.id}`} ff="monospace" size="sm" lineClamp={1}>{l.packName !== '' ? `Pack ${l.packName}` : l.sql}</Anchor></Table.Td>
            <Table.Td><LiveStateBadge state={l.status} /></Table.Td>
            <Table.Td><Text size="sm">{l.counts.successful}/{l.counts.targeted} answered</Text></Table.Td>
            <Table.Td><Text size="sm" c="dimmed">{fmt(l.createdAt)}</Text></Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export default function Dashboard() {
  const fmt = useFormatTime();
  const summary = useQuery({ queryKey: ['hosts', 'summary'], queryFn: () => api.get<HostSummary>('/hosts/summary'), refetchInterval: 15_000 });
  const s = summary.data;
  const statusData = s === undefined ? [] : [
    { name: 'Online', value: s.online, color: 'teal.6' },
    { name: 'Offline', value: s.offline, color: 'gray.5' },
  ].filter((d) => d.value > 0);
  return (
    <Stack>
      <PageHeader title="Dashboard" description={s !== undefined ? `Counts as of ${fmt(s.generatedAt)}` : undefined} />
      {summary.isError && <Alert color="red" title="Cannot load the host summary">{errorMessage(summary.error)}</Alert>}
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Stat label="Total" value={s?.total} color="indigo" to="/hosts" />
        <Stat label="Online" value={s?.online} color="teal" to="/hosts?status=online" />
        <Stat label="Offline" value={s?.offline} color="gray" to="/hosts?status=offline" />
        <Stat label="New" value={s?.new} color="blue" to="/hosts?status=new" />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Card withBorder>
          <Title order={4} mb="sm">Hosts by status</Title>
          {s !== undefined && s.total > 0 ? <DonutChart data={statusData} withLabels withLabelsLine={false} withTooltip chartLabel={`${s.total} hosts`} size={180} thickness={26} mx="auto" /> : <Text size="sm" c="dimmed">No hosts enrolled yet.</Text>}
        </Card>
        <Card withBorder>
          <Title order={4} mb="sm">Platforms</Title>
          {s !== undefined && s.byPlatform.length > 0
            ? <BarChart h={200} data={s.byPlatform.map((p) => ({ platform: p.platform, Online: p.online, Offline: p.offline }))} dataKey="platform" type="stacked" series={[{ name: 'Online', color: 'teal.6' }, { name: 'Offline', color: 'gray.5' }]} />
            : <Text size="sm" c="dimmed">No data.</Text>}
        </Card>
        <Card withBorder>
          <Title order={4} mb="sm">osquery versions</Title>
          {s !== undefined && s.byOsqueryVersion.length > 0
            ? <BarChart h={200} data={s.byOsqueryVersion.map((v) => ({ version: v.version === '' ? 'unknown' : v.version, Hosts: v.count }))} dataKey="version" series={[{ name: 'Hosts', color: 'indigo.6' }]} />
            : <Text size="sm" c="dimmed">No data.</Text>}
        </Card>
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Card withBorder>
          <Group justify="space-between" mb="sm"><Title order={4}>Recent live queries</Title><Anchor component={Link} to="/live" size="sm">All live queries</Anchor></Group>
          <RecentLiveQueries />
        </Card>
        <Card withBorder>
          <Group justify="space-between" mb="sm"><Title order={4}>Failing packs</Title><Anchor component={Link} to="/packs" size="sm">All packs</Anchor></Group>
          <FailingPacks />
        </Card>
      </SimpleGrid>
    </Stack>
  );
}
