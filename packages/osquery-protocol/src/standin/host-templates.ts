/**
 * Realistic, deterministic hosts for the osqueryd stand-in (osquery-protocol.md §2.1 host_details).
 * `makeHostProfile(template, seed)` always yields the same host for the same (template, seed), and
 * distinct integer seeds (0 … 2³²−1) yield distinct uuid, instance_id, hostname, serial, IPv4 and
 * MAC, so the load simulator can create 100k hosts reproducibly. String seeds are hashed (distinct
 * with overwhelming probability).
 *
 * Every table is an object of string values with alphabetically ordered keys, like the first row of
 * osquery's table generators that enroll sends (including Linux `os_version.pid_with_namespace`).
 */
import { createHash } from 'node:crypto';
import { PLATFORM_MASK } from '../platform.js';
import { DEFAULT_OSQUERY_VERSION } from './version.js';

export const HOST_TEMPLATES = ['ubuntu', 'rhel', 'macos', 'windows'] as const;
export type HostTemplate = (typeof HOST_TEMPLATES)[number];
export type StandinPlatform = 'linux' | 'darwin' | 'windows';

/** One table row: column → string value. */
export type TableRow = Record<string, string>;

/** The four enroll host_details tables; `platform_info` is absent where osquery yields no row (containers). */
export interface HostTables {
  os_version: TableRow;
  osquery_info: TableRow;
  platform_info?: TableRow;
  system_info: TableRow;
}

export interface HostProfile {
  template: HostTemplate;
  seed: string;
  platform: StandinPlatform;
  /** osquery_info.platform_mask / enroll platform_type: 9 Linux, 21 macOS, 2 Windows. */
  platformMask: number;
  container: boolean;
  hostname: string;
  /** Hardware UUID (upper case), also osquery_info.uuid. */
  uuid: string;
  /** osquery instance UUID (lower case). */
  instanceId: string;
  serial: string;
  ipv4: string;
  ipv6: string;
  mac: string;
  /** Uptime when the profile's osqueryd "started", in seconds. */
  uptimeSeconds: number;
  /** Primary interactive user (username). */
  primaryUser: string;
  /** Tables, keys sorted. `osquery_info.version` is the version given to makeHostProfile. */
  tables: HostTables;
  /** Extra rows the default query engine serves. */
  users: TableRow[];
  processes: TableRow[];
  interfaceAddresses: TableRow[];
  /** Linux `memory_info` row (absent on macOS/Windows, which lack the table). */
  memoryInfo?: TableRow;
}

export interface HostProfileOptions {
  /** osquery version recorded in osquery_info (default 5.23.1). */
  version?: string;
  /** A containerised Linux host: no platform_info row, no hardware identifiers, hex hostname. */
  container?: boolean;
}

/** Deterministic PRNG: sfc32 seeded with SHA-256(template, seed). */
class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(key: string) {
    const h = createHash('sha256').update(key).digest();
    this.a = h.readUInt32BE(0);
    this.b = h.readUInt32BE(4);
    this.c = h.readUInt32BE(8);
    this.d = h.readUInt32BE(12);
  }

  /** Next 32-bit unsigned value. */
  private next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** Integer in [0, max). */
  int(max: number): number {
    return this.next() % max;
  }

  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  pick<T>(items: readonly T[]): T {
    const v = items[this.int(items.length)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }

  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)] ?? '';
    return s;
  }

  uuid(): string {
    const b = Buffer.from(this.bytes(16));
    b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
    b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const FIRST_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'nina', 'oscar', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'wendy', 'zoe'];
const SERVER_ROLES = ['web', 'db', 'app', 'api', 'cache', 'ci', 'queue', 'mon'];

/** A 32-bit integer seed, if the seed is one. */
function integerSeed(seed: number | string): number | undefined {
  const n = typeof seed === 'number' ? seed : /^\d{1,10}$/.test(seed) ? Number(seed) : NaN;
  return Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

/** Bijective scramble of a 32-bit integer so consecutive seeds do not look sequential. */
function scramble(n: number): number {
  return Number((BigInt(n) * 2654435761n + 0x9e3779b9n) % 4294967296n);
}

function base36(n: number, width: number): string {
  return n.toString(36).toUpperCase().padStart(width, '0');
}

function sortKeys(row: TableRow): TableRow {
  const out: TableRow = {};
  for (const k of Object.keys(row).sort()) out[k] = row[k] ?? '';
  return out;
}

function titleCase(s: string): string {
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}`;
}

/** Number → 4-byte identity fragment; unique per integer seed, hashed otherwise. */
function idBytes(seed: number | string, rnd: SeededRandom): Buffer {
  const n = integerSeed(seed);
  const b = Buffer.alloc(4);
  if (n !== undefined) b.writeUInt32BE(n);
  else rnd.bytes(4).copy(b);
  return b;
}

const TEMPLATE_INDEX: Record<HostTemplate, number> = { ubuntu: 0, rhel: 1, macos: 2, windows: 3 };

/** Build a deterministic host for `template` from `seed`. */
export function makeHostProfile(template: HostTemplate, seed: number | string, options: HostProfileOptions = {}): HostProfile {
  const seedText = String(seed);
  const rnd = new SeededRandom(`mimir-standin:${template}:${seedText}`);
  const version = options.version ?? DEFAULT_OSQUERY_VERSION;
  const n = integerSeed(seed);
  const label = n !== undefined ? String(n).padStart(6, '0') : seedText.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 24) || rnd.chars('0123456789abcdef', 8);
  const code = n !== undefined ? base36(scramble(n), 7) : rnd.chars(ALNUM, 7);
  const id = idBytes(seed, rnd);
  const t = TEMPLATE_INDEX[template];

  const uuid = rnd.uuid().toUpperCase();
  const instanceId = rnd.uuid();
  // 10.<template·64 + hi>.<mid>.<lo>: unique per (template, 22-bit seed), hashed beyond that.
  const v4 = n !== undefined && n < 1 << 22 ? Buffer.from([(n >> 16) & 63, (n >> 8) & 255, n & 255]) : rnd.bytes(3);
  const ipv4 = `10.${t * 64 + ((v4[0] ?? 0) & 63)}.${v4[1] ?? 0}.${v4[2] ?? 0}`;
  const macBytes = [0x02, t, ...id];
  const mac = macBytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
  // Link-local EUI-64 from the MAC.
  const eui = [(macBytes[0] ?? 0) ^ 0x02, macBytes[1] ?? 0, macBytes[2] ?? 0, 0xff, 0xfe, macBytes[3] ?? 0, macBytes[4] ?? 0, macBytes[5] ?? 0];
  const hex16 = (i: number): string => (((eui[i] ?? 0) << 8) | (eui[i + 1] ?? 0)).toString(16);
  const ipv6 = `fe80::${hex16(0)}:${hex16(2)}:${hex16(4)}:${hex16(6)}`;
  const uptimeSeconds = rnd.range(3600, 60 * 86400);
  const user = rnd.pick(FIRST_NAMES);
  const pid = rnd.range(800, 60000);
  const watcher = rnd.range(300, pid - 1);
  const container = options.container ?? false;

  const osqueryInfo = (buildPlatform: string, buildDistro: string, mask: number): TableRow => ({
    build_distro: buildDistro,
    build_platform: buildPlatform,
    config_hash: '',
    config_valid: '0',
    extensions: 'active',
    instance_id: instanceId,
    pid: String(pid),
    platform_mask: String(mask),
    // Overwritten with the real start time by the stand-in.
    start_time: '0',
    uuid,
    version,
    watcher: String(watcher),
  });

  let platform: StandinPlatform;
  let hostname: string;
  let serial: string;
  let tables: HostTables;
  let users: TableRow[];
  let processes: TableRow[];
  let interfaceAddresses: TableRow[];
  let memoryInfo: TableRow | undefined;

  switch (template) {
    case 'ubuntu':
    case 'rhel': {
      platform = 'linux';
      const ubuntu = template === 'ubuntu';
      const role = rnd.pick(SERVER_ROLES);
      hostname = container ? rnd.chars('0123456789abcdef', 12) : `${ubuntu ? 'ubu' : 'rhel'}-${role}-${label}`;
      serial = container ? '' : ubuntu ? code : `CZJ${code}`;
      const memGiB = rnd.pick([16, 32, 64, 128, 256]);
      const cores = rnd.pick([8, 16, 24, 32]);
      const osVersion: TableRow = ubuntu
        ? { arch: 'x86_64', build: '', codename: 'jammy', major: '22', minor: '04', name: 'Ubuntu', patch: '0', pid_with_namespace: '0', platform: 'ubuntu', platform_like: 'debian', version: '22.04.4 LTS (Jammy Jellyfish)' }
        : { arch: 'x86_64', build: '', codename: '', major: '9', minor: '3', name: 'Red Hat Enterprise Linux', patch: '0', pid_with_namespace: '0', platform: 'rhel', platform_like: 'fedora', version: '9.3 (Plow)' };
      const vendor = ubuntu ? 'Dell Inc.' : 'HPE';
      const systemInfo: TableRow = {
        board_model: container ? '' : ubuntu ? '0JP31P' : 'ProLiant DL380 Gen10',
        board_serial: container ? '' : ubuntu ? `.${code}.CNFCP00${rnd.chars(ALNUM, 6)}.` : `PWAR${rnd.chars(ALNUM, 10)}`,
        board_vendor: container ? '' : vendor,
        board_version: container ? '' : ubuntu ? 'A01' : '',
        computer_name: hostname,
        cpu_brand: ubuntu ? 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz' : 'Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz',
        cpu_logical_cores: String(cores * 2),
        cpu_microcode: '0xd0003a5',
        cpu_physical_cores: String(cores),
        cpu_sockets: container ? '' : '1',
        cpu_subtype: '106',
        cpu_type: 'x86_64',
        hardware_model: container ? '' : ubuntu ? 'PowerEdge R650' : 'ProLiant DL380 Gen10',
        hardware_serial: serial,
        hardware_vendor: container ? '' : vendor,
        hardware_version: '',
        hostname,
        local_hostname: hostname,
        physical_memory: String(memGiB * 1024 ** 3),
        uuid,
      };
      tables = { os_version: osVersion, osquery_info: osqueryInfo('linux', 'centos7', PLATFORM_MASK.linux), system_info: systemInfo };
      if (!container) {
        tables.platform_info = ubuntu
          ? { address: '0xf0000', date: '09/13/2023', extra: '', firmware_type: 'uefi', revision: '1.10', size: '16777216', vendor: 'Dell Inc.', version: '1.10.2', volume_size: '0' }
          : { address: '0xf0000', date: '04/18/2023', extra: '', firmware_type: 'uefi', revision: '2.80', size: '67108864', vendor: 'HPE', version: 'U30', volume_size: '0' };
      }
      users = [
        { description: 'root', directory: '/root', gid: '0', gid_signed: '0', shell: '/bin/bash', uid: '0', uid_signed: '0', username: 'root', uuid: '' },
        { description: 'daemon', directory: '/usr/sbin', gid: '1', gid_signed: '1', shell: '/usr/sbin/nologin', uid: '1', uid_signed: '1', username: 'daemon', uuid: '' },
        { description: titleCase(user), directory: `/home/${user}`, gid: '1000', gid_signed: '1000', shell: '/bin/bash', uid: '1000', uid_signed: '1000', username: user, uuid: '' },
      ];
      processes = [
        { pid: '1', name: 'systemd', path: '/usr/lib/systemd/systemd', cmdline: '/sbin/init', state: 'S', uid: '0', gid: '0', parent: '0', threads: '1' },
        { pid: String(watcher - 120), name: 'sshd', path: '/usr/sbin/sshd', cmdline: 'sshd: /usr/sbin/sshd -D', state: 'S', uid: '0', gid: '0', parent: '1', threads: '1' },
        { pid: String(watcher), name: 'osqueryd', path: '/opt/osquery/bin/osqueryd', cmdline: '/opt/osquery/bin/osqueryd --flagfile=/etc/osquery/osquery.flags', state: 'S', uid: '0', gid: '0', parent: '1', threads: '3' },
        { pid: String(pid), name: 'osqueryd', path: '/opt/osquery/bin/osqueryd', cmdline: '/opt/osquery/bin/osqueryd', state: 'S', uid: '0', gid: '0', parent: String(watcher), threads: '14' },
      ];
      interfaceAddresses = [
        { interface: 'lo', address: '127.0.0.1', mask: '255.0.0.0', broadcast: '', point_to_point: '127.0.0.1', type: 'unknown' },
        { interface: 'eth0', address: ipv4, mask: '255.192.0.0', broadcast: '', point_to_point: '', type: 'unknown' },
        { interface: 'eth0', address: `${ipv6}%eth0`, mask: 'ffff:ffff:ffff:ffff::', broadcast: '', point_to_point: '', type: 'unknown' },
      ];
      const total = memGiB * 1024 ** 3;
      memoryInfo = {
        memory_total: String(total), memory_free: String(Math.floor(total * 0.41)), memory_available: String(Math.floor(total * 0.72)),
        buffers: String(Math.floor(total * 0.02)), cached: String(Math.floor(total * 0.28)), swap_cached: '0',
        active: String(Math.floor(total * 0.33)), inactive: String(Math.floor(total * 0.2)), swap_total: String(2 * 1024 ** 3), swap_free: String(2 * 1024 ** 3),
      };
      break;
    }
    case 'macos': {
      platform = 'darwin';
      const local = `${titleCase(user)}s-MacBook-Pro-${label}`;
      hostname = `${local}.local`;
      serial = `${rnd.chars('CFGHJKLMNPQRTVWXY', 3)}${code}`;
      tables = {
        os_version: { arch: 'arm64', build: '23D60', codename: '', extra: '', major: '14', minor: '3', name: 'macOS', patch: '1', platform: 'darwin', platform_like: 'darwin', version: '14.3.1' },
        osquery_info: osqueryInfo('darwin', '10.14', PLATFORM_MASK.darwin),
        platform_info: { address: '', date: '', extra: '', firmware_type: 'iBoot', revision: '', size: '', vendor: 'Apple Inc.', version: 'iBoot-10151.81.1', volume_size: '' },
        system_info: {
          board_model: '', board_serial: '', board_vendor: '', board_version: '',
          computer_name: `${titleCase(user)}'s MacBook Pro ${label}`,
          cpu_brand: 'Apple M3 Pro', cpu_logical_cores: '12', cpu_microcode: '', cpu_physical_cores: '12', cpu_sockets: '',
          cpu_subtype: 'ARM64E', cpu_type: 'arm64e',
          hardware_model: 'Mac15,6', hardware_serial: serial, hardware_vendor: 'Apple Inc.', hardware_version: '',
          hostname, local_hostname: local, physical_memory: String(36 * 1024 ** 3), uuid,
        },
      };
      users = [
        { description: 'System Administrator', directory: '/var/root', gid: '0', gid_signed: '0', shell: '/bin/sh', uid: '0', uid_signed: '0', username: 'root', uuid: 'FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000' },
        { description: titleCase(user), directory: `/Users/${user}`, gid: '20', gid_signed: '20', shell: '/bin/zsh', uid: '501', uid_signed: '501', username: user, uuid: rnd.uuid().toUpperCase() },
      ];
      processes = [
        { pid: '1', name: 'launchd', path: '/sbin/launchd', cmdline: '/sbin/launchd', state: 'R', uid: '0', gid: '0', parent: '0', threads: '4' },
        { pid: String(watcher), name: 'osqueryd', path: '/opt/osquery/lib/osquery.app/Contents/MacOS/osqueryd', cmdline: '/opt/osquery/lib/osquery.app/Contents/MacOS/osqueryd --flagfile=/var/osquery/osquery.flags', state: 'S', uid: '0', gid: '0', parent: '1', threads: '3' },
        { pid: String(pid), name: 'osqueryd', path: '/opt/osquery/lib/osquery.app/Contents/MacOS/osqueryd', cmdline: '/opt/osquery/lib/osquery.app/Contents/MacOS/osqueryd', state: 'S', uid: '0', gid: '0', parent: String(watcher), threads: '12' },
      ];
      interfaceAddresses = [
        { interface: 'lo0', address: '127.0.0.1', mask: '255.0.0.0', broadcast: '', point_to_point: '127.0.0.1', type: '' },
        { interface: 'en0', address: ipv4, mask: '255.192.0.0', broadcast: `10.${t * 64 + 63}.255.255`, point_to_point: '', type: '' },
        { interface: 'en0', address: `${ipv6}%en0`, mask: 'ffff:ffff:ffff:ffff::', broadcast: '', point_to_point: '', type: '' },
      ];
      break;
    }
    case 'windows': {
      platform = 'windows';
      hostname = `DESKTOP-${code}`;
      serial = `PF${code}${rnd.chars(ALNUM, 1)}`;
      tables = {
        os_version: {
          arch: '64-bit', build: '22631', codename: 'Microsoft Windows 11 Enterprise', install_date: String(1_696_000_000 + rnd.int(20_000_000)),
          major: '10', minor: '0', name: 'Microsoft Windows 11 Enterprise', patch: '', platform: 'windows', platform_like: 'windows', revision: '3296', version: '10.0.22631',
        },
        osquery_info: osqueryInfo('windows', '10', PLATFORM_MASK.windows),
        platform_info: { address: '', date: '10/12/2023', extra: '', firmware_type: 'uefi', revision: '1.35', size: '33554432', vendor: 'LENOVO', version: 'N3MET17W (1.16 )', volume_size: '' },
        system_info: {
          board_model: '21AHCTO1WW', board_serial: `L1HF${rnd.chars(ALNUM, 3)}${code}`, board_vendor: 'LENOVO', board_version: 'SDK0T76463 WIN',
          computer_name: hostname, cpu_brand: '12th Gen Intel(R) Core(TM) i7-1270P', cpu_logical_cores: '16', cpu_microcode: '', cpu_physical_cores: '12', cpu_sockets: '1',
          cpu_subtype: '-1', cpu_type: 'x86_64', emulated_cpu_type: 'x86_64',
          hardware_model: '21AHCTO1WW', hardware_serial: serial, hardware_vendor: 'LENOVO', hardware_version: 'ThinkPad T14 Gen 3',
          hostname, local_hostname: hostname, physical_memory: String(32 * 1024 ** 3), uuid,
        },
      };
      const sid = `S-1-5-21-${rnd.range(1e9, 4e9)}-${rnd.range(1e9, 4e9)}-${rnd.range(1e9, 4e9)}`;
      users = [
        { description: 'Built-in account for administering the computer/domain', directory: '', gid: '513', gid_signed: '513', shell: 'C:\\Windows\\system32\\cmd.exe', type: 'local', uid: '500', uid_signed: '500', username: 'Administrator', uuid: `${sid}-500` },
        { description: '', directory: `C:\\Users\\${user}`, gid: '513', gid_signed: '513', shell: 'C:\\Windows\\system32\\cmd.exe', type: 'local', uid: '1001', uid_signed: '1001', username: user, uuid: `${sid}-1001` },
        { description: '', directory: '%systemroot%\\system32\\config\\systemprofile', gid: '18', gid_signed: '18', shell: 'C:\\Windows\\system32\\cmd.exe', type: 'special', uid: '18', uid_signed: '18', username: 'SYSTEM', uuid: 'S-1-5-18' },
      ];
      processes = [
        { pid: '4', name: 'System', path: '', cmdline: '', state: 'STILL_ACTIVE', uid: '-1', gid: '-1', parent: '0', threads: '220' },
        { pid: String(watcher - 40), name: 'svchost.exe', path: 'C:\\Windows\\System32\\svchost.exe', cmdline: 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p', state: 'STILL_ACTIVE', uid: '18', gid: '18', parent: '712', threads: '30' },
        { pid: String(watcher), name: 'osqueryd.exe', path: 'C:\\Program Files\\osquery\\osqueryd\\osqueryd.exe', cmdline: '"C:\\Program Files\\osquery\\osqueryd\\osqueryd.exe" --flagfile="C:\\Program Files\\osquery\\osquery.flags"', state: 'STILL_ACTIVE', uid: '18', gid: '18', parent: '712', threads: '4' },
        { pid: String(pid), name: 'osqueryd.exe', path: 'C:\\Program Files\\osquery\\osqueryd\\osqueryd.exe', cmdline: '"C:\\Program Files\\osquery\\osqueryd\\osqueryd.exe"', state: 'STILL_ACTIVE', uid: '18', gid: '18', parent: String(watcher), threads: '16' },
      ];
      interfaceAddresses = [
        { interface: '1', address: '127.0.0.1', mask: '255.0.0.0', broadcast: '', point_to_point: '', type: 'unknown', friendly_name: 'Loopback Pseudo-Interface 1' },
        { interface: '7', address: ipv4, mask: '255.192.0.0', broadcast: '', point_to_point: '', type: 'dhcp', friendly_name: 'Ethernet' },
        { interface: '7', address: ipv6, mask: 'ffff:ffff:ffff:ffff::', broadcast: '', point_to_point: '', type: 'unknown', friendly_name: 'Ethernet' },
      ];
      break;
    }
  }

  const sorted: HostTables = {
    os_version: sortKeys(tables.os_version),
    osquery_info: sortKeys(tables.osquery_info),
    system_info: sortKeys(tables.system_info),
  };
  if (tables.platform_info) sorted.platform_info = sortKeys(tables.platform_info);
  const profile: HostProfile = {
    template, seed: seedText, platform, platformMask: PLATFORM_MASK[platform], container,
    hostname, uuid, instanceId, serial, ipv4, ipv6, mac, uptimeSeconds, primaryUser: user,
    tables: sorted, users, processes, interfaceAddresses,
  };
  if (memoryInfo) profile.memoryInfo = memoryInfo;
  return profile;
}

/** The enroll `host_details` object: tables in sorted order, missing tables omitted (§2.1). */
export function hostDetailsOf(tables: HostTables): Record<string, TableRow> {
  const out: Record<string, TableRow> = {};
  for (const name of ['os_version', 'osquery_info', 'platform_info', 'system_info'] as const) {
    const t = tables[name];
    if (t) out[name] = sortKeys(t);
  }
  return out;
}
