/**
 * Audit log (admins only, `audit:read`): every sign-in (and failed attempt), every live query run
 * and every audited change, newest first, searchable by text and action, with a time window.
 */
import { Alert, Code, Group, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import type { AuditList } from '../../components/apiTypes';
import { PageHeader, PagerControls, useCursorPager } from '../../components/paging';
import { errorMessage } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';

function toIso(local: string): string | undefined {
  const d = new Date(local);
  return local === '' || Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export default function AuditLogPage() {
  const fmt = useFormatTime();
  const [text, setText] = useState('');
  const [action, setAction] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [q] = useDebouncedValue(text.trim(), 300);
  const [a] = useDebouncedValue(action.trim(), 300);
  const pager = useCursorPager();
  const filters = { q, action: a, since: toIso(since), until: toIso(until) };
  const list = useQuery({
    queryKey: ['audit', filters, pager.cursor],
    queryFn: () => api.get<AuditList>('/audit', { ...filters, limit: 50, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
  });
  const reset = <T,>(fn: (v: T) => void) => (v: T) => {
    fn(v);
    pager.reset();
  };

  return (
    <>
      <PageHeader title="Audit log" description="Sign-ins, live queries and changes, newest first." />
      <Group mb="sm" align="flex-end">
        <TextInput label="Search" placeholder="Action, actor or target" size="xs" w={260} value={text} onChange={(e) => reset(setText)(e.currentTarget.value)} />
        <TextInput label="Action" placeholder="e.g. live_query.run" size="xs" w={200} value={action} onChange={(e) => reset(setAction)(e.currentTarget.value)} />
        <TextInput type="datetime-local" label="Since" size="xs" w={200} value={since} onChange={(e) => reset(setSince)(e.currentTarget.value)} />
        <TextInput type="datetime-local" label="Until" size="xs" w={200} value={until} onChange={(e) => reset(setUntil)(e.currentTarget.value)} />
      </Group>
      {list.isError && <Alert color="red" mb="sm">{errorMessage(list.error)}</Alert>}
      <Table.ScrollContainer minWidth={1000}>
        <Table striped aria-label="Audit log" fz="sm">
          <Table.Thead><Table.Tr><Table.Th>Time</Table.Th><Table.Th>Actor</Table.Th><Table.Th>Action</Table.Th><Table.Th>Target</Table.Th><Table.Th>Address</Table.Th><Table.Th>Details</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{fmt(e.at)}</Table.Td>
                <Table.Td>{e.actorEmail}</Table.Td>
                <Table.Td><Text size="sm" ff="monospace">{e.action}</Text></Table.Td>
                <Table.Td>{e.targetType !== '' ? `${e.targetType} ${e.targetId}` : ''}</Table.Td>
                <Table.Td>{e.ip}</Table.Td>
                <Table.Td maw={480}>{e.details !== null && e.details !== undefined && <Code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>{JSON.stringify(e.details)}</Code>}</Table.Td>
              </Table.Tr>
            ))}
            {list.data?.items.length === 0 && <Table.Tr><Table.Td colSpan={6}><Text c="dimmed" ta="center" py="md">No entries match.</Text></Table.Td></Table.Tr>}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <PagerControls pager={pager} nextCursor={list.data?.nextCursor} label="Audit log" />
    </>
  );
}
