import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DomainError } from '../../errors.js';
import { openStore, type Store } from '../../storage/store.js';
import { HostCache, type HostState } from '../host-cache.js';
import { CarveService } from './carve.service.js';
import type { CarveBeginInput } from './carve.types.js';

const BLOCK = 16;
const NOW = 1_700_000_000_000;
const EXPIRY_MS = 60_000;

interface Ctx {
  dir: string;
  store: Store;
  service: CarveService;
  host: HostState;
  other: HostState;
}

async function addHost(store: Store, cache: HostCache, groupId: number, identifier: string): Promise<HostState> {
  const id = await store.hosts.insert({ identifier, group_id: groupId, hostname: identifier, created_at: NOW, updated_at: NOW });
  const row = await store.hosts.findAuthById(id);
  assert.ok(row);
  return cache.admit(row, `h-${identifier}`);
}

async function setup(): Promise<Ctx> {
  const dir = await mkdtemp(join(tmpdir(), 'mimir-carve-'));
  const store = await openStore({ dataDir: dir });
  const groupId = await store.groups.create('carvers', NOW);
  const cache = new HostCache(store);
  const host = await addHost(store, cache, groupId, 'host-a');
  const other = await addHost(store, cache, groupId, 'host-b');
  const service = new CarveService(store, { dataDir: dir, maxBlockSize: 64, maxCarveSize: 1024, expiryMs: EXPIRY_MS });
  return { dir, store, service, host, other };
}

function beginInput(data: Buffer, overrides: Partial<CarveBeginInput> = {}): CarveBeginInput {
  return {
    blockCount: Math.ceil(data.length / BLOCK),
    blockSize: BLOCK,
    carveSize: data.length,
    carveGuid: 'guid-1',
    requestId: 'req-1',
    ...overrides,
  };
}

/** Base64 of block `i` of `data`, as osquery sends it (§6.2). */
function blockData(data: Buffer, i: number): string {
  return data.subarray(i * BLOCK, (i + 1) * BLOCK).toString('base64');
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function rejectsWith(p: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.match(err.message, pattern);
    return true;
  });
}

void describe('CarveService', () => {
  let ctx: Ctx;
  // 40 bytes = blocks of 16, 16 and 8.
  const data = randomBytes(40);

  beforeEach(async () => {
    ctx = await setup();
  });
  afterEach(async () => {
    await ctx.store.close();
    await rm(ctx.dir, { recursive: true, force: true });
  });

  async function begin(payload = data, overrides: Partial<CarveBeginInput> = {}): Promise<string> {
    return (await ctx.service.begin(ctx.host, beginInput(payload, overrides), NOW)).sessionId;
  }

  async function row(sessionId: string) {
    const r = await ctx.store.carves.findBySession(sessionId);
    assert.ok(r);
    return r;
  }

  function partFile(sessionId: string): string {
    return join(ctx.dir, 'carves', `${sessionId}.part`);
  }

  void describe('begin', () => {
    void it('should create an in-progress carve with an empty part file', async () => {
      const sessionId = await begin();
      assert.match(sessionId, /^[0-9a-f-]{36}$/);
      const r = await row(sessionId);
      assert.equal(r.status, 'in_progress');
      assert.equal(r.host_id, ctx.host.id);
      assert.equal(r.block_count, 3);
      assert.equal((await readFile(partFile(sessionId))).length, 0);
    });

    void it('should return the same session when osquery re-sends begin', async () => {
      const first = await begin();
      const second = await begin();
      assert.equal(second, first);
      assert.equal((await ctx.store.carves.list({ hostId: ctx.host.id })).length, 1);
    });

    void it('should return the same session for concurrent re-sends', async () => {
      const [a, b] = await Promise.all([begin(), begin()]);
      assert.equal(a, b);
      assert.equal((await ctx.store.carves.list({})).length, 1);
    });

    void it('should create a new session once the first one has blocks', async () => {
      const first = await begin();
      await ctx.service.block({ sessionId: first, requestId: 'req-1', blockId: 0, data: blockData(data, 0) }, undefined, NOW);
      assert.notEqual(await begin(), first);
    });

    void it('should create a new session for another request id or host', async () => {
      const first = await begin();
      assert.notEqual(await begin(data, { requestId: 'req-2' }), first);
      const other = await ctx.service.begin(ctx.other, beginInput(data), NOW);
      assert.notEqual(other.sessionId, first);
    });

    void it('should reject a block_count that does not match the sizes', async () => {
      await rejectsWith(begin(data, { blockCount: 2 }), 400, /block_count 2 .*= 3/);
      await rejectsWith(begin(data, { blockCount: 4 }), 400, /block_count/);
    });

    void it('should reject zero or negative sizes', async () => {
      await rejectsWith(begin(data, { blockSize: 0 }), 400, /block_size/);
      await rejectsWith(begin(data, { carveSize: 0, blockCount: 0 }), 400, /carve_size/);
      await rejectsWith(begin(data, { blockSize: -1 }), 400, /block_size/);
    });

    void it('should reject an empty carve_id', async () => {
      await rejectsWith(begin(data, { carveGuid: '' }), 400, /carve_id/);
    });

    void it('should refuse a block_size over the cap', async () => {
      await rejectsWith(begin(data, { blockSize: 65, blockCount: 1 }), 413, /block_size 65 exceeds/);
    });

    void it('should refuse a carve_size over the cap', async () => {
      await rejectsWith(begin(randomBytes(1025), { blockSize: 64, blockCount: 17 }), 413, /carve_size 1025 exceeds/);
    });

    void it('should refuse a carve larger than the free disk space', async () => {
      const huge = 2 ** 52;
      const service = new CarveService(ctx.store, { dataDir: ctx.dir, maxBlockSize: 2 ** 20, maxCarveSize: huge, expiryMs: EXPIRY_MS });
      const input = { blockCount: huge / 2 ** 20, blockSize: 2 ** 20, carveSize: huge, carveGuid: 'g', requestId: 'r' };
      await rejectsWith(service.begin(ctx.host, input, NOW), 507, /not enough free disk space/);
      assert.equal((await ctx.store.carves.list({})).length, 0);
    });
  });

  void describe('block', () => {
    void it('should complete a 3-block carve sent in order', async () => {
      const sessionId = await begin();
      for (let i = 0; i < 3; i++) {
        await ctx.service.block({ sessionId, requestId: 'req-1', blockId: i, data: blockData(data, i) }, ctx.host, NOW + i);
      }
      const r = await row(sessionId);
      assert.equal(r.status, 'complete');
      assert.equal(r.blocks_received, 3);
      assert.equal(r.sha256, sha256(data));
      assert.equal(r.path, `${sessionId}.tar`);
      assert.equal(r.completed_at, NOW + 2);
      assert.deepEqual(await readFile(join(ctx.dir, 'carves', r.path)), data);
      assert.equal(existsSync(partFile(sessionId)), false);
    });

    void it('should complete with blocks out of order and duplicated', async () => {
      const sessionId = await begin();
      for (const i of [2, 0, 2, 1, 0]) {
        await ctx.service.block({ sessionId, requestId: 'req-1', blockId: i, data: blockData(data, i) }, undefined, NOW);
      }
      const r = await row(sessionId);
      assert.equal(r.status, 'complete');
      assert.equal(r.blocks_received, r.block_count);
      assert.equal(r.sha256, sha256(data));
      assert.deepEqual(await readFile(join(ctx.dir, 'carves', r.path)), data);
    });

    void it('should accept a block without request_id (authenticated by session id)', async () => {
      const sessionId = await begin();
      await ctx.service.block({ sessionId, requestId: undefined, blockId: 0, data: blockData(data, 0) }, undefined, NOW);
      assert.equal((await row(sessionId)).blocks_received, 1);
    });

    void it('should name a zstd archive .tar.zst', async () => {
      const zst = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(20)]);
      const sessionId = await begin(zst);
      await ctx.service.block({ sessionId, requestId: 'req-1', blockId: 1, data: blockData(zst, 1) }, undefined, NOW);
      await ctx.service.block({ sessionId, requestId: 'req-1', blockId: 0, data: blockData(zst, 0) }, undefined, NOW);
      const r = await row(sessionId);
      assert.equal(r.path, `${sessionId}.tar.zst`);
      assert.equal(r.sha256, sha256(zst));
      assert.equal((await ctx.service.getCarve(r.id)).compressed, true);
    });

    void it('should complete exactly once when all blocks arrive concurrently', async () => {
      const big = randomBytes(BLOCK * 20 + 5);
      const sessionId = await begin(big);
      const ids = Array.from({ length: 21 }, (_, i) => i);
      await Promise.all([...ids, ...ids].map((i) =>
        ctx.service.block({ sessionId, requestId: 'req-1', blockId: i, data: blockData(big, i) }, undefined, NOW)));
      const r = await row(sessionId);
      assert.equal(r.status, 'complete');
      assert.equal(r.blocks_received, 21);
      assert.equal(r.sha256, sha256(big));
      assert.deepEqual(await readFile(join(ctx.dir, 'carves', r.path)), big);
      assert.deepEqual(await readdir(join(ctx.dir, 'carves')), [`${sessionId}.tar`]);
    });

    void it('should accept a matching re-sent block after completion and refuse a different one', async () => {
      const sessionId = await begin();
      for (let i = 0; i < 3; i++) {
        await ctx.service.block({ sessionId, requestId: 'req-1', blockId: i, data: blockData(data, i) }, undefined, NOW);
      }
      await ctx.service.block({ sessionId, requestId: 'req-1', blockId: 2, data: blockData(data, 2) }, undefined, NOW + 5);
      const forged = Buffer.alloc(8, 1).toString('base64');
      await rejectsWith(ctx.service.block({ sessionId, requestId: 'req-1', blockId: 2, data: forged }, undefined, NOW), 409, /differs/);
      const r = await row(sessionId);
      assert.equal(r.blocks_received, 3);
      assert.equal(r.completed_at, NOW);
      assert.deepEqual(await readFile(join(ctx.dir, 'carves', r.path)), data);
    });

    void describe('refusals', () => {
      let sessionId: string;

      beforeEach(async () => {
        sessionId = await begin();
        await ctx.service.block({ sessionId, requestId: 'req-1', blockId: 0, data: blockData(data, 0) }, undefined, NOW);
      });

      /** Nothing was stored: the count and the part file are as after block 0. */
      async function assertUnchanged(): Promise<void> {
        assert.equal((await row(sessionId)).blocks_received, 1);
        assert.deepEqual(await readFile(partFile(sessionId)), data.subarray(0, BLOCK));
      }

      const cases: Array<[string, () => Parameters<CarveService['block']>, number, RegExp]> = [
        ['an unknown session', () => [{ sessionId: 'nope', requestId: 'req-1', blockId: 1, data: blockData(data, 1) }, undefined, NOW], 404, /unknown carve session/],
        ['a wrong request_id', () => [{ sessionId, requestId: 'req-2', blockId: 1, data: blockData(data, 1) }, undefined, NOW], 400, /request_id/],
        ['another host in the header', () => [{ sessionId, requestId: 'req-1', blockId: 1, data: blockData(data, 1) }, ctx.other, NOW], 403, /another host/],
        ['a negative block_id', () => [{ sessionId, requestId: 'req-1', blockId: -1, data: blockData(data, 1) }, undefined, NOW], 400, /block_id/],
        ['block_id == block_count', () => [{ sessionId, requestId: 'req-1', blockId: 3, data: blockData(data, 2) }, undefined, NOW], 400, /block_id/],
        ['a fractional block_id', () => [{ sessionId, requestId: 'req-1', blockId: 1.5, data: blockData(data, 1) }, undefined, NOW], 400, /block_id/],
        ['URL-safe base64', () => [{ sessionId, requestId: 'req-1', blockId: 1, data: Buffer.alloc(16, 0xfb).toString('base64url') + '==' }, undefined, NOW], 400, /base64/],
        ['base64 without padding', () => [{ sessionId, requestId: 'req-1', blockId: 2, data: blockData(data, 2).replace(/=+$/, '') }, undefined, NOW], 400, /base64/],
        ['base64 with a line break', () => [{ sessionId, requestId: 'req-1', blockId: 2, data: `${blockData(data, 2).slice(0, 4)}\n${blockData(data, 2).slice(4)}` }, undefined, NOW], 400, /base64/],
        ['non-base64 text', () => [{ sessionId, requestId: 'req-1', blockId: 1, data: '!!!!' }, undefined, NOW], 400, /base64/],
        ['a block over block_size', () => [{ sessionId, requestId: 'req-1', blockId: 1, data: randomBytes(17).toString('base64') }, undefined, NOW], 413, /block_size/],
        ['a short middle block', () => [{ sessionId, requestId: 'req-1', blockId: 1, data: randomBytes(15).toString('base64') }, undefined, NOW], 400, /block 1 must be 16 bytes/],
        ['a last block of the wrong size', () => [{ sessionId, requestId: 'req-1', blockId: 2, data: randomBytes(16).toString('base64') }, undefined, NOW], 400, /block 2 must be 8 bytes/],
        ['an empty block', () => [{ sessionId, requestId: 'req-1', blockId: 1, data: '' }, undefined, NOW], 400, /block 1 must be 16 bytes/],
      ];
      for (const [name, args, status, pattern] of cases) {
        void it(`should refuse ${name} and store nothing`, async () => {
          await rejectsWith(ctx.service.block(...args()), status, pattern);
          await assertUnchanged();
        });
      }

      void it('should accept the same block from the owning host in the header', async () => {
        await ctx.service.block({ sessionId, requestId: 'req-1', blockId: 1, data: blockData(data, 1) }, ctx.host, NOW);
        assert.equal((await row(sessionId)).blocks_received, 2);
      });
    });
  });

  void describe('expireStale', () => {
    void it('should expire idle carves, remove their part files and refuse later blocks', async () => {
      const idle = await begin();
      const active = await begin(data, { carveGuid: 'guid-2' });
      await ctx.service.block({ sessionId: active, requestId: 'req-1', blockId: 0, data: blockData(data, 0) }, undefined, NOW + EXPIRY_MS);
      assert.equal(await ctx.service.expireStale(NOW + EXPIRY_MS + 1), 1);

      const r = await row(idle);
      assert.equal(r.status, 'expired');
      assert.equal(existsSync(partFile(idle)), false);
      assert.equal((await row(active)).status, 'in_progress');
      assert.equal(existsSync(partFile(active)), true);
      await rejectsWith(
        ctx.service.block({ sessionId: idle, requestId: 'req-1', blockId: 0, data: blockData(data, 0) }, undefined, NOW),
        409, /expired/,
      );
      assert.equal(await ctx.service.expireStale(NOW + EXPIRY_MS + 1), 0);
    });

    void it('should leave completed carves alone', async () => {
      const sessionId = await begin();
      for (let i = 0; i < 3; i++) {
        await ctx.service.block({ sessionId, requestId: 'req-1', blockId: i, data: blockData(data, i) }, undefined, NOW);
      }
      assert.equal(await ctx.service.expireStale(NOW + 10 * EXPIRY_MS), 0);
      assert.equal((await row(sessionId)).status, 'complete');
    });
  });

  void describe('operator helpers', () => {
    void it('should list, get and stream a completed carve', async () => {
      const sessionId = await begin();
      for (let i = 0; i < 3; i++) {
        await ctx.service.block({ sessionId, requestId: 'req-1', blockId: i, data: blockData(data, i) }, undefined, NOW);
      }
      const [listed] = await ctx.service.listCarves({ hostId: ctx.host.id });
      assert.ok(listed);
      assert.equal(listed.sessionId, sessionId);
      assert.equal(listed.status, 'complete');
      assert.equal((await ctx.service.listCarves({ hostId: ctx.other.id })).length, 0);

      const archive = await ctx.service.openCarveStream(listed.id);
      assert.equal(archive.size, data.length);
      assert.equal(archive.fileName, `${sessionId}.tar`);
      const chunks: Buffer[] = [];
      for await (const chunk of archive.stream as AsyncIterable<Buffer>) chunks.push(chunk);
      assert.deepEqual(Buffer.concat(chunks), data);
    });

    void it('should throw NotFoundError for unknown or unfinished carves', async () => {
      await rejectsWith(ctx.service.getCarve(999), 404, /not found/);
      await rejectsWith(ctx.service.openCarveStream(999), 404, /not found/);
      const sessionId = await begin();
      await rejectsWith(ctx.service.openCarveStream((await row(sessionId)).id), 404, /no archive/);
    });
  });
});
