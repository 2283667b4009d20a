/**
 * Add or edit a pack (seed 004 "Schedule queries with packs"): name, description, Active, deployed
 * on every group (Global) or on chosen groups (each group once) with a Shard slider per group (the
 * percentage of that group's hosts that run the pack, osquery `shard`); queries added by hand, from
 * a saved query (a copy: no link is kept) or by dropping a `.conf` pack under the query table.
 * Prebuilt packs: only Active and deployment change; copy the pack to edit its queries.
 */
import { Accordion, ActionIcon, Alert, Button, Card, Group, Loader, MultiSelect, NumberInput, Radio, Select, SimpleGrid, Slider, Stack, Switch, Text, TextInput, Textarea, Title } from '@mantine/core';
import { Dropzone } from '@mantine/dropzone';
import type { CreatePackRequest, Pack, PackQueryInput, PackSaved, UpdatePackRequest } from '@mimir/api-contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../../api/client';
import type { GroupList, SavedQueryList } from '../../components/apiTypes';
import { fieldErrorsOf, otherErrors } from '../../components/formErrors';
import { PageHeader } from '../../components/paging';
import { SqlEditor } from '../../components/SqlEditor';
import { notifyError, notifySuccess } from '../../lib/notify';
import { parseConfPack } from './conf';

const PLATFORMS = [{ value: 'darwin', label: 'macOS' }, { value: 'linux', label: 'Linux' }, { value: 'windows', label: 'Windows' }];

interface QueryForm {
  name: string;
  sql: string;
  interval: number | string;
  snapshot: boolean;
  platforms: string[];
  minOsqueryVersion: string;
  timeout: number | string;
  description: string;
}

interface TargetForm {
  groupId: string | null;
  shard: number;
}

interface PackForm {
  name: string;
  description: string;
  enabled: boolean;
  global: boolean;
  globalShard: number;
  targets: TargetForm[];
  queries: QueryForm[];
}

const splitPlatforms = (p: string) => p.split(',').map((x) => x.trim()).filter((x) => x !== '' && x !== 'all' && x !== 'any');

function fromPack(p: Pack): PackForm {
  return {
    name: p.name, description: p.description, enabled: p.enabled, global: p.global, globalShard: p.globalShard,
    targets: p.targets.map((t) => ({ groupId: String(t.groupId), shard: t.shard })),
    queries: p.queries.map((q) => ({ name: q.name, sql: q.sql, interval: q.interval, snapshot: q.snapshot, platforms: splitPlatforms(q.platform), minOsqueryVersion: q.minOsqueryVersion, timeout: q.timeout, description: q.description })),
  };
}

export function newQuery(partial: Partial<QueryForm> = {}): QueryForm {
  return { name: '', sql: '', interval: 3600, snapshot: true, platforms: [], minOsqueryVersion: '', timeout: 60, description: '', ...partial };
}

/** Prebuilt packs take only the deployment fields (the server refuses any other). */
function toBody(f: PackForm, readOnly: boolean): CreatePackRequest | UpdatePackRequest {
  const deploy = {
    enabled: f.enabled,
    global: f.global,
    ...(f.global ? { globalShard: f.globalShard, targets: [] } : { targets: f.targets.filter((t) => t.groupId !== null).map((t) => ({ groupId: Number(t.groupId), shard: t.shard })) }),
  };
  if (readOnly) return deploy;
  const queries: PackQueryInput[] = f.queries.map((q) => ({
    name: q.name.trim(), sql: q.sql, interval: Number(q.interval), snapshot: q.snapshot, platform: q.platforms.join(','),
    minOsqueryVersion: q.minOsqueryVersion.trim(), timeout: Number(q.timeout), description: q.description,
  }));
  return { name: f.name.trim(), description: f.description, ...deploy, queries };
}

function ShardSlider({ label, value, onChange }: { label: string; value: number; onChange: (v: number) => void }) {
  return (
    <Stack gap={4} style={{ flex: 1 }}>
      <Text size="sm">{label}: <strong>{value}%</strong> of hosts</Text>
      <Slider aria-label={label} min={1} max={100} value={value} onChange={onChange} marks={[{ value: 25, label: '25%' }, { value: 50, label: '50%' }, { value: 75, label: '75%' }, { value: 100, label: '100%' }]} mb="md" />
    </Stack>
  );
}

export default function PackEdit() {
  const { id } = useParams();
  const isNew = id === undefined;
  const packId = Number(id);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const existing = useQuery({ queryKey: ['packs', packId], queryFn: () => api.get<Pack>(`/packs/${packId}`), enabled: !isNew });
  const groups = useQuery({ queryKey: ['groups'], queryFn: () => api.get<GroupList>('/groups') });
  const saved = useQuery({ queryKey: ['queries', 'all'], queryFn: () => api.get<SavedQueryList>('/queries', { limit: 1000 }) });
  const [form, setForm] = useState<PackForm>({ name: '', description: '', enabled: true, global: false, globalShard: 100, targets: [], queries: [] });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [dropError, setDropError] = useState<string | null>(null);
  useEffect(() => {
    if (existing.data !== undefined) setForm(fromPack(existing.data));
  }, [existing.data]);
  const readOnly = existing.data?.readOnly === true;
  const set = <K extends keyof PackForm>(k: K, v: PackForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const setQuery = (i: number, patch: Partial<QueryForm>) => setForm((f) => ({ ...f, queries: f.queries.map((q, j) => (j === i ? { ...q, ...patch } : q)) }));
  const setTarget = (i: number, patch: Partial<TargetForm>) => setForm((f) => ({ ...f, targets: f.targets.map((t, j) => (j === i ? { ...t, ...patch } : t)) }));

  const save = useMutation({
    mutationFn: () => (isNew ? api.post<PackSaved>('/packs', toBody(form, false)) : api.patch<PackSaved>(`/packs/${packId}`, toBody(form, readOnly))),
    onSuccess: (r) => {
      notifySuccess(`Pack ${r.pack.name} saved.${r.warnings.length > 0 ? ` ${r.warnings.length} warning(s): ${r.warnings.map((w) => w.message).join('; ')}` : ''}`);
      void qc.invalidateQueries({ queryKey: ['packs'] });
      void navigate(`/packs/${r.pack.id}`);
    },
    onError: (e) => {
      const f = fieldErrorsOf(e);
      setErrors(f);
      if (Object.keys(f).length === 0) notifyError(e, 'The pack was not saved');
    },
  });

  if (existing.isError) return <Alert color="red" title="Cannot load the pack">{existing.error.message}</Alert>;
  if (!isNew && existing.data === undefined) return <Loader aria-label="Loading pack" />;
  const usedGroups = new Set(form.targets.map((t) => t.groupId));
  const groupOptions = (groups.data?.items ?? []).map((g) => ({ value: String(g.id), label: `${g.name} (${g.hostCount} hosts)` }));
  const rest = otherErrors(errors, ['name', 'description', 'targets', 'globalShard', 'queries']);

  const onDrop = async (files: File[]) => {
    setDropError(null);
    try {
      const added: QueryForm[] = [];
      for (const f of files) added.push(...parseConfPack(await f.text()).map((q) => newQuery(q)));
      setForm((f) => ({ ...f, queries: [...f.queries, ...added] }));
      notifySuccess(`${added.length} queries added from the pack file. Save the pack to keep them.`);
    } catch (err) {
      setDropError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <Stack maw={1200}>
      <PageHeader
        title={isNew ? 'Add pack' : `Edit ${existing.data?.name ?? ''}`}
        description={readOnly ? 'A prebuilt pack: you can change Active and where it is deployed. Copy it to edit its queries.' : undefined}
      />
      <Card withBorder>
        <Stack>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <TextInput label="Name" required value={form.name} onChange={(e) => set('name', e.currentTarget.value)} error={errors['name']} readOnly={readOnly} />
            <Switch label="Active" description="Inactive packs are not sent to hosts" checked={form.enabled} onChange={(e) => set('enabled', e.currentTarget.checked)} mt="lg" />
          </SimpleGrid>
          <Textarea label="Description" autosize minRows={1} value={form.description} onChange={(e) => set('description', e.currentTarget.value)} readOnly={readOnly} />
          <Radio.Group label="Deployment" value={form.global ? 'global' : 'groups'} onChange={(v) => set('global', v === 'global')}>
            <Group mt={4}><Radio value="groups" label="Selected groups" /><Radio value="global" label="Global (every group)" /></Group>
          </Radio.Group>
          {form.global ? (
            <ShardSlider label="Shard for every group" value={form.globalShard} onChange={(v) => set('globalShard', v)} />
          ) : (
            <Stack gap="xs">
              {form.targets.map((t, i) => (
                <Group key={i} align="flex-start" wrap="nowrap" data-testid="pack-target">
                  <Select label="Group" w={280} value={t.groupId} onChange={(v) => setTarget(i, { groupId: v })} data={groupOptions.filter((g) => g.value === t.groupId || !usedGroups.has(g.value))} error={errors[`targets/${i}/groupId`] ?? errors[`targets/${i}`]} allowDeselect={false} />
                  <ShardSlider label={`Shard for ${groupOptions.find((g) => g.value === t.groupId)?.label ?? 'this group'}`} value={t.shard} onChange={(v) => setTarget(i, { shard: v })} />
                  <ActionIcon variant="subtle" color="red" mt={24} aria-label="Remove group" onClick={() => set('targets', form.targets.filter((_, j) => j !== i))}>✕</ActionIcon>
                </Group>
              ))}
              {errors['targets'] !== undefined && <Text c="red" size="sm">{errors['targets']}</Text>}
              <Button size="xs" variant="light" w="fit-content" disabled={usedGroups.size >= groupOptions.length} onClick={() => set('targets', [...form.targets, { groupId: groupOptions.find((g) => !usedGroups.has(g.value))?.value ?? null, shard: 100 }])}>Add group</Button>
            </Stack>
          )}
        </Stack>
      </Card>

      <Card withBorder>
        <Group justify="space-between" mb="sm">
          <Title order={4}>Queries ({form.queries.length})</Title>
          {!readOnly && (
            <Group gap="xs">
              <Select
                placeholder="Add a saved query"
                aria-label="Add a saved query"
                searchable
                value={null}
                w={280}
                data={(saved.data?.items ?? []).map((s) => ({ value: String(s.id), label: s.name }))}
                onChange={(v) => {
                  const s = saved.data?.items.find((x) => String(x.id) === v);
                  if (s !== undefined) set('queries', [...form.queries, newQuery({ name: s.name, sql: s.sql, interval: s.interval, platforms: splitPlatforms(s.platform), minOsqueryVersion: s.minOsqueryVersion, timeout: s.timeout, description: s.description })]);
                }}
              />
              <Button variant="light" onClick={() => set('queries', [...form.queries, newQuery()])}>Add query</Button>
            </Group>
          )}
        </Group>
        <Accordion variant="separated" multiple defaultValue={isNew ? ['q0'] : []}>
          {form.queries.map((q, i) => (
            <Accordion.Item key={i} value={`q${i}`}>
              <Accordion.Control>
                <Group gap="xs"><Text fw={600}>{q.name === '' ? `Query ${i + 1}` : q.name}</Text><Text size="xs" c="dimmed">every {String(q.interval)}s{q.snapshot ? ', snapshot' : ', differential'}</Text>
                  {Object.keys(errors).some((k) => k.startsWith(`queries/${i}/`)) && <Text size="xs" c="red">has errors</Text>}
                </Group>
              </Accordion.Control>
              <Accordion.Panel>
                <Stack>
                  <SimpleGrid cols={{ base: 1, md: 3 }}>
                    <TextInput label="Query ID" required value={q.name} onChange={(e) => setQuery(i, { name: e.currentTarget.value })} error={errors[`queries/${i}/name`]} readOnly={readOnly} />
                    <NumberInput label="Interval (seconds)" min={1} max={604800} value={q.interval} onChange={(v) => setQuery(i, { interval: v })} error={errors[`queries/${i}/interval`]} readOnly={readOnly} />
                    <NumberInput label="Timeout (seconds)" min={60} max={900} value={q.timeout} onChange={(v) => setQuery(i, { timeout: v })} error={errors[`queries/${i}/timeout`]} readOnly={readOnly} />
                    <MultiSelect label="Platforms" placeholder="All platforms" data={PLATFORMS} value={q.platforms} onChange={(v) => setQuery(i, { platforms: v })} error={errors[`queries/${i}/platform`]} readOnly={readOnly} />
                    <TextInput label="Minimum osquery version" placeholder="e.g. 5.0.1" value={q.minOsqueryVersion} onChange={(e) => setQuery(i, { minOsqueryVersion: e.currentTarget.value })} error={errors[`queries/${i}/minOsqueryVersion`]} readOnly={readOnly} />
                    <Switch label="Snapshot (every run logs all rows)" checked={q.snapshot} onChange={(e) => setQuery(i, { snapshot: e.currentTarget.checked })} mt="lg" disabled={readOnly} />
                  </SimpleGrid>
                  <SqlEditor label="SQL" value={q.sql} onChange={(v) => setQuery(i, { sql: v })} platforms={q.platforms} error={errors[`queries/${i}/sql`]} readOnly={readOnly} minHeight="80px" />
                  {!readOnly && <Button color="red" variant="subtle" size="xs" w="fit-content" onClick={() => set('queries', form.queries.filter((_, j) => j !== i))}>Remove query</Button>}
                </Stack>
              </Accordion.Panel>
            </Accordion.Item>
          ))}
        </Accordion>
        {!readOnly && (
          <Dropzone onDrop={(f) => void onDrop(f)} onReject={() => setDropError('Only .conf (JSON) pack files up to 1 MB.')} maxSize={1_000_000} accept={{ 'application/json': ['.conf', '.json'], 'text/plain': ['.conf'] }} mt="md" p="md" aria-label="Drop a .conf pack to add its queries">
            <Text ta="center" size="sm" c="dimmed">Drop an osquery <code>.conf</code> pack here (or click) to add its queries</Text>
          </Dropzone>
        )}
        {dropError !== null && <Alert color="red" mt="xs">{dropError}</Alert>}
      </Card>
      {rest.length > 0 && <Alert color="red" title="The pack was not saved">{rest.map((m) => <div key={m}>{m}</div>)}</Alert>}
      <Group>
        <Button onClick={() => save.mutate()} loading={save.isPending} disabled={form.name.trim() === ''}>{isNew ? 'Save pack' : 'Update pack'}</Button>
        <Button variant="default" component={Link} to={isNew ? '/packs' : `/packs/${packId}`}>Cancel</Button>
      </Group>
    </Stack>
  );
}
