import { CRM, gql, PORTAL, TestApp, waitFor } from '@app/testing';
import { RepairPositionKeys1733400000000 } from '../src/database/migrations/1733400000000-repair-position-keys';

/**
 * Positions stored before they were checked (an lsn rounded by JSON.parse, or written as 1e+21)
 * are repaired by a migration, so that the records and truncate watermarks they poisoned take real
 * events again.
 */
describe('the position repair migration', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await TestApp.start();
  });
  afterAll(() => app.stop());

  const status = async (id: string) =>
    (await gql<{ customer: { status: string } | null }>(app.url, `query($id: ID!) { customer(id: $id) { status } }`, { id })).data?.customer?.status;
  const repair = async () => {
    const runner = app.db.createQueryRunner();
    try {
      await new RepairPositionKeys1733400000000().up(runner);
    } finally {
      await runner.release();
    }
  };

  it('lets a record stored with an lsn past 2^53 (rounded) and a system truncated at lsn 1e21 take real events again', async () => {
    const crmRow = (status: string) => ({ id: 77, customer_no: 'R-ROUNDED', email: null, status, updated_at: 1 });
    await app.event(CRM, 'c', null, crmRow('ACTIVE'));
    await waitFor(async () => (await status('R-ROUNDED')) === 'PENDING', 'the record stored');
    // What the decoder used to store for "lsn": 123456789012345678901, and a truncate with lsn 1e21.
    await app.db.query(`UPDATE source_record SET position_key = '123456789012345680000', position = 'lsn:123456789012345680000' WHERE system = 'crm' AND record_key = '77'`);
    await app.db.query(
      `INSERT INTO source_truncate (system, position_kind, position_key, position, source_ts) VALUES ('portal', 'lsn', '0000000000000001e+21', 'lsn:1e+21', '2023-11-14T22:00:00Z')`,
    );
    const canonical = (await app.db.query(`SELECT system, record_key, position_kind, position_key FROM source_record ORDER BY 1, 2`)) as unknown[];

    await repair();
    const [record] = (await app.db.query(`SELECT position_kind, position_key, position FROM source_record WHERE record_key = '77'`)) as Array<Record<string, string>>;
    expect(record.position_kind).toBe('ts');
    expect(record.position_key).toMatch(/^\d{20}$/);
    expect(record.position).toBe('lsn:123456789012345680000');

    await app.event(CRM, 'u', null, crmRow('DORMANT'));
    // A young database's lsn: the watermark's '…1e+21' sorted above it, so the user was stored deleted.
    await app.publish(PORTAL.topic, app.log.envelope(PORTAL, 'c', null, { user_id: 'u-1', customer_no: 'R-SMALL', registered_at: '2024-01-01T00:00:00Z', first_login_at: null, locked: false }, { lsn: 4711 }));
    await waitFor(async () => (await status('R-ROUNDED')) === 'INACTIVE', 'the real update after the repair', 5000);
    await waitFor(async () => (await status('R-SMALL')) === 'PENDING', 'the portal user after the repaired truncate', 5000);

    // Canonical keys are left alone, and a second run changes nothing.
    const untouched = (await app.db.query(`SELECT system, record_key, position_kind, position_key FROM source_record WHERE record_key <> '77' AND record_key <> 'u-1' ORDER BY 1, 2`)) as unknown[];
    expect(untouched).toEqual((canonical as Array<{ record_key: string }>).filter((r) => r.record_key !== '77'));
    const before = (await app.db.query(`SELECT * FROM source_truncate ORDER BY system`)) as unknown[];
    await repair();
    expect(await app.db.query(`SELECT * FROM source_truncate ORDER BY system`)).toEqual(before);
  });
});
