import { type DocumentNode, type ExecutionResult, getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from './metrics.js';

/** Label values from the operation: its type and its first root field (bounded by the schema). */
function describe(document: DocumentNode, operationName?: string | null) {
  const operation = getOperationAST(document, operationName);
  const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return {
    type: operation?.operation ?? 'unknown',
    field: first && first.kind === Kind.FIELD ? first.name.value : 'unknown',
  };
}

function hasErrors(result: unknown): boolean {
  return Boolean((result as ExecutionResult | undefined)?.errors?.length);
}

/**
 * Counts operations and times their execution. Runs for HTTP, SSE and graphql-ws alike, since all
 * three go through yoga's envelop pipeline. Operations refused by validation count as `rejected`.
 */
export function useGraphQLMetrics(metrics: Metrics): Plugin {
  const done = (labels: { type: string; field: string }, started: number, result: unknown) => {
    metrics.graphqlOperations.inc({ ...labels, outcome: hasErrors(result) ? 'error' : 'ok' });
    metrics.graphqlDuration.observe(labels, (performance.now() - started) / 1000);
  };
  return {
    onValidate() {
      return ({ valid }) => {
        if (!valid) metrics.graphqlOperations.inc({ type: 'unknown', field: 'unknown', outcome: 'rejected' });
      };
    },
    onExecute({ args }) {
      const labels = describe(args.document, args.operationName);
      const started = performance.now();
      return { onExecuteDone: ({ result }) => done(labels, started, result) };
    },
    onSubscribe({ args }) {
      const labels = describe(args.document, args.operationName);
      const started = performance.now();
      return {
        // The stream itself may live for hours; what is timed is setting it up.
        onSubscribeResult: ({ result }) => done(labels, started, result),
        onSubscribeError: () => done(labels, started, { errors: [{}] }),
      };
    },
  };
}
