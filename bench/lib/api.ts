/** A minimal operator-API client for the benchmark: HTTPS with keep-alive, bearer token, JSON. */
import { Agent, request } from 'node:https';

export interface ApiResponse {
  status: number;
  json: unknown;
  text: string;
  ms: number;
}

export class ApiClient {
  private readonly agent: Agent;

  constructor(private readonly port: number, ca: string, private readonly token: string | undefined) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 4, ca, servername: 'localhost' });
  }

  call(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, path, method, headers, agent: this.agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text, ms: performance.now() - started });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Does the route exist? 404 with the generic not-found body means it is not implemented (yet). */
export async function routeExists(api: ApiClient, method: string, path: string, body?: unknown): Promise<boolean> {
  const r = await api.call(method, path, body);
  if (r.status !== 404) return true;
  const code = (r.json as { error?: { code?: unknown } } | undefined)?.error?.code;
  // A 404 for a missing *resource* on an existing route would carry another code or message.
  return !(code === 'not_found' && /no such API route|not found: /.test(r.text));
}
