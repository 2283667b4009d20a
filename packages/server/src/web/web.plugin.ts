/**
 * Serves the operator console (packages/web, built by Vite into packages/web/dist) at `/`:
 * hashed assets with a year-long immutable cache, and index.html for every other GET that is not
 * an API path, so deep links (`/hosts/42`) load the single-page app. Without a build the page says
 * how to make one instead of failing obscurely.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** packages/web/dist, from packages/server/{src,dist}/web/. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

// Mantine sets inline style attributes, hence 'unsafe-inline' for styles only; scripts stay 'self'.
const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
  "font-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'",
].join('; ');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Mimir</title>
<p>The Mimir console has not been built. Run <code>npm run build</code> (or <code>npm start</code>, which builds first) and reload.</p>
<p>The API is available at <a href="/api/docs">/api/docs</a>.</p>`;

function isApiPath(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');
}

export async function registerWebConsole(fastify: FastifyInstance, webDir: string = DEFAULT_WEB_DIR): Promise<void> {
  const indexFile = `${webDir}index.html`;
  const built = existsSync(indexFile);
  const index = built ? readFileSync(indexFile) : Buffer.from(NOT_BUILT);

  const sendIndex = (reply: FastifyReply) =>
    reply
      .code(200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .send(index);

  if (built) {
    await fastify.register(fastifyStatic, {
      root: `${webDir}assets`,
      prefix: '/assets/',
      // Vite puts a content hash in every asset name: cache forever.
      immutable: true,
      maxAge: '365d',
      index: false,
      wildcard: true,
    });
  }

  fastify.get('/', (_req, reply) => sendIndex(reply));

  fastify.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '';
    if ((req.method === 'GET' || req.method === 'HEAD') && !isApiPath(path) && !path.startsWith('/assets/') && path !== '/healthz') {
      return sendIndex(reply);
    }
    return reply.code(404).send({ error: { code: 'not_found', message: `not found: ${req.method} ${path}` } });
  });
}
