import 'reflect-metadata';
import { exitOnSignals, runMain, startApp } from '@app/bootstrap';

// API and consumer in one process, for small deployments.
runMain(async () => exitOnSignals(await startApp({ api: true, ingest: true })));
