/**
 * The saved-query form's "Test query" panel (seed 004 "Save queries" step 3: "Click **Test
 * configuration** … select agents or groups to test the query, then click **Submit** to run a live
 * query. Result columns with the mapping icon are mapped. Hover over the icon to see the mapped ECS
 * field"). It runs the form's CURRENT SQL and ECS mapping, unsaved edits included, as an ordinary
 * live query (so it is audited and appears under Live queries), and shows the answers with the live
 * page's own target picker, stream and grid.
 */
import { Alert, Anchor, Button, Drawer, Group, Loader, Stack, Text } from '@mantine/core';
import type { CreateLiveQueryRequest, EcsMapping, LiveQuery } from '@mimir/api-contract';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { fieldErrorsOf, otherErrors } from '../../components/formErrors';
import { TargetPicker, toTargetSpec, type Target } from '../../components/TargetPicker';
import { errorMessage } from '../../lib/notify';
import { LiveCountBadges, LiveStateBadge } from '../live/badges';
import { LIVE_TIMEOUT_MAX_SECONDS, LIVE_TIMEOUT_MIN_SECONDS } from '../live/NewLiveQuery';
import { ResultsTable } from '../live/ResultsTable';
import { ResultStore } from '../live/resultStore';
import { useLiveStream } from '../live/useLiveStream';

const EMPTY = new ResultStore(0);

/** The form's timeout when it is a valid live-query timeout; otherwise the server's default (60 s). */
function liveTimeout(timeout: number | string): number | undefined {
  const n = Number(timeout);
  return Number.isInteger(n) && n >= LIVE_TIMEOUT_MIN_SECONDS && n <= LIVE_TIMEOUT_MAX_SECONDS ? n : undefined;
}

/** Errors of a refused run, one line each ("field: message"), so a bad mapping entry is named. */
function errorLines(e: unknown): string[] {
  const lines = otherErrors(fieldErrorsOf(e), []);
  return lines.length > 0 ? lines : [errorMessage(e)];
}

function TestRun({ id, ecsMapping }: { id: number; ecsMapping: EcsMapping }) {
  const stream = useLiveStream(id);
  const store = stream.stores.get(0) ?? EMPTY;
  const counts = stream.status?.counts;
  return (
    <Stack gap="xs">
      <Group gap="xs" data-testid="test-query-counts">
        {stream.status !== null && <LiveStateBadge state={stream.status.status} />}
        {!stream.done && <Loader size="xs" aria-label="Receiving results" />}
        {counts !== undefined && <LiveCountBadges counts={counts} />}
        <Anchor component={Link} to={`/live/${id}`} size="sm" ml="auto">Open live query #{id}</Anchor>
      </Group>
      {stream.error !== null && <Alert color="red">{stream.error}</Alert>}
      <ResultsTable store={store} version={stream.version} ecsMapping={ecsMapping} height={420} />
    </Stack>
  );
}

export function TestQueryPanel({ opened, onClose, sql, ecsMapping, timeout }: {
  opened: boolean;
  onClose: () => void;
  sql: string;
  ecsMapping: EcsMapping;
  timeout: number | string;
}) {
  const [targets, setTargets] = useState<Target[]>([]);
  // The mapping the shown run used: later edits in the form must not relabel its columns.
  const [run, setRun] = useState<{ id: number; ecsMapping: EcsMapping } | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const submit = useMutation({
    mutationFn: () => {
      const t = liveTimeout(timeout);
      const body: CreateLiveQueryRequest = {
        targets: toTargetSpec(targets),
        sql,
        ...(Object.keys(ecsMapping).length > 0 ? { ecsMapping } : {}),
        ...(t !== undefined ? { timeoutSeconds: t } : {}),
      };
      return api.post<LiveQuery>('/live-queries', body);
    },
    // The results shown always answer the latest Submit, never an earlier form.
    onMutate: () => setRun(null),
    onSuccess: (lq) => {
      setErrors([]);
      setRun({ id: lq.id, ecsMapping });
    },
    onError: (e) => setErrors(errorLines(e)),
  });

  return (
    <Drawer opened={opened} onClose={onClose} title="Test query" position="right" size="xl">
      <Stack>
        <Text size="sm" c="dimmed">Runs the SQL and ECS mapping as they are in the form now, saved or not, as a live query on the agents or groups you pick.</Text>
        <TargetPicker value={targets} onChange={setTargets} />
        {errors.length > 0 && <Alert color="red" title="The test query was not started">{errors.map((m) => <div key={m}>{m}</div>)}</Alert>}
        <Group>
          <Button onClick={() => submit.mutate()} loading={submit.isPending} disabled={targets.length === 0 || sql.trim() === ''}>Submit</Button>
        </Group>
        {run !== null && <TestRun key={run.id} id={run.id} ecsMapping={run.ecsMapping} />}
      </Stack>
    </Drawer>
  );
}
