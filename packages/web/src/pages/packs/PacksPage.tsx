/**
 * Packs (seed 004 "Schedule queries with packs", "Prebuilt packs"): the list with the Active toggle,
 * Add pack, Load prebuilt packs, osquery's example packs, import of a `.conf` file by drag and
 * drop (POST /packs/import: the pack is created as it is, name from the file), copy (prebuilt packs
 * are read-only until copied) and delete.
 */
import { ActionIcon, Alert, Anchor, Badge, Button, Group, Modal, Switch, Table, Text, TextInput, Tooltip } from '@mantine/core';
import { Dropzone } from '@mantine/dropzone';
import { useDebouncedValue, useDisclosure } from '@mantine/hooks';
import type { Pack, PackExampleList, PackList, PackSaved, PackSummary, PrebuiltLoadResult } from '@mimir/api-contract';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import { PageHeader, PagerControls, confirmDanger, useCursorPager } from '../../components/paging';
import { errorMessage, notifyError, notifySuccess } from '../../lib/notify';

function ExamplePacks({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['packs', 'examples'], queryFn: () => api.get<PackExampleList>('/packs/examples'), enabled: opened });
  const imp = useMutation({
    mutationFn: (name: string) => api.post<PackSaved>(`/packs/examples/${name}/import`, {}),
    onSuccess: (r) => {
      notifySuccess(`Pack ${r.pack.name} imported (inactive until you turn it on).`);
      void qc.invalidateQueries({ queryKey: ['packs'] });
      void navigate(`/packs/${r.pack.id}`);
    },
    onError: (e) => notifyError(e, 'Import failed'),
  });
  return (
    <Modal opened={opened} onClose={onClose} title="osquery example packs" size="xl">
      {list.isError && <Alert color="red">{errorMessage(list.error)}</Alert>}
      <Table fz="sm">
        <Table.Thead><Table.Tr><Table.Th>Pack</Table.Th><Table.Th>Platform</Table.Th><Table.Th>Queries</Table.Th><Table.Th>License</Table.Th><Table.Th aria-label="Actions" /></Table.Tr></Table.Thead>
        <Table.Tbody>
          {list.data?.items.map((e) => (
            <Table.Tr key={e.name}>
              <Table.Td><Text size="sm" fw={600}>{e.name}</Text><Text size="xs" c="dimmed">{e.note}</Text></Table.Td>
              <Table.Td>{e.platform === '' ? 'all' : e.platform}</Table.Td>
              <Table.Td>{e.queryCount}</Table.Td>
              <Table.Td>{e.license}</Table.Td>
              <Table.Td><Button size="xs" variant="light" loading={imp.isPending && imp.variables === e.name} onClick={() => imp.mutate(e.name)}>Import</Button></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Modal>
  );
}

export default function PacksPage() {
  const user = useUser();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [text, setText] = useState('');
  const [q] = useDebouncedValue(text.trim(), 300);
  const pager = useCursorPager();
  const [examples, examplesCtl] = useDisclosure(false);
  const [importError, setImportError] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['packs', 'list', q, pager.cursor],
    queryFn: () => api.get<PackList>('/packs', { q, limit: 50, cursor: pager.cursor }),
    placeholderData: keepPreviousData,
  });
  const invalidate = () => void qc.invalidateQueries({ queryKey: ['packs'] });
  const toggle = useMutation({
    mutationFn: (p: PackSummary) => api.patch<PackSaved>(`/packs/${p.id}`, { enabled: !p.enabled }),
    onSuccess: (r) => {
      notifySuccess(`Pack ${r.pack.name} ${r.pack.enabled ? 'activated' : 'deactivated'}.`);
      invalidate();
    },
    onError: (e) => notifyError(e, 'Could not change the pack'),
  });
  const loadPrebuilt = useMutation({
    mutationFn: () => api.post<PrebuiltLoadResult>('/packs/prebuilt/load', {}),
    onSuccess: (r) => {
      const by = (o: string) => r.items.filter((i) => i.outcome === o).length;
      notifySuccess(`${by('created')} created, ${by('updated')} updated, ${by('unchanged')} unchanged${by('skipped') > 0 ? `, ${by('skipped')} skipped` : ''}.`, 'Prebuilt packs loaded');
      invalidate();
    },
    onError: (e) => notifyError(e, 'Could not load the prebuilt packs'),
  });
  const importConf = useMutation({
    mutationFn: async (file: File) => api.post<PackSaved>('/packs/import', { conf: await file.text(), fileName: file.name }),
    onSuccess: (r) => {
      setImportError(null);
      notifySuccess(`Pack ${r.pack.name} imported with ${r.pack.queries.length} queries${r.warnings.length > 0 ? ` (${r.warnings.length} warnings)` : ''}.`);
      invalidate();
    },
    onError: (e) => setImportError(errorMessage(e)),
  });
  const copy = useMutation({
    mutationFn: (p: PackSummary) => api.post<Pack>(`/packs/${p.id}/copy`, {}),
    onSuccess: (p) => {
      notifySuccess(`Copied to ${p.name} (inactive): edit it, then turn it on.`);
      invalidate();
      void navigate(`/packs/${p.id}/edit`);
    },
    onError: (e) => notifyError(e, 'Copy failed'),
  });
  const del = useMutation({
    mutationFn: (p: PackSummary) => api.del(`/packs/${p.id}`),
    onSuccess: () => {
      notifySuccess('Pack deleted.');
      invalidate();
    },
    onError: (e) => notifyError(e, 'Delete failed'),
  });
  const writer = canRunQueries(user.role);

  return (
    <>
      <PageHeader
        title="Packs"
        description="Groups of scheduled queries, deployed to groups of hosts."
        actions={writer && <>
          <Button variant="default" onClick={examplesCtl.open}>Example packs</Button>
          <Button variant="default" loading={loadPrebuilt.isPending} onClick={() => loadPrebuilt.mutate()}>Load prebuilt packs</Button>
          <Button component={Link} to="/packs/new">Add pack</Button>
        </>}
      />
      <ExamplePacks opened={examples} onClose={examplesCtl.close} />
      <TextInput label="Search" placeholder="Name or description" size="xs" w={300} mb="sm" value={text} onChange={(e) => { setText(e.currentTarget.value); pager.reset(); }} />
      {list.isError && <Alert color="red" mb="sm">{errorMessage(list.error)}</Alert>}
      <Table.ScrollContainer minWidth={900}>
        <Table striped highlightOnHover aria-label="Packs">
          <Table.Thead><Table.Tr><Table.Th>Active</Table.Th><Table.Th>Pack</Table.Th><Table.Th>Queries</Table.Th><Table.Th>Deployed on</Table.Th><Table.Th aria-label="Actions" /></Table.Tr></Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td><Switch aria-label={`Active: ${p.name}`} checked={p.enabled} disabled={!writer} onChange={() => toggle.mutate(p)} /></Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/packs/${p.id}`}>{p.name}</Anchor>
                  {p.readOnly && <Badge size="xs" ml={6} variant="light">prebuilt</Badge>}
                  <Text size="xs" c="dimmed" lineClamp={1}>{p.description}</Text>
                </Table.Td>
                <Table.Td>{p.queryCount}</Table.Td>
                <Table.Td>{p.global ? `All groups (${p.globalShard}%)` : p.targets.length === 0 ? <Text size="sm" c="dimmed">nowhere</Text> : p.targets.map((t) => `${t.groupName} (${t.shard}%)`).join(', ')}</Table.Td>
                <Table.Td>
                  {writer && (
                    <Group gap={4} wrap="nowrap">
                      <Tooltip label="Edit"><ActionIcon variant="subtle" component={Link} to={`/packs/${p.id}/edit`} aria-label={`Edit ${p.name}`}>✎</ActionIcon></Tooltip>
                      <Button size="compact-xs" variant="subtle" aria-label={`Copy ${p.name}`} loading={copy.isPending && copy.variables.id === p.id} onClick={() => copy.mutate(p)}>Copy</Button>
                      <Tooltip label="Delete"><ActionIcon variant="subtle" color="red" aria-label={`Delete ${p.name}`} onClick={() => confirmDanger({ title: `Delete pack ${p.name}?`, message: 'Hosts stop running its queries at their next config fetch. Stored results are kept.', confirm: 'Delete pack', onConfirm: () => del.mutate(p) })}>✕</ActionIcon></Tooltip>
                    </Group>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
            {list.data?.items.length === 0 && <Table.Tr><Table.Td colSpan={5}><Text c="dimmed" ta="center" py="md">No packs yet.</Text></Table.Td></Table.Tr>}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <PagerControls pager={pager} nextCursor={list.data?.nextCursor} label="Packs" />
      {writer && (
        <>
          <Dropzone
            mt="md"
            p="lg"
            loading={importConf.isPending}
            multiple={false}
            maxSize={1_000_000}
            onDrop={(files) => files[0] !== undefined && importConf.mutate(files[0])}
            onReject={() => setImportError('Only one .conf (JSON) pack file up to 1 MB.')}
            aria-label="Import a .conf pack"
            data-testid="pack-import-dropzone"
          >
            <Text ta="center" fw={600}>Import an osquery .conf pack</Text>
            <Text ta="center" size="sm" c="dimmed">Drag the file here or click to choose it; the pack is named after the file.</Text>
          </Dropzone>
          {importError !== null && <Alert color="red" mt="xs" title="The pack was not imported">{importError}</Alert>}
        </>
      )}
    </>
  );
}
