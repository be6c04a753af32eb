import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CompiledRuleSet, Problem, RuleSet, analyzeRuleSet, parseRuleSet } from '../index';

/** The parts of a rule set document the cases below edit. */
interface RawRule {
  id: string;
  description: string;
  when: Record<string, unknown>;
  then: string;
  fallback?: boolean;
}
interface RawDocument {
  statuses: string[];
  mappings: Record<string, { hitPolicy?: string; inputs: Record<string, { type: string; allowed?: unknown[] }>; rules: RawRule[] }>;
  resolution: { hitPolicy?: string; rules: RawRule[] };
  examples: {
    mappings: Array<{ system: string; raw: Record<string, unknown>; expect: { status: string; rule?: string } }>;
    resolution: Array<{ systems: Record<string, string[]>; expect: { status: string; reason?: string } }>;
  };
}

const reference = parse(readFileSync(join(__dirname, '../../../../config/rules.yaml'), 'utf8')) as RawDocument;
const now = Date.parse('2024-06-01T00:00:00Z');
const rule = (id: string, when: Record<string, unknown>, then: string): RawRule => ({ id, description: `test rule ${id}`, when, then });

function ruleSetOf(mutate: (doc: RawDocument) => void = () => undefined): RuleSet {
  const doc = structuredClone(reference);
  mutate(doc);
  const { ruleSet, problems } = parseRuleSet(doc);
  if (!ruleSet) throw new Error(`the test rule set does not parse: ${JSON.stringify(problems)}`);
  return ruleSet;
}

type Expected = [path: string, severity: Problem['severity'], message: RegExp];
const problems = (...expected: Expected[]) =>
  expected.map(([path, severity, message]) => expect.objectContaining({ path, severity, message: expect.stringMatching(message) }));

describe('analyzeRuleSet', () => {
  it('finds nothing to fix in the reference rule set', () => {
    expect(analyzeRuleSet(ruleSetOf(), { now })).toEqual([]);
  });

  it('finds nothing to fix in the reference rule set at any evaluation time', () => {
    expect(analyzeRuleSet(ruleSetOf())).toEqual([]);
  });

  describe('mapping tables', () => {
    it.each<[string, (doc: RawDocument) => void, Expected[]]>([
      [
        'a fallback moved first hides every rule after it',
        (doc) => doc.mappings.crm.rules.unshift(doc.mappings.crm.rules.pop() as RawRule),
        [1, 2, 3, 4].map((r): Expected => [
          `mappings.crm.rules[${r}]`,
          'error',
          /can never fire: every record it matches is already matched by the earlier rule crm-other\b/,
        ]),
      ],
      [
        'a second row for the same value never fires',
        (doc) => doc.mappings.billing.rules.splice(2, 0, rule('billing-late', { state: 1 }, 'SUSPENDED')),
        [['mappings.billing.rules[2]', 'error', /^rule billing-late can never fire: .* the earlier rule billing-overdue\./]],
      ],
      [
        'a row covered by several earlier rows together names them all',
        (doc) => {
          doc.mappings.billing.rules.splice(4, 0, rule('billing-low', { state: { in: [0, 1] } }, 'ACTIVE'));
          doc.examples.mappings.push({ system: 'billing', raw: { state: 0 }, expect: { status: 'ACTIVE', rule: 'billing-low' } });
        },
        [['mappings.billing.rules[4]', 'error', /already matched by one of the earlier rules billing-normal, billing-overdue\./]],
      ],
      [
        'PRIORITY: a row always outranked can never be chosen',
        (doc) => {
          doc.mappings.billing.hitPolicy = 'PRIORITY';
          doc.mappings.billing.rules.splice(4, 0, rule('billing-any-closed', { state: { gte: 0 } }, 'CLOSED'));
          doc.examples.mappings.push({ system: 'billing', raw: { state: 3 }, expect: { status: 'CLOSED', rule: 'billing-any-closed' } });
        },
        ['billing-normal', 'billing-overdue', 'billing-suspended'].map((id, r): Expected => [
          `mappings.billing.rules[${r}]`,
          'error',
          new RegExp(`^rule ${id} can never be the chosen one: wherever it matches, billing-any-closed matches too and wins \\(CLOSED comes before`),
        ]),
      ],
      [
        'UNIQUE: overlapping rows name both rules and an input both match',
        (doc) => {
          doc.mappings.billing.hitPolicy = 'UNIQUE';
          doc.mappings.billing.rules.splice(4, 0, rule('billing-low', { state: { lte: 1 } }, 'ACTIVE'));
          doc.examples.mappings.push({ system: 'billing', raw: { state: -1 }, expect: { status: 'ACTIVE', rule: 'billing-low' } });
        },
        [
          [
            'mappings.billing.rules[4]',
            'error',
            /^rules billing-normal and billing-low overlap: both match \{ state: 0 \}, but the UNIQUE hit policy/,
          ],
          ['mappings.billing.rules[4]', 'error', /^rules billing-overdue and billing-low overlap: both match \{ state: 1 \}/],
        ],
      ],
      ['UNIQUE: a fallback row is the default, not an overlap', (doc) => (doc.mappings.billing.hitPolicy = 'UNIQUE'), []],
      [
        'without a fallback, an input no row matches is a gap',
        (doc) => doc.mappings.billing.rules.pop(),
        [
          [
            'mappings.billing',
            'error',
            /^no rule of the billing table matches \{ state: 3 \}, nor \{ state: null \}, and the table has no fallback row/,
          ],
        ],
      ],
      [
        'without a fallback, a gap over several inputs is shown as a whole record',
        (doc) => doc.mappings.portal.rules.pop(),
        [['mappings.portal', 'error', /matches \{ locked: false, first_login_at: null, registered_at: null \}, nor \{ locked: null, /]],
      ],
      [
        'without a fallback, an allowed value no row matches is a gap at the input',
        (doc) => {
          doc.mappings.crm.rules.pop();
          doc.mappings.crm.rules.push(rule('crm-other', { status: { notIn: ['PROSPECT', 'ACTIVE', 'DORMANT', 'CLOSED'] } }, 'UNKNOWN'));
          doc.mappings.crm.rules.push(rule('crm-missing', { status: null }, 'UNKNOWN'));
          doc.mappings.crm.rules.splice(0, 1);
          doc.examples.mappings = doc.examples.mappings.filter((e) => e.expect.rule !== 'crm-prospect');
          doc.examples.mappings.push({ system: 'crm', raw: {}, expect: { status: 'UNKNOWN', rule: 'crm-missing' } });
        },
        [
          [
            'mappings.crm.inputs.status',
            'error',
            /^allowed value PROSPECT of crm.status is not matched by any rule, and the table has no fallback row, so mapping a record with status PROSPECT fails\./,
          ],
        ],
      ],
      [
        'an allowed value that only the fallback maps',
        (doc) => {
          doc.mappings.billing.rules.splice(1, 1);
          doc.examples.mappings = doc.examples.mappings.filter((e) => e.expect.rule !== 'billing-overdue');
          doc.resolution.rules.splice(2, 1);
          doc.examples.resolution = doc.examples.resolution.filter((e) => e.expect.reason !== 'at-risk');
        },
        [
          [
            'mappings.billing.inputs.state',
            'warning',
            /^allowed value 1 of billing.state is only covered by the fallback billing-other \(mapped to UNKNOWN\)/,
          ],
        ],
      ],
      [
        'a newly allowed value that no rule maps yet',
        (doc) => doc.mappings.billing.inputs.state.allowed?.push(5),
        [['mappings.billing.inputs.state', 'warning', /^allowed value 5 of billing.state is only covered by the fallback billing-other/]],
      ],
      [
        'a boolean value that only the fallback maps',
        (doc) => {
          doc.mappings.portal.rules.splice(1, 2);
          doc.examples.mappings = doc.examples.mappings.filter((e) => !['portal-logged-in', 'portal-registered'].includes(e.expect.rule ?? ''));
        },
        [['mappings.portal.inputs.locked', 'warning', /^value false of portal.locked is only covered by the fallback portal-other/]],
      ],
      [
        'a rule no value can match',
        (doc) => {
          doc.mappings.portal.rules.splice(1, 0, rule('portal-new-year', { registered_at: '2024-01-01T00:00:00Z' }, 'PENDING'));
          doc.examples.mappings.push({
            system: 'portal',
            raw: { registered_at: '2024-01-01T00:00:00Z' },
            expect: { status: 'PENDING', rule: 'portal-new-year' },
          });
        },
        [['mappings.portal.rules[1]', 'error', /^rule portal-new-year can never fire: no value of portal.registered_at satisfies its condition/]],
      ],
      [
        'relative dates: a claim that holds at the evaluation time only is a warning',
        (doc) => {
          doc.mappings.portal.rules.splice(2, 0, rule('portal-recent', { first_login_at: { newerThan: '30d' } }, 'ACTIVE'));
          doc.examples.mappings.push({ system: 'portal', raw: {}, expect: { status: 'ACTIVE', rule: 'portal-recent' } });
        },
        [
          [
            'mappings.portal.rules[2]',
            'warning',
            /^rule portal-recent can never fire at the evaluation time 2024-06-01T00:00:00.000Z: .* the earlier rule portal-logged-in\./,
          ],
        ],
      ],
      [
        'relative dates: rows that split time at a threshold are all reachable',
        (doc) => {
          doc.mappings.portal.rules.splice(
            1,
            1,
            rule('portal-recent', { first_login_at: { newerThan: '90 days' } }, 'ACTIVE'),
            rule('portal-lapsed', { first_login_at: { olderThan: '90 days' } }, 'INACTIVE'),
          );
          doc.examples.mappings.push({ system: 'portal', raw: { first_login_at: '2024-05-01T00:00:00Z' }, expect: { status: 'ACTIVE' } });
          doc.examples.mappings.push({ system: 'portal', raw: { first_login_at: '2023-05-01T00:00:00Z' }, expect: { status: 'INACTIVE' } });
          doc.examples.mappings = doc.examples.mappings.filter((e) => e.expect.rule !== 'portal-logged-in');
        },
        [],
      ],
      [
        'a rule without an example, with an example to add',
        (doc) => (doc.examples.mappings = doc.examples.mappings.filter((e) => e.expect.rule !== 'crm-dormant')),
        [
          [
            'mappings.crm.rules[2]',
            'warning',
            /^rule crm-dormant has no example in examples.mappings. Add one, e.g. \{ system: crm, raw: \{ status: DORMANT \}, expect: \{ status: INACTIVE, rule: crm-dormant \} \}\.$/,
          ],
        ],
      ],
      ['an example that names no rule covers the rule that decides it', (doc) => doc.examples.mappings.forEach((e) => delete e.expect.rule), []],
    ])('%s', (_name, mutate, expected) => {
      expect(analyzeRuleSet(ruleSetOf(mutate), { now })).toEqual(problems(...expected));
    });
  });

  describe('the resolution table', () => {
    it.each<[string, (doc: RawDocument) => void, Expected[]]>([
      [
        '{ crm: ACTIVE, billing: { absent: true } } after { crm: ACTIVE } never fires',
        (doc) => {
          doc.resolution.rules.splice(3, 0, rule('crm-active', { crm: 'ACTIVE' }, 'ACTIVE'));
          doc.examples.resolution.push({ systems: { crm: ['ACTIVE'], billing: ['ACTIVE'] }, expect: { status: 'ACTIVE', reason: 'crm-active' } });
        },
        [
          [
            'resolution.rules[4]',
            'error',
            /^rule no-billing-yet can never fire: every customer it matches is already matched by the earlier rule crm-active\./,
          ],
        ],
      ],
      [
        '{ anySystem: CLOSED } after closed never fires, because only crm and billing map to CLOSED',
        (doc) => doc.resolution.rules.splice(2, 0, rule('any-closed', { anySystem: 'CLOSED' }, 'CLOSED')),
        [
          [
            'resolution.rules[2]',
            'error',
            /the earlier rule closed\. .*\(it could only fire for a customer with \{ portal: \[CLOSED\] \}, but portal never maps to CLOSED\)\.$/,
          ],
        ],
      ],
      [
        'a status a system never maps to',
        (doc) => doc.resolution.rules.splice(3, 0, rule('crm-suspended', { crm: 'SUSPENDED' }, 'SUSPENDED')),
        [
          [
            'resolution.rules[3]',
            'error',
            /^rule crm-suspended can never fire: no customer matches it, because it needs a customer with \{ crm: \[SUSPENDED\] \}, but crm never maps to SUSPENDED\./,
          ],
        ],
      ],
      [
        'a status no mapping rule outputs any more',
        (doc) => {
          doc.mappings.billing.rules.splice(1, 1);
          doc.examples.mappings = doc.examples.mappings.filter((e) => e.expect.rule !== 'billing-overdue');
        },
        [
          ['mappings.billing.inputs.state', 'warning', /^allowed value 1 of billing.state is only covered by the fallback billing-other/],
          ['resolution.rules[2]', 'error', /^rule at-risk can never fire: .* but billing never maps to AT_RISK\./],
        ],
      ],
      [
        'contradicting conditions',
        (doc) => doc.resolution.rules.splice(0, 0, rule('never', { crm: 'ACTIVE', allOf: [{ crm: { absent: true } }] }, 'ACTIVE')),
        [['resolution.rules[0]', 'error', /^rule never can never fire: no customer matches it, because its conditions contradict each other\./]],
      ],
      [
        'two statuses of one system in one condition (pairs, not singletons)',
        (doc) => {
          doc.resolution.rules.splice(2, 0, rule('at-risk-but-paying', { allOf: [{ billing: 'AT_RISK' }, { billing: 'ACTIVE' }] }, 'AT_RISK'));
          doc.examples.resolution.push({ systems: { billing: ['ACTIVE', 'AT_RISK'] }, expect: { status: 'AT_RISK', reason: 'at-risk-but-paying' } });
        },
        [],
      ],
      [
        'PRIORITY: a row always outranked can never be chosen',
        (doc) => (doc.resolution.hitPolicy = 'PRIORITY'),
        [
          [
            'resolution.rules[3]',
            'error',
            /^rule no-billing-yet can never be the chosen one: wherever it matches, active matches too and wins \(ACTIVE comes before PENDING in statuses\)\./,
          ],
        ],
      ],
      [
        'UNIQUE: rows that both match when a system has two records',
        (doc) => {
          doc.resolution.hitPolicy = 'UNIQUE';
          doc.resolution.rules = [
            rule('crm-closed', { crm: 'CLOSED' }, 'CLOSED'),
            rule('crm-active', { crm: 'ACTIVE' }, 'ACTIVE'),
            doc.resolution.rules[7],
          ];
          doc.examples.resolution = [];
          doc.examples.resolution.push({ systems: { crm: ['CLOSED'] }, expect: { status: 'CLOSED', reason: 'crm-closed' } });
          doc.examples.resolution.push({ systems: { crm: ['ACTIVE'] }, expect: { status: 'ACTIVE', reason: 'crm-active' } });
          doc.examples.resolution.push({ systems: { portal: ['PENDING'] }, expect: { status: 'UNKNOWN', reason: 'fallback' } });
        },
        [
          [
            'resolution.rules[1]',
            'error',
            /^rules crm-closed and crm-active overlap: both match a customer with \{ crm: \[CLOSED, ACTIVE\] \}, but the UNIQUE hit policy/,
          ],
        ],
      ],
      [
        'without a fallback, a customer no row matches is a gap',
        (doc) => {
          doc.resolution.rules.pop();
          doc.examples.resolution.pop();
        },
        [['resolution', 'error', /^no resolution rule matches a customer with \{ portal: \[UNKNOWN\] \}, nor .* and the table has no fallback row/]],
      ],
      [
        'a rule without an example, with an example to add',
        (doc) => (doc.examples.resolution = doc.examples.resolution.filter((e) => e.expect.reason !== 'no-billing-yet')),
        [
          [
            'resolution.rules[3]',
            'warning',
            /Add one, e.g. \{ systems: \{ crm: \[ACTIVE\] \}, expect: \{ status: PENDING, reason: no-billing-yet \} \}\.$/,
          ],
        ],
      ],
    ])('%s', (_name, mutate, expected) => {
      expect(analyzeRuleSet(ruleSetOf(mutate), { now })).toEqual(problems(...expected));
    });
  });

  it('says so, and claims nothing, when a table has more combinations than allowed', () => {
    expect(
      analyzeRuleSet(
        ruleSetOf((doc) => doc.mappings.billing.rules.pop()),
        { now, maxCombinations: 5 },
      ),
    ).toEqual(
      problems(
        ['mappings.crm', 'warning', /the crm table has 6 combinations of input values to check, more than the limit of 5, so it was not checked/],
        ['mappings.billing', 'warning', /more than the limit of 5/],
        ['mappings.portal', 'warning', /more than the limit of 5/],
        ['resolution', 'warning', /the resolution table has \d+ combinations of system statuses to check, more than the limit of 5/],
      ),
    );
  });

  // The analysis must agree with the compiled rule set: no rule it calls dead ever decides there.
  it.each<[string, (doc: RawDocument) => void]>([
    ['fallback first', (doc) => doc.mappings.crm.rules.unshift(doc.mappings.crm.rules.pop() as RawRule)],
    ['duplicate row', (doc) => doc.mappings.billing.rules.splice(2, 0, rule('billing-late', { state: 1 }, 'SUSPENDED'))],
    [
      'PRIORITY',
      (doc) => {
        doc.mappings.billing.hitPolicy = 'PRIORITY';
        doc.mappings.billing.rules.splice(4, 0, rule('billing-any-closed', { state: { gte: 0 } }, 'CLOSED'));
      },
    ],
    [
      'ranges',
      (doc) =>
        doc.mappings.billing.rules.splice(
          0,
          0,
          rule('billing-low', { state: { between: [0, 1] } }, 'ACTIVE'),
          rule('billing-high', { state: { gt: 1 } }, 'ACTIVE'),
        ),
    ],
  ])('agrees with the compiled rule set on sampled records: %s', (_name, mutate) => {
    const ruleSet = ruleSetOf(mutate);
    const compiled = new CompiledRuleSet(ruleSet);
    const dead = new Set(
      analyzeRuleSet(ruleSet, { now })
        .filter((p) => /can never (fire|be the chosen one)/.test(p.message))
        .map((p) => p.path),
    );
    expect(dead.size).toBeGreaterThan(0);
    const samples: unknown[] = [null, 'PROSPECT', 'ACTIVE', 'DORMANT', 'CLOSED', 'LEAD', -1, 0, 0.5, 1, 1.5, 2, 3, 9, 10, 1e9];
    for (const table of ruleSet.mappings) {
      const field = table.inputs[0].name;
      for (const value of samples) {
        const decided = compiled.map(table.system, { [field]: value }, now).rule;
        const r = table.rules.findIndex((x) => x.id === decided);
        expect(dead).not.toContain(`mappings.${table.system}.rules[${r}]`);
      }
    }
  });

  describe('large tables', () => {
    const big = (rows: RawRule[], hitPolicy = 'FIRST'): RuleSet => {
      const doc: RawDocument = {
        statuses: ['ACTIVE', 'PENDING', 'UNKNOWN'],
        mappings: { crm: { hitPolicy, inputs: { status: { type: 'string' } }, rules: [...rows, { ...rule('crm-other', {}, 'UNKNOWN'), fallback: true }] } },
        resolution: { rules: [rule('active', { crm: 'ACTIVE' }, 'ACTIVE'), { ...rule('fallback', {}, 'UNKNOWN'), fallback: true }] },
        examples: { mappings: [], resolution: [] },
      };
      const { ruleSet, problems } = parseRuleSet(doc);
      if (!ruleSet) throw new Error(JSON.stringify(problems.slice(0, 3)));
      return ruleSet;
    };
    const codes = (n: number) => Array.from({ length: n }, (_, i) => rule(`crm-code-${i}`, { status: `CODE_${i}` }, 'ACTIVE'));

    it('analyzes a table of 4,999 rows exactly, within the analysis budget', () => {
      const rows = codes(4998);
      rows.push(rule('crm-code-again', { status: 'CODE_17' }, 'PENDING'));
      const found = analyzeRuleSet(big(rows), { now });
      expect(found.filter((p) => p.severity === 'error')).toEqual(
        problems(['mappings.crm.rules[4998]', 'error', /^rule crm-code-again can never fire: .* the earlier rule crm-code-17\./]),
      );
      expect(found.filter((p) => /not checked/.test(p.message))).toEqual([]);
    });

    it('skips a check that would outgrow the analysis budget, says so, and claims nothing there', () => {
      // Every row overlaps every other: a pairwise check of 4,999 rows over 5,000 values.
      const rows = Array.from({ length: 4999 }, (_, i) => rule(`crm-not-${i}`, { status: { notIn: [`CODE_${i}`] } }, 'ACTIVE'));
      const found = analyzeRuleSet(big(rows, 'UNIQUE'), { now });
      expect(found).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: 'mappings.crm', severity: 'warning', message: expect.stringMatching(/^overlaps in the crm table: not checked, because the analysis budget of 300000000 steps is used up/) }),
        ]),
      );
      expect(found.filter((p) => /overlap: both match/.test(p.message))).toEqual([]);
    });

    it('a smaller budget leaves the tables unchecked, with a warning each, and no claim', () => {
      const found = analyzeRuleSet(ruleSetOf(), { now, maxSteps: 1 });
      expect(found.filter((p) => p.severity === 'error')).toEqual([]);
      expect(found.map((p) => p.path)).toEqual(expect.arrayContaining(['mappings.crm', 'mappings.billing', 'mappings.portal', 'resolution']));
      expect(found.every((p) => /not checked, because the analysis budget of 1 steps is used up/.test(p.message))).toBe(true);
    });
  });
});
