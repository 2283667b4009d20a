/**
 * New live query (seed 004 "Run live queries"): a single query (a saved one or new SQL) or a pack;
 * targets picked as you type; Advanced: timeout (60–900 s, default 60) and ECS mapping; Submit
 * runs it and opens its results; "Save for later" opens the saved-query form with this SQL.
 * `?hostId=` preselects a host (the host page's "Run live query on this host"); `?sql=` fills the editor;
 * `?savedQueryId=` selects a saved query (Saved queries → Run).
 */
import { Accordion, Alert, Button, Card, Group, NumberInput, SegmentedControl, Select, Stack, Table, Text } from '@mantine/core';
import type { CreateLiveQueryRequest, Host, LiveQuery, Pack, PackList, SqlValidationResult } from '@mimir/api-contract';
import type { SavedQueryList } from '../../components/apiTypes';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { api } from '../../api/client';
import { EcsMappingEditor, mappingFromRows, rowsFromMapping, type EcsRow } from '../../components/EcsMappingEditor';
import { fieldErrorsOf, otherErrors } from '../../components/formErrors';
import { PageHeader } from '../../components/paging';
import { SqlEditor } from '../../components/SqlEditor';
import { TargetPicker, targetPlatforms, toTargetSpec, type Target } from '../../components/TargetPicker';
import { notifyError } from '../../lib/notify';

/** Seed 004: "The default and minimum supported value for the Timeout field is 60. The maximum … is 900." */
export const LIVE_TIMEOUT_MIN_SECONDS = 60;
export const LIVE_TIMEOUT_MAX_SECONDS = 900;

export default function NewLiveQuery() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [mode, setMode] = useState<'query' | 'pack'>('query');
  const [sql, setSql] = useState(params.get('sql') ?? '');
  const [savedId, setSavedId] = useState<string | null>(null);
  const [packId, setPackId] = useState<string | null>(null);
  const [targets, setTargets] = useState<Target[]>([]);
  const [timeout, setTimeoutSeconds] = useState<number | string>(LIVE_TIMEOUT_MIN_SECONDS);
  const [ecsRows, setEcsRows] = useState<EcsRow[]>([]);
  const [validation, setValidation] = useState<SqlValidationResult | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});

  const hostParam = Number(params.get('hostId'));
  const presetHost = useQuery({ queryKey: ['hosts', 'detail-lite', hostParam], queryFn: () => api.get<Host>(`/hosts/${hostParam}`), enabled: Number.isInteger(hostParam) && hostParam > 0 });
  useEffect(() => {
    const h = presetHost.data;
    if (h !== undefined) setTargets((t) => (t.some((x) => x.kind === 'host' && x.id === h.id) ? t : [...t, { kind: 'host', id: h.id, label: `${h.displayName} (${h.platform}, ${h.status}, #${h.id})` }]));
  }, [presetHost.data]);

  const saved = useQuery({ queryKey: ['queries', 'all'], queryFn: () => api.get<SavedQueryList>('/queries', { limit: 1000 }) });
  const packs = useQuery({ queryKey: ['packs', 'all'], queryFn: () => api.get<PackList>('/packs', { limit: 1000 }), enabled: mode === 'pack' });
  const pack = useQuery({ queryKey: ['packs', Number(packId)], queryFn: () => api.get<Pack>(`/packs/${packId ?? ''}`), enabled: packId !== null });

  const savedParam = params.get('savedQueryId');
  const [presetApplied, setPresetApplied] = useState(false);
  useEffect(() => {
    if (presetApplied || savedParam === null || saved.data === undefined) return;
    setPresetApplied(true);
    pickSaved(savedParam);
  });

  const pickSaved = (v: string | null) => {
    setSavedId(v);
    const q = saved.data?.items.find((s) => String(s.id) === v);
    if (q !== undefined) {
      setSql(q.sql);
      setTimeoutSeconds(q.timeout);
      setEcsRows(rowsFromMapping(q.ecsMapping));
    }
  };

  const run = useMutation({
    mutationFn: () => {
      const mapping = mappingFromRows(ecsRows);
      const body: CreateLiveQueryRequest = {
        targets: toTargetSpec(targets),
        timeoutSeconds: typeof timeout === 'number' ? timeout : Number(timeout),
        ...(mode === 'pack' ? { packId: Number(packId) } : { sql, ...(Object.keys(mapping).length > 0 ? { ecsMapping: mapping } : {}) }),
      };
      return api.post<LiveQuery>('/live-queries', body);
    },
    onSuccess: (lq) => void navigate(`/live/${lq.id}`),
    onError: (e) => {
      const f = fieldErrorsOf(e);
      setErrors(f);
      if (Object.keys(f).length === 0) notifyError(e, 'The live query was not started');
    },
  });

  const sqlBlocked = mode === 'query' && (sql.trim() === '' || (validation !== null && !validation.valid));
  const canSubmit = targets.length > 0 && !sqlBlocked && (mode === 'query' || packId !== null);
  const rest = otherErrors(errors, ['sql', 'targets', 'timeoutSeconds', 'ecsMapping', 'packId']);

  return (
    <Stack maw={1200}>
      <PageHeader title="New live query" description="Runs on the selected hosts now; offline hosts answer when they come back, until the timeout." />
      <Card withBorder>
        <Stack>
          <SegmentedControl aria-label="Run a single query or a pack" value={mode} onChange={(v) => setMode(v === 'pack' ? 'pack' : 'query')} data={[{ value: 'query', label: 'Single query' }, { value: 'pack', label: 'Pack' }]} w="fit-content" />
          <TargetPicker value={targets} onChange={setTargets} error={errors['targets']} />
          {mode === 'query' ? (
            <>
              <Select
                label="Saved query"
                placeholder="Select a saved query, or write SQL below"
                searchable
                clearable
                value={savedId}
                onChange={pickSaved}
                data={(saved.data?.items ?? []).map((q) => ({ value: String(q.id), label: q.description !== '' ? `${q.name}: ${q.description.slice(0, 80)}` : q.name }))}
              />
              <SqlEditor label="Query" value={sql} onChange={setSql} platforms={targetPlatforms(targets)} onValidation={setValidation} error={errors['sql']} />
              <Accordion variant="contained">
                <Accordion.Item value="advanced">
                  <Accordion.Control>Advanced</Accordion.Control>
                  <Accordion.Panel>
                    <Stack>
                      <NumberInput
                        label="Timeout (seconds)"
                        description={`${LIVE_TIMEOUT_MIN_SECONDS}–${LIVE_TIMEOUT_MAX_SECONDS}; hosts that have not answered by then are Expired`}
                        min={LIVE_TIMEOUT_MIN_SECONDS}
                        max={LIVE_TIMEOUT_MAX_SECONDS}
                        value={timeout}
                        onChange={setTimeoutSeconds}
                        w={240}
                        error={errors['timeoutSeconds']}
                      />
                      <EcsMappingEditor rows={ecsRows} onChange={setEcsRows} columns={validation?.columns ?? null} />
                      {errors['ecsMapping'] !== undefined && <Text c="red" size="sm">{errors['ecsMapping']}</Text>}
                    </Stack>
                  </Accordion.Panel>
                </Accordion.Item>
              </Accordion>
            </>
          ) : (
            <>
              <Select label="Pack" placeholder="Select a pack" searchable value={packId} onChange={setPackId} error={errors['packId']} data={(packs.data?.items ?? []).map((p) => ({ value: String(p.id), label: `${p.name} (${p.queryCount} queries)` }))} />
              <NumberInput label="Timeout (seconds)" min={LIVE_TIMEOUT_MIN_SECONDS} max={LIVE_TIMEOUT_MAX_SECONDS} value={timeout} onChange={setTimeoutSeconds} w={240} error={errors['timeoutSeconds']} />
              {pack.data !== undefined && (
                <Table fz="sm">
                  <Table.Thead><Table.Tr><Table.Th>Query</Table.Th><Table.Th>SQL</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>{pack.data.queries.map((q) => <Table.Tr key={q.id}><Table.Td>{q.name}</Table.Td><Table.Td ff="monospace" fz="xs">{q.sql}</Table.Td></Table.Tr>)}</Table.Tbody>
                </Table>
              )}
            </>
          )}
          {rest.length > 0 && <Alert color="red" title="The live query was not started">{rest.map((m) => <div key={m}>{m}</div>)}</Alert>}
          <Group>
            <Button onClick={() => run.mutate()} loading={run.isPending} disabled={!canSubmit}>Submit</Button>
            {mode === 'query' && (
              <Button variant="default" disabled={sql.trim() === ''} onClick={() => void navigate('/queries/new', { state: { sql, ecsMapping: mappingFromRows(ecsRows) } })}>Save for later</Button>
            )}
          </Group>
        </Stack>
      </Card>
    </Stack>
  );
}
