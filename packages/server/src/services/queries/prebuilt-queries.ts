/**
 * Saved queries that ship with Mimir (seed 004 "Prebuilt queries": not editable, several with ECS
 * mappings, named `<what>[_<os>]_<vendor>` like Elastic's `firewall_rules_windows_elastic`). They
 * are loaded on start (SavedQueryService.ensurePrebuilt) so an upgrade updates them in place.
 * Each one is checked by the same validation as a user's query, in a test.
 */
import type { EcsMapping } from '../contracts.js';

export interface PrebuiltQuery {
  name: string;
  description: string;
  sql: string;
  platform: string;
  interval: number;
  ecsMapping: EcsMapping;
}

export const PREBUILT_QUERIES: readonly PrebuiltQuery[] = [
  {
    name: 'users_linux_mimir',
    description: 'Local user accounts on Linux hosts, with their home directory and login shell.',
    sql: 'SELECT uid, gid, username, description, directory, shell FROM users',
    platform: 'linux',
    interval: 3600,
    ecsMapping: {
      'user.id': { field: 'uid' },
      'user.name': { field: 'username' },
      'user.full_name': { field: 'description' },
      'group.id': { field: 'gid' },
      'event.kind': { value: 'state' },
      'event.category': { value: ['iam'] },
      'event.type': { value: ['user', 'info'] },
    },
  },
  {
    name: 'processes_mimir',
    description: 'Running processes: executable, command line, owner and parent.',
    sql: 'SELECT pid, parent, name, path, cmdline, cwd, uid, start_time FROM processes',
    platform: '',
    interval: 3600,
    ecsMapping: {
      'process.pid': { field: 'pid' },
      'process.parent.pid': { field: 'parent' },
      'process.name': { field: 'name' },
      'process.executable': { field: 'path' },
      'process.command_line': { field: 'cmdline' },
      'process.working_directory': { field: 'cwd' },
      'user.id': { field: 'uid' },
      'event.kind': { value: 'state' },
      'event.category': { value: ['process'] },
      'event.type': { value: ['info'] },
    },
  },
  {
    name: 'listening_ports_mimir',
    description: 'Sockets listening for connections, with the process that owns each one.',
    // osquery reports protocol numbers (6 = TCP, 17 = UDP); ECS network.transport wants names.
    sql: [
      'SELECT lp.pid, lp.port, lp.address,',
      "  CASE lp.protocol WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' ELSE CAST(lp.protocol AS TEXT) END AS transport,",
      "  CASE WHEN lp.address LIKE '%:%' THEN 'ipv6' ELSE 'ipv4' END AS network_type,",
      '  p.name, p.path',
      'FROM listening_ports lp LEFT JOIN processes p USING (pid)',
      'WHERE lp.port != 0',
    ].join('\n'),
    platform: '',
    interval: 3600,
    ecsMapping: {
      'process.pid': { field: 'pid' },
      'process.name': { field: 'name' },
      'process.executable': { field: 'path' },
      'server.ip': { field: 'address' },
      'server.port': { field: 'port' },
      'network.transport': { field: 'transport' },
      'network.type': { field: 'network_type' },
      'event.kind': { value: 'state' },
      'event.category': { value: ['network'] },
      'event.type': { value: ['info'] },
    },
  },
  {
    name: 'installed_programs_windows_mimir',
    description: 'Programs installed on Windows hosts (Add/Remove Programs), with version and publisher.',
    sql: 'SELECT name, version, publisher, install_location, install_date FROM programs',
    platform: 'windows',
    interval: 86400,
    ecsMapping: {
      'package.name': { field: 'name' },
      'package.version': { field: 'version' },
      'package.path': { field: 'install_location' },
      'package.type': { value: 'windows_program' },
      'event.kind': { value: 'state' },
      'event.category': { value: ['package'] },
      'event.type': { value: ['info'] },
    },
  },
  {
    name: 'logged_in_users_mimir',
    description: 'Users with an active login session (terminal, SSH, console) and where they came from.',
    sql: 'SELECT type, user, tty, host, time, pid FROM logged_in_users',
    platform: '',
    interval: 3600,
    ecsMapping: {
      'user.name': { field: 'user' },
      'source.address': { field: 'host' },
      'process.pid': { field: 'pid' },
      'event.kind': { value: 'state' },
      'event.category': { value: ['session'] },
      'event.type': { value: ['info'] },
    },
  },
  {
    name: 'apps_macos_mimir',
    description: 'Applications installed on macOS hosts, with bundle identifier and version.',
    sql: 'SELECT name, path, bundle_identifier, bundle_short_version, bundle_version, last_opened_time FROM apps',
    platform: 'darwin',
    interval: 86400,
    ecsMapping: {
      'package.name': { field: 'name' },
      'package.path': { field: 'path' },
      'package.version': { field: 'bundle_short_version' },
      'package.build_version': { field: 'bundle_version' },
      'event.kind': { value: 'state' },
      'event.category': { value: ['package'] },
      'event.type': { value: ['info'] },
    },
  },
];
