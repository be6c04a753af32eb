import 'reflect-metadata';
import { runMain } from '@app/bootstrap';
import { runBench } from './bench.runner';
import { runWorker } from './workers/worker.main';

// The bench forks itself for every process under measurement: `main.js --worker <role>`.
const worker = process.argv.indexOf('--worker');
if (worker >= 0) runWorker(process.argv[worker + 1] ?? '');
else runMain(runBench);
