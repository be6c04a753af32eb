import { createConnection } from 'mysql2/promise';
import { readFileSync } from 'node:fs';
import { fromRoot } from '@app/config';
import { PrivateMariadb, TestApp } from '@app/testing';

/**
 * A server whose binlog cannot be read as rows stops the direct source at start with the setting
 * to change, before anything streams. Private MariaDB servers (the machine's shared one is never
 * reconfigured), one per setting.
 */
describe('the direct MySQL source refuses a server whose binlog it cannot read', () => {
  beforeAll(() => {
  });
  afterAll(() => {
    delete process.env.LEGACY_BILLING_URL;
  });

  it.each([
    [['--skip-log-bin'], /BINLOG_OFF|the binary log is off \(@@log_bin = 0\).*log_bin, binlog_format=ROW/],
    [['--log-bin=mysql-bin', '--binlog-format=STATEMENT'], /@@binlog_format is STATEMENT, not ROW/],
    [['--log-bin=mysql-bin', '--binlog-format=ROW', '--binlog-row-image=MINIMAL'], /@@binlog_row_image is MINIMAL, not FULL/],
  ])('with %p: says what to change', async (options, message) => {
    const server = await PrivateMariadb.start(options);
    try {
      const admin = await createConnection({ uri: server.url(), multipleStatements: true });
      await admin.query('CREATE DATABASE billing; USE billing; ' + readFileSync(fromRoot('config/legacy/billing.sql'), 'utf8'));
      await admin.end();
      process.env.LEGACY_BILLING_URL = server.url('billing');
      let app: TestApp | undefined;
      try {
        app = await TestApp.start({ CDC_DIRECT_SYSTEMS: 'billing' });
      } catch (e) {
        expect((e as Error).message).toMatch(message);
        expect((e as Error).message).toMatch(/systems\.billing: MySQL binlog at mysql:\/\/root@127\.0\.0\.1/);
        return;
      } finally {
        await app?.stop();
      }
      throw new Error('the service started');
    } finally {
      await server.dispose();
    }
  }, 90_000);
});
