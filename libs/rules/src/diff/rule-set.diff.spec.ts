import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describeRuleSetDiff, diffRuleSets } from './rule-set.diff';

const reference = parse(readFileSync(join(__dirname, '../../../../config/rules.yaml'), 'utf8')) as Record<string, any>;
const clone = (): Record<string, any> => JSON.parse(JSON.stringify(reference));

describe('diffRuleSets', () => {
  it('finds nothing between a document and itself, whatever the key order', () => {
    const reordered = JSON.parse(JSON.stringify(reference, Object.keys(reference).sort().reverse()));
    const d = diffRuleSets(reference, { ...reordered, ...clone() });
    expect(d.empty).toBe(true);
    expect(d.tables).toEqual([]);
    expect(describeRuleSetDiff(d)).toEqual([]);
  });

  it('shows exactly the cell that changed, with both values', () => {
    const next = clone();
    next.mappings.billing.rules[1].then = 'SUSPENDED';
    const d = diffRuleSets(reference, next);
    expect(d.tables).toEqual([
      {
        table: 'mappings.billing',
        change: 'changed',
        hitPolicy: null,
        unmappedInput: null,
        inputs: [],
        rows: [{ id: 'billing-overdue', change: 'changed', beforeIndex: 1, afterIndex: 1, cells: [{ column: 'then', before: 'AT_RISK', after: 'SUSPENDED' }] }],
      },
    ]);
    expect(describeRuleSetDiff(d)).toEqual(['~ mappings.billing: billing-overdue (then: "AT_RISK" → "SUSPENDED")']);
  });

  it('reports a change of an input\'s allowed values (the CLI said "no rule changes")', () => {
    const next = clone();
    next.mappings.crm.inputs.status.allowed.push('LEAD');
    next.mappings.billing.inputs.state.allowed = [0, 1, 2];
    const d = diffRuleSets(reference, next);
    expect(d.empty).toBe(false);
    expect(d.tables.map((t) => t.inputs)).toEqual([
      [{ name: 'status', change: 'changed', typeBefore: 'string', typeAfter: 'string', allowedAdded: ['LEAD'], allowedRemoved: [] }],
      [{ name: 'state', change: 'changed', typeBefore: 'number', typeAfter: 'number', allowedAdded: [], allowedRemoved: [9] }],
    ]);
    expect(describeRuleSetDiff(d)).toEqual(['~ mappings.crm: input status (allowed + "LEAD")', '~ mappings.billing: input state (allowed - 9)']);
  });

  it('tells rows added, removed and moved apart, by id', () => {
    const next = clone();
    const rules = next.mappings.crm.rules;
    rules.splice(2, 1, { id: 'crm-dormant-closed', description: 'Dormant is closed', when: { status: 'DORMANT' }, then: 'CLOSED' });
    // crm-closed goes first: only it moved, the others kept their relative order.
    rules.unshift(rules.splice(3, 1)[0]);
    const [t] = diffRuleSets(reference, next).tables;
    expect(t.rows.map((r) => [r.id, r.change, r.beforeIndex, r.afterIndex])).toEqual([
      ['crm-closed', 'moved', 3, 0],
      ['crm-dormant-closed', 'added', null, 3],
      ['crm-dormant', 'removed', 2, null],
    ]);
    expect(t.rows[1].cells).toEqual([
      { column: 'status', before: undefined, after: 'DORMANT' },
      { column: 'then', before: undefined, after: 'CLOSED' },
      { column: 'description', before: undefined, after: 'Dormant is closed' },
      { column: 'fallback', before: undefined, after: false },
    ]);
  });

  it('covers the vocabulary, hit policies, whole tables, resolution conditions and examples', () => {
    const next = clone();
    next.statuses = ['SUSPENDED', 'CLOSED', ...next.statuses.slice(2), 'DORMANT'];
    next.mappings.portal.hitPolicy = 'UNIQUE';
    delete next.mappings.billing;
    next.resolution.rules[1].when = { anySystem: ['SUSPENDED', 'CLOSED'] };
    next.examples.mappings.pop();
    const d = diffRuleSets(reference, next);
    expect(d.statuses).toEqual({ added: ['DORMANT'], removed: [], reordered: true });
    expect(d.tables.map((t) => [t.table, t.change])).toEqual([
      ['mappings.billing', 'removed'],
      ['mappings.portal', 'changed'],
      ['resolution', 'changed'],
    ]);
    expect(describeRuleSetDiff(d)).toEqual(
      expect.arrayContaining([
        '+ statuses: DORMANT',
        '~ statuses: priority order changed',
        '- mappings.billing',
        '~ mappings.portal: hit policy FIRST → UNIQUE',
        '~ resolution: suspended (when: {"anySystem":"SUSPENDED"} → {"anySystem":["SUSPENDED","CLOSED"]})',
        '~ examples: 23 → 22',
      ]),
    );
  });
});
