import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../store.js';
import { isPostgresUrl, redactDatabaseUrl } from './postgres.js';

void describe('PostgreSQL store opening', () => {
  void it('should recognise both libpq URI schemes and nothing else', () => {
    assert.equal(isPostgresUrl('postgres://u@h/db'), true);
    assert.equal(isPostgresUrl('postgresql://u@h/db'), true);
    assert.equal(isPostgresUrl('POSTGRES://u@h/db'), true);
    assert.equal(isPostgresUrl('postgres:/u@h/db'), false);
    assert.equal(isPostgresUrl('sqlite:/tmp/x.db'), false);
  });

  void it('should never print the password of a database URL', () => {
    assert.equal(redactDatabaseUrl('postgres://mimir:s3cret@db.internal:5432/mimir?sslmode=require'), 'postgres://mimir:***@db.internal:5432/mimir?sslmode=require');
    assert.equal(redactDatabaseUrl('postgres://mimir@db/mimir'), 'postgres://mimir@db/mimir');
    assert.equal(redactDatabaseUrl('sqlite:/var/lib/mimir.db'), 'sqlite:/var/lib/mimir.db');
    assert.equal(redactDatabaseUrl('postgres://%zz:pw@'), 'postgres://…');
  });

  void it('should refuse an unknown scheme, and fail clearly when PostgreSQL does not answer', async () => {
    await assert.rejects(openStore({ dataDir: '/nonexistent', databaseUrl: 'mysql://root@db/x' }), /must start with postgres:\/\/, postgresql:\/\/ or sqlite:/);
    // Port 1 on loopback: nothing listens there; the error names the connection, not a migration detail.
    await assert.rejects(openStore({ dataDir: '/nonexistent', databaseUrl: 'postgres://postgres@127.0.0.1:1/none' }), /ECONNREFUSED|connect/);
  });
});
