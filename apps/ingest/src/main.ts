import 'reflect-metadata';
import { exitOnSignals, runMain, startApp } from '@app/bootstrap';

// The change-event consumer; HTTP serves only /health.
runMain(async () => exitOnSignals(await startApp({ api: false, ingest: true })));
