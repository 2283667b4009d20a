/**
 * Settings: users and roles, API tokens, enroll secrets, Time & Display, osquery options and
 * retention, Agent Updates, Osquery Updates. Admin-only pages carry `roles: ['admin']`, so other
 * roles neither see them in the navigation nor reach them by URL (seed 000: "hidden from non-admin
 * operators"); the API enforces the same (403). Every role manages its own API tokens and reads
 * Time & Display. Pages load lazily to keep the first load small.
 */
import { lazy } from 'react';
import type { PageRoute } from '../../routes';

const Users = lazy(() => import('./users/UsersPage').then((m) => ({ default: m.UsersPage })));
const Tokens = lazy(() => import('./tokens/TokensPage').then((m) => ({ default: m.TokensPage })));
const EnrollSecrets = lazy(() => import('./enroll/EnrollSecretsPage').then((m) => ({ default: m.EnrollSecretsPage })));
const TimeDisplay = lazy(() => import('./display/TimeDisplayPage').then((m) => ({ default: m.TimeDisplayPage })));
const OsqueryOptions = lazy(() => import('./server/OsqueryOptionsPage').then((m) => ({ default: m.OsqueryOptionsPage })));
const OsqueryUpdates = lazy(() => import('./updates/UpdatesPages').then((m) => ({ default: m.OsqueryUpdatesPage })));
const AgentUpdates = lazy(() => import('./updates/UpdatesPages').then((m) => ({ default: m.AgentUpdatesPage })));

const ADMIN = ['admin'] as const;

export const settingsRoutes: readonly PageRoute[] = [
  { path: 'settings/users', nav: { label: 'Users', section: 'settings', order: 100 }, roles: ADMIN, component: Users },
  { path: 'settings/tokens', nav: { label: 'API tokens', section: 'settings', order: 110 }, component: Tokens },
  { path: 'settings/enroll-secrets', nav: { label: 'Enroll secrets', section: 'settings', order: 120 }, roles: ADMIN, component: EnrollSecrets },
  { path: 'settings/display', nav: { label: 'Time & Display', section: 'settings', order: 130 }, component: TimeDisplay },
  { path: 'settings/osquery', nav: { label: 'osquery & retention', section: 'settings', order: 140 }, roles: ADMIN, component: OsqueryOptions },
  { path: 'settings/agent-updates', nav: { label: 'Agent Updates', section: 'settings', order: 160 }, roles: ADMIN, component: AgentUpdates },
  { path: 'settings/osquery-updates', nav: { label: 'Osquery Updates', section: 'settings', order: 170 }, roles: ADMIN, component: OsqueryUpdates },
];
