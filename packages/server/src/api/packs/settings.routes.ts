import {
  DisplaySettings, ErrorBody, OsqueryOptionsSettings, RetentionSettings, UpdateDisplaySettings, UpdateOsqueryOptions,
  UpdateRetentionSettings,
} from '@mimir/api-contract';
import type { SettingsService } from '../../services/settings/settings.service.js';
import type { ApiApp, CoreServices } from '../api.types.js';

const tags = ['settings'];

/**
 * Display settings are read by every role (`settings:read`); osquery options and retention are
 * admin settings, so even reading them takes `settings:write` (seed 000: admin-only settings).
 */
export function registerSettingsRoutes(app: ApiApp, settings: SettingsService, core: CoreServices): void {
  app.get('/settings/display', {
    config: { permission: 'settings:read' },
    schema: { tags, summary: 'Time zone and date format for the console', response: { 200: DisplaySettings } },
  }, () => settings.display());

  app.put('/settings/display', {
    config: { permission: 'settings:write', audit: 'settings.display.update', auditTarget: 'settings' },
    schema: { tags, summary: 'Change the time zone or date format', body: UpdateDisplaySettings, response: { 200: DisplaySettings, 422: ErrorBody } },
  }, async (req) => {
    const d = await settings.updateDisplay(req.body);
    req.auditTargetId = 'display';
    req.auditDetails = { timeZone: d.timeZone, dateFormat: d.dateFormat };
    return d;
  });

  app.get('/settings/osquery-options', {
    config: { permission: 'settings:write' },
    schema: { tags, summary: 'Global osquery options served in every config', response: { 200: OsqueryOptionsSettings } },
  }, () => settings.osqueryOptions());

  app.put('/settings/osquery-options', {
    config: { permission: 'settings:write', audit: 'settings.osquery_options.update', auditTarget: 'settings' },
    schema: {
      tags, summary: 'Replace the global osquery options',
      description: 'Only known-safe runtime flags and custom_* keys; hosts receive them at their next config fetch. Group options still override them.',
      body: UpdateOsqueryOptions, response: { 200: OsqueryOptionsSettings, 422: ErrorBody },
    },
  }, async (req) => {
    const r = await settings.setOsqueryOptions(req.body.options);
    req.auditTargetId = 'osquery-options';
    req.auditDetails = { options: r.options };
    return r;
  });

  app.get('/settings/retention', {
    config: { permission: 'settings:write' },
    schema: { tags, summary: 'Result and live query history retention', response: { 200: RetentionSettings } },
  }, async () => ({ ...(await settings.retention()), defaults: { liveQueryHistoryDays: core.settings.liveQueryHistoryDays } }));

  app.put('/settings/retention', {
    config: { permission: 'settings:write', audit: 'settings.retention.update', auditTarget: 'settings' },
    schema: {
      tags, summary: 'Override retention (null = back to the environment default)',
      body: UpdateRetentionSettings, response: { 200: RetentionSettings, 422: ErrorBody },
    },
  }, async (req) => {
    const r = await settings.updateRetention(req.body);
    req.auditTargetId = 'retention';
    req.auditDetails = { resultRetentionDays: r.resultRetentionDays, liveQueryHistoryDays: r.liveQueryHistoryDays };
    return { ...r, defaults: { liveQueryHistoryDays: core.settings.liveQueryHistoryDays } };
  });
}
