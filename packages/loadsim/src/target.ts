/**
 * Where the simulator may send traffic. Loopback only unless `--allow-remote`: a load test aimed at
 * the wrong address is a denial-of-service attack, and our workplace forbids traffic to other
 * addresses. Names are not resolved (a lookup is traffic too, and /etc/hosts can map anything to
 * anything): only literal loopback addresses and `localhost` / `*.localhost` (RFC 6761 reserves them
 * for loopback) count as local.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ServerTarget {
  /** Host to connect to (no brackets for IPv6). */
  host: string;
  port: number;
  /** osquery's `--tls_hostname`: `host:port` (`[v6]:port`). */
  tlsHostname: string;
  loopback: boolean;
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/** Is `host` a literal loopback address or a name reserved for loopback? */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) {
    if (h === '::1' || /^0{0,4}(?::0{0,4}){6}:0{0,3}1$/.test(h)) return true;
    // IPv4-mapped loopback, e.g. ::ffff:127.0.0.1.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped?.[1] !== undefined && isIPv4(mapped[1]) && mapped[1].startsWith('127.');
  }
  return false;
}

/**
 * Parse `https://host:port`, `host:port` or `[v6]:port` (osquery speaks only HTTPS; a path is not
 * allowed because osquery appends its endpoint paths to `--tls_hostname`).
 */
export function parseServerTarget(input: string): ServerTarget {
  let s = input.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new TargetError(`--server: not a URL: ${JSON.stringify(input)}`);
    }
    if (url.protocol !== 'https:') throw new TargetError(`--server: osquery speaks only https, not ${url.protocol.slice(0, -1)}`);
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      throw new TargetError('--server: give only https://host:port (osquery adds the endpoint paths itself)');
    }
    s = url.host;
  }
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  let host: string;
  let portText: string | undefined;
  if (bracket?.[1] !== undefined) {
    host = bracket[1];
    portText = bracket[2];
  } else {
    const colon = s.lastIndexOf(':');
    if (colon > 0 && s.indexOf(':') === colon) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    } else {
      host = s;
    }
  }
  const port = portText === undefined ? 443 : Number(portText);
  if (host === '' || /[/\s]/.test(host)) throw new TargetError(`--server: bad host in ${JSON.stringify(input)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TargetError(`--server: bad port in ${JSON.stringify(input)}`);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { host, port, tlsHostname: `${shown}:${port}`, loopback: isLoopbackHost(host) };
}

/** Throw unless the target is loopback or remote traffic was explicitly allowed. */
export function assertTargetAllowed(target: ServerTarget, allowRemote: boolean): void {
  if (target.loopback || allowRemote) return;
  throw new TargetError(
    `refusing to send load to ${target.tlsHostname}: not a loopback address. Load tests run against 127.0.0.1, ::1 or ` +
      'localhost only; pass --allow-remote if you really mean to load a remote server you are permitted to load.',
  );
}
