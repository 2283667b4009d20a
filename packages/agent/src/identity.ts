/**
 * What the agent says about its machine: the hardware UUID that ties it to osqueryd's enrollment
 * (`--host_identifier=uuid` sends the same UUID, osquery-protocol.md §7.1), the OS and arch in the
 * update vocabulary (docs/updates.md), and the hostname.
 */
import { readFileSync } from 'node:fs';
import { arch as osArch, hostname, platform } from 'node:os';

/** `linux`, `darwin`, `windows`, `freebsd` (the update panels' OS names). */
export function updateOs(p: string = platform()): string {
  return p === 'win32' ? 'windows' : p;
}

/** `amd64` / `arm64` (Node says x64 / arm64). */
export function updateArch(a: string = osArch()): string {
  if (a === 'x64') return 'amd64';
  return a;
}

export function machineHostname(): string {
  return hostname();
}

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Values firmware ships instead of a real UUID (osquery treats them as placeholders too). */
const PLACEHOLDER = /^(0{8}-0{4}-0{4}-0{4}-0{12}|F{8}-F{4}-F{4}-F{4}-F{12}|03000200-0400-0500-0006-000700080009)$/i;

/**
 * The machine's hardware UUID, upper case as osquery reports `system_info.uuid`: the configured
 * override, else DMI `product_uuid` (what osquery reads on Linux; root only), else the systemd
 * machine id shaped as a UUID. Throws when none is available: the agent cannot be tied to its host.
 */
export function hardwareUuid(override: string, read: (p: string) => string | undefined = tryRead): string {
  if (override.trim() !== '') return override.trim().toUpperCase();
  const dmi = read('/sys/class/dmi/id/product_uuid');
  if (dmi !== undefined && /^[0-9a-f-]{36}$/i.test(dmi) && !PLACEHOLDER.test(dmi)) return dmi.toUpperCase();
  const mid = read('/etc/machine-id');
  if (mid !== undefined && /^[0-9a-f]{32}$/i.test(mid)) {
    const h = mid.toUpperCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  throw new Error('cannot determine the hardware UUID (no readable /sys/class/dmi/id/product_uuid or /etc/machine-id): set "hardwareUuid" in the agent config');
}
