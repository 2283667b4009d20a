// Normalises the names a server certificate should cover, so that "is this name already in the
// certificate?" is a plain string comparison: DNS names are case-insensitive and IPv6 addresses
// have many spellings (::1, 0:0::1, [::1]), and a spurious mismatch would re-issue the certificate
// on every start.
import { isIPv4, isIPv6 } from 'node:net';

export interface SanName {
  type: 'dns' | 'ip';
  /** Canonical spelling: lower-case DNS name, dotted IPv4, or RFC 5952 IPv6. */
  value: string;
}

// Labels of letters, digits, '-' and '_' (the latter appears in real internal host names), with an
// optional leading wildcard label. Non-ASCII names must be given in punycode, as in DNS itself.
const DNS_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

function canonicalIPv6(address: string): string {
  // The WHATWG URL parser serialises IPv6 hosts in the RFC 5952 form (lower case, longest zero run
  // compressed, embedded IPv4 rewritten as hex), which is exactly the canonical spelling we need.
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * Parses one operator-supplied name. Returns undefined when the text is not a usable name; the
 * caller decides whether that is an error (configured names) or can be skipped (os.hostname()).
 */
export function parseSanName(raw: string): SanName | undefined {
  let text = raw.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1); // "[::1]" URL style
  if (text === '') return undefined;
  if (isIPv4(text)) return { type: 'ip', value: text };
  // A zone index ("fe80::1%eth0") only means something on this host and cannot be put in a
  // certificate; TLS clients compare the bare address.
  const withoutZone = text.split('%')[0] ?? text;
  if (isIPv6(withoutZone)) return { type: 'ip', value: canonicalIPv6(withoutZone) };
  const dns = text.toLowerCase().replace(/\.$/, '');
  return DNS_NAME.test(dns) ? { type: 'dns', value: dns } : undefined;
}

export function sanKey(name: SanName): string {
  return `${name.type}:${name.value}`;
}

/** Drops repeated names while keeping the first-seen order (it is the order shown to operators). */
export function uniqueSanNames(names: Iterable<SanName>): SanName[] {
  const seen = new Map<string, SanName>();
  for (const name of names) {
    const key = sanKey(name);
    if (!seen.has(key)) seen.set(key, name);
  }
  return [...seen.values()];
}
