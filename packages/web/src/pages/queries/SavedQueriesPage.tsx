/**
 * Saved queries (seed 004 "Save queries", "Prebuilt queries"): search, prebuilt or own, run as a
 * live query, edit, copy a prebuilt one, delete (confirm).
 */
import { ActionIcon, Alert, Anchor, Badge, Button, Group, SegmentedControl, Table, Text, TextInput, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { SavedQuery } from '@mimir/api-contract';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import type { SavedQueryList } from '../../components/apiTypes';
import { PageHeader, PagerControls, confirmDanger, useCursorPager } from '../../components/paging';
import { errorMessage, notifyError, notifySuccess } from '../../lib/notify';
import { useFormatTime } from '../../lib/time';

export default function SavedQueriesPage() {
  const user = useUser();
  const fmt = useFormatTime();
  const qc = useQueryClient();
  const [text, setText] = useState('');
  const [q] = useDebouncedValue(text.trim(), 300);
  const [kind, setKind] = useState<'all' | 'mine' | 'prebuilt'>('all');
  const pager = useCursorPager();
  const list = useQuery({
    queryKey: ['queries', 'list', q, kind, pager.cursor],
    queryFn: () => api.get<SavedQueryList>('/queries', { q, prebuilt: kind === 'all' ? undefined : kind === 'prebuilt', limit: 50, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
  });
  const del = useMutation({
    mutationFn: (sq: SavedQuery) => api.del(`/queries/${sq.id}`),
    onSuccess: (_, sq) => {
      notifySuccess(`Saved query ${sq.name} deleted.`);
      void qc.invalidateQueries({ queryKey: ['queries'] });
    },
    onError: (e) => notifyError(e, 'Delete failed'),
  });
  const writer = canRunQueries(user.role);

  return (
    <>
      <PageHeader title="Saved queries" description="A library of queries to run live or add to packs." actions={writer && <Button component={Link} to="/queries/new">Add saved query</Button>} />
      <Group mb="sm" align="flex-end">
        <TextInput label="Search" placeholder="ID, description or SQL" size="xs" w={300} value={text} onChange={(e) => { setText(e.currentTarget.value); pager.reset(); }} />
        <SegmentedControl size="xs" aria-label="Which queries" value={kind} onChange={(v) => { setKind(v); pager.reset(); }} data={[{ value: 'all', label: 'All' }, { value: 'mine', label: 'Custom' }, { value: 'prebuilt', label: 'Prebuilt' }]} />
      </Group>
      {list.isError && <Alert color="red" mb="sm">{errorMessage(list.error)}</Alert>}
      <Table.ScrollContainer minWidth={900}>
        <Table striped highlightOnHover aria-label="Saved queries">
          <Table.Thead><Table.Tr><Table.Th>ID</Table.Th><Table.Th>Description</Table.Th><Table.Th>Platforms</Table.Th><Table.Th>Updated</Table.Th><Table.Th aria-label="Actions" /></Table.Tr></Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((sq) => (
              <Table.Tr key={sq.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/queries/${sq.id}`}>{sq.name}</Anchor>
                  {sq.prebuilt && <Badge size="xs" ml={6} variant="light">prebuilt</Badge>}
                  {sq.errors.length > 0 && <Badge size="xs" ml={6} color="red">invalid</Badge>}
                </Table.Td>
                <Table.Td maw={460}><Text size="sm" lineClamp={2}>{sq.description}</Text></Table.Td>
                <Table.Td>{sq.platform === '' ? 'All' : sq.platform}</Table.Td>
                <Table.Td>{fmt(sq.updatedAt)}</Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    {writer && <Tooltip label="Run as a live query"><ActionIcon variant="subtle" component={Link} to={`/live/new?savedQueryId=${sq.id}`} aria-label={`Run ${sq.name}`}>▶</ActionIcon></Tooltip>}
                    {writer && !sq.prebuilt && <Tooltip label="Edit"><ActionIcon variant="subtle" component={Link} to={`/queries/${sq.id}`} aria-label={`Edit ${sq.name}`}>✎</ActionIcon></Tooltip>}
                    {writer && !sq.prebuilt && (
                      <Tooltip label="Delete"><ActionIcon variant="subtle" color="red" aria-label={`Delete ${sq.name}`} onClick={() => confirmDanger({ title: `Delete ${sq.name}?`, message: 'Packs that copied this query keep their copy.', confirm: 'Delete', onConfirm: () => del.mutate(sq) })}>✕</ActionIcon></Tooltip>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
            {list.data?.items.length === 0 && <Table.Tr><Table.Td colSpan={5}><Text c="dimmed" ta="center" py="md">No saved queries.</Text></Table.Td></Table.Tr>}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <PagerControls pager={pager} nextCursor={list.data?.nextCursor} label="Saved queries" />
    </>
  );
}
