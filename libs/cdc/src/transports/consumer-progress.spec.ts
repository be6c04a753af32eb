import { ConsumerProgress } from './consumer-progress';

describe('ConsumerProgress', () => {
  let now: number;
  let progress: ConsumerProgress;
  beforeEach(() => {
    now = 1_000_000;
    progress = new ConsumerProgress(1000, () => now);
  });

  it('is never stalled while nothing waits, however long since the last batch', () => {
    now += 60_000;
    expect(progress.report()).toEqual({ waiting: 0, stalledForMs: 0, stalled: false, lastError: null });
  });

  it('counts from when messages start waiting, not from the last batch of an idle consumer', () => {
    now += 60_000;
    progress.received(3);
    now += 999;
    expect(progress.report()).toEqual({ waiting: 3, stalledForMs: 999, stalled: false, lastError: null });
    now += 1;
    expect(progress.report()).toMatchObject({ waiting: 3, stalledForMs: 1000, stalled: true });
  });

  it('keeps counting while messages keep arriving but no batch settles, with the last failure', () => {
    progress.received(1);
    now += 600;
    progress.received(5);
    progress.failed('permission denied for table source_record');
    now += 600;
    expect(progress.report()).toEqual({ waiting: 6, stalledForMs: 1200, stalled: true, lastError: 'permission denied for table source_record' });
  });

  it('starts again at each settled batch, and forgets the failure', () => {
    progress.received(4);
    progress.failed('deadlock detected');
    now += 5000;
    progress.settled(2);
    expect(progress.report()).toEqual({ waiting: 2, stalledForMs: 0, stalled: false, lastError: null });
    now += 1000;
    expect(progress.report()).toMatchObject({ waiting: 2, stalled: true });
    progress.settled(2);
    expect(progress.report()).toMatchObject({ waiting: 0, stalled: false });
  });

  it('does not take released messages (redelivered by the broker) for progress', () => {
    progress.received(4);
    now += 800;
    progress.released(1);
    now += 200;
    expect(progress.report()).toMatchObject({ waiting: 3, stalledForMs: 1000, stalled: true });
    progress.released(10);
    expect(progress.report()).toMatchObject({ waiting: 0, stalled: false });
  });
});
