/**
 * A pack and the status of its queries (seed 004 "View status of scheduled packs"): last run,
 * result rows, hosts that ran it, watchdog denylisting; a row with errors expands to the status-log
 * lines about it. Edit, Run as a live query, and a link to the pack's scheduled results.
 */
import { Alert, Anchor, Badge, Button, Card, Code, Group, Loader, Stack, Table, Text, UnstyledButton } from '@mantine/core';
import type { Pack, PackQueryStatus, PackStatus } from '@mimir/api-contract';
import { useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import { PageHeader } from '../../components/paging';
import { errorMessage } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';

const STATE: Record<PackQueryStatus['state'], { label: string; color: string }> = {
  ok: { label: 'OK', color: 'teal' },
  errors: { label: 'Errors', color: 'red' },
  denylisted: { label: 'Denylisted', color: 'orange' },
  not_run: { label: 'Not run yet', color: 'gray' },
};

export default function PackView() {
  const { id } = useParams();
  const packId = Number(id);
  const user = useUser();
  const fmt = useFormatTime();
  const [open, setOpen] = useState<number | null>(null);
  const pack = useQuery({ queryKey: ['packs', packId], queryFn: () => api.get<Pack>(`/packs/${packId}`) });
  const status = useQuery({ queryKey: ['packs', packId, 'status'], queryFn: () => api.get<PackStatus>(`/packs/${packId}/status`), refetchInterval: 30_000 });
  if (pack.isError) return <Alert color="red" title="Cannot load the pack">{errorMessage(pack.error)}</Alert>;
  const p = pack.data;
  if (p === undefined) return <Loader aria-label="Loading pack" />;
  const byName = new Map(p.queries.map((q) => [q.name, q]));
  const writer = canRunQueries(user.role);

  return (
    <Stack>
      <PageHeader
        title={p.name}
        description={<>{p.enabled ? <Badge color="teal" variant="light">Active</Badge> : <Badge color="gray" variant="light">Inactive</Badge>}{p.readOnly && <Badge ml={6} variant="light">prebuilt</Badge>} <Text span size="sm" c="dimmed" ml={6}>{p.global ? `Every group, shard ${p.globalShard}%` : p.targets.length === 0 ? 'Not deployed' : p.targets.map((t) => `${t.groupName} (shard ${t.shard}%)`).join(', ')}</Text></>}
        actions={<>
          <Button variant="default" component={Link} to={`/results?packId=${p.id}`}>Results</Button>
          {writer && <Button variant="default" component={Link} to={`/packs/${p.id}/edit`}>Edit</Button>}
        </>}
      />
      {p.description !== '' && <Text>{p.description}</Text>}
      {status.isError && <Alert color="red">{errorMessage(status.error)}</Alert>}
      <Card withBorder>
        <Text size="sm" c="dimmed" mb="xs">{status.data !== undefined ? `${status.data.targetedHosts} hosts in the targeted groups; errors since ${fmt(status.data.errorWindowStart)}` : 'Loading status…'}</Text>
        <Table.ScrollContainer minWidth={900}>
          <Table fz="sm" aria-label="Query status">
            <Table.Thead><Table.Tr><Table.Th>Query</Table.Th><Table.Th>Interval</Table.Th><Table.Th>State</Table.Th><Table.Th>Hosts ran / scheduled</Table.Th><Table.Th>Last run</Table.Th><Table.Th>Result rows</Table.Th><Table.Th>Avg wall time</Table.Th><Table.Th>Errors</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {(status.data?.queries ?? []).map((s) => {
                const q = byName.get(s.name);
                const expandable = s.errors.length > 0 || s.denylisted.length > 0;
                return (
                  <Fragment key={s.queryId}>
                    <Table.Tr data-testid="pack-query-status">
                      <Table.Td>
                        {expandable ? <UnstyledButton onClick={() => setOpen(open === s.queryId ? null : s.queryId)} aria-expanded={open === s.queryId} fw={600} fz="sm">{open === s.queryId ? '▾' : '▸'} {s.name}</UnstyledButton> : <Text size="sm" fw={600}>{s.name}</Text>}
                        <Text size="xs" c="dimmed" ff="monospace" lineClamp={1}>{q?.sql}</Text>
                      </Table.Td>
                      <Table.Td>{q !== undefined ? `${q.interval}s` : ''}</Table.Td>
                      <Table.Td><Badge color={STATE[s.state].color} variant="light">{STATE[s.state].label}</Badge></Table.Td>
                      <Table.Td>{s.hostsRan} / {s.hostsScheduled}</Table.Td>
                      <Table.Td>{fmt(s.lastRunAt)}</Table.Td>
                      <Table.Td><Anchor component={Link} to={`/results?packId=${p.id}&query=${encodeURIComponent(s.name)}`}>{s.resultRows}</Anchor></Table.Td>
                      <Table.Td>{s.averageWallTimeMs !== null ? `${Math.round(s.averageWallTimeMs)} ms` : '—'}</Table.Td>
                      <Table.Td>{s.errorCount}</Table.Td>
                    </Table.Tr>
                    {open === s.queryId && (
                      <Table.Tr>
                        <Table.Td colSpan={8}>
                          {s.denylisted.length > 0 && <Text size="sm" c="orange">Denylisted by the watchdog on: {s.denylisted.map((h) => h.hostname).join(', ')}</Text>}
                          {s.errors.map((e, i) => (
                            <Group key={i} gap="xs" wrap="nowrap"><Text size="xs" c="dimmed" miw={170}>{fmt(e.at)}</Text><Anchor component={Link} to={`/hosts/${e.hostId}`} size="xs">{e.hostname}</Anchor><Code>{e.message}</Code></Group>
                          ))}
                        </Table.Td>
                      </Table.Tr>
                    )}
                  </Fragment>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
    </Stack>
  );
}
