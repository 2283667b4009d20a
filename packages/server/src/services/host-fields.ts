/**
 * Map osquery's host_details tables (enroll, §2.1) — and the same tables returned by detail
 * queries — onto host columns. Missing tables or columns leave the column untouched.
 */
import { platformFromOsName, type HostPlatform } from '@mimir/osquery-protocol';
import type { HostUpdate } from '../storage/repositories/hosts.repository.js';

type Table = Record<string, string>;

function int(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

/** Normalise CPU architecture names to the ones update artifacts use (amd64, arm64). */
export function normaliseArch(a: string): string {
  const s = a.trim().toLowerCase();
  if (s === 'x86_64' || s === 'amd64' || s === 'x64' || s === 'x86-64') return 'amd64';
  if (s === 'arm64' || s === 'aarch64' || s === 'arm64e') return 'arm64';
  // Windows os_version.arch is prose: "64-bit", "ARM 64-bit Processor", "32-bit".
  if (s.includes('arm') && s.includes('64')) return 'arm64';
  if (s === '64-bit') return 'amd64';
  if (s === '32-bit') return '386';
  return s;
}

export function hostFieldsFromDetails(details: {
  os_version?: Table; osquery_info?: Table; system_info?: Table;
}): { platform: HostPlatform | undefined; columns: HostUpdate } {
  const os = details.os_version ?? {};
  const oi = details.osquery_info ?? {};
  const si = details.system_info ?? {};
  const c: HostUpdate = {};
  const set = <K extends keyof HostUpdate>(k: K, v: HostUpdate[K] | undefined) => {
    if (v !== undefined && v !== '') c[k] = v;
  };
  set('os_name', os['name']);
  set('os_version', os['version']);
  set('os_build', os['build']);
  set('platform_like', os['platform_like']);
  set('osquery_version', oi['version']);
  set('hostname', si['hostname']);
  set('computer_name', si['computer_name']);
  set('hardware_uuid', si['uuid']);
  set('hardware_serial', si['hardware_serial']);
  set('hardware_vendor', si['hardware_vendor']);
  set('hardware_model', si['hardware_model']);
  set('cpu_brand', si['cpu_brand']);
  set('cpu_logical_cores', int(si['cpu_logical_cores']));
  set('physical_memory', int(si['physical_memory']));
  const arch = os['arch'] ?? si['cpu_type'];
  if (arch !== undefined && arch !== '') c.arch = normaliseArch(arch);
  const platform = os['platform'] !== undefined ? platformFromOsName(os['platform'], os['platform_like'] ?? '') : undefined;
  if (platform !== undefined && platform !== 'unknown') c.platform = platform;
  return { platform, columns: c };
}
