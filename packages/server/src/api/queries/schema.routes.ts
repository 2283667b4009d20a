import Type from 'typebox';
import { EcsFieldList, EcsFieldQuery, OsquerySchemaQuery, OsquerySchemaResponse } from '@mimir/api-contract';
import type { EcsCatalog } from '../../services/ecs/ecs-catalog.js';
import type { OsquerySchema, SchemaPlatform } from '../../services/sql/osquery-schema.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { ApiApp } from '../api.types.js';
import { presentEcsField } from './queries.presenters.js';

/** The schema only changes with a Mimir upgrade: let the console keep it for an hour, then revalidate. */
const CACHE_CONTROL = 'private, max-age=3600';

/** The osquery schema (console autocomplete) and the ECS field picker. */
export function registerSchemaRoutes(app: ApiApp, schema: OsquerySchema, ecs: EcsCatalog): void {
  // Serialized once per platform filter: ~380 KB that never changes while the server runs.
  const bodies = new Map<string, string>();
  const bodyFor = (platform: SchemaPlatform | undefined): string => {
    const key = platform ?? '';
    let body = bodies.get(key);
    if (body === undefined) {
      const tables = schema.tables
        .filter((t) => platform === undefined || t.platforms.includes(platform))
        .map((t) => ({
          name: t.name,
          description: t.description,
          platforms: t.platforms,
          evented: t.evented,
          columns: t.columns
            .filter((c) => platform === undefined || c.platforms === undefined || c.platforms.includes(platform))
            .map((c) => ({ name: c.name, type: c.type, description: c.description, hidden: c.hidden, required: c.required, ...(c.platforms !== undefined ? { platforms: c.platforms } : {}) })),
        }));
      body = JSON.stringify({ version: schema.version, tables });
      bodies.set(key, body);
    }
    return body;
  };

  // Not /osquery/schema: /api/v1/osquery… is the agent-facing osquery TLS API (a separate plugin,
  // often the only prefix exposed to hosts), so operator routes stay out of that prefix.
  app.get('/schema/osquery', {
    config: { permission: 'queries:read' },
    schema: {
      tags: ['osquery'], summary: 'osquery tables and columns with platforms, for autocomplete (cacheable: ETag)',
      querystring: OsquerySchemaQuery,
      response: { 200: OsquerySchemaResponse, 304: Type.Null({ description: 'Not modified: If-None-Match matched the ETag' }) },
    },
  }, (req, reply) => {
    const platform = req.query.platform;
    const etag = `"${schema.etag.slice(1, -1)}-${platform ?? 'all'}"`;
    void reply.header('etag', etag).header('cache-control', CACHE_CONTROL).header('vary', 'authorization, cookie');
    // No body at all on a 304 (the typed send wants the schema's null; null would send "null").
    if (req.headers['if-none-match'] === etag) {
      void reply.code(304).send(undefined as unknown as null);
      return;
    }
    // Already JSON: Fastify sends a string with a JSON content type as is, skipping serialization.
    const body = bodyFor(platform) as unknown as Type.Static<typeof OsquerySchemaResponse>;
    void reply.header('content-type', 'application/json; charset=utf-8').send(body);
  });

  app.get('/ecs/fields', {
    config: { permission: 'queries:read' },
    schema: { tags: ['ecs'], summary: 'ECS fields an ECS mapping may target (search with q)', querystring: EcsFieldQuery, response: { 200: EcsFieldList } },
  }, (req) => {
    const limit = req.query.limit ?? 50;
    const after = decodeCursor(req.query.cursor);
    const found = ecs.search(req.query.q, typeof after === 'string' ? after : undefined, limit + 1);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return { version: ecs.version, items: page.map(presentEcsField), nextCursor: found.length > limit && last !== undefined ? encodeCursor(last.name) : null };
  });
}
