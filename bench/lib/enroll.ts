/**
 * Bulk enrollment for the memory and host-list scenarios: the lighter-weight client path. Hosts are
 * not simulated (no loops, no per-host connection): each enroll body is built by an osqueryd
 * stand-in from a template profile (so it is exactly what osqueryd sends), and the bodies go over a
 * few dozen shared kept-alive connections as fast as the server answers.
 */
import { OsquerydStandin, OsqueryHttpClient, makeHostProfile, parseOsqueryResponse, type HostTemplate } from '@mimir/osquery-protocol/standin';
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';

export interface BulkEnrollOptions {
  tlsHostname: string;
  ca: string;
  secret: string;
  seed: string;
  /** Host indexes [from, from + count). */
  from: number;
  count: number;
  concurrency: number;
  /** Stop early (bounded in time). */
  deadline: number;
  keepKeys?: boolean;
}

export interface BulkEnrollResult {
  enrolled: number;
  failed: number;
  ms: number;
  perSecond: number;
  keys: string[];
  lastError: string | undefined;
}

const MIX: readonly HostTemplate[] = ['ubuntu', 'ubuntu', 'rhel', 'macos', 'macos', 'windows'];

export function templateFor(i: number): HostTemplate {
  return MIX[i % MIX.length] ?? 'ubuntu';
}

export async function bulkEnroll(o: BulkEnrollOptions): Promise<BulkEnrollResult> {
  const started = performance.now();
  let next = o.from;
  const end = o.from + o.count;
  let enrolled = 0;
  let failed = 0;
  let lastError: string | undefined;
  const keys: string[] = [];
  const worker = async (): Promise<void> => {
    const client = new OsqueryHttpClient({ tlsHostname: o.tlsHostname, ca: o.ca });
    try {
      while (next < end && Date.now() < o.deadline) {
        const i = next++;
        const standin = new OsquerydStandin({
          tlsHostname: o.tlsHostname, enrollSecret: o.secret, profile: makeHostProfile(templateFor(i), `${o.seed}-${i}`),
        });
        try {
          const res = await client.request({ path: OSQUERY_ENDPOINTS.enroll, body: standin.enrollBody() });
          const parsed = parseOsqueryResponse(res.body);
          const key = parsed.ok ? parsed.value['node_key'] : undefined;
          if (typeof key === 'string' && key !== '') {
            enrolled++;
            if (o.keepKeys === true) keys.push(key);
          } else {
            failed++;
            lastError = parsed.ok ? res.body.toString('utf8').slice(0, 200) : parsed.error;
          }
        } catch (e) {
          failed++;
          lastError = e instanceof Error ? e.message : String(e);
        }
      }
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, () => worker()));
  const ms = performance.now() - started;
  return { enrolled, failed, ms, perSecond: (enrolled * 1000) / Math.max(1, ms), keys, lastError };
}
