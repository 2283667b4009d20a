/**
 * Settings → Enroll secrets (admin only: reading a secret is enough to enroll a host). Per group:
 * the secrets (newest first, revoked ones kept for the record), add, rotate (add a new one and
 * optionally revoke the others: ship the new secret first, Fleet §1.7), revoke; and the files an
 * osqueryd needs to enroll — the flagfile (osquery-protocol.md §8), the secret file and the CA
 * certificate it pins with --tls_server_certs.
 */
import { Alert, Badge, Button, Card, Checkbox, Code, CopyButton, Group, Modal, Select, SimpleGrid, Stack, Table, Text, TextInput, Textarea } from '@mantine/core';
import type { EnrollSecret, Group as MimirGroup } from '@mimir/api-contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { api, downloadUrl } from '../../../api/client';
import { fieldErrorsOf } from '../../../components/formErrors';
import { errorMessage, notifyError, notifySuccess } from '../../../lib/notify';
import { useFormatTime } from '../../../lib/time';
import { confirmDanger } from '../../../components/paging';
import { SettingsPage } from '../SettingsPage';
import { OptionsEditor, useOsqueryOptionSettings } from '../server/OsqueryOptionsPage';

interface Flagfile {
  flagfile: string;
  enrollSecret: string;
  secretId: number;
  tlsHostname: string;
  caPath: string;
  secretPath: string;
}

/** Save text as a file: the browser's download, no server round trip. */
function saveText(name: string, text: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function SecretModal({ group, mode, onClose }: { group: MimirGroup; mode: 'add' | 'rotate' | undefined; onClose: () => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [revokeOld, setRevokeOld] = useState(false);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const body = { ...(name.trim() !== '' ? { name: name.trim() } : {}), ...(value !== '' ? { secret: value } : {}) };
  const save = useMutation({
    mutationFn: async () => {
      if (mode === 'rotate') {
        const r = await api.post<{ created: EnrollSecret; revoked: EnrollSecret[] }>(`/groups/${group.id}/secrets/rotate`, { ...body, revokeOld });
        return `New enroll secret for ${group.name}${r.revoked.length > 0 ? `; ${r.revoked.length} older secret${r.revoked.length === 1 ? '' : 's'} revoked` : '; the older ones still work until you revoke them'}`;
      }
      await api.post<EnrollSecret>(`/groups/${group.id}/secrets`, body);
      return `Enroll secret added to ${group.name}`;
    },
    onSuccess: async (message) => {
      notifySuccess(message);
      setName('');
      setValue('');
      setRevokeOld(false);
      onClose();
      await qc.invalidateQueries({ queryKey: ['groups'] });
    },
    onError: (err) => {
      setFields(fieldErrorsOf(err));
      setError(errorMessage(err));
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    setError(undefined);
    // The API's rule (api-contract groups.ts): printable ASCII without spaces, 16–256 characters.
    if (value !== '' && !/^[\x21-\x7e]{16,256}$/.test(value)) {
      setFields({ secret: '16 to 256 printable characters without spaces, or leave empty to generate one' });
      return;
    }
    setFields({});
    save.mutate();
  };
  return (
    <Modal opened={mode !== undefined} onClose={onClose} title={mode === 'rotate' ? `Rotate the enroll secret of ${group.name}` : `Add an enroll secret to ${group.name}`}>
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
          {mode === 'rotate' && <Text size="sm">Hosts already enrolled keep working: the secret is only checked when a host enrolls. Ship the new secret to new hosts before revoking the old one.</Text>}
          <TextInput label="Name" placeholder="e.g. 2026 rollout" maxLength={100} data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)} error={fields['name']} />
          <TextInput label="Secret" description="Leave empty to generate a random 32-character secret" autoComplete="off" spellCheck={false} ff="monospace" value={value} onChange={(e) => setValue(e.currentTarget.value)} error={fields['secret']} />
          {mode === 'rotate' && <Checkbox label="Revoke the other active secrets now" checked={revokeOld} onChange={(e) => setRevokeOld(e.currentTarget.checked)} />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={save.isPending}>{mode === 'rotate' ? 'Rotate secret' : 'Add secret'}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function CreateGroupModal({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (id: number) => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () => api.post<MimirGroup>('/groups', { name: name.trim(), description }),
    onSuccess: async (g) => {
      notifySuccess(`Group ${g.name} created with a first enroll secret`);
      setName('');
      setDescription('');
      await qc.invalidateQueries({ queryKey: ['groups'] });
      onCreated(g.id);
    },
    onError: (err) => {
      const f = fieldErrorsOf(err);
      setFields(Object.keys(f).length > 0 ? f : { name: errorMessage(err) });
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    if (name.trim() === '') {
      setFields({ name: 'A group needs a name' });
      return;
    }
    setFields({});
    create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="Create group">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <TextInput label="Name" required maxLength={100} data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)} error={fields['name']} />
          <Textarea label="Description" maxLength={1000} value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={fields['description']} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={create.isPending}>Create group</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function SecretValue({ s }: { s: EnrollSecret }) {
  const [shown, setShown] = useState(false);
  return (
    <Group gap="xs" wrap="nowrap">
      <Text size="sm" ff="monospace" data-testid={`secret-value-${s.id}`}>{shown ? s.secret : `${s.secret.slice(0, 4)}${'•'.repeat(12)}`}</Text>
      <Button size="compact-xs" variant="subtle" onClick={() => setShown((v) => !v)} aria-label={`${shown ? 'Hide' : 'Show'} secret ${s.name}`}>{shown ? 'Hide' : 'Show'}</Button>
      <CopyButton value={s.secret}>
        {({ copied, copy }) => <Button size="compact-xs" variant="subtle" {...(copied ? { color: 'teal' } : {})} onClick={copy} aria-label={`Copy secret ${s.name}`}>{copied ? 'Copied' : 'Copy'}</Button>}
      </CopyButton>
    </Group>
  );
}

function AgentFiles({ group, secrets }: { group: MimirGroup; secrets: EnrollSecret[] }) {
  const [tlsHostname, setTlsHostname] = useState('');
  const [caPath, setCaPath] = useState('');
  const [secretPath, setSecretPath] = useState('');
  const [secretId, setSecretId] = useState<string | null>(null);
  const [preview, setPreview] = useState<Flagfile>();
  const [fields, setFields] = useState<Record<string, string>>({});
  const active = secrets.filter((s) => s.active);
  const query = {
    tlsHostname: tlsHostname.trim(), caPath: caPath.trim(), secretPath: secretPath.trim(), secretId: secretId ?? undefined,
  };
  const fetchFlagfile = useMutation({
    mutationFn: () => api.get<Flagfile>(`/groups/${group.id}/flagfile`, query),
    onSuccess: (f) => {
      setFields({});
      setPreview(f);
    },
    onError: (err) => {
      const f = fieldErrorsOf(err);
      setFields(f);
      if (Object.keys(f).length === 0) notifyError(err, 'Could not build the flagfile');
    },
  });
  const downloadCa = async () => {
    try {
      const res = await fetch(downloadUrl(`/groups/${group.id}/ca.pem`), { credentials: 'same-origin' });
      const text = await res.text();
      if (!res.ok) {
        let message = `${res.status} ${res.statusText}`;
        try {
          message = (JSON.parse(text) as { error: { message: string } }).error.message;
        } catch {
          // keep the status line
        }
        throw new Error(message);
      }
      saveText('ca.pem', text, 'application/x-pem-file');
    } catch (err) {
      notifyError(err, 'Could not download the CA certificate');
    }
  };
  return (
    <Card withBorder radius="md">
      <Stack gap="sm">
        <Text fw={600}>Agent files</Text>
        <Text size="sm" c="dimmed">
          An osqueryd enrolls with three files: the flagfile (start it with --flagfile), the enroll secret file, and the CA
          certificate that signed this server's certificate. Leave a field empty for the default.
        </Text>
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <Select
            label="Secret" placeholder="Newest active secret" clearable data={active.map((s) => ({ value: String(s.id), label: s.name !== '' ? s.name : `secret ${s.id}` }))}
            value={secretId} onChange={setSecretId} error={fields['secretId']}
          />
          <TextInput label="Server address (--tls_hostname)" placeholder="This server's public host:port" value={tlsHostname} onChange={(e) => setTlsHostname(e.currentTarget.value)} error={fields['tlsHostname']} />
          <TextInput label="CA path on the host" placeholder="/etc/osquery/mimir/ca.pem" value={caPath} onChange={(e) => setCaPath(e.currentTarget.value)} error={fields['caPath']} />
          <TextInput label="Secret path on the host" placeholder="/etc/osquery/mimir/enroll_secret" value={secretPath} onChange={(e) => setSecretPath(e.currentTarget.value)} error={fields['secretPath']} />
        </SimpleGrid>
        <Group>
          <Button variant="default" disabled={active.length === 0} loading={fetchFlagfile.isPending} onClick={() => fetchFlagfile.mutate()}>Show flagfile</Button>
          <Button
            disabled={active.length === 0}
            onClick={() => fetchFlagfile.mutate(undefined, { onSuccess: (f) => saveText('osquery.flags', f.flagfile) })}
          >
            Download flagfile
          </Button>
          <Button
            variant="default" disabled={active.length === 0}
            onClick={() => fetchFlagfile.mutate(undefined, { onSuccess: (f) => saveText('enroll_secret', f.enrollSecret) })}
          >
            Download secret file
          </Button>
          <Button variant="default" onClick={() => void downloadCa()}>Download CA certificate</Button>
        </Group>
        {active.length === 0 && <Text size="sm" c="orange">This group has no active secret: add one to build its flagfile.</Text>}
        {preview !== undefined && (
          <Stack gap={4}>
            <Text size="sm">Copy <Code>{preview.secretPath}</Code> and <Code>{preview.caPath}</Code> to the host, then start osqueryd with this flagfile:</Text>
            <Code block data-testid="flagfile-preview">{preview.flagfile}</Code>
          </Stack>
        )}
      </Stack>
    </Card>
  );
}

/** The group's own osquery options, overriding the global ones for its hosts (PATCH /groups/:id). */
function GroupOptions({ group }: { group: MimirGroup }) {
  const qc = useQueryClient();
  const settings = useOsqueryOptionSettings();
  return (
    <OptionsEditor
      title={`osquery options of ${group.name}`}
      description="Override the global osquery options (Settings → osquery & retention) for this group's hosts; they receive them at their next config fetch."
      saved={group.options} allowed={settings.data?.allowed ?? []} loadError={settings.error}
      save={async (options) => {
        await api.patch<MimirGroup>(`/groups/${group.id}`, { options });
        await qc.invalidateQueries({ queryKey: ['groups'] });
      }}
      savedMessage={`osquery options of ${group.name} saved`}
    />
  );
}

export function EnrollSecretsPage() {
  const qc = useQueryClient();
  const fmt = useFormatTime();
  const groups = useQuery({ queryKey: ['groups'], queryFn: () => api.get<{ items: MimirGroup[] }>('/groups') });
  const [picked, setPicked] = useState<number>();
  const [mode, setMode] = useState<'add' | 'rotate'>();
  const [creating, setCreating] = useState(false);
  const list = groups.data?.items ?? [];
  const group = list.find((g) => g.id === picked) ?? list.find((g) => g.isDefault) ?? list[0];
  const secrets = useQuery({
    queryKey: ['groups', group?.id, 'secrets'],
    queryFn: () => api.get<{ items: EnrollSecret[] }>(`/groups/${group?.id ?? 0}/secrets`),
    enabled: group !== undefined,
  });
  const revoke = useMutation({
    mutationFn: (s: EnrollSecret) => api.del<EnrollSecret>(`/groups/${s.groupId}/secrets/${s.id}`),
    onSuccess: (s) => notifySuccess(`Secret ${s.name !== '' ? s.name : s.id} revoked: new enrollments with it are refused; enrolled hosts stay`),
    onError: (err) => notifyError(err, 'Could not revoke the secret'),
    onSettled: () => qc.invalidateQueries({ queryKey: ['groups'] }),
  });
  const confirmRevoke = (s: EnrollSecret) => confirmDanger({
    title: 'Revoke enroll secret',
    message: <>Revoke {s.name !== '' ? s.name : `secret ${s.id}`}? Hosts that try to enroll with it are refused from now on; hosts already enrolled keep working.</>,
    confirm: 'Revoke',
    onConfirm: () => revoke.mutate(s),
  });
  const items = secrets.data?.items ?? [];
  return (
    <SettingsPage title="Enroll secrets" description="Hosts enroll into a group with one of its secrets and get that group's osquery configuration. Secrets are only checked at enrollment: rotating or revoking one never disconnects enrolled hosts.">
      {groups.isError && <Alert color="red" role="alert">Could not load groups: {groups.error.message}</Alert>}
      <Group align="flex-end">
        <Select
          label="Group" w={320} allowDeselect={false} data={list.map((g) => ({ value: String(g.id), label: `${g.name} (${g.hostCount} host${g.hostCount === 1 ? '' : 's'})` }))}
          value={group !== undefined ? String(group.id) : null} onChange={(v) => v !== null && setPicked(Number(v))}
        />
        <Button variant="default" onClick={() => setCreating(true)}>Create group</Button>
      </Group>
      {group !== undefined && (
        <>
          <Card withBorder padding={0} radius="md">
            <Group justify="space-between" px="md" py="sm" style={{ borderBottom: '1px solid var(--mantine-color-default-border)' }}>
              <Text fw={600}>Secrets of {group.name}</Text>
              <Group gap="xs">
                <Button variant="default" onClick={() => setMode('add')}>Add secret</Button>
                <Button onClick={() => setMode('rotate')}>Rotate secret</Button>
              </Group>
            </Group>
            {secrets.isError && <Text c="red" role="alert" p="md">Could not load secrets: {secrets.error.message}</Text>}
            {secrets.isSuccess && items.length === 0 && <Text c="dimmed" p="md">No secrets: hosts cannot enroll into this group.</Text>}
            {items.length > 0 && (
              <Table.ScrollContainer minWidth={800}>
                <Table verticalSpacing="sm" style={{ whiteSpace: 'nowrap' }}>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Name</Table.Th>
                      <Table.Th>Secret</Table.Th>
                      <Table.Th>Created</Table.Th>
                      <Table.Th>Status</Table.Th>
                      <Table.Th ta="right">Actions</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {items.map((s) => (
                      <Table.Tr key={s.id} data-testid={`secret-${s.id}`}>
                        <Table.Td><Text size="sm">{s.name !== '' ? s.name : `secret ${s.id}`}</Text></Table.Td>
                        <Table.Td><SecretValue s={s} /></Table.Td>
                        <Table.Td><Text size="sm">{fmt(s.createdAt)}</Text></Table.Td>
                        <Table.Td>{s.active ? <Badge color="green" variant="light" tt="none">Active</Badge> : <Badge color="gray" tt="none">Revoked {fmt(s.revokedAt)}</Badge>}</Table.Td>
                        <Table.Td>
                          <Group justify="flex-end">
                            {s.active && <Button size="compact-sm" variant="default" c="red" onClick={() => confirmRevoke(s)}>Revoke</Button>}
                          </Group>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Card>
          <AgentFiles key={group.id} group={group} secrets={items} />
          <GroupOptions key={`options-${group.id}`} group={group} />
          <SecretModal group={group} mode={mode} onClose={() => setMode(undefined)} />
        </>
      )}
      <CreateGroupModal
        opened={creating} onClose={() => setCreating(false)}
        onCreated={(id) => {
          setCreating(false);
          setPicked(id);
        }}
      />
    </SettingsPage>
  );
}
