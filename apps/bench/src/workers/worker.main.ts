import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { appWorker } from './app.worker';
import { bareAmqpWorker } from './bare-amqp.worker';
import { bareKafkaWorker } from './bare-kafka.worker';
import { bareHttpWorker } from './bare-http.worker';
import { delayProxyWorker } from './delay-proxy.worker';
import { naiveGraphqlWorker } from './naive-graphql.worker';
import { projectionWorker } from './projection.worker';
import { installRoundTripTrace, resetRoundTrips, roundTrips } from './round-trip.trace';
import { rulesWorker } from './rules.worker';
import { Worker, WorkerFactory, WorkerReply, WorkerRequest, WorkerRole } from './worker.protocol';

const FACTORIES: Record<WorkerRole, WorkerFactory> = {
  app: appWorker,
  'bare-amqp': bareAmqpWorker,
  'bare-kafka': bareKafkaWorker,
  projection: projectionWorker,
  'bare-http': bareHttpWorker,
  'naive-graphql': naiveGraphqlWorker,
  rules: rulesWorker,
  'delay-proxy': delayProxyWorker,
};

/** The child side: builds the role's worker on `start`, answers commands, exits after `stop`. */
export function runWorker(role: string): void {
  const factory = FACTORIES[role as WorkerRole];
  if (!factory || !process.send) {
    process.stderr.write(`bench: unknown worker role "${role}" (or not started by the bench)\n`);
    process.exit(2);
  }
  // Profiling runs (--profile): V8's CPU profiler (what --cpu-prof uses) from the end of `start`
  // to `stop`, so that booting is left out, and every PostgreSQL and Redis round trip timed.
  const traceDir = process.env.BENCH_TRACE_DIR;
  const profiler = traceDir ? new Session() : undefined;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => profiler?.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))));
  if (traceDir) installRoundTripTrace();
  let worker: Worker | undefined;
  const reply = (m: WorkerReply, then?: () => void) => process.send?.(m, undefined, undefined, () => then?.());
  process.on('message', (m: WorkerRequest) => {
    void (async () => {
      try {
        if (m.cmd === 'start') {
          worker = await factory(m.args);
          if (profiler) {
            profiler.connect();
            await post('Profiler.enable');
            await post('Profiler.start');
            resetRoundTrips();
          }
          reply({ id: m.id, ok: true, result: worker.info });
        } else if (m.cmd === 'stop') {
          if (profiler && traceDir) {
            const { profile } = (await post('Profiler.stop')) as { profile: unknown };
            writeFileSync(join(traceDir, `${role}.cpuprofile`), JSON.stringify(profile));
            writeFileSync(join(traceDir, `${role}.roundtrips.json`), JSON.stringify(roundTrips(), null, 2));
          }
          await worker?.stop();
          reply({ id: m.id, ok: true, result: null }, () => process.exit(0));
        } else {
          if (!worker) throw new Error(`"${m.cmd}" before "start"`);
          reply({ id: m.id, ok: true, result: await worker.handle(m.cmd, m.args) });
        }
      } catch (e) {
        reply({ id: m.id, ok: false, error: (e as Error)?.stack ?? String(e) });
      }
    })();
  });
  // The parent went away (Ctrl-C, crash): do not linger.
  process.on('disconnect', () => process.exit(0));
}
