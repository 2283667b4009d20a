/**
 * The console's pages: one list, used for the router and the navigation. Pages are split by area
 * (core operator pages, settings) so each area keeps its own list.
 */
import type { Role } from '@mimir/api-contract';
import type { ComponentType } from 'react';
import { coreRoutes } from './pages/core.routes';
import { settingsRoutes } from './pages/settings/settings.routes';

export interface PageRoute {
  /** Router path, e.g. `hosts/:id` (relative to `/`). */
  path: string;
  /** Shown in the navigation when set. */
  nav?: { label: string; section: 'main' | 'settings'; order: number };
  /** Roles that may see the page (default: every role). Admin-only pages are hidden for others (seed 000). */
  roles?: readonly Role[];
  component: ComponentType;
}

export const pageRoutes: readonly PageRoute[] = [...coreRoutes, ...settingsRoutes];
