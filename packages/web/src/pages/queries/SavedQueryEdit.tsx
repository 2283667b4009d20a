/**
 * Add or edit a saved query (seed 004 "Save queries"): the unique ID, a description, the SQL
 * (validated as you type), a timeout (60–900 s), ECS mapping, and the defaults copied into a pack
 * when the query is added to one (interval, minimum osquery version, platforms). Prebuilt queries
 * are read-only: "Copy to edit" makes an editable copy. `/queries/new` may receive SQL and an ECS
 * mapping from the live-query page ("Save for later"). "Test configuration" (seed 004 step 3) runs
 * the form as it stands in the Test query panel (TestQueryPanel.tsx).
 */
import { Alert, Button, Card, Group, Loader, MultiSelect, NumberInput, SimpleGrid, Stack, TextInput, Textarea } from '@mantine/core';
import type { CreateSavedQueryRequest, EcsMapping, SavedQuery, SqlValidationResult } from '@mimir/api-contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { api } from '../../api/client';
import { canRunQueries, useUser } from '../../auth/auth';
import { EcsMappingEditor, mappingFromRows, rowsFromMapping, type EcsRow } from '../../components/EcsMappingEditor';
import { fieldErrorsOf, otherErrors } from '../../components/formErrors';
import { NotFound, PageHeader } from '../../components/paging';
import { SqlEditor } from '../../components/SqlEditor';
import { notifyError, notifySuccess } from '../../lib/notify';
import { TestQueryPanel } from './TestQueryPanel';

const PLATFORMS = [{ value: 'darwin', label: 'macOS' }, { value: 'linux', label: 'Linux' }, { value: 'windows', label: 'Windows' }];

interface FormState {
  name: string;
  description: string;
  sql: string;
  timeout: number | string;
  interval: number | string;
  minOsqueryVersion: string;
  platforms: string[];
  ecs: EcsRow[];
}

function fromQuery(q: SavedQuery): FormState {
  return {
    name: q.name, description: q.description, sql: q.sql, timeout: q.timeout, interval: q.interval, minOsqueryVersion: q.minOsqueryVersion,
    platforms: q.platform.split(',').map((p) => p.trim()).filter((p) => p !== ''), ecs: rowsFromMapping(q.ecsMapping),
  };
}

function emptyForm(state: unknown): FormState {
  const s = (typeof state === 'object' && state !== null ? state : {}) as { sql?: unknown; ecsMapping?: unknown };
  return {
    name: '', description: '', sql: typeof s.sql === 'string' ? s.sql : '', timeout: 60, interval: 3600, minOsqueryVersion: '', platforms: [],
    ecs: typeof s.ecsMapping === 'object' && s.ecsMapping !== null ? rowsFromMapping(s.ecsMapping as EcsMapping) : [],
  };
}

function toBody(f: FormState): CreateSavedQueryRequest {
  return {
    name: f.name.trim(),
    description: f.description,
    sql: f.sql,
    timeout: Number(f.timeout),
    interval: Number(f.interval),
    minOsqueryVersion: f.minOsqueryVersion.trim(),
    platform: f.platforms.join(','),
    ecsMapping: mappingFromRows(f.ecs),
  };
}

export default function SavedQueryEdit() {
  const { id } = useParams();
  const isNew = id === undefined;
  const queryId = Number(id);
  const location = useLocation();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const user = useUser();
  const badId = !isNew && !(Number.isInteger(queryId) && queryId > 0);
  const existing = useQuery({ queryKey: ['queries', queryId], queryFn: () => api.get<SavedQuery>(`/queries/${queryId}`), enabled: !isNew && !badId });
  const [form, setForm] = useState<FormState>(() => emptyForm(location.state));
  const [validation, setValidation] = useState<SqlValidationResult | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [testing, setTesting] = useState(false);
  useEffect(() => {
    if (existing.data !== undefined) setForm(fromQuery(existing.data));
  }, [existing.data]);
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setForm((f) => ({ ...f, [k]: v }));

  const save = useMutation({
    mutationFn: () => (isNew ? api.post<SavedQuery>('/queries', toBody(form)) : api.patch<SavedQuery>(`/queries/${queryId}`, toBody(form))),
    onSuccess: (q) => {
      notifySuccess(`Saved query ${q.name} ${isNew ? 'created' : 'updated'}.`);
      void qc.invalidateQueries({ queryKey: ['queries'] });
      setErrors({});
      void navigate('/queries');
    },
    onError: (e) => {
      const f = fieldErrorsOf(e);
      setErrors(f);
      if (Object.keys(f).length === 0) notifyError(e, 'The query was not saved');
    },
  });
  const copy = useMutation({
    mutationFn: () => api.post<SavedQuery>(`/queries/${queryId}/copy`),
    onSuccess: (q) => {
      notifySuccess(`Copied to ${q.name}.`);
      void qc.invalidateQueries({ queryKey: ['queries'] });
      void navigate(`/queries/${q.id}`);
    },
    onError: (e) => notifyError(e, 'Copy failed'),
  });

  // `/queries/new` lands here for roles that may not save queries.
  if (badId) return <NotFound />;
  if (existing.isError) return <Alert color="red" title="Cannot load the saved query">{existing.error.message}</Alert>;
  if (!isNew && existing.data === undefined) return <Loader aria-label="Loading saved query" />;
  const readOnly = existing.data?.prebuilt === true || !canRunQueries(user.role);
  const rest = otherErrors(errors, ['name', 'description', 'sql', 'timeout', 'interval', 'minOsqueryVersion', 'platform', 'ecsMapping']);

  return (
    <Stack maw={1100}>
      <PageHeader
        title={isNew ? 'Add saved query' : existing.data?.prebuilt === true ? `Prebuilt query ${form.name}` : `Edit ${existing.data?.name ?? ''}`}
        description={existing.data?.prebuilt === true ? 'Prebuilt queries are read-only: copy one to change it.' : undefined}
        actions={<>
          {!isNew && existing.data?.prebuilt === true && canRunQueries(user.role) && <Button variant="default" loading={copy.isPending} onClick={() => copy.mutate()}>Copy to edit</Button>}
          {!isNew && canRunQueries(user.role) && <Button variant="default" component={Link} to={`/live/new?savedQueryId=${queryId}`}>Run</Button>}
        </>}
      />
      {canRunQueries(user.role) && <TestQueryPanel opened={testing} onClose={() => setTesting(false)} sql={form.sql} ecsMapping={mappingFromRows(form.ecs)} timeout={form.timeout} />}
      <Card withBorder>
        <Stack>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <TextInput label="ID" description="Letters, digits, _ and -; packs log the query under it" required value={form.name} onChange={(e) => set('name', e.currentTarget.value)} error={errors['name']} readOnly={readOnly} />
            <NumberInput label="Timeout (seconds)" description="60–900 (seed default 60)" min={60} max={900} value={form.timeout} onChange={(v) => set('timeout', v)} error={errors['timeout']} readOnly={readOnly} />
          </SimpleGrid>
          <Textarea label="Description" autosize minRows={2} value={form.description} onChange={(e) => set('description', e.currentTarget.value)} error={errors['description']} readOnly={readOnly} />
          <SqlEditor label="SQL" value={form.sql} onChange={(v) => set('sql', v)} platforms={form.platforms} onValidation={setValidation} error={errors['sql']} readOnly={readOnly} />
          <EcsMappingEditor rows={form.ecs} onChange={(r) => set('ecs', r)} columns={validation?.columns ?? null} errors={Object.fromEntries(Object.entries(errors).filter(([k]) => k.startsWith('ecsMapping/')).map(([k, v]) => [k.slice('ecsMapping/'.length), v]))} />
          <Card withBorder bg="var(--mantine-color-default-hover)">
            <Stack gap="xs">
              <strong>Defaults when added to a pack</strong>
              <SimpleGrid cols={{ base: 1, md: 3 }}>
                <NumberInput label="Interval (seconds)" min={1} max={604800} value={form.interval} onChange={(v) => set('interval', v)} error={errors['interval']} readOnly={readOnly} />
                <TextInput label="Minimum osquery version" placeholder="e.g. 5.0.1" value={form.minOsqueryVersion} onChange={(e) => set('minOsqueryVersion', e.currentTarget.value)} error={errors['minOsqueryVersion']} readOnly={readOnly} />
                <MultiSelect label="Platforms" placeholder="All platforms" data={PLATFORMS} value={form.platforms} onChange={(v) => set('platforms', v)} error={errors['platform']} readOnly={readOnly} />
              </SimpleGrid>
            </Stack>
          </Card>
          {rest.length > 0 && <Alert color="red" title="The query was not saved">{rest.map((m) => <div key={m}>{m}</div>)}</Alert>}
          {canRunQueries(user.role) && (
            <Group>
              {canRunQueries(user.role) && <Button variant="default" onClick={() => setTesting(true)} disabled={form.sql.trim() === ''}>Test configuration</Button>}
              {!readOnly && <Button onClick={() => save.mutate()} loading={save.isPending} disabled={form.name.trim() === '' || form.sql.trim() === '' || (validation !== null && !validation.valid)}>{isNew ? 'Save' : 'Update'}</Button>}
              {!readOnly && <Button variant="default" component={Link} to="/queries">Cancel</Button>}
            </Group>
          )}
        </Stack>
      </Card>
    </Stack>
  );
}
