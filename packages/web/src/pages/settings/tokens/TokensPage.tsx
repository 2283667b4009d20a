/**
 * Settings → API tokens: named tokens for automation (`Authorization: Bearer mimir_…`), with an
 * optional expiry and a role capped by yours. The token is shown once, right after creation, with a
 * copy button; afterwards only its prefix is known. Every role manages its own tokens; admins see
 * (and can revoke) everyone's.
 */
import { Alert, Badge, Button, Code, CopyButton, Group, Modal, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { ROLES, type ApiToken, type Role, type User } from '@mimir/api-contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { api } from '../../../api/client';
import { fieldErrorsOf } from '../../../components/formErrors';
import { useUser } from '../../../auth/auth';
import { errorMessage, notifyError, notifySuccess } from '../../../lib/notify';
import { useFormatTime } from '../../../lib/time';
import { confirmDanger } from '../../../components/paging';
import { SettingsPage, type Paged } from '../SettingsPage';
import { ROLE_LABEL } from '../users/UsersPage';

const KEY = ['tokens'];
const EXPIRY = [
  { value: '7', label: '7 days' }, { value: '30', label: '30 days' }, { value: '90', label: '90 days' },
  { value: '365', label: '1 year' }, { value: 'never', label: 'Never' },
];
const RANK: Record<Role, number> = { readonly: 0, operator: 1, admin: 2 };

interface Created {
  token: string;
  apiToken: ApiToken;
}

function CreateTokenModal({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (c: Created) => void }) {
  const me = useUser();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState('90');
  const [role, setRole] = useState<Role>(me.role);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const create = useMutation({
    mutationFn: () => api.post<Created>('/tokens', { name: name.trim(), role, ...(expiry !== 'never' ? { expiresInDays: Number(expiry) } : {}) }),
    onSuccess: async (c) => {
      setName('');
      onCreated(c);
      await qc.invalidateQueries({ queryKey: KEY });
    },
    onError: (err) => {
      setFields(fieldErrorsOf(err));
      setError(errorMessage(err));
    },
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    setError(undefined);
    if (name.trim() === '') {
      setFields({ name: 'Name the token after what uses it, e.g. "CI deploy".' });
      return;
    }
    setFields({});
    create.mutate();
  };
  // A token can never exceed its owner's role (the API caps it too).
  const roles = ROLES.filter((r) => RANK[r] <= RANK[me.role]).map((r) => ({ value: r, label: ROLE_LABEL[r] }));
  return (
    <Modal opened={opened} onClose={onClose} title="Create API token">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
          <TextInput label="Name" required data-autofocus maxLength={200} placeholder="CI deploy" value={name} onChange={(e) => setName(e.currentTarget.value)} error={fields['name']} />
          <Select label="Expires" allowDeselect={false} data={EXPIRY} value={expiry} onChange={(v) => setExpiry(v ?? '90')} error={fields['expiresInDays']} />
          <Select
            label="Role" description="At most your own role" allowDeselect={false} data={roles} value={role} error={fields['role']}
            onChange={(v) => {
              const r = ROLES.find((x) => x === v);
              if (r !== undefined) setRole(r);
            }}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={create.isPending}>Create token</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function ShownOnce({ created, onClose }: { created: Created | undefined; onClose: () => void }) {
  return (
    <Modal opened={created !== undefined} onClose={onClose} title="Copy your new token" closeOnClickOutside={false}>
      <Stack gap="sm">
        <Text size="sm">This is the only time the token <b>{created?.apiToken.name}</b> is shown. Store it in your secret manager now.</Text>
        <Code block data-testid="new-token" style={{ wordBreak: 'break-all' }}>{created?.token}</Code>
        <Group justify="space-between">
          <CopyButton value={created?.token ?? ''}>
            {({ copied, copy }) => <Button variant={copied ? 'light' : 'filled'} {...(copied ? { color: 'teal' } : {})} onClick={copy}>{copied ? 'Copied' : 'Copy token'}</Button>}
          </CopyButton>
          <Button variant="default" onClick={onClose}>Done</Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export function TokensPage() {
  const me = useUser();
  const qc = useQueryClient();
  const fmt = useFormatTime();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created>();
  const tokens = useQuery({ queryKey: KEY, queryFn: () => api.get<{ items: ApiToken[] }>('/tokens') });
  // Admins see every token: name the owners.
  const users = useQuery({ queryKey: ['users', 'all'], queryFn: () => api.get<Paged<User>>('/users', { limit: 1000 }), enabled: me.role === 'admin' });
  const owner = (id: number) => (id === me.id ? 'you' : users.data?.items.find((u) => u.id === id)?.email ?? `user ${id}`);
  const revoke = useMutation({
    mutationFn: (t: ApiToken) => api.del(`/tokens/${t.id}`),
    onSuccess: (_r, t) => notifySuccess(`Token ${t.name} revoked`),
    onError: (err) => notifyError(err, 'Could not revoke the token'),
    onSettled: () => qc.invalidateQueries({ queryKey: KEY }),
  });
  const confirmRevoke = (t: ApiToken) => confirmDanger({
    title: 'Revoke token',
    message: <>Revoke {t.name} ({t.prefix}…)? Anything still using it gets 401 from now on.</>,
    confirm: 'Revoke',
    onConfirm: () => revoke.mutate(t),
  });
  const now = Date.now();
  const status = (t: ApiToken) => {
    if (t.revoked) return <Badge color="gray" tt="none">Revoked</Badge>;
    if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) return <Badge color="orange" tt="none">Expired</Badge>;
    return <Badge color="green" variant="light" tt="none">Active</Badge>;
  };
  const items = tokens.data?.items ?? [];
  return (
    <SettingsPage title="API tokens" description="Tokens let scripts and mimir-cli call the API as you (Authorization: Bearer …). A token's role never exceeds its owner's current role.">
      <Group justify="flex-end"><Button onClick={() => setCreating(true)}>Create token</Button></Group>
      {tokens.isError && <Alert color="red" role="alert">Could not load tokens: {tokens.error.message}</Alert>}
      {tokens.isSuccess && items.length === 0 && <Text c="dimmed">No API tokens yet.</Text>}
      {items.length > 0 && (
        <Table.ScrollContainer minWidth={900}>
          <Table verticalSpacing="sm" highlightOnHover style={{ whiteSpace: 'nowrap' }}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Token</Table.Th>
                <Table.Th>Role</Table.Th>
                {me.role === 'admin' && <Table.Th>Owner</Table.Th>}
                <Table.Th>Created</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ta="right">Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((t) => (
                <Table.Tr key={t.id} data-testid={`token-${t.name}`}>
                  <Table.Td><Text size="sm">{t.name}</Text></Table.Td>
                  <Table.Td><Text size="sm" ff="monospace">{t.prefix}…</Text></Table.Td>
                  <Table.Td><Text size="sm">{ROLE_LABEL[t.role]}</Text></Table.Td>
                  {me.role === 'admin' && <Table.Td><Text size="sm">{owner(t.userId)}</Text></Table.Td>}
                  <Table.Td><Text size="sm">{fmt(t.createdAt)}</Text></Table.Td>
                  <Table.Td><Text size="sm">{t.expiresAt === null ? 'Never' : fmt(t.expiresAt)}</Text></Table.Td>
                  <Table.Td><Text size="sm">{t.lastUsedAt === null ? 'Never' : fmt(t.lastUsedAt)}</Text></Table.Td>
                  <Table.Td>{status(t)}</Table.Td>
                  <Table.Td>
                    <Group justify="flex-end">
                      {!t.revoked && <Button size="compact-sm" variant="default" c="red" onClick={() => confirmRevoke(t)}>Revoke</Button>}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <CreateTokenModal
        opened={creating} onClose={() => setCreating(false)}
        onCreated={(c) => {
          setCreating(false);
          setCreated(c);
        }}
      />
      <ShownOnce created={created} onClose={() => setCreated(undefined)} />
    </SettingsPage>
  );
}
