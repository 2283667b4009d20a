import { lazy } from 'react';
import type { PageRoute } from '../routes';

// Each page is its own chunk (React.lazy): the first load carries only the shell and the page shown.
const Dashboard = lazy(() => import('./dashboard/Dashboard'));
const HostsPage = lazy(() => import('./hosts/HostsPage'));
const HostPage = lazy(() => import('./hosts/HostPage'));
const LiveQueriesPage = lazy(() => import('./live/LiveQueriesPage'));
const NewLiveQuery = lazy(() => import('./live/NewLiveQuery'));
const LiveQueryView = lazy(() => import('./live/LiveQueryView'));
const SavedQueriesPage = lazy(() => import('./queries/SavedQueriesPage'));
const SavedQueryEdit = lazy(() => import('./queries/SavedQueryEdit'));
const PacksPage = lazy(() => import('./packs/PacksPage'));
const PackView = lazy(() => import('./packs/PackView'));
const PackEdit = lazy(() => import('./packs/PackEdit'));
const LabelsPage = lazy(() => import('./labels/LabelsPage'));
const ScheduledResultsPage = lazy(() => import('./results/ScheduledResultsPage'));
const AuditLogPage = lazy(() => import('./audit/AuditLogPage'));

/** Who may run live queries and edit queries, packs and labels (seed 004: "All"); the API enforces. */
const WRITERS = ['admin', 'operator'] as const;

/** Dashboard, hosts, live queries, saved queries, packs, labels, scheduled results, audit log. */
export const coreRoutes: readonly PageRoute[] = [
  { path: '', nav: { label: 'Dashboard', section: 'main', order: 10 }, component: Dashboard },
  { path: 'hosts', nav: { label: 'Hosts', section: 'main', order: 20 }, component: HostsPage },
  { path: 'hosts/:id', component: HostPage },
  { path: 'live', nav: { label: 'Live queries', section: 'main', order: 30 }, component: LiveQueriesPage },
  { path: 'live/new', roles: WRITERS, component: NewLiveQuery },
  { path: 'live/:id', component: LiveQueryView },
  { path: 'queries', nav: { label: 'Saved queries', section: 'main', order: 40 }, component: SavedQueriesPage },
  { path: 'queries/new', roles: WRITERS, component: SavedQueryEdit },
  { path: 'queries/:id', component: SavedQueryEdit },
  { path: 'packs', nav: { label: 'Packs', section: 'main', order: 50 }, component: PacksPage },
  { path: 'packs/new', roles: WRITERS, component: PackEdit },
  { path: 'packs/:id', component: PackView },
  { path: 'packs/:id/edit', roles: WRITERS, component: PackEdit },
  { path: 'labels', nav: { label: 'Labels', section: 'main', order: 60 }, component: LabelsPage },
  { path: 'results', nav: { label: 'Scheduled results', section: 'main', order: 70 }, component: ScheduledResultsPage },
  // audit:read is an admin permission (packages/server/src/auth/permissions.ts).
  { path: 'audit', nav: { label: 'Audit log', section: 'main', order: 80 }, roles: ['admin'], component: AuditLogPage },
];
