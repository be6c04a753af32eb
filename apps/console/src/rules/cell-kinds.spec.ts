import { cellLabel, fromForm, toForm } from './cell-kinds';
import { placeOf } from './problem-places';
import { readableOrder, withRuleForValue, type RuleSetDoc } from './rule-set-document';

describe('cell kinds', () => {
  // Each cell of the format, as the editor reads it, and back to the same document cell.
  it.each<[unknown, string, string, string]>([
    [undefined, 'string', 'any', '–'],
    ['ACTIVE', 'string', 'equals', 'ACTIVE'],
    [1, 'number', 'equals', '1'],
    [['A', 'B'], 'string', 'in', '∈ A, B'],
    [{ notIn: ['A', 'B'] }, 'string', 'notIn', '∉ A, B'],
    [{ lt: 10 }, 'number', 'lt', '< 10'],
    [{ gte: 3 }, 'number', 'gte', '≥ 3'],
    [{ between: [1, 5] }, 'number', 'between', '1 … 5'],
    [{ isNull: true }, 'string', 'isNull', 'is null'],
    [{ isSet: true }, 'date', 'isSet', 'is set'],
    [{ olderThan: '30d' }, 'date', 'olderThan', 'older than 30d'],
    [{ newerThan: '12h' }, 'date', 'newerThan', 'newer than 12h'],
  ])('%j (a %s input) reads as %s, shows as %s, and writes back the same', (cell, type, kind, label) => {
    const form = toForm(cell);
    expect(form.kind).toBe(kind);
    expect(cellLabel(cell)).toBe(label);
    expect(fromForm(form, type)).toEqual(cell);
  });

  it('types values like their input, and leaves the rest to validation', () => {
    expect(fromForm({ kind: 'in', values: ['0, 1, x'] }, 'number')).toEqual([0, 1, 'x']);
    expect(fromForm({ kind: 'equals', values: ['true'] }, 'boolean')).toBe(true);
    expect(fromForm({ kind: 'equals', values: ['007'] }, 'string')).toBe('007');
  });
});

describe('problem places', () => {
  it.each([
    ['mappings.crm.rules[2].when.status', { table: 'mappings.crm', row: 2, column: 'status' }],
    ['mappings.crm.rules[2].then', { table: 'mappings.crm', row: 2, column: 'then' }],
    ['mappings.crm.rules[2]', { table: 'mappings.crm', row: 2, column: null }],
    ['resolution.rules[1].when.anyOf[0].crm', { table: 'resolution', row: 1, column: 'combined' }],
    ['resolution.rules[1].when.billing', { table: 'resolution', row: 1, column: 'billing' }],
    ['mappings.billing.inputs.state.allowed[1]', { table: 'mappings.billing', input: 'state' }],
    ['mappings.crm', { table: 'mappings.crm', row: null, input: null }],
    ['examples.mappings[4]', { example: { list: 'mappings', index: 4 } }],
  ])('%s', (path, place) => expect(placeOf(path)).toMatchObject(place));
});

describe('add a rule for an unmapped value', () => {
  const doc = {
    statuses: ['ACTIVE', 'UNKNOWN'],
    mappings: {
      billing: {
        hitPolicy: 'FIRST',
        inputs: { state: { type: 'number', allowed: [0] } },
        rules: [
          { id: 'billing-normal', description: '', when: { state: 0 }, then: 'ACTIVE' },
          { id: 'billing-other', description: '', when: {}, then: 'UNKNOWN', fallback: true },
        ],
      },
    },
    resolution: { hitPolicy: 'FIRST', rules: [] },
  } as RuleSetDoc;

  it('puts a row for the value before the fallback, typed like its input, and allows the value', () => {
    const { doc: next, index } = withRuleForValue(doc, 'billing', 'state', '5');
    expect(index).toBe(1);
    expect(next.mappings.billing.rules[1]).toEqual({ id: 'billing-5', description: 'state 5', when: { state: 5 }, then: '' });
    expect(next.mappings.billing.inputs.state.allowed).toEqual([0, 5]);
    expect(doc.mappings.billing.rules).toHaveLength(2); // the active version's document is untouched
  });
});

describe('readable order', () => {
  it('puts keys in the order of the format, and changes nothing else', () => {
    const stored = { mappings: { crm: { rules: [{ then: 'A', when: {}, id: 'x', description: 'd' }], inputs: { s: { allowed: [1], type: 'number' } }, hitPolicy: 'FIRST' } }, statuses: ['A'], resolution: { rules: [], hitPolicy: 'FIRST' } } as unknown as RuleSetDoc;
    const doc = readableOrder(stored);
    expect(Object.keys(doc)).toEqual(['statuses', 'mappings', 'resolution']);
    expect(Object.keys(doc.mappings.crm)).toEqual(['hitPolicy', 'inputs', 'rules']);
    expect(Object.keys(doc.mappings.crm.rules[0])).toEqual(['id', 'description', 'when', 'then']);
    expect(Object.keys(doc.mappings.crm.inputs.s)).toEqual(['type', 'allowed']);
    expect(doc).toEqual(stored);
  });
});
