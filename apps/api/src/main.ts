import 'reflect-metadata';
import { exitOnSignals, runMain, startApp } from '@app/bootstrap';

runMain(async () => exitOnSignals(await startApp({ api: true, ingest: false })));
