import { BenchOutcome, Figure } from '../bench.model';
import { latencyGroups, ratioGroups } from './run.charts';

const figure = (bench: Figure['bench'], name: string, unit: string, ratio: number | undefined, aim?: string): Figure => ({
  bench,
  name,
  value: { value: 1, unit },
  ...(ratio !== undefined ? { reference: { name: 'ref', value: 1, unit }, ratio } : {}),
  ...(aim ? { aim: { text: aim, met: false } } : {}),
});

describe('run charts', () => {
  it('charts the throughput ratios with the ratio each aim asks for, and leaves latency ratios out', () => {
    const reads: BenchOutcome = {
      figures: [
        figure('reads', 'customer(id), random ids, cache warm, 64 connections', 'req/s', 0.4, '≥ 0.5× bare'),
        figure('reads', 'customer(id) p99 latency', 'ms', 1.7, '< 10 ms at 64 connections'),
        figure('reads', 'customer(id) vs the naive resolver', 'req/s', 3, '≥ 20× naive, 1 ms away'),
        figure('reads', 'customers(ids) with 100 ids (p50 68.4 ms, p99 125.4 ms)', 'req/s', 0.43),
      ],
      notes: [],
      data: { one: { p50: 3, p90: 8, p99: 20 } },
    };
    expect(ratioGroups({ reads })).toEqual([
      { label: 'reads: customer(id), random ids, cache warm, 64 connections', values: [0.4], aim: 0.5 },
      { label: 'reads: customer(id) vs the naive resolver', values: [3], aim: 20 },
      { label: 'reads: customers(ids) with 100 ids', values: [0.43], aim: undefined },
    ]);
    const freshness: BenchOutcome = { figures: [figure('freshness', 'publish → visible through GraphQL, p99', 'ms', undefined, '< 200 ms')], notes: [], data: { p50: 40, p99: 99 } };
    expect(latencyGroups({ reads, freshness })).toEqual([
      { label: 'reads: customer(id), GraphQL', values: [3, 8, 20], aim: 10 },
      { label: 'freshness: publish → visible', values: [40, null, 99], aim: 200 },
    ]);
  });
});
