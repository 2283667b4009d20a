/**
 * The signed-in frame: navigation (main pages, then Settings), the user menu with sign-out, and the
 * light/dark switch. Pages a role may not use are not listed (admin-only settings are hidden for
 * other roles, seed 000) and their routes answer "not found".
 */
import { ActionIcon, AppShell, Burger, Group, Menu, NavLink, ScrollArea, Text, Title, Tooltip, UnstyledButton, useComputedColorScheme, useMantineColorScheme } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { NavLink as RouterNavLink, useLocation } from 'react-router';
import { useAuth, useUser } from '../auth/auth';
import type { PageRoute } from '../routes';

function navPath(r: PageRoute): string {
  return `/${r.path}`;
}

export function Shell({ routes, children }: { routes: readonly PageRoute[]; children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure();
  const user = useUser();
  const { signOut } = useAuth();
  const { setColorScheme } = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  const location = useLocation();
  const nav = routes.filter((r) => r.nav !== undefined).sort((a, b) => (a.nav?.order ?? 0) - (b.nav?.order ?? 0));
  const section = (s: 'main' | 'settings') => nav.filter((r) => r.nav?.section === s).map((r) => (
    <NavLink
      key={r.path}
      component={RouterNavLink}
      to={navPath(r)}
      label={r.nav?.label}
      active={location.pathname === navPath(r) || (r.path !== '' && location.pathname.startsWith(`${navPath(r)}/`))}
      onClick={close}
    />
  ));
  const settings = section('settings');

  return (
    <AppShell header={{ height: 52 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={4} component="span">Mimir</Title>
          </Group>
          <Group gap="xs">
            <Tooltip label={scheme === 'dark' ? 'Light theme' : 'Dark theme'}>
              <ActionIcon variant="default" size="lg" aria-label={scheme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'} onClick={() => setColorScheme(scheme === 'dark' ? 'light' : 'dark')}>
                <span aria-hidden>{scheme === 'dark' ? '☀' : '☾'}</span>
              </ActionIcon>
            </Tooltip>
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <UnstyledButton aria-label="Account menu" data-testid="account-menu">
                  <Text size="sm" fw={500}>{user.name !== '' ? user.name : user.email}</Text>
                  <Text size="xs" c="dimmed">{user.role}</Text>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>{user.email}</Menu.Label>
                <Menu.Item onClick={() => void signOut()}>Sign out</Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        <AppShell.Section grow component={ScrollArea}>
          {section('main')}
          {settings.length > 0 && (
            <>
              <Text size="xs" c="dimmed" tt="uppercase" fw={700} mt="md" mb={4} px="sm">Settings</Text>
              {settings}
            </>
          )}
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}
