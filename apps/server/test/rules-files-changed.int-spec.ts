import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { fromRoot } from '@app/config';
import { BILLING, CRM, gql, overdueSuspends, TestApp, waitFor } from '@app/testing';

/**
 * The rule files seed version 1 on an empty database only. Changed afterwards and the service
 * restarted, the stored active version stays the one every instance evaluates, reports and
 * verifies with; the files' rules are not applied under its name.
 */
describe('rule files changed after the first start', () => {
  let app: TestApp;
  let configDir: string;

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'statusview-rules-changed-'));
    cpSync(fromRoot('config'), configDir, { recursive: true });
    app = await TestApp.start({ CONFIG_DIR: configDir });
  });

  afterAll(async () => {
    await app?.stop();
    rmSync(configDir, { recursive: true, force: true });
  });

  const status = async (id: string) =>
    (await gql<{ customer: { status: string; reason: string } | null }>(app.url, 'query($id: ID!) { customer(id: $id) { status reason } }', { id })).data!.customer;
  const health = async () => ((await (await fetch(`${app.url}/health`)).json()) as { details: { ruleSet: { version: number; checksum: string } } }).details.ruleSet;

  it('keeps evaluating with the stored active version, and says so consistently', async () => {
    const stored = await health();
    expect(stored.version).toBe(1);

    // An operator edits config/rules.yaml (overdue now suspends) and restarts, without publishing.
    await app.restart(async () => writeFileSync(join(configDir, 'rules.yaml'), stringify(overdueSuspends())));

    await app.event(CRM, 'c', null, { id: 1, customer_no: 'F-1', email: null, status: 'ACTIVE', updated_at: 1 });
    await app.event(BILLING, 'c', null, { account_id: 1, cust_ref: 'F-1', state: 1, balance_cents: 0, modified: 1 });
    // The reference rules (version 1 as stored): overdue is at risk, not suspended.
    await waitFor(async () => ((await status('F-1'))?.reason === 'at-risk' ? true : undefined), 'the customer resolved with the stored version');
    expect(await status('F-1')).toEqual({ status: 'AT_RISK', reason: 'at-risk' });

    const active = (await gql<{ activeRuleSet: { version: number; checksum: string } }>(app.url, '{ activeRuleSet { version checksum } }', {})).data!.activeRuleSet;
    expect(await health()).toEqual(stored);
    expect(active).toEqual({ version: stored.version, checksum: stored.checksum });
  });
});
