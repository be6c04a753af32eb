import 'reflect-metadata';
import { runMain } from '@app/bootstrap';
import { runDemo } from './demo.runner';

runMain(runDemo);
