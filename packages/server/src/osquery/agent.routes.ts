/**
 * The Mimir agent's own endpoints under /api/v1/osquery/agent (issue #6, docs/agent.md): enroll for
 * an agent key, periodic check-in (what it runs + what to run next), and install-outcome reports.
 * Registered inside the update plugin (binaries.routes.ts), so they share its body parser (gzip,
 * 64 KiB cap) and its osquery-shaped errors: an unknown key answers 401 `{"node_invalid": true}`
 * and the agent enrolls again.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, InvalidNodeKeyError } from '../errors.js';
import type { AgentsService } from '../services/agents/agents.service.js';
import type { AgentRow } from '../storage/repositories/agents.repository.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** `Authorization: AgentKey <key>`: the agent's scheme, distinct from osquery's `NodeKey`. */
export function headerAgentKey(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^AgentKey\s+(.*)$/i.exec(h.trim());
  return m === null ? undefined : (m[1] ?? '').trim();
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) throw new BadRequestError('expected a JSON object body');
  return req.body as Record<string, unknown>;
}

function text(body: Record<string, unknown>, key: string, required = false): string {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new BadRequestError(`${key} is required`);
    return '';
  }
  if (typeof v !== 'string') throw new BadRequestError(`${key} must be a string`);
  return v;
}

function flag(body: Record<string, unknown>, key: string): boolean {
  const v = body[key];
  if (v === undefined) return true;
  if (typeof v !== 'boolean') throw new BadRequestError(`${key} must be true or false`);
  return v;
}

function selfReport(body: Record<string, unknown>) {
  return {
    hostname: text(body, 'hostname'),
    os: text(body, 'os', true),
    arch: text(body, 'arch', true),
    agentVersion: text(body, 'agentVersion', true),
    osqueryVersion: text(body, 'osqueryVersion'),
    autoUpdate: flag(body, 'autoUpdate'),
  };
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', JSON_TYPE).send(JSON.stringify(body));
}

export function registerAgentRoutes(app: FastifyInstance, agents: AgentsService): void {
  const tags = ['mimir agent'];

  /** Header auth before the body is read; the agent always sends its key as a header. */
  const authAgent = async (req: FastifyRequest): Promise<void> => {
    const key = headerAgentKey(req);
    if (key === undefined) throw new InvalidNodeKeyError('send the agent key as Authorization: AgentKey <key>');
    req.agent = await agents.authenticate(key);
  };
  const agentOf = (req: FastifyRequest): AgentRow => {
    if (req.agent === undefined) throw new InvalidNodeKeyError('invalid agent key');
    return req.agent;
  };

  app.post('/agent/enroll', {
    schema: { tags, summary: 'Enroll a Mimir agent (enroll secret → agent key)', description: 'Body {enrollSecret, hardwareUuid, hostname, os, arch, agentVersion, osqueryVersion, autoUpdate}; answers {agentId, agentKey}.' },
  }, async (req, reply) => {
    const body = objectBody(req);
    const out = await agents.enroll({ ...selfReport(body), enrollSecret: text(body, 'enrollSecret', true), hardwareUuid: text(body, 'hardwareUuid', true) });
    return send(reply, 200, out);
  });

  app.post('/agent/checkin', {
    onRequest: authAgent,
    schema: { tags, summary: 'Agent check-in (AgentKey): report versions, get update targets', description: 'Body {hostname, os, arch, agentVersion, osqueryVersion, autoUpdate}; answers {agentId, host, osquery, agent} (docs/agent.md).' },
  }, async (req, reply) => send(reply, 200, await agents.checkIn(agentOf(req), selfReport(objectBody(req)))));

  app.post('/agent/report', {
    onRequest: authAgent,
    schema: { tags, summary: 'Agent install outcome (AgentKey)', description: 'Body {kind, fromVersion, toVersion, outcome: installed|rolled_back|refused, message}.' },
  }, async (req, reply) => {
    const body = objectBody(req);
    await agents.report(agentOf(req), {
      kind: text(body, 'kind', true), fromVersion: text(body, 'fromVersion'), toVersion: text(body, 'toVersion', true),
      outcome: text(body, 'outcome', true), message: text(body, 'message'),
    });
    return send(reply, 200, { ok: true });
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The Mimir agent a request authenticated as (AgentKey header). */
    agent: AgentRow | undefined;
  }
}
