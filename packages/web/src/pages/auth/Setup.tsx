/** First run: no admin exists yet (GET /setup → needsSetup). Same rules as `mimir setup`. */
import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type SyntheticEvent } from 'react';
import { ApiError } from '../../api/client';
import { errorMessage } from '../../lib/notify';
import { useAuth } from '../../auth/auth';

export function Setup() {
  const { setup } = useAuth();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string>();
  const [fields, setFields] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    setError(undefined);
    setFields({});
    if (password !== confirm) {
      setFields({ confirm: 'The passwords do not match.' });
      return;
    }
    setBusy(true);
    try {
      await setup(email, name, password);
    } catch (err) {
      if (err instanceof ApiError) setFields(err.fieldErrors());
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={420} component="form" onSubmit={(e: SyntheticEvent) => void submit(e)}>
        <Stack>
          <Title order={2}>Welcome to Mimir</Title>
          <Text c="dimmed" size="sm">Create the first administrator account. You can invite more users from Settings afterwards.</Text>
          {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
          <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={fields['email']} />
          <TextInput label="Name" autoComplete="name" value={name} onChange={(e) => setName(e.currentTarget.value)} error={fields['name']} />
          <PasswordInput label="Password" description="At least 12 characters" autoComplete="new-password" required minLength={12} value={password} onChange={(e) => setPassword(e.currentTarget.value)} error={fields['password']} />
          <PasswordInput label="Confirm password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.currentTarget.value)} error={fields['confirm']} />
          <Button type="submit" loading={busy}>Create admin account</Button>
        </Stack>
      </Paper>
    </Center>
  );
}
