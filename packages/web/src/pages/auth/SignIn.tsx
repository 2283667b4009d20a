import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useState, type SyntheticEvent } from 'react';
import { errorMessage } from '../../lib/notify';
import { useAuth } from '../../auth/auth';

export function SignIn({ expired }: { expired: boolean }) {
  const { signIn } = useAuth();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(email, password);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={380} component="form" onSubmit={(e: SyntheticEvent) => void submit(e)}>
        <Stack>
          <Title order={2}>Sign in to Mimir</Title>
          {expired && <Alert color="yellow" title="Session ended">Your session expired or was signed out. Sign in again to continue.</Alert>}
          {error !== undefined && <Alert color="red" role="alert">{error}</Alert>}
          <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} data-autofocus />
          <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
          <Button type="submit" loading={busy}>Sign in</Button>
        </Stack>
      </Paper>
    </Center>
  );
}
