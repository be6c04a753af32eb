import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compileRuleSet, parseRuleSet, runExamples } from '../index';

const reference = parse(readFileSync(join(__dirname, '../../../../config/rules.yaml'), 'utf8')) as Record<string, unknown>;
const clone = (): Record<string, any> => JSON.parse(JSON.stringify(reference));

describe('reference rule set', () => {
  const compiled = compileRuleSet(reference);

  it('passes all of its own examples', () => {
    expect(runExamples(compiled)).toEqual([]);
  });

  it.each([
    ['crm', { status: 'PROSPECT' }, 'PENDING', 'crm-prospect'],
    ['crm', { status: 'DORMANT' }, 'INACTIVE', 'crm-dormant'],
    ['billing', { state: 1 }, 'AT_RISK', 'billing-overdue'],
    ['billing', { state: '2' }, 'SUSPENDED', 'billing-suspended'],
    ['portal', { locked: false, first_login_at: null, registered_at: 1700000000000 }, 'PENDING', 'portal-registered'],
  ])('maps %s %j to %s by %s', (system, row, status, rule) => {
    expect(compiled.map(system, row)).toMatchObject({ status, rule });
  });

  it('reports the raw value when the fallback decides', () => {
    expect(compiled.map('crm', { status: 'LEAD' })).toEqual(
      expect.objectContaining({ status: 'UNKNOWN', rule: 'crm-other', unmapped: { field: 'status', value: 'LEAD' } }),
    );
    expect(compiled.map('portal', { locked: false }).unmapped).toBeUndefined();
  });

  it.each([
    [{ crm: ['ACTIVE'], billing: [] }, 'PENDING', 'no-billing-yet'],
    [{ crm: ['ACTIVE'], billing: ['ACTIVE', 'AT_RISK'] }, 'AT_RISK', 'at-risk'],
    [{}, 'UNKNOWN', 'fallback'],
  ])('resolves %j to %s by %s', (systems, status, reason) => {
    expect(compiled.resolveStatuses(systems)).toEqual({ status, reason });
  });
});

describe('rule set problems', () => {
  const problemsOf = (mutate: (rs: Record<string, any>) => void) => {
    const rs = clone();
    mutate(rs);
    return parseRuleSet(rs, { crm: ['status'], billing: ['state'], portal: ['locked', 'first_login_at', 'registered_at'] }).problems;
  };

  it.each<[string, (rs: Record<string, any>) => void, string, RegExp]>([
    ['a status outside the vocabulary', (rs) => (rs.mappings.crm.rules[0].then = 'PROSPECTIVE'), 'mappings.crm.rules[0].then', /not a canonical status/],
    ['an unknown input', (rs) => (rs.mappings.crm.rules[1].when = { stat: 'ACTIVE' }), 'mappings.crm.rules[1].when.stat', /not an input/],
    ['a field no source defines', (rs) => (rs.mappings.crm.inputs.tier = { type: 'string' }), 'mappings.crm.inputs.tier', /no field "tier"/],
    ['a system no source defines', (rs) => (rs.mappings.erp = rs.mappings.crm), 'mappings.erp', /no source defines a system "erp"/],
    ['a wrongly typed value', (rs) => (rs.mappings.billing.rules[0].when = { state: 'zero' }), 'mappings.billing.rules[0].when.state', /not a number/],
    ['an unknown operator', (rs) => (rs.mappings.billing.rules[0].when = { state: { approx: 1 } }), 'mappings.billing.rules[0].when.state.approx', /unknown operator/],
    ['a bad duration', (rs) => (rs.mappings.portal.rules[1].when = { first_login_at: { olderThan: 'a while' } }), 'mappings.portal.rules[1].when.first_login_at.olderThan', /not a duration/],
    ['an unknown system in resolution', (rs) => (rs.resolution.rules[2].when = { erp: 'AT_RISK' }), 'resolution.rules[2].when.erp', /not a system/],
    ['a duplicate rule id', (rs) => (rs.resolution.rules[1].id = 'closed'), 'resolution.rules[1].id', /used twice/],
    ['a missing description', (rs) => delete rs.resolution.rules[0].description, 'resolution.rules[0].description', /.+/],
  ])('%s is reported at its path', (_name, mutate, path, message) => {
    expect(problemsOf(mutate)).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringMatching(message), severity: 'error' })]));
  });

  it('a failing example is a problem at the example', () => {
    const rs = clone();
    rs.mappings.billing.rules[1].then = 'SUSPENDED';
    const compiled = compileRuleSet(rs);
    expect(runExamples(compiled)).toEqual([expect.objectContaining({ path: 'examples.mappings[6]', severity: 'error' })]);
  });
});

describe('cells', () => {
  const table = (when: unknown, type = 'number') => ({
    statuses: ['ACTIVE', 'UNKNOWN'],
    mappings: {
      s: {
        inputs: { v: { type } },
        rules: [
          { id: 'hit', description: 'd', when: { v: when }, then: 'ACTIVE' },
          { id: 'miss', description: 'd', when: {}, then: 'UNKNOWN', fallback: true },
        ],
      },
    },
    resolution: { rules: [{ id: 'f', description: 'd', when: {}, then: 'UNKNOWN' }] },
  });
  const now = Date.parse('2024-06-01T00:00:00Z');
  it.each<[unknown, string, unknown, boolean]>([
    [{ in: [1, 2] }, 'number', 2, true],
    [{ notIn: [1, 2] }, 'number', 3, true],
    [{ notIn: [1, 2] }, 'number', null, false],
    [{ lt: 10 }, 'number', 9, true],
    [{ gte: 10 }, 'number', 9, false],
    [{ between: [1, 5] }, 'number', 5, true],
    [{ between: [1, 5] }, 'number', 6, false],
    [{ isNull: true }, 'string', null, true],
    [{ isSet: true }, 'string', 'x', true],
    [{ olderThan: '30d' }, 'date', '2024-04-01T00:00:00Z', true],
    [{ olderThan: '30d' }, 'date', '2024-05-20T00:00:00Z', false],
    [{ newerThan: '30 days' }, 'date', '2024-05-20T00:00:00Z', true],
    [{ gt: '2024-01-01T00:00:00Z' }, 'date', '2024-02-01T00:00:00Z', true],
  ])('%j on a %s input with %j → %s', (cell, type, value, hit) => {
    const compiled = compileRuleSet(table(cell, type));
    expect(compiled.map('s', { v: value }, now).rule).toBe(hit ? 'hit' : 'miss');
  });

  it('PRIORITY picks the highest-priority output among matching rows', () => {
    const rs = table({ gt: 0 });
    rs.statuses = ['CLOSED', 'ACTIVE', 'UNKNOWN'];
    Object.assign(rs.mappings.s, { hitPolicy: 'PRIORITY' });
    rs.mappings.s.rules.splice(1, 0, { id: 'big', description: 'd', when: { v: { gt: 100 } }, then: 'CLOSED' });
    const compiled = compileRuleSet(rs);
    expect(compiled.map('s', { v: 500 }).rule).toBe('big');
    expect(compiled.map('s', { v: 5 }).rule).toBe('hit');
  });
});
