import { analyzeRuleSet, CompiledRuleSet, compileRuleSet, parseRuleSet, Problem, RULE_SET_LIMITS } from '../index';

/** A rule set over `n` statuses S0…S(n-1): crm maps value Vi to Si, resolution says Si when crm shows it. */
function vocabulary(n: number): Record<string, any> {
  const statuses = Array.from({ length: n }, (_, i) => `S${i}`);
  return {
    statuses,
    mappings: {
      crm: {
        inputs: { status: { type: 'string' } },
        rules: [
          ...statuses.map((s, i) => ({ id: `crm-${i}`, description: 'd', when: { status: `V${i}` }, then: s })),
          { id: 'crm-other', description: 'd', when: {}, then: statuses[n - 1], fallback: true },
        ],
      },
    },
    resolution: {
      rules: [
        ...statuses.map((s, i) => ({ id: `is-${i}`, description: 'd', when: { crm: s }, then: s })),
        { id: 'fallback', description: 'd', when: {}, then: statuses[n - 1], fallback: true },
      ],
    },
  };
}

const at = (path: string, message: RegExp) => expect.arrayContaining([expect.objectContaining({ path, severity: 'error', message: expect.stringMatching(message) })]);
const errors = (problems: Problem[]) => problems.filter((p) => p.severity === 'error');

describe('the canonical vocabulary', () => {
  it('resolves and analyzes exactly with 32 statuses, the last one included', () => {
    const { ruleSet, problems } = parseRuleSet(vocabulary(32));
    expect(errors(problems)).toEqual([]);
    const compiled = new CompiledRuleSet(ruleSet!);
    expect(compiled.resolveStatuses({ crm: ['S30'] })).toEqual({ status: 'S30', reason: 'is-30' });
    expect(compiled.resolveStatuses({ crm: ['S0'] })).toEqual({ status: 'S0', reason: 'is-0' });
    expect(compiled.resolveStatuses({ crm: ['S31'] })).toEqual({ status: 'S31', reason: 'is-31' });
    // No rule is reported dead: every status has its own bit, the 32nd too.
    expect(analyzeRuleSet(ruleSet!).filter((p) => /never/.test(p.message))).toEqual([]);
  });

  it('refuses a 33rd status instead of wrapping its bit onto the first', () => {
    expect(parseRuleSet(vocabulary(33)).problems).toEqual(at('statuses', /^at most 32 canonical statuses .* this vocabulary has 33$/));
    expect(() => compileRuleSet(vocabulary(33))).toThrow(/statuses: at most 32 canonical statuses/);
  });

  it('refuses it in a stored version too: evaluation cannot represent it', () => {
    expect(parseRuleSet(vocabulary(33), undefined, { stored: true }).problems).toEqual(at('statuses', /at most 32/));
  });

  it('refuses a model built without the parser', () => {
    const { ruleSet } = parseRuleSet(vocabulary(32));
    expect(() => new CompiledRuleSet({ ...ruleSet!, statuses: [...ruleSet!.statuses, 'S32'] })).toThrow(/at most 32/);
  });
});

describe('limits on a new rule set', () => {
  const base = () => vocabulary(3);
  const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
  const nested = (depth: number): Record<string, unknown> => (depth === 0 ? { crm: 'S0' } : { anyOf: [nested(depth - 1)] });

  it.each<[string, (rs: Record<string, any>) => void, string, RegExp]>([
    ['a status name of 256 bytes in UTF-8', (rs) => rs.statuses.push('É'.repeat(128)), 'statuses[3]', /at most 255 bytes in UTF-8 .*this one is 256/],
    ['a status name with a newline', (rs) => rs.statuses.push('TWO\nLINES'), 'statuses[3]', /cannot hold control, format or separator characters \(U\+000A at character 4\)/],
    ['a status name with an escape sequence', (rs) => rs.statuses.push('\u001b[31mRED'), 'statuses[3]', /U\+001B at character 1/],
    ['a status name with a bidi override', (rs) => rs.statuses.push('A\u202eB'), 'statuses[3]', /U\+202E/],
    ['a status name with half a surrogate pair', (rs) => rs.statuses.push('A\ud800'), 'statuses[3]', /U\+D800/],
    [
      'more rows in a mapping table than allowed',
      (rs) => rs.mappings.crm.rules.unshift(...many(RULE_SET_LIMITS.rulesPerTable, (i) => ({ id: `x-${i}`, description: 'd', when: { status: `X${i}` }, then: 'S0' }))),
      'mappings.crm.rules',
      /^at most 5000 rules in a table; this has 5004$/,
    ],
    [
      'more rows in the resolution table than allowed',
      (rs) => rs.resolution.rules.unshift(...many(RULE_SET_LIMITS.rulesPerTable, (i) => ({ id: `x-${i}`, description: 'd', when: { crm: 'S0' }, then: 'S0' }))),
      'resolution.rules',
      /^at most 5000 rules in a table/,
    ],
    [
      'more examples than allowed',
      (rs) => (rs.examples = { mappings: many(RULE_SET_LIMITS.examples + 1, () => ({ system: 'crm', raw: { status: 'V0' }, expect: { status: 'S0' } })) }),
      'examples.mappings',
      /^at most 5000 mapping examples; this has 5001$/,
    ],
    [
      'more inputs than allowed',
      (rs) => (rs.mappings.crm.inputs = Object.fromEntries([['status', { type: 'string' }], ...many(64, (i) => [`f${i}`, { type: 'string' }])])),
      'mappings.crm.inputs',
      /^at most 64 inputs in a mapping table; this has 65$/,
    ],
    ['conditions nested too deep', (rs) => (rs.resolution.rules[0].when = nested(16)), 'resolution.rules[0].when' + '.anyOf[0]'.repeat(15) + '.anyOf', /nest at most 16 levels/],
    ['a rule id too long', (rs) => (rs.mappings.crm.rules[0].id = `r${'x'.repeat(128)}`), 'mappings.crm.rules[0].id', /at most 128 characters; this one is 129/],
    ['a description too long', (rs) => (rs.resolution.rules[0].description = 'd'.repeat(1001)), 'resolution.rules[0].description', /at most 1000 characters/],
  ])('refuses %s, at its path', (_name, mutate, path, message) => {
    const rs = base();
    mutate(rs);
    expect(parseRuleSet(rs).problems).toEqual(at(path, message));
  });

  it('accepts what is at the limits', () => {
    const rs = base();
    rs.statuses.push('É'.repeat(127) + 'X');
    rs.resolution.rules[0].when = nested(15);
    rs.mappings.crm.rules[0].id = `r${'x'.repeat(127)}`;
    expect(errors(parseRuleSet(rs).problems)).toEqual([]);
  });

  it('does not apply them to a version stored before they existed: it still loads', () => {
    const rs = base();
    rs.statuses.push('X'.repeat(300));
    rs.resolution.rules[0].when = nested(20);
    rs.resolution.rules.unshift({ id: 'long', description: 'd', when: { crm: 'X'.repeat(300) }, then: 'X'.repeat(300) });
    expect(errors(parseRuleSet(rs).problems).map((p) => p.path)).toEqual(['statuses[3]', expect.stringMatching(/^resolution\.rules\[1\]\.when(\.anyOf(\[0\])?)+$/)]);
    const { ruleSet, problems } = parseRuleSet(rs, undefined, { stored: true });
    expect(errors(problems)).toEqual([]);
    expect(new CompiledRuleSet(ruleSet!).resolveStatuses({ crm: ['X'.repeat(300)] })).toEqual({ status: 'X'.repeat(300), reason: 'long' });
  });
});
