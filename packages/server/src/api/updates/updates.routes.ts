import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import {
  ErrorBody, RegisterUpdateRequest, RolloutRequest, RolloutResult, UpdateArtifact, UpdateArtifactList, UpdateArtifactListQuery,
  UpdateArtifactParams, UpdateArtifactResult, UpdateBinaryList, UpdateBinaryListQuery, UpdateDeleted, UpdateKindParams, UpdateProgress,
  UploadedBinary, type UpdateKind,
} from '@mimir/api-contract';
import { UnsupportedMediaTypeError, ValidationError } from '../../errors.js';
import type { StagedBinary } from '../../services/updates/binary-store.js';
import { artifactLabel, type Actor, type UpdatesService } from '../../services/updates/updates.service.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { ApiApp, CoreServices } from '../api.types.js';
import { presentArtifacts, presentBinary } from './updates.presenters.js';

const tags = ['updates'];
const ADMIN = 'updates:admin' as const;
const KIND_TEXT = 'kind is osquery (Settings → Osquery Updates) or agent (Settings → Agent Updates).';

function actorOf(req: FastifyRequest): Actor {
  return { id: req.principal?.userId ?? null, email: req.principal?.email ?? '' };
}

function cursorId(cursor: string | undefined): number | undefined {
  const v = decodeCursor(cursor);
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * Signed updates, admin only (seed 000: "This panel is hidden from non-admin operators"): every
 * route needs `updates:admin`, so other roles get 403 on listings too. Register, approve, rollout,
 * delete and uploads are audited.
 */
export async function registerUpdateRoutes(app: ApiApp, core: CoreServices, svc: UpdatesService): Promise<void> {
  // Scoped to this plugin: other areas keep their JSON-only parsers.
  await app.register(multipart, {
    limits: { fileSize: svc.binaries.maxBytes, files: 1, fields: 8, fieldSize: 1024, parts: 12, headerPairs: 100 },
  });

  const presentOne = async (kind: UpdateKind, id: number): Promise<UpdateArtifact> => {
    const [a] = await presentArtifacts(svc, kind, [await svc.get(kind, id)]);
    if (a === undefined) throw new Error('unreachable: one row in, one out');
    return a;
  };

  app.get('/updates/:kind/artifacts', {
    config: { permission: ADMIN },
    schema: {
      tags, summary: 'List registered versions', description: `Newest first. ${KIND_TEXT}`,
      params: UpdateKindParams, querystring: UpdateArtifactListQuery, response: { 200: UpdateArtifactList, 403: ErrorBody },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await svc.list({
      kind: req.params.kind, beforeId: cursorId(req.query.cursor), limit: limit + 1,
      os: req.query.os, arch: req.query.arch, status: req.query.status,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: await presentArtifacts(svc, req.params.kind, page), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null };
  });

  app.get('/updates/:kind/artifacts/:id', {
    config: { permission: ADMIN },
    schema: { tags, summary: 'Get a registered version', params: UpdateArtifactParams, response: { 200: UpdateArtifact, 404: ErrorBody } },
  }, async (req) => presentOne(req.params.kind, req.params.id));

  app.post('/updates/:kind/artifacts', {
    config: { permission: ADMIN, audit: 'update.register', auditTarget: 'update_artifact' },
    schema: {
      tags, summary: 'Register a signed version (Pending)',
      description: 'Paste the values the signing step printed (scripts/sign-osquery-manifest.sh). The server verifies the Ed25519 signature covers exactly these values (docs/updates.md).',
      params: UpdateKindParams, body: RegisterUpdateRequest,
      response: { 201: UpdateArtifactResult, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    const row = await svc.register(req.params.kind, req.body, actorOf(req));
    req.auditTargetId = row.id;
    req.auditDetails = { kind: row.kind, version: row.version, os: row.os, arch: row.arch, sha256: row.sha256, keyId: row.key_id };
    return reply.code(201).send({ artifact: await presentOne(req.params.kind, row.id), message: `${artifactLabel(row)} registered` });
  });

  app.post('/updates/:kind/artifacts/:id/approve', {
    config: { permission: ADMIN, audit: 'update.approve', auditTarget: 'update_artifact' },
    schema: {
      tags, summary: 'Approve a version (verifies the signature again)',
      description: 'Approving an already approved row approves it again: it becomes the most recent approval, which is how a fleet is rolled back to it.',
      params: UpdateArtifactParams, response: { 200: UpdateArtifactResult, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req) => {
    const { row, again } = await svc.approve(req.params.kind, req.params.id, actorOf(req));
    req.auditDetails = { kind: row.kind, version: row.version, os: row.os, arch: row.arch, again };
    return { artifact: await presentOne(req.params.kind, row.id), message: `${artifactLabel(row)} approved` };
  });

  app.put('/updates/:kind/artifacts/:id/rollout', {
    // NOTE: no `audit` here on purpose: setting the current value again must leave no audit entry
    // (seed 000 "the button is disabled when the current rollout already matches"), so the handler
    // records the entry itself, only when the value changed.
    config: { permission: ADMIN, auditTarget: 'update_artifact' },
    schema: {
      tags, summary: 'Set the rollout to a preset', description: 'osquery presets: 0, 1, 5, 25, 100; agent presets: 0, 10, 25, 50, 100. 0 pauses. Pending rows cannot be rolled out.',
      params: UpdateArtifactParams, body: RolloutRequest, response: { 200: RolloutResult, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req) => {
    const { row, changed, previous } = await svc.setRollout(req.params.kind, req.params.id, req.body.percent);
    if (changed) {
      try {
        await core.audit.record({
          actorId: req.principal?.userId ?? null, actorEmail: req.principal?.email ?? '', action: 'update.rollout',
          targetType: 'update_artifact', targetId: row.id, ip: req.ip,
          details: { kind: row.kind, version: row.version, os: row.os, arch: row.arch, from: previous, to: row.rollout },
        });
      } catch (err) {
        req.log.error({ err, action: 'update.rollout' }, 'audit write failed');
      }
    }
    return { artifact: await presentOne(req.params.kind, row.id), message: `Rollout set to ${row.rollout}%`, changed };
  });

  app.delete('/updates/:kind/artifacts/:id', {
    config: { permission: ADMIN, audit: 'update.delete', auditTarget: 'update_artifact' },
    schema: {
      tags, summary: 'Delete a version (only at 0%; final)',
      description: 'Agents already running this version are unaffected: Mimir does not push downgrades.',
      params: UpdateArtifactParams, response: { 200: UpdateDeleted, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req) => {
    const row = await svc.delete(req.params.kind, req.params.id);
    req.auditDetails = { kind: row.kind, version: row.version, os: row.os, arch: row.arch, sha256: row.sha256 };
    return { ok: true as const, message: `${artifactLabel(row)} deleted` };
  });

  app.get('/updates/:kind/artifacts/:id/progress', {
    config: { permission: ADMIN },
    schema: {
      tags, summary: 'Rollout progress of a version',
      description: 'Hosts of the row\'s os/arch, how many are in its cohort at the current rollout, and how many already report the version.',
      params: UpdateArtifactParams, response: { 200: UpdateProgress, 404: ErrorBody },
    },
  }, async (req) => svc.progress(req.params.kind, req.params.id));

  app.get('/updates/binaries', {
    config: { permission: ADMIN },
    schema: { tags, summary: 'List uploaded binaries', querystring: UpdateBinaryListQuery, response: { 200: UpdateBinaryList, 403: ErrorBody } },
  }, async (req) => {
    const limit = req.query.limit ?? 50;
    const rows = await svc.listBinaries({ kind: req.query.kind, beforeId: cursorId(req.query.cursor), limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map((b) => presentBinary(svc, b)), nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null };
  });

  app.post('/updates/binaries', {
    config: { permission: ADMIN, audit: 'update.binary_upload', auditTarget: 'update_binary' },
    schema: {
      tags, summary: 'Upload a binary (multipart/form-data)',
      description: 'Fields kind (osquery|agent), os, arch, version, then the binary as the file part `file`. Streamed to disk with its SHA-256 computed on the way, at most 512 MiB. Agents download it from the returned url with their node key.',
      consumes: ['multipart/form-data'],
      response: { 200: UploadedBinary, 201: UploadedBinary, 413: ErrorBody, 415: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req, reply) => {
    if (!req.isMultipart()) throw new UnsupportedMediaTypeError('send multipart/form-data with the fields kind, os, arch, version and the binary as the file part "file"');
    const fields: Record<string, string> = {};
    const issues: Array<{ path: string; message: string }> = [];
    let staged: StagedBinary | undefined;
    try {
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          const stream = part.file;
          // Consume it even when misnamed: the parts iterator only moves on once a file is read.
          staged = await svc.stageBinary(stream, () => stream.truncated);
          if (part.fieldname !== 'file') issues.push({ path: `/${part.fieldname}`, message: 'the binary must be sent as the file part "file"' });
        } else if (part.valueTruncated) {
          issues.push({ path: `/${part.fieldname}`, message: 'is too long' });
        } else {
          fields[part.fieldname] = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
        }
      }
      if (issues.length > 0) throw new ValidationError(`Upload failed: ${issues.map((i) => `${i.path.slice(1)} ${i.message}`).join('; ')}`, issues);
      const { row, changed } = await svc.commitBinary(fields, staged, actorOf(req));
      req.auditTargetId = row.id;
      req.auditDetails = { kind: row.kind, os: row.os, arch: row.arch, version: row.version, sha256: row.sha256, size: row.size, changed };
      const label = artifactLabel(row);
      return await reply.code(changed ? 201 : 200).send({ binary: presentBinary(svc, row), message: changed ? `${label} binary stored` : `${label} binary unchanged (same SHA256)`, changed });
    } catch (err) {
      await svc.discardBinary(staged);
      throw err;
    }
  });
}
