import {
  type ASTNode,
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  getOperationAST,
  getVariableValues,
  Kind,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Rendered events kept for reuse; a subscriber more than this many events behind renders its own. */
const MAX_EVENTS = 10_000;

/** Told of every event handed to a subscriber: `shared` when it reused another's render. */
export type OnDelivered = (shared: boolean) => void;

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * Renders each subscription event once per selection, however many subscribers receive it.
 *
 * Subscribers of one run are handed the very same event object by the run's feed
 * (src/live/feeds.ts). graphql-js would execute the selection set on it once per subscriber; ten
 * thousand subscribers made that the server's main cost. Here an event object and an operation
 * (document, operation name and the variables its selection reads) map to one result, shared.
 *
 * Sharing is sound because no field below a subscription root reads the caller: access is checked
 * once, when the subscription opens. A field that ever depends on the principal must not be shared.
 */
export function useSharedSubscriptionRender(
  onDelivered: OnDelivered = () => {},
  /** Applied to each rendered event once, before it is shared (the response byte cap). */
  finish: (result: ExecutionResult) => ExecutionResult = (result) => result,
): Plugin {
  // Insertion-ordered: the oldest events are dropped first.
  const cache = new Map<object, Map<string, Result>>();
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 1;

  const finished = (result: Result): Result =>
    result instanceof Promise ? result.then(finish) : finish(result);

  const render = (args: ExecutionArgs, key: string, payload: unknown): Result => {
    if (typeof payload !== 'object' || payload === null) {
      onDelivered(false);
      return finished(execute({ ...args, rootValue: payload }) as Result);
    }
    let byOperation = cache.get(payload);
    const hit = byOperation?.get(key);
    onDelivered(hit !== undefined);
    if (hit) return hit;
    const result = finished(execute({ ...args, rootValue: payload }) as Result);
    if (!byOperation) {
      byOperation = new Map();
      cache.set(payload, byOperation);
      if (cache.size > MAX_EVENTS) cache.delete(cache.keys().next().value as object);
    }
    byOperation.set(key, result);
    return result;
  };

  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        // Variables that do not coerce: the stock executor answers with the codes it always gives
        // (BAD_USER_INPUT), before any resolver runs.
        const operation = getOperationAST(args.document, args.operationName);
        const variables = operation
          ? getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {})
          : undefined;
        if (!operation || !variables?.coerced) return subscribeFn(args);
        // Refused by the resolver (NOT_FOUND, RATE_LIMITED, …): its errors, as the stock one gives them.
        const source = await createSourceEventStream(args);
        if (!isAsyncIterator(source)) return source;
        let documentId = documentIds.get(args.document);
        if (documentId === undefined) {
          documentId = nextDocumentId++;
          documentIds.set(args.document, documentId);
        }
        const key = `${documentId}\0${args.operationName ?? ''}\0${selectionVariables(args, variables.coerced)}`;
        return new MappedStream(source, (payload) => render(args, key, payload));
      });
    },
  };
}

function isAsyncIterator(value: unknown): value is AsyncIterableIterator<unknown> {
  return typeof (value as AsyncIterableIterator<unknown>)?.[Symbol.asyncIterator] === 'function';
}

/**
 * A source stream mapped through `map`. Not an async generator: return() must reach the source at
 * once even while a next() is pending (a generator would queue it until the next event). A class
 * with promise chains keeps each idle stream small: thousands sit open at once.
 */
class MappedStream implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly source: AsyncIterableIterator<unknown>,
    private readonly map: (payload: unknown) => Result,
  ) {}

  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.source
      .next()
      .then((item): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> =>
        item.done
          ? { done: true, value: undefined }
          : Promise.resolve(this.map(item.value)).then((value) => ({ done: false, value })),
      )
      .catch(async (error: unknown): Promise<never> => {
        // A consumer does not call return() after a failed next(): end the source here.
        await this.source.return?.();
        throw error;
      });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

const usedVariables = new WeakMap<DocumentNode, Map<string, string[]>>();

/**
 * The variables that can change what an event renders to: those read anywhere in the operation
 * except the root field's own arguments (runId and afterSeq choose the events, not their shape), so
 * subscribers resuming from different points still share renders.
 */
function selectionVariables(args: ExecutionArgs, coerced: Record<string, unknown>): string {
  let byOperation = usedVariables.get(args.document);
  if (!byOperation) {
    byOperation = new Map();
    usedVariables.set(args.document, byOperation);
  }
  const name = args.operationName ?? '';
  let names = byOperation.get(name);
  if (!names) {
    names = variablesBelowRoot(args.document, args.operationName);
    byOperation.set(name, names);
  }
  // Coerced values (defaults applied); [] for absent and [value] for present keeps "not sent" apart
  // from an explicit null.
  return JSON.stringify(names.map((n) => (n in coerced ? [coerced[n]] : [])));
}

function variablesBelowRoot(document: DocumentNode, operationName?: string | null): string[] {
  const operation = getOperationAST(document, operationName);
  if (!operation) return [];
  const rootArguments = new Set<ASTNode>(
    operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? (s.arguments ?? []) : [])),
  );
  const names = new Set<string>();
  const visitor = {
    Argument: (node: ASTNode) => (rootArguments.has(node) ? false : undefined),
    Variable: (node: { name: { value: string } }) => {
      names.add(node.name.value);
    },
  };
  // Not the variable definitions: they name every variable, used below the root or not.
  visit(operation.selectionSet, visitor);
  for (const directive of operation.directives ?? []) visit(directive, visitor);
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) visit(definition, visitor);
  return [...names].sort();
}
