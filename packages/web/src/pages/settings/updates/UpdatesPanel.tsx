/**
 * Settings → Osquery Updates and Settings → Agent Updates: one panel for both kinds, worded exactly
 * as seed 000 describes the osquery one ("Agent Updates" is its twin with the 0/10/25/50/100 dial).
 * A card titled "Registered versions" with Register version top-right; an empty state or a table
 * (Version, Platform, Added, Status, Rollout, Actions); a footer note under the card. Register →
 * Approve → pick a preset; Delete only at 0%. Every change is saved by the API, which also words
 * the toasts (`message`), so the console and the CLI say the same thing.
 */
import { Badge, Button, Card, Group, Loader, Table, Text, Tooltip } from '@mantine/core';
import type { UpdateArtifact, UpdateKind, UpdateProgress } from '@mimir/api-contract';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../../api/client';
import { useFormatTime } from '../../../lib/time';
import { notifyError, notifySuccess } from '../../../lib/notify';
import { confirmDanger } from '../../../components/paging';
import { SettingsPage, type Paged } from '../SettingsPage';
import { RegisterVersionModal } from './RegisterVersionModal';

const PAGE = 200;

interface KindText {
  title: string;
  intro: string;
  empty: string;
}

const TEXT: Record<UpdateKind, KindText> = {
  osquery: {
    title: 'Osquery Updates',
    intro: 'Register a signed osqueryd binary per OS and architecture, approve it, and roll it out to a share of the fleet. Every host runs osqueryd under the Mimir agent; bumping osquery is its own decision, separate from Agent Updates.',
    empty: 'No osquery versions registered. Register a signed version to enable osquery auto-updates across the fleet.',
  },
  agent: {
    title: 'Agent Updates',
    intro: 'Register a signed Mimir agent build per OS and architecture, approve it, and turn the dial to roll it out. Same deterministic cohorts as Osquery Updates, different artifact.',
    empty: 'No agent versions registered. Register a signed version to enable agent auto-updates across the fleet.',
  },
};

/** `osquery 5.12.1 (linux/amd64)`, as the API's toasts name a row (updates.service.ts artifactLabel). */
export function artifactLabel(a: Pick<UpdateArtifact, 'kind' | 'version' | 'os' | 'arch'>): string {
  return `${a.kind} ${a.version} (${a.os}/${a.arch})`;
}

const BINARY_NOTE: Partial<Record<UpdateArtifact['binary'], { label: string; color: string; help: string }>> = {
  missing: {
    label: 'binary not uploaded', color: 'orange',
    help: 'Mimir stores no binary at this URL yet: agents would get 404. Upload it with mimir-cli or POST multipart/form-data to /api/v1/updates/binaries.',
  },
  sha_mismatch: {
    label: 'SHA256 mismatch', color: 'red',
    help: 'The binary stored at this URL has another SHA256 than the signed one: every agent would reject it. Upload the signed binary again.',
  },
};

function RolloutPresets({ a, busy, onPick }: { a: UpdateArtifact; busy: boolean; onPick: (p: number) => void }) {
  if (a.status !== 'approved') return <Text c="dimmed" aria-label="Rollout unavailable until approved">—</Text>;
  return (
    <Group gap={4} wrap="nowrap" role="group" aria-label={`Rollout for ${artifactLabel(a)}`}>
      {a.rolloutPresets.map((p) => {
        const current = p === a.rollout;
        return (
          <Button
            key={p} size="compact-sm" variant={current ? 'outline' : 'default'} miw={52}
            // The saved preset keeps the accent outline even though it is disabled (seed 000
            // troubleshooting: "Watch the accent outline — it lives on the currently-saved preset").
            style={current ? { borderColor: 'var(--mantine-primary-color-filled)', borderWidth: 2, color: 'var(--mantine-primary-color-filled)' } : undefined}
            disabled={current || busy} aria-pressed={current} data-current={current || undefined}
            onClick={() => onPick(p)}
          >
            {p}%
          </Button>
        );
      })}
    </Group>
  );
}

/**
 * How far an approved row has got: hosts of its os/arch in the cohort at the current rollout, and
 * how many already run the version (API /progress). Hosts without the agent never ask for updates,
 * and hosts installed with osquery auto-updates off never take osquery updates (seed 000
 * troubleshooting (2)): both are said when they apply.
 */
function RolloutProgress({ a }: { a: UpdateArtifact }) {
  const p = useQuery({
    queryKey: ['updates', a.kind, 'progress', a.id, a.rollout],
    queryFn: () => api.get<UpdateProgress>(`/updates/${a.kind}/artifacts/${a.id}/progress`),
    staleTime: 30_000,
  });
  if (p.data === undefined) return null;
  const d = p.data;
  const notes = [
    `${d.hostsReporting} of ${d.hostsTotal} ${a.platform} host${d.hostsTotal === 1 ? '' : 's'} run the Mimir agent`,
    ...(d.autoUpdateOff > 0 ? [`${d.autoUpdateOff} installed with osquery auto-updates off`] : []),
  ];
  return (
    <Tooltip label={notes.join('; ')} multiline w={300} events={{ hover: true, focus: true, touch: true }}>
      <Text size="xs" c="dimmed" mt={4} tabIndex={0} data-testid={`progress-${a.id}`} w="fit-content">
        {d.hostsTotal === 0 ? `No ${a.platform} hosts yet` : `${d.hostsOnVersion} on ${a.version} · ${d.hostsInCohort}/${d.hostsTotal} hosts in cohort`}
      </Text>
    </Tooltip>
  );
}

export function UpdatesPanel({ kind }: { kind: UpdateKind }) {
  const qc = useQueryClient();
  const fmt = useFormatTime();
  const text = TEXT[kind];
  const [registerOpen, setRegisterOpen] = useState(false);
  const [busyId, setBusyId] = useState<number>();
  const queryKey = ['updates', kind, 'artifacts'];

  const list = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => api.get<Paged<UpdateArtifact>>(`/updates/${kind}/artifacts`, { limit: PAGE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];

  // Only the list: a progress line is keyed by its rollout (a new preset fetches it anew), and a
  // deleted row's progress must not be asked for again (404).
  const refresh = () => qc.invalidateQueries({ queryKey });
  const after = (title: string) => ({
    onError: (err: unknown) => notifyError(err, title),
    onSettled: async () => {
      setBusyId(undefined);
      await refresh();
    },
  });
  const approve = useMutation({
    mutationFn: (a: UpdateArtifact) => {
      setBusyId(a.id);
      return api.post<{ message: string }>(`/updates/${kind}/artifacts/${a.id}/approve`);
    },
    onSuccess: (r) => notifySuccess(r.message),
    // Seed 000 troubleshooting: "Approve failed" — almost always the signature check.
    ...after('Approve failed'),
  });
  const rollout = useMutation({
    mutationFn: ({ a, percent }: { a: UpdateArtifact; percent: number }) => {
      setBusyId(a.id);
      return api.put<{ message: string; changed: boolean }>(`/updates/${kind}/artifacts/${a.id}/rollout`, { percent });
    },
    onSuccess: (r) => {
      if (r.changed) notifySuccess(r.message);
    },
    ...after('Rollout failed'),
  });
  const remove = useMutation({
    mutationFn: (a: UpdateArtifact) => {
      setBusyId(a.id);
      return api.del<{ message: string }>(`/updates/${kind}/artifacts/${a.id}`);
    },
    onSuccess: (r) => notifySuccess(r.message),
    ...after('Delete failed'),
  });

  const confirmDelete = (a: UpdateArtifact) => confirmDanger({
    title: 'Delete version',
    message: <>Delete {artifactLabel(a)}? This cannot be undone. Agents currently running this version are unaffected.</>,
    confirm: 'Delete',
    onConfirm: () => remove.mutate(a),
  });

  let body;
  if (list.isPending) body = <Group justify="center" p="xl"><Loader aria-label="Loading versions" /></Group>;
  else if (list.isError) body = <Text c="red" role="alert" p="md">Could not load the registered versions: {list.error.message}</Text>;
  else if (rows.length === 0) body = <Text c="dimmed" ta="center" py="xl" px="md">{text.empty}</Text>;
  else {
    body = (
      <Table.ScrollContainer minWidth={900}>
        <Table verticalSpacing="sm" highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>Platform</Table.Th>
              <Table.Th>Added</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Rollout</Table.Th>
              <Table.Th ta="right">Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((a) => {
              const busy = busyId === a.id;
              const note = BINARY_NOTE[a.binary];
              return (
                <Table.Tr key={a.id} data-testid={`artifact-${a.platform}-${a.version}`}>
                  <Table.Td>
                    <Text ff="monospace" size="sm">{a.version}</Text>
                    {note !== undefined && (
                      <Tooltip label={note.help} multiline w={320} events={{ hover: true, focus: true, touch: true }}>
                        <Badge size="xs" variant="light" color={note.color} mt={4} tabIndex={0} tt="none">{note.label}</Badge>
                      </Tooltip>
                    )}
                  </Table.Td>
                  <Table.Td><Badge variant="light" color="gray" radius="xl" tt="none" ff="monospace">{a.platform}</Badge></Table.Td>
                  <Table.Td><Text size="sm" title={a.addedBy !== '' ? `Registered by ${a.addedBy}` : undefined}>{fmt(a.addedAt)}</Text></Table.Td>
                  <Table.Td>
                    {a.status === 'approved'
                      ? (
                        <Tooltip label={`Approved ${fmt(a.approvedAt)}${a.approvedBy !== null && a.approvedBy !== '' ? ` by ${a.approvedBy}` : ''}`} events={{ hover: true, focus: true, touch: true }}>
                          <Badge color="green" variant="light" tabIndex={0} tt="none">Approved</Badge>
                        </Tooltip>
                      )
                      : <Badge color="gray" variant="light" tt="none">Pending</Badge>}
                  </Table.Td>
                  <Table.Td>
                    <RolloutPresets a={a} busy={busy} onPick={(percent) => rollout.mutate({ a, percent })} />
                    {a.status === 'approved' && <RolloutProgress a={a} />}
                  </Table.Td>
                  <Table.Td>
                    <Group gap="xs" justify="flex-end" wrap="nowrap">
                      {a.status === 'pending' && (
                        <Button size="compact-sm" disabled={busy} onClick={() => approve.mutate(a)}>
                          {busy && approve.isPending ? 'Approving…' : 'Approve'}
                        </Button>
                      )}
                      {a.rollout > 0
                        ? (
                          // A disabled <button> gets no pointer or focus events, so the greyed Delete is
                          // aria-disabled and ignores clicks: its tooltip still shows on hover and focus.
                          <Tooltip label="Set rollout to 0% before deleting." events={{ hover: true, focus: true, touch: true }}>
                            <Button size="compact-sm" variant="default" color="red" data-disabled aria-disabled="true" onClick={(e) => e.preventDefault()}>
                              Delete
                            </Button>
                          </Tooltip>
                        )
                        : (
                          <Button size="compact-sm" variant="default" color="red" c="red" disabled={busy} onClick={() => confirmDelete(a)}>
                            Delete
                          </Button>
                        )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    );
  }

  return (
    <SettingsPage title={text.title} description={text.intro}>
      <Card withBorder padding={0} radius="md">
        <Group justify="space-between" px="md" py="sm" style={{ borderBottom: '1px solid var(--mantine-color-default-border)' }}>
          <Text fw={600} component="h3" m={0} size="md">Registered versions</Text>
          <Button onClick={() => setRegisterOpen(true)}>Register version</Button>
        </Group>
        {body}
        {list.hasNextPage && (
          <Group justify="center" p="sm">
            <Button variant="subtle" loading={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>Load more</Button>
          </Group>
        )}
      </Card>
      <Text size="sm" c="dimmed">
        Versions must be approved before rollout. Set rollout to 0% to pause a version. Cohort assignment is deterministic — the
        same host always gets the same answer for a given version and rollout %.
      </Text>
      <RegisterVersionModal kind={kind} opened={registerOpen} onClose={() => setRegisterOpen(false)} />
    </SettingsPage>
  );
}
