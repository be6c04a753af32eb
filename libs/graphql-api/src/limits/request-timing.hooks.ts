import { performance } from 'node:perf_hooks';
import { DocumentNode, Kind } from 'graphql';
import { graphqlDuration } from '@app/observability';

const STARTED = Symbol('statusview:started');
const OPERATION = Symbol('statusview:operation');

type Timed = { [STARTED]?: number; [OPERATION]?: string };

/** Mercurius hooks measuring each request's duration by operation name (or its first field). */
export const requestTiming = {
  preExecution: (_schema: unknown, document: DocumentNode, context: unknown): void => {
    const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    let name = 'anonymous';
    if (op && op.kind === Kind.OPERATION_DEFINITION) {
      const first = op.selectionSet.selections[0];
      name = op.name?.value ?? (first && first.kind === Kind.FIELD ? first.name.value : 'anonymous');
    }
    const timed = context as Timed;
    timed[STARTED] = performance.now();
    timed[OPERATION] = name;
  },
  onResolution: (_execution: unknown, context: unknown): void => {
    const timed = context as Timed;
    if (timed[STARTED] === undefined) return;
    graphqlDuration.observe({ operation: timed[OPERATION] ?? 'anonymous' }, (performance.now() - timed[STARTED]) / 1000);
  },
};
