import { chunksOf, deadLetterHeaders, nextOffset, partitionLags } from './kafka-offsets';

describe('Kafka offset arithmetic', () => {
  it.each([
    ['0', '1'],
    ['4711', '4712'],
    // Beyond 2^53: a Number would round it.
    ['9007199254740993', '9007199254740994'],
  ])('commits %s + 1 = %s after processing offset %s', (last, next) => {
    expect(nextOffset(last)).toBe(next);
  });

  it.each([
    [[], 3, []],
    [[1, 2, 3, 4, 5, 6, 7], 3, [[1, 2, 3], [4, 5, 6], [7]]],
    [[1, 2], 500, [[1, 2]]],
  ])('slices %j into chunks of %i', (items, size, chunks) => {
    expect(chunksOf(items, size)).toEqual(chunks);
  });

  it('refuses a chunk size that is not a positive integer', () => {
    expect(() => chunksOf([1], 0)).toThrow('chunk size must be a positive integer, not 0');
  });

  it.each([
    ['no committed offset: from the log start', { high: '10', low: '0' }, undefined, 10],
    ['no committed offset, log start moved by retention', { high: '10', low: '4' }, '-1', 6],
    ['committed in the middle', { high: '10', low: '0' }, '7', 3],
    ['all committed', { high: '10', low: '0' }, '10', 0],
    ['committed below the log start (retention removed them)', { high: '10', low: '8' }, '3', 2],
    ['committed above the high watermark (topic recreated)', { high: '2', low: '0' }, '9', 0],
    ['an empty partition', { high: '0', low: '0' }, undefined, 0],
  ])('lag: %s', (_what, marks, committed, lag) => {
    const result = partitionLags([{ partition: 3, ...marks }], committed === undefined ? [] : [{ partition: 3, offset: committed }]);
    expect(result).toEqual([{ partition: 3, lag }]);
  });

  it('reports every partition of the topic, in partition order', () => {
    const marks = [2, 0, 1].map((partition) => ({ partition, high: '5', low: '0' }));
    expect(partitionLags(marks, [{ partition: 0, offset: '5' }, { partition: 9, offset: '1' }])).toEqual([
      { partition: 0, lag: 0 },
      { partition: 1, lag: 5 },
      { partition: 2, lag: 5 },
    ]);
  });

  it('names the reason and the origin of a dead letter in its headers', () => {
    expect(deadLetterHeaders({ topic: 'legacy.crm.customers', partition: 2, offset: '41' }, 'NOT_JSON', 'not JSON: Unexpected token')).toEqual({
      'x-error-code': 'NOT_JSON',
      'x-error-reason': 'not JSON: Unexpected token',
      'x-original-topic': 'legacy.crm.customers',
      'x-original-partition': '2',
      'x-original-offset': '41',
    });
  });
});
