import { Center, Loader, Stack, Text, Title } from '@mantine/core';
import { Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { useAuth } from './auth/auth';
import { Shell } from './layout/Shell';
import { SignIn } from './pages/auth/SignIn';
import { Setup } from './pages/auth/Setup';
import { pageRoutes } from './routes';

function NotFound() {
  return (
    <Stack>
      <Title order={2}>Page not found</Title>
      <Text c="dimmed">This page does not exist, or your role cannot use it.</Text>
    </Stack>
  );
}

export function App() {
  const { state } = useAuth();
  if (state.status === 'loading') return <Center mih="100vh"><Loader aria-label="Loading" /></Center>;
  if (state.status === 'setup') return <Setup />;
  if (state.status === 'signed-out') return <SignIn expired={state.expired} />;
  const role = state.user.role;
  const allowed = pageRoutes.filter((r) => r.roles === undefined || r.roles.includes(role));
  return (
    <Shell routes={allowed}>
      <Suspense fallback={<Loader aria-label="Loading page" />}>
        <Routes>
          {allowed.map((r) => <Route key={r.path} path={r.path === '' ? '/' : `/${r.path}`} element={<r.component />} />)}
          {allowed.every((r) => r.path !== '') && <Route path="/" element={<Navigate to={allowed[0] !== undefined ? `/${allowed[0].path}` : '/'} replace />} />}
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </Shell>
  );
}
