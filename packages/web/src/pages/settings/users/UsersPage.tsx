/**
 * Settings → Users and roles (admin only): list, create (invite with a first password), change role,
 * disable/enable, reset password, sign out everywhere, delete. The API protects the last admin and
 * refuses changes to yourself that would lock you out; its messages are shown as toasts.
 */
import { Alert, Badge, Button, Group, Menu, Modal, PasswordInput, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { ROLES, type Role, type User } from '@mimir/api-contract';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { api } from '../../../api/client';
import { fieldErrorsOf } from '../../../components/formErrors';
import { useUser } from '../../../auth/auth';
import { errorMessage, notifyError, notifySuccess } from '../../../lib/notify';
import { useFormatTime } from '../../../lib/time';
import { confirmDanger } from '../../../components/paging';
import { SettingsPage, type Paged } from '../SettingsPage';

export const ROLE_LABEL: Record<Role, string> = { admin: 'Admin', operator: 'Operator', readonly: 'Read-only' };
export const ROLE_OPTIONS = ROLES.map((r) => ({ value: r, label: ROLE_LABEL[r] }));
const ROLE_HELP = 'Admin: everything, including users and updates. Operator: run, schedule and save queries. Read-only: view hosts, results and history.';
const KEY = ['users'];

function isRole(v: string | null): v is Role {
  return v !== null && (ROLES as readonly string[]).includes(v);
}

function CreateUserModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [password, setPassword] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const create = useMutation({
    mutationFn: () => api.post<User>('/users', { email, name, role, password }),
    onSuccess: async (u) => {
      notifySuccess(`${u.email} can now sign in as ${ROLE_LABEL[u.role]}. Share the password through a safe channel.`, 'User created');
      setEmail('');
      setName('');
      setPassword('');
      onClose();
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
    setFields({});
    if (password.length < 12) {
      setFields({ password: 'At least 12 characters.' });
      return;
    }
    create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="Create user">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
          <TextInput label="Email" type="email" required data-autofocus value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={fields['email']} />
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} error={fields['name']} />
          <Select label="Role" description={ROLE_HELP} required allowDeselect={false} data={ROLE_OPTIONS} value={role} onChange={(v) => isRole(v) && setRole(v)} error={fields['role']} />
          <PasswordInput label="First password" description="At least 12 characters; they can change it after signing in." required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} error={fields['password']} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={create.isPending}>Create user</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function ResetPasswordModal({ user, onClose }: { user: User | undefined; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const reset = useMutation({
    mutationFn: (u: User) => api.patch<User>(`/users/${u.id}`, { password }),
    onSuccess: (u) => {
      notifySuccess(`Password of ${u.email} changed. Their other sessions stay signed in until you sign them out.`);
      setPassword('');
      onClose();
    },
    onError: (err) => setError(fieldErrorsOf(err)['password'] ?? errorMessage(err)),
  });
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    if (user === undefined) return;
    if (password.length < 12) {
      setError('At least 12 characters.');
      return;
    }
    setError(undefined);
    reset.mutate(user);
  };
  return (
    <Modal opened={user !== undefined} onClose={onClose} title={`Reset password of ${user?.email ?? ''}`}>
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <PasswordInput label="New password" description="At least 12 characters" required data-autofocus autoComplete="new-password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={reset.isPending}>Set password</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export function UsersPage() {
  const me = useUser();
  const qc = useQueryClient();
  const fmt = useFormatTime();
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<User>();
  const list = useInfiniteQuery({
    queryKey: KEY,
    queryFn: ({ pageParam }) => api.get<Paged<User>>('/users', { limit: 200, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const users = list.data?.pages.flatMap((p) => p.items) ?? [];
  const done = (title: string) => ({ onError: (err: unknown) => notifyError(err, title), onSettled: () => qc.invalidateQueries({ queryKey: KEY }) });

  const update = useMutation({
    mutationFn: ({ u, patch }: { u: User; patch: { role?: Role; disabled?: boolean } }) => api.patch<User>(`/users/${u.id}`, patch),
    onSuccess: (u, { patch }) => notifySuccess(patch.role !== undefined ? `${u.email} is now ${ROLE_LABEL[u.role]}` : `${u.email} ${u.disabled ? 'disabled: their sessions and tokens stop working' : 'enabled'}`),
    ...done('Could not change the user'),
  });
  const revoke = useMutation({
    mutationFn: (u: User) => api.post<{ revoked: number }>(`/users/${u.id}/revoke-sessions`),
    onSuccess: (r, u) => notifySuccess(`${u.email} signed out of ${r.revoked} session${r.revoked === 1 ? '' : 's'}`),
    ...done('Could not sign the user out'),
  });
  const remove = useMutation({
    mutationFn: (u: User) => api.del(`/users/${u.id}`),
    onSuccess: (_r, u) => notifySuccess(`${u.email} deleted`),
    ...done('Could not delete the user'),
  });

  const confirmDelete = (u: User) => confirmDanger({
    title: 'Delete user',
    message: <>Delete {u.email}? Their sessions and API tokens stop working at once. The audit log keeps their past actions.</>,
    confirm: 'Delete',
    onConfirm: () => remove.mutate(u),
  });

  return (
    <SettingsPage title="Users and roles" description={ROLE_HELP}>
      <Group justify="flex-end">
        <Button onClick={() => setCreating(true)}>Create user</Button>
      </Group>
      {list.isError && <Alert color="red" role="alert">Could not load users: {list.error.message}</Alert>}
      <Table.ScrollContainer minWidth={900}>
        <Table verticalSpacing="sm" highlightOnHover style={{ whiteSpace: 'nowrap' }}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Email</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>Last sign-in</Table.Th>
              <Table.Th ta="right">Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {users.map((u) => (
              <Table.Tr key={u.id} data-testid={`user-${u.email}`}>
                <Table.Td><Text size="sm">{u.email}{u.id === me.id && <Text span c="dimmed" size="xs"> (you)</Text>}</Text></Table.Td>
                <Table.Td><Text size="sm">{u.name}</Text></Table.Td>
                <Table.Td>
                  <Select
                    aria-label={`Role of ${u.email}`} size="xs" w={130} allowDeselect={false} data={ROLE_OPTIONS} value={u.role}
                    onChange={(v) => isRole(v) && v !== u.role && update.mutate({ u, patch: { role: v } })}
                  />
                </Table.Td>
                <Table.Td>{u.disabled ? <Badge color="gray" tt="none">Disabled</Badge> : <Badge color="green" variant="light" tt="none">Active</Badge>}</Table.Td>
                <Table.Td><Text size="sm">{fmt(u.createdAt)}</Text></Table.Td>
                <Table.Td><Text size="sm">{fmt(u.lastLoginAt)}</Text></Table.Td>
                <Table.Td>
                  <Group justify="flex-end">
                    <Menu position="bottom-end" withinPortal>
                      <Menu.Target>
                        <Button size="compact-sm" variant="default" aria-label={`Actions for ${u.email}`}>Actions</Button>
                      </Menu.Target>
                      <Menu.Dropdown>
                        <Menu.Item onClick={() => setResetting(u)}>Reset password</Menu.Item>
                        <Menu.Item onClick={() => update.mutate({ u, patch: { disabled: !u.disabled } })}>{u.disabled ? 'Enable' : 'Disable'}</Menu.Item>
                        <Menu.Item onClick={() => revoke.mutate(u)}>Sign out everywhere</Menu.Item>
                        <Menu.Divider />
                        <Menu.Item color="red" onClick={() => confirmDelete(u)}>Delete</Menu.Item>
                      </Menu.Dropdown>
                    </Menu>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.hasNextPage && <Group justify="center"><Button variant="subtle" loading={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>Load more</Button></Group>}
      <CreateUserModal opened={creating} onClose={() => setCreating(false)} />
      <ResetPasswordModal user={resetting} onClose={() => setResetting(undefined)} />
    </SettingsPage>
  );
}
