/**
 * Settings → osquery options and retention (admin only). The global osquery options are served as
 * config `options` to every host (group options override them; osquery-protocol.md §3.2): only the
 * keys the server allows, each with its own type, plus custom_* keys. Retention says how long
 * scheduled results and live query history are kept (null = the MIMIR_* environment default).
 * The server checks every key and range and names each problem (422): shown next to the field.
 */
import { Alert, Button, Card, Checkbox, Group, NumberInput, Select, Stack, Switch, Table, Text, TextInput, Tooltip } from '@mantine/core';
import type { OsqueryOptionsSettings, RetentionSettings } from '@mimir/api-contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../../api/client';
import { fieldErrorsOf } from '../../../components/formErrors';
import { errorMessage, notifySuccess } from '../../../lib/notify';
import { SettingsPage } from '../SettingsPage';

export type Value = string | number | boolean;
type Allowed = OsqueryOptionsSettings['allowed'][number];

function OptionValue({ spec, value, error, onChange }: { spec: Allowed | undefined; value: Value; error: string | undefined; onChange: (v: Value) => void }) {
  const type = spec?.type ?? (typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'integer' : 'string');
  const label = `Value of ${spec?.key ?? 'option'}`;
  if (type === 'boolean') return <Switch aria-label={label} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} error={error} />;
  if (type === 'integer') {
    return (
      <NumberInput
        aria-label={label} size="xs" w={180} allowDecimal={false} value={typeof value === 'number' ? value : Number(value)} error={error}
        {...(spec?.minimum !== undefined ? { min: spec.minimum } : {})} {...(spec?.maximum !== undefined ? { max: spec.maximum } : {})}
        onChange={(v) => onChange(typeof v === 'number' ? v : Number(v))}
      />
    );
  }
  return <TextInput aria-label={label} size="xs" w={280} value={String(value)} error={error} onChange={(e) => onChange(e.currentTarget.value)} />;
}

export const OSQUERY_OPTIONS_KEY = ['settings', 'osquery-options'];

/** The keys the server accepts and their types (admin only), shared by the global and group editors. */
export function useOsqueryOptionSettings() {
  return useQuery({ queryKey: OSQUERY_OPTIONS_KEY, queryFn: () => api.get<OsqueryOptionsSettings>('/settings/osquery-options') });
}

/**
 * An osquery options editor: one row per set key with an input of the key's type, add a known key
 * or a custom_* one, remove, save all at once. `save` sends the whole map; the server names each
 * bad key (422 `/options/<key>`), shown on that row.
 */
export function OptionsEditor({ title, description, saved, allowed, loadError, save: send, savedMessage }: {
  title: string;
  description: string;
  saved: Record<string, Value> | undefined;
  allowed: readonly Allowed[];
  loadError: Error | null;
  save: (options: Record<string, Value>) => Promise<unknown>;
  savedMessage: string;
}) {
  const [draft, setDraft] = useState<Record<string, Value>>();
  const [adding, setAdding] = useState<string | null>(null);
  const [custom, setCustom] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const options = draft ?? saved ?? {};
  const spec = (k: string) => allowed.find((a) => a.key === k);
  const save = useMutation({
    mutationFn: () => send(options),
    onSuccess: () => {
      setDraft(undefined);
      setFields({});
      setError(undefined);
      notifySuccess(savedMessage);
    },
    onError: (err) => {
      // Problems are named by pointer, e.g. /options/distributed_interval.
      const f = fieldErrorsOf(err);
      setFields(Object.fromEntries(Object.entries(f).map(([k, v]) => [k.replace(/^options\//, ''), v])));
      setError(errorMessage(err));
    },
  });
  const set = (k: string, v: Value | undefined) => {
    // Keep the rows in place while editing: replace in order, append new keys, drop removed ones.
    const entries = Object.entries(options).flatMap(([key, old]): Array<[string, Value]> => (key !== k ? [[key, old]] : v === undefined ? [] : [[key, v]]));
    if (v !== undefined && !(k in options)) entries.push([k, v]);
    setDraft(Object.fromEntries(entries));
  };
  const add = () => {
    const k = adding === 'custom_' ? `custom_${custom.trim()}` : adding;
    if (k === null || k === 'custom_' || k in options) return;
    const s = spec(k);
    set(k, s?.type === 'boolean' ? false : s?.type === 'integer' ? (s.minimum ?? 0) : '');
    setAdding(null);
    setCustom('');
  };
  const reset = () => {
    setDraft(undefined);
    setFields({});
    setError(undefined);
  };
  const unused = allowed.filter((a) => !(a.key in options)).map((a) => ({ value: a.key, label: a.key }));
  return (
    <Card withBorder radius="md">
      <Stack gap="sm">
        <Text fw={600}>{title}</Text>
        <Text size="sm" c="dimmed">{description}</Text>
        {loadError !== null && <Alert color="red" role="alert">Could not load the osquery options: {loadError.message}</Alert>}
        {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
        {Object.keys(options).length === 0 && saved !== undefined && <Text size="sm" c="dimmed">No options set here.</Text>}
        {Object.keys(options).length > 0 && (
          <Table verticalSpacing="xs">
            <Table.Thead><Table.Tr><Table.Th>Option</Table.Th><Table.Th>Value</Table.Th><Table.Th /></Table.Tr></Table.Thead>
            <Table.Tbody>
              {Object.entries(options).map(([k, v]) => (
                <Table.Tr key={k}>
                  <Table.Td>
                    <Tooltip label={spec(k)?.description ?? 'custom option'} multiline w={320} disabled={spec(k) === undefined}>
                      <Text size="sm" ff="monospace">{k}</Text>
                    </Tooltip>
                  </Table.Td>
                  <Table.Td><OptionValue spec={spec(k) ?? { key: k, type: typeof v === 'boolean' ? 'boolean' : typeof v === 'number' ? 'integer' : 'string', description: '' }} value={v} error={fields[k]} onChange={(nv) => set(k, nv)} /></Table.Td>
                  <Table.Td ta="right"><Button size="compact-sm" variant="subtle" color="red" onClick={() => set(k, undefined)} aria-label={`Remove ${k}`}>Remove</Button></Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Group align="flex-end">
          <Select label="Add an option" placeholder="Pick an option" searchable w={320} data={[...unused, { value: 'custom_', label: 'custom_… (your own key)' }]} value={adding} onChange={setAdding} />
          {adding === 'custom_' && <TextInput label="Custom key" leftSection={<Text size="xs">custom_</Text>} leftSectionWidth={64} value={custom} onChange={(e) => setCustom(e.currentTarget.value)} />}
          <Button variant="default" disabled={adding === null || (adding === 'custom_' && custom.trim() === '')} onClick={add}>Add</Button>
        </Group>
        <Group justify="flex-end">
          <Button variant="default" disabled={draft === undefined} onClick={reset}>Reset</Button>
          <Button disabled={draft === undefined} loading={save.isPending} onClick={() => save.mutate()}>Save options</Button>
        </Group>
      </Stack>
    </Card>
  );
}

function OsqueryOptionsCard() {
  const qc = useQueryClient();
  const settings = useOsqueryOptionSettings();
  return (
    <OptionsEditor
      title="Global osquery options"
      description="Served to every host in its config; a group's own options (Settings → Enroll secrets) override them. Command-line-only flags belong in the flagfile."
      saved={settings.data?.options} allowed={settings.data?.allowed ?? []} loadError={settings.error}
      save={async (options) => qc.setQueryData(OSQUERY_OPTIONS_KEY, await api.put<OsqueryOptionsSettings>('/settings/osquery-options', { options }))}
      savedMessage="osquery options saved: hosts receive them at their next config fetch"
    />
  );
}

function RetentionCard() {
  const qc = useQueryClient();
  const key = ['settings', 'retention'];
  const saved = useQuery({ queryKey: key, queryFn: () => api.get<RetentionSettings>('/settings/retention') });
  const [draft, setDraft] = useState<{ resultRetentionDays: number | null; liveQueryHistoryDays: number | null }>();
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const value = draft ?? { resultRetentionDays: saved.data?.resultRetentionDays ?? null, liveQueryHistoryDays: saved.data?.liveQueryHistoryDays ?? null };
  const save = useMutation({
    mutationFn: () => api.put<RetentionSettings>('/settings/retention', value),
    onSuccess: (r) => {
      qc.setQueryData(key, r);
      setDraft(undefined);
      setFields({});
      setError(undefined);
      notifySuccess('Retention saved');
    },
    onError: (err) => {
      setFields(fieldErrorsOf(err));
      setError(errorMessage(err));
    },
  });
  const row = (name: 'resultRetentionDays' | 'liveQueryHistoryDays', label: string, help: string, min: number, defaultText: string) => (
    <Group align="flex-end" key={name}>
      <NumberInput
        label={label} description={help} w={360} min={min} max={3650} allowDecimal={false} disabled={value[name] === null}
        value={value[name] ?? ''} error={fields[name]} onChange={(v) => setDraft({ ...value, [name]: typeof v === 'number' ? v : null })}
      />
      <Checkbox
        mb={8} label={`Use the server default (${defaultText})`} checked={value[name] === null}
        onChange={(e) => setDraft({ ...value, [name]: e.currentTarget.checked ? null : min === 0 ? 30 : 30 })}
      />
    </Group>
  );
  return (
    <Card withBorder radius="md">
      <Stack gap="sm">
        <Text fw={600}>Retention</Text>
        {saved.isError && <Alert color="red" role="alert">Could not load retention: {saved.error.message}</Alert>}
        {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
        {row('resultRetentionDays', 'Scheduled results (days)', '0 keeps them forever', 0, 'MIMIR_RESULT_RETENTION')}
        {row('liveQueryHistoryDays', 'Live query history (days)', 'Runs and their results', 1, `${saved.data?.defaults.liveQueryHistoryDays ?? '…'} days`)}
        <Group justify="flex-end">
          <Button variant="default" disabled={draft === undefined} onClick={() => { setDraft(undefined); setFields({}); setError(undefined); }}>Reset</Button>
          <Button disabled={draft === undefined} loading={save.isPending} onClick={() => save.mutate()}>Save retention</Button>
        </Group>
      </Stack>
    </Card>
  );
}

export function OsqueryOptionsPage() {
  return (
    <SettingsPage title="osquery & retention" description="Server-wide osquery options and how long data is kept.">
      <OsqueryOptionsCard />
      <RetentionCard />
    </SettingsPage>
  );
}
