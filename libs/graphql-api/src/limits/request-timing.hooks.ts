import { performance } from 'node:perf_hooks';
import { DocumentNode, Kind } from 'graphql';
import { graphqlDuration } from '@app/observability';

const STARTED = Symbol('statusview:started');
const OPERATION = Symbol('statusview:operation');

type Timed = { [STARTED]?: number; [OPERATION]?: string };

/** Longer operation names are not kept as labels (GraphQL names are [_A-Za-z][_0-9A-Za-z]*). */
const MAX_LABEL_LENGTH = 64;
export const OTHER_OPERATION = 'other';

/**
 * Mercurius hooks measuring each request's duration by operation. The label takes values from a
 * bounded set, whatever clients send: an unnamed operation is labelled by its first root field
 * (a name of the schema, validated before this hook runs); a named one by its name if it is at
 * most 64 characters and among the first `maxOperations` names seen, else `other`. Each label
 * value is a dozen series kept until the process ends, so client-chosen names must not grow it.
 */
export function requestTiming(maxOperations: number) {
  const known = new Set<string>();
  const labels = new WeakMap<DocumentNode, string>();
  const labelOf = (document: DocumentNode): string => {
    const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (!op || op.kind !== Kind.OPERATION_DEFINITION) return 'anonymous';
    const name = op.name?.value;
    if (name === undefined) {
      const first = op.selectionSet.selections[0];
      return first && first.kind === Kind.FIELD ? first.name.value : 'anonymous';
    }
    if (known.has(name)) return name;
    if (name.length > MAX_LABEL_LENGTH || known.size >= maxOperations) return OTHER_OPERATION;
    known.add(name);
    return name;
  };
  return {
    preExecution: (_schema: unknown, document: DocumentNode, context: unknown): void => {
      let label = labels.get(document);
      if (label === undefined) {
        label = labelOf(document);
        labels.set(document, label);
      }
      const timed = context as Timed;
      timed[STARTED] = performance.now();
      timed[OPERATION] = label;
    },
    onResolution: (_execution: unknown, context: unknown): void => {
      const timed = context as Timed;
      if (timed[STARTED] === undefined) return;
      graphqlDuration.observe({ operation: timed[OPERATION] ?? 'anonymous' }, (performance.now() - timed[STARTED]) / 1000);
    },
  };
}
