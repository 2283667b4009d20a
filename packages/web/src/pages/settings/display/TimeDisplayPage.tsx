/**
 * Settings → Time & Display: the time zone and date format every time in the console follows
 * (lib/time.tsx). Everyone sees the current choice; admins change it for everyone. Saving refreshes
 * the DISPLAY_QUERY_KEY query, so every time already on screen is shown again in the new format.
 */
import { Alert, Button, Card, Group, Select, Stack, Table, Text } from '@mantine/core';
import { DATE_FORMATS, type DisplaySettings } from '@mimir/api-contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api } from '../../../api/client';
import { fieldErrorsOf } from '../../../components/formErrors';
import { isAdmin, useUser } from '../../../auth/auth';
import { errorMessage, notifySuccess } from '../../../lib/notify';
import { DISPLAY_QUERY_KEY, formatTime } from '../../../lib/time';
import { SettingsPage } from '../SettingsPage';

type DateFormat = DisplaySettings['dateFormat'];

const FORMAT_LABEL: Record<DateFormat, string> = {
  iso: 'ISO 8601 (2026-04-04T12:00:00Z)',
  'YYYY-MM-DD HH:mm:ss': 'YYYY-MM-DD HH:mm:ss',
  'DD/MM/YYYY HH:mm:ss': 'DD/MM/YYYY HH:mm:ss',
  'MM/DD/YYYY hh:mm:ss A': 'MM/DD/YYYY hh:mm:ss AM/PM',
  'DD.MM.YYYY HH:mm:ss': 'DD.MM.YYYY HH:mm:ss',
  relative: 'Relative (5 minutes ago)',
};

function isDateFormat(v: string | null): v is DateFormat {
  return v !== null && (DATE_FORMATS as readonly string[]).includes(v);
}

/** Every IANA zone the browser knows, UTC first. */
function timeZones(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    // Older browsers: the saved zone and UTC are still offered.
  }
  return [...new Set(['UTC', current, ...zones])];
}

export function TimeDisplayPage() {
  const user = useUser();
  const admin = isAdmin(user.role);
  const qc = useQueryClient();
  const saved = useQuery({ queryKey: DISPLAY_QUERY_KEY, queryFn: () => api.get<DisplaySettings>('/settings/display'), staleTime: 5 * 60_000 });
  const [draft, setDraft] = useState<Partial<DisplaySettings>>({});
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const current: DisplaySettings = { timeZone: draft.timeZone ?? saved.data?.timeZone ?? 'UTC', dateFormat: draft.dateFormat ?? saved.data?.dateFormat ?? 'iso' };
  const zones = useMemo(() => timeZones(current.timeZone), [current.timeZone]);
  const dirty = saved.data !== undefined && (current.timeZone !== saved.data.timeZone || current.dateFormat !== saved.data.dateFormat);
  const save = useMutation({
    mutationFn: () => api.put<DisplaySettings>('/settings/display', current),
    onSuccess: async (d) => {
      setDraft({});
      setFields({});
      setError(undefined);
      qc.setQueryData(DISPLAY_QUERY_KEY, d);
      // Every time on every page re-renders with the new settings.
      await qc.invalidateQueries({ queryKey: DISPLAY_QUERY_KEY });
      notifySuccess(`Times are now shown in ${d.timeZone}, ${FORMAT_LABEL[d.dateFormat]}`);
    },
    onError: (err) => {
      setFields(fieldErrorsOf(err));
      setError(errorMessage(err));
    },
  });
  const sample = useMemo(() => new Date(Date.now() - 5 * 60_000).toISOString(), []);
  return (
    <SettingsPage title="Time & Display" description="How every time in the console is shown, for everyone. The API always answers in ISO 8601 UTC.">
      {saved.isError && <Alert color="red" role="alert">Could not load the display settings: {saved.error.message}</Alert>}
      {!admin && <Alert color="gray">Only admins can change these settings.</Alert>}
      <Card withBorder radius="md" maw={720}>
        <Stack gap="sm">
          {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
          <Select
            label="Time zone" searchable allowDeselect={false} disabled={!admin} data={zones} value={current.timeZone} error={fields['timeZone']}
            onChange={(v) => v !== null && setDraft((d) => ({ ...d, timeZone: v }))} nothingFoundMessage="No such time zone" limit={400}
          />
          <Select
            label="Date format" allowDeselect={false} disabled={!admin} data={DATE_FORMATS.map((f) => ({ value: f, label: FORMAT_LABEL[f] }))}
            value={current.dateFormat} error={fields['dateFormat']} onChange={(v) => isDateFormat(v) && setDraft((d) => ({ ...d, dateFormat: v }))}
          />
          <Table withRowBorders={false} w="auto">
            <Table.Tbody>
              <Table.Tr>
                <Table.Td><Text size="sm" c="dimmed">Preview</Text></Table.Td>
                <Table.Td><Text size="sm" ff="monospace" data-testid="display-preview">{formatTime(sample, current)}</Text></Table.Td>
              </Table.Tr>
            </Table.Tbody>
          </Table>
          {admin && (
            <Group justify="flex-end">
              <Button variant="default" disabled={!dirty} onClick={() => setDraft({})}>Reset</Button>
              <Button disabled={!dirty} loading={save.isPending} onClick={() => save.mutate()}>Save</Button>
            </Group>
          )}
        </Stack>
      </Card>
    </SettingsPage>
  );
}
