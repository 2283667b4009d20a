/**
 * One host (issue #7): vitals, labels, group, packs with per-query schedule stats (osquery_schedule,
 * denylisted by the watchdog), recent status-log errors, and the actions: Refetch (vitals on the
 * next check-in, also queued for an offline host), Run live query on this host, Delete (confirm).
 */
import { Alert, Anchor, Badge, Button, Card, Code, Group, Loader, SimpleGrid, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import type { HostDetail } from '@mimir/api-contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import { PageHeader, confirmDanger } from '../../components/paging';
import { errorMessage, notifyError, notifySuccess } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';
import { HostStatusBadge } from '../live/badges';

function bytes(n: number): string {
  if (n <= 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i] ?? ''}`;
}

function duration(s: number): string {
  if (s <= 0) return '—';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>{label}</Text>
      <Text size="sm" style={{ wordBreak: 'break-all' }}>{children === '' ? '—' : children}</Text>
    </div>
  );
}

const SEVERITY = ['info', 'warning', 'error', 'fatal'];

export default function HostPage() {
  const { id } = useParams();
  const hostId = Number(id);
  const user = useUser();
  const fmt = useFormatTime();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [deleted, setDeleted] = useState(false);
  const q = useQuery({ queryKey: ['hosts', 'detail', hostId], queryFn: () => api.get<HostDetail>(`/hosts/${hostId}`), enabled: Number.isInteger(hostId) && hostId > 0 && !deleted, refetchInterval: 15_000 });
  const refetch = useMutation({
    mutationFn: () => api.post(`/hosts/${hostId}/refetch`),
    onSuccess: () => {
      notifySuccess('The host will send fresh vitals at its next check-in.', 'Refetch requested');
      void qc.invalidateQueries({ queryKey: ['hosts'] });
    },
    onError: (e) => notifyError(e, 'Refetch failed'),
  });
  const del = useMutation({
    mutationFn: () => api.del(`/hosts/${hostId}`),
    onSuccess: () => {
      notifySuccess('Host deleted.');
      // Stop the detail query first: it would ask for the deleted host (404) before the page leaves.
      setDeleted(true);
      void navigate('/hosts');
      void qc.invalidateQueries({ queryKey: ['hosts'], predicate: (query) => query.queryKey[1] !== 'detail' });
    },
    onError: (e) => notifyError(e, 'Delete failed'),
  });

  if (!Number.isInteger(hostId) || hostId <= 0) return <Alert color="red">Not a host id: {id}</Alert>;
  if (q.isError) return <Alert color="red" title="Cannot load the host">{errorMessage(q.error)}</Alert>;
  const h = q.data;
  if (h === undefined) return <Loader aria-label="Loading host" />;
  const writer = canRunQueries(user.role);

  return (
    <Stack>
      <PageHeader
        title={h.displayName}
        description={<><HostStatusBadge status={h.status} isNew={h.isNew} /> <Text span size="sm" c="dimmed" ml="xs">Last seen {fmt(h.lastSeenAt)}</Text></>}
        actions={writer && (
          <>
            <Button variant="default" loading={refetch.isPending} onClick={() => refetch.mutate()} disabled={h.refetchRequested}>
              {h.refetchRequested ? 'Refetch pending' : 'Refetch'}
            </Button>
            <Button component={Link} to={`/live/new?hostId=${h.id}`}>Run live query on this host</Button>
            <Button color="red" variant="light" loading={del.isPending} onClick={() => confirmDanger({
              title: `Delete ${h.displayName}?`,
              message: 'The host and its results are removed. If osquery still runs there it enrolls again as a new host.',
              confirm: 'Delete host',
              onConfirm: () => del.mutate(),
            })}>Delete</Button>
          </>
        )}
      />
      {h.duplicateIdentifier && <Alert color="orange" title="Cloned host">Another live osquery instance uses the same identifier ({h.identifier}).</Alert>}
      <Card withBorder>
        <SimpleGrid cols={{ base: 2, md: 4, xl: 6 }}>
          <Field label="Hostname">{h.hostname}</Field>
          <Field label="Platform">{h.platform}</Field>
          <Field label="OS">{`${h.osName} ${h.osVersion} ${h.osBuild}`.trim()}</Field>
          <Field label="Architecture">{h.arch}</Field>
          <Field label="osquery">{h.osqueryVersion}</Field>
          <Field label="Agent">{h.agentVersion}</Field>
          <Field label="CPU">{`${h.cpuBrand}${h.cpuLogicalCores > 0 ? ` (${h.cpuLogicalCores} cores)` : ''}`}</Field>
          <Field label="Memory">{bytes(h.physicalMemory)}</Field>
          <Field label="Disk free">{h.diskTotalBytes > 0 ? `${bytes(h.diskAvailableBytes)} of ${bytes(h.diskTotalBytes)}` : '—'}</Field>
          <Field label="Uptime">{duration(h.uptimeSeconds)}</Field>
          <Field label="Primary IP">{h.primaryIp}</Field>
          <Field label="Remote IP">{h.remoteIp}</Field>
          <Field label="MAC">{h.primaryMac}</Field>
          <Field label="Hardware">{`${h.hardwareVendor} ${h.hardwareModel}`.trim()}</Field>
          <Field label="Serial">{h.hardwareSerial}</Field>
          <Field label="UUID">{h.hardwareUuid}</Field>
          <Field label="Identifier">{h.identifier}</Field>
          <Field label="Group"><Anchor component={Link} to={`/hosts?groupId=${h.group.id}`}>{h.group.name}</Anchor></Field>
          <Field label="Enrolled">{fmt(h.enrolledAt)}</Field>
          <Field label="Vitals updated">{fmt(h.detailUpdatedAt)}</Field>
        </SimpleGrid>
        <Group gap={6} mt="md" aria-label="Labels">
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>Labels</Text>
          {h.labels.length === 0 ? <Text size="sm" c="dimmed">none</Text> : h.labels.map((l) => (
            <Badge key={l.id} component={Link} to={`/hosts?labelId=${l.id}`} variant="light" style={{ cursor: 'pointer' }}>{l.name}</Badge>
          ))}
        </Group>
      </Card>
      <Tabs defaultValue="packs" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="packs">Packs ({h.packs.length})</Tabs.Tab>
          <Tabs.Tab value="errors">Recent errors ({h.recentErrors.length})</Tabs.Tab>
          <Tabs.Tab value="users">Users ({h.users.length})</Tabs.Tab>
          <Tabs.Tab value="vitals">Vitals</Tabs.Tab>
          <Tabs.Tab value="agent">Agent</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="packs" pt="sm">
          {h.packs.length === 0 && <Text c="dimmed" size="sm">No pack targets this host.</Text>}
          {h.packs.map((p) => (
            <Card withBorder key={p.id} mb="sm">
              <Group justify="space-between"><Title order={5}><Anchor component={Link} to={`/packs/${p.id}`}>{p.name}</Anchor></Title><Text size="xs" c="dimmed">shard {p.shard}%{p.platform !== '' ? `, ${p.platform}` : ''}</Text></Group>
              <Table fz="sm" mt="xs">
                <Table.Thead><Table.Tr><Table.Th>Query</Table.Th><Table.Th>Interval</Table.Th><Table.Th>Executions</Table.Th><Table.Th>Last run</Table.Th><Table.Th>Wall time</Table.Th><Table.Th>Output</Table.Th><Table.Th>State</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {p.queries.map((pq) => (
                    <Table.Tr key={pq.name}>
                      <Table.Td>{pq.name}</Table.Td>
                      <Table.Td>{pq.interval}s</Table.Td>
                      <Table.Td>{pq.stats?.executions ?? '—'}</Table.Td>
                      <Table.Td>{fmt(pq.stats?.lastExecutedAt)}</Table.Td>
                      <Table.Td>{pq.stats !== null ? `${pq.stats.wallTimeMs} ms` : '—'}</Table.Td>
                      <Table.Td>{pq.stats !== null ? bytes(pq.stats.outputSize) : '—'}</Table.Td>
                      <Table.Td>{pq.stats === null ? <Badge color="gray" variant="light">not reported</Badge> : pq.stats.denylisted ? <Badge color="red">denylisted</Badge> : <Badge color="teal" variant="light">ok</Badge>}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Card>
          ))}
          {h.denylistedQueries.length > 0 && <Alert color="red" title="Denylisted by the osquery watchdog">{h.denylistedQueries.map((d) => d.name).join(', ')}</Alert>}
        </Tabs.Panel>
        <Tabs.Panel value="errors" pt="sm">
          {h.recentErrors.length === 0 ? <Text c="dimmed" size="sm">No warnings or errors in the status log.</Text> : (
            <Table fz="sm">
              <Table.Thead><Table.Tr><Table.Th>Time</Table.Th><Table.Th>Severity</Table.Th><Table.Th>Source</Table.Th><Table.Th>Message</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {h.recentErrors.map((e, i) => (
                  <Table.Tr key={i}>
                    <Table.Td>{fmt(e.at)}</Table.Td>
                    <Table.Td><Badge color={e.severity >= 2 ? 'red' : 'yellow'} variant="light">{SEVERITY[e.severity] ?? e.severity}</Badge></Table.Td>
                    <Table.Td ff="monospace" fz="xs">{e.filename}:{e.line}</Table.Td>
                    <Table.Td>{e.message}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="users" pt="sm">
          <Table fz="sm">
            <Table.Thead><Table.Tr><Table.Th>User</Table.Th><Table.Th>UID</Table.Th><Table.Th>Home</Table.Th><Table.Th>Shell</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>{h.users.map((u) => <Table.Tr key={u.uid + u.username}><Table.Td>{u.username}</Table.Td><Table.Td>{u.uid}</Table.Td><Table.Td>{u.directory}</Table.Td><Table.Td>{u.shell}</Table.Td></Table.Tr>)}</Table.Tbody>
          </Table>
        </Tabs.Panel>
        <Tabs.Panel value="agent" pt="sm">
          {h.agent === null ? <Text c="dimmed" size="sm">No mimir-agent has checked in for this host: osqueryd runs on its own, without managed updates.</Text> : (
            <Stack gap="sm">
              <SimpleGrid cols={{ base: 2, md: 4 }}>
                <Field label="Agent version">{h.agent.version}</Field>
                <Field label="osquery (agent report)">{h.agent.osqueryVersion}</Field>
                <Field label="OS / arch">{`${h.agent.os}/${h.agent.arch}`}</Field>
                <Field label="osquery auto-update">{h.agent.autoUpdate ? 'on' : <Badge color="orange" variant="light">off</Badge>}</Field>
                <Field label="Agent enrolled">{fmt(h.agent.enrolledAt)}</Field>
                <Field label="Last agent check-in">{fmt(h.agent.lastCheckInAt)}</Field>
              </SimpleGrid>
              {h.agent.recentUpdates.length > 0 && (
                <Table fz="sm" aria-label="Recent update attempts">
                  <Table.Thead><Table.Tr><Table.Th>Time</Table.Th><Table.Th>Kind</Table.Th><Table.Th>From</Table.Th><Table.Th>To</Table.Th><Table.Th>Outcome</Table.Th><Table.Th>Message</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>
                    {h.agent.recentUpdates.map((u, i) => (
                      <Table.Tr key={i}>
                        <Table.Td>{fmt(u.reportedAt)}</Table.Td>
                        <Table.Td>{u.kind}</Table.Td>
                        <Table.Td>{u.fromVersion}</Table.Td>
                        <Table.Td>{u.toVersion}</Table.Td>
                        <Table.Td><Badge color={u.outcome === 'installed' ? 'teal' : 'red'} variant="light">{u.outcome}</Badge></Table.Td>
                        <Table.Td>{u.message}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              )}
            </Stack>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="vitals" pt="sm">
          {h.vitals.map((v) => (
            <Card withBorder key={v.name} mb="xs">
              <Group justify="space-between"><Text fw={600} size="sm">{v.name}</Text><Text size="xs" c="dimmed">{fmt(v.updatedAt)}</Text></Group>
              <Code block mah={200} style={{ overflow: 'auto' }}>{JSON.stringify(v.data, null, 2)}</Code>
            </Card>
          ))}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
