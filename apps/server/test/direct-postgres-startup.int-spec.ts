import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { directConfigDir, LegacyReplica, TestApp } from '@app/testing';

/** A direct PostgreSQL source whose table is not in the database its URL names: one clear error at start. */
describe('direct CDC from PostgreSQL, a table that is not there', () => {
  let legacy: LegacyReplica;
  let configDir: string;

  beforeAll(async () => {
    // A database with portal's table only: crm.customers (and its schema) are missing.
    legacy = await LegacyReplica.create(['portal']);
    process.env.TEST_MISSING_CRM_URL = legacy.url;
    configDir = directConfigDir({ crm: 'TEST_MISSING_CRM_URL' });
  });

  afterAll(async () => {
    await legacy?.drop();
    rmSync(configDir, { recursive: true, force: true });
    delete process.env.TEST_MISSING_CRM_URL;
  });

  it('fails with TABLE_MISSING naming the table and what to check, not a raw PostgreSQL error', async () => {
    await expect(TestApp.start({ CONFIG_DIR: configDir, DIRECT_PG_SLOT_PREFIX: `sv_missing_${randomBytes(3).toString('hex')}` })).rejects.toMatchObject({
      code: 'TABLE_MISSING',
      message: expect.stringMatching(/^systems\.crm: the table "crm"\."customers" is not in the legacy database \(schema "crm" does not exist\): check the system's table in sources\.yaml/),
    });
    expect(await legacy.slots()).toEqual([]);
  });
});
