import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import {
  type DocumentNode,
  defaultFieldResolver,
  type ExecutionResult,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { toGraphQLError } from '../graphql/errors.js';

export interface OperationLimits {
  maxDepth: number;
  maxCost: number;
  maxDocumentBytes: number;
  maxTokens: number;
  introspection: boolean;
  /** Page size assumed for a connection asked without `first` (the service's default). */
  defaultPageSize: number;
  /** Largest `first` the service accepts; a bigger one is refused anyway, so it counts as this. */
  maxPageSize: number;
  /** Aliased fields one document may hold (TOO_MANY_ALIASES); aliases are how one query repeats itself. */
  maxAliases: number;
  /** Bytes of `data` one query or mutation may answer with (RESPONSE_TOO_LARGE). */
  maxResponseBytes: number;
  /** The per-token query rate (throws RATE_LIMITED); none when absent. */
  limitQueries?: (principal: Principal) => void;
}

/**
 * The cost of a field that can return a large text or JSON value: one unit per KiB it may hold, on
 * top of the one every field costs, so cost bounds the bytes an answer can reach, not only its
 * field count. Read by the cost walk from the field's `extensions.cost`.
 */
export function sizedFieldCost(maxBytes: number): { cost: number; maxBytes: number } {
  return { cost: 1 + Math.ceil(maxBytes / 1024), maxBytes };
}

function fieldCost(field: { extensions?: Record<string, unknown> } | undefined): number {
  const cost = field?.extensions?.cost;
  return typeof cost === 'number' ? cost : 1;
}

/** A refused operation: 400 whatever the Accept header (see keepRefusalsAt400). */
function refusal(
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  nodes?: OperationDefinitionNode,
) {
  return new GraphQLError(message, { nodes, extensions: { code, ...extra, http: { status: 400 } } });
}

interface Measure {
  depth: number;
  /** Fields resolved when the selection is resolved once (large fields weigh their size). */
  cost: number;
}

/**
 * Depth and cost of one operation. Cost estimates how many fields get resolved: each field counts
 * once per time its parent is resolved, and a field with a `first` argument (a connection)
 * multiplies what is below it by its page size. Fragments are measured once each, so a document of
 * nested fragment spreads cannot make this walk exponential; introspection fields are left to the
 * introspection switch and the one-`__schema` rule. A variable the request leaves out counts with
 * the operation's declared default, as execution will use it.
 */
function measureOperation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  pages: { defaultPageSize: number; maxPageSize: number },
): Measure {
  const memo = new Map<string, Measure>();
  const onPath = new Set<string>();
  const defaults = declaredDefaults(operation);

  const pageSize = (value: ValueNode | undefined): number => {
    let n: unknown = pages.defaultPageSize;
    if (value?.kind === Kind.INT) n = Number(value.value);
    else if (value?.kind === Kind.VARIABLE) {
      const name = value.name.value;
      n = variables[name] ?? defaults.get(name) ?? pages.defaultPageSize;
    }
    return typeof n === 'number' && Number.isFinite(n) ? Math.min(Math.max(1, n), pages.maxPageSize) : 1;
  };

  const walk = (set: SelectionSetNode, type: GraphQLNamedType | null | undefined): Measure => {
    let depth = 0;
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        const field =
          type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined;
        let factor = 1;
        if (field?.args.some((a) => a.name === 'first')) {
          factor = pageSize(selection.arguments?.find((a) => a.name.value === 'first')?.value);
        }
        const child = selection.selectionSet
          ? walk(selection.selectionSet, field ? getNamedType(field.type) : undefined)
          : { depth: 0, cost: 0 };
        depth = Math.max(depth, 1 + child.depth);
        cost += fieldCost(field) + factor * child.cost;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const inner = walk(
          selection.selectionSet,
          selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type,
        );
        depth = Math.max(depth, inner.depth);
        cost += inner.cost;
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || onPath.has(name)) continue; // unknown or cyclic: other rules report it
        let inner = memo.get(name);
        if (!inner) {
          onPath.add(name);
          inner = walk(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value));
          onPath.delete(name);
          memo.set(name, inner);
        }
        depth = Math.max(depth, inner.depth);
        cost += inner.cost;
      }
    }
    return { depth, cost };
  };

  return walk(operation.selectionSet, schema.getRootType(operation.operation));
}

/** `$n: Int = 100` → n: 100, for the variables whose default is a literal number. */
function declaredDefaults(operation: OperationDefinitionNode): Map<string, number> {
  const defaults = new Map<string, number>();
  for (const definition of operation.variableDefinitions ?? []) {
    const value = definition.defaultValue;
    if (value?.kind === Kind.INT) defaults.set(definition.variable.name.value, Number(value.value));
  }
  return defaults;
}

/**
 * Depth, aliases and introspection depend on the document alone, so they are validation rules
 * (cached). One `__schema` per document: the full schema is the largest answer introspection gives,
 * and aliases would otherwise repeat it (introspection fields are not in the cost).
 */
function documentRule(limits: OperationLimits): ValidationRule {
  return function operationLimits(context) {
    const document: DocumentNode = context.getDocument();
    const schema = context.getSchema();
    const fragments = fragmentsOf(document);
    let aliases = 0;
    let schemaFields = 0;
    let introspectionRefused = false;
    return {
      Document: {
        leave() {
          if (aliases > limits.maxAliases) {
            context.reportError(
              refusal(
                'TOO_MANY_ALIASES',
                `The document has ${aliases} aliased fields; at most ${limits.maxAliases} are allowed`,
                { aliases, maxAliases: limits.maxAliases },
              ),
            );
          }
          if (schemaFields > 1) {
            context.reportError(
              refusal(
                'INTROSPECTION_TOO_LARGE',
                `The document asks for __schema ${schemaFields} times; at most once is allowed`,
                { schemaFields, maxSchemaFields: 1 },
              ),
            );
          }
        },
      },
      OperationDefinition(operation) {
        const { depth } = measureOperation(schema, operation, fragments, {}, limits);
        if (depth > limits.maxDepth) {
          context.reportError(
            refusal(
              'QUERY_TOO_DEEP',
              `The operation nests fields ${depth} levels deep; at most ${limits.maxDepth} are allowed`,
              { depth, maxDepth: limits.maxDepth },
              operation,
            ),
          );
        }
      },
      Field(field) {
        if (field.alias) aliases++;
        if (field.name.value === '__schema') schemaFields++;
        const introspects = field.name.value === '__schema' || field.name.value === '__type';
        if (!limits.introspection && introspects && !introspectionRefused) {
          introspectionRefused = true;
          context.reportError(refusal('INTROSPECTION_DISABLED', 'Introspection is disabled on this server'));
        }
      },
    };
  };
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
}

/**
 * Cost depends on the variables (`first: $n`), and yoga caches validation per document, so it is
 * checked when the operation is about to run, with the request's own variables.
 */
function costRefusal(
  limits: OperationLimits,
  args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operationName?: string | null;
    variableValues?: unknown;
  },
): GraphQLError | null {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return null;
  const variables =
    args.variableValues && typeof args.variableValues === 'object'
      ? (args.variableValues as Record<string, unknown>)
      : {};
  const { cost } = measureOperation(args.schema, operation, fragmentsOf(args.document), variables, limits);
  if (cost <= limits.maxCost) return null;
  return refusal(
    'QUERY_TOO_COMPLEX',
    `The operation may resolve about ${cost} fields; at most ${limits.maxCost} are allowed (ask for smaller pages or fewer nested lists)`,
    { cost, maxCost: limits.maxCost },
    operation,
  );
}

function documentTooLarge(message: string, extra: Record<string, unknown>): GraphQLError {
  return refusal('DOCUMENT_TOO_LARGE', message, extra);
}

/** graphql-js suggests field, argument and type names ("Did you mean …?"): schema a caller cannot introspect. */
function withoutSuggestions(error: Error): Error {
  if (!(error instanceof GraphQLError)) return error;
  const message = error.message.replace(/\s*Did you mean [^?]*\?$/, '');
  if (message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: error.extensions,
  });
}

const RESPONSE_TOO_LARGE = 'RESPONSE_TOO_LARGE';

function responseTooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(
    `The answer would be larger than ${maxBytes} bytes; ask for fewer or smaller fields (fewer aliases, smaller pages, leave out compiledPrompt, metadata, data)`,
    { extensions: { code: RESPONSE_TOO_LARGE, maxBytes } },
  );
}

/**
 * The bytes an operation's large fields have returned so far, charged by their resolvers (see
 * meterLargeFields): once past the cap, the remaining large fields fail at once instead of
 * piling up more of the answer in memory.
 */
class ResponseBudget {
  used = 0;
  constructor(readonly maxBytes: number) {}

  get exceeded(): boolean {
    return this.used > this.maxBytes;
  }
}

/** One budget per running query or mutation, found from its context value. */
const budgets = new WeakMap<object, ResponseBudget>();

function sizeOf(value: unknown): number {
  if (value == null) return 0;
  if (typeof value === 'string') return value.length;
  return JSON.stringify(value)?.length ?? 0;
}

/**
 * Wraps the resolvers of fields that declare `extensions.maxBytes` (sizedFieldCost) so each value
 * they return is charged to its operation's ResponseBudget. Subscription events have no budget:
 * the cost check when the subscription opens bounds them, and capSubscriptionEvent caps each one.
 */
export function meterLargeFields(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (typeof field.extensions?.maxBytes !== 'number') continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context, info) => {
        const budget = context && typeof context === 'object' ? budgets.get(context) : undefined;
        if (budget?.exceeded) throw responseTooLarge(budget.maxBytes);
        const charge = (value: unknown) => {
          if (budget) budget.used += sizeOf(value);
          return value;
        };
        const value = resolve(source, args, context, info);
        return value instanceof Promise ? value.then(charge) : charge(value);
      };
    }
  }
  return schema;
}

/**
 * The same byte cap for each subscription event: an event whose rendered data passes maxBytes is
 * delivered as one RESPONSE_TOO_LARGE error instead (the subscription stays open). Events are
 * rendered once per operation for all its subscribers (src/graphql/shared-render.ts), so this is
 * measured once per event, not per subscriber.
 */
export function capSubscriptionEvent(maxBytes: number): (result: ExecutionResult) => ExecutionResult {
  return (result) =>
    sizeOf(result.data) <= maxBytes ? result : { data: null, errors: [responseTooLarge(maxBytes)] };
}

/** The answer's `data` when it fits in maxBytes; otherwise a single RESPONSE_TOO_LARGE error. */
function capResponse(result: ExecutionResult, budget: ResponseBudget): ExecutionResult | null {
  if (!budget.exceeded && sizeOf(result.data) <= budget.maxBytes) return null;
  return { data: null, errors: [responseTooLarge(budget.maxBytes)] };
}

function isQuery(args: { document: DocumentNode; operationName?: string | null }): boolean {
  return getOperationAST(args.document, args.operationName)?.operation === 'query';
}

/** The query rate for this caller, as an error to answer with (RATE_LIMITED, 429) or null. */
function rateRefusal(limits: OperationLimits, context: unknown): GraphQLError | null {
  const principal = (context as { principal?: Principal } | undefined)?.principal;
  if (!limits.limitQueries || !principal) return null;
  try {
    limits.limitQueries(principal);
    return null;
  } catch (error) {
    if (error instanceof AppError) return toGraphQLError(error);
    throw error;
  }
}

/**
 * Query depth, cost, aliases, document size, introspection, response size and the query rate, as
 * envelop hooks, so they apply over HTTP, SSE and graphql-ws alike. The size check runs before
 * parsing; the token cap stops the parser early; depth, aliases and introspection are validation
 * rules; the rate and cost are checked before execution (cost with the variables); the response
 * size while and after it runs.
 */
export function useOperationLimits(limits: OperationLimits): Plugin {
  const rule = documentRule(limits);
  return {
    onParse({ params, parseFn, setParseFn }) {
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      const bytes = Buffer.byteLength(text);
      if (bytes > limits.maxDocumentBytes) {
        throw documentTooLarge(
          `The GraphQL document is ${bytes} bytes; at most ${limits.maxDocumentBytes} are allowed (send large values as variables)`,
          { bytes, maxBytes: limits.maxDocumentBytes },
        );
      }
      setParseFn((source, options) => {
        try {
          return parseFn(source, { ...options, maxTokens: limits.maxTokens });
        } catch (error) {
          // graphql 16 words it "more that N tokens".
          if (error instanceof GraphQLError && /more tha[nt] \d+ tokens/.test(error.message)) {
            throw documentTooLarge(`The GraphQL document has more than ${limits.maxTokens} tokens`, {
              maxTokens: limits.maxTokens,
            });
          }
          throw error;
        }
      });
    },
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
      if (limits.introspection) return;
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map(withoutSuggestions));
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      const refused =
        (isQuery(args) ? rateRefusal(limits, args.contextValue) : null) ?? costRefusal(limits, args);
      if (refused) {
        setResultAndStopExecution({ errors: [refused] });
        return;
      }
      const budget = new ResponseBudget(limits.maxResponseBytes);
      if (args.contextValue && typeof args.contextValue === 'object') budgets.set(args.contextValue, budget);
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const capped = capResponse(result, budget);
          if (capped) setResult(capped);
        },
      };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = costRefusal(limits, args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    onExecutionResult({ result }) {
      if (!Array.isArray(result)) keepRefusalsAt400(result);
    },
  };
}

/** Codes of the refusals above: a 400 for every client, not only application/graphql-response+json. */
const REFUSALS = new Set([
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COMPLEX',
  'DOCUMENT_TOO_LARGE',
  'TOO_MANY_ALIASES',
  'INTROSPECTION_TOO_LARGE',
  'INTROSPECTION_DISABLED',
]);

/**
 * yoga marks parse and validation errors `http.spec` (after our own hooks ran), which makes them
 * 200 for `application/json` clients; the limits are refusals of the request, so they stay 400.
 */
function keepRefusalsAt400(result: unknown): void {
  const errors = (result as ExecutionResult | undefined)?.errors;
  if (!errors) return;
  for (const error of errors) {
    const http = error.extensions?.http as { spec?: boolean } | undefined;
    if (http && REFUSALS.has(error.extensions.code as string)) http.spec = false;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';
}

/**
 * yoga's CSRF prevention: a request a browser could send cross-site without a CORS preflight (a
 * form post, text/plain, or a GET without a custom header) must carry one of these headers.
 * JSON POSTs, graphql-sse and graphql-ws clients are unaffected. Refusals carry a code here.
 */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight'];

export function useCsrfPrevention(): Plugin {
  const inner = useCSRFPrevention({ requestHeaders: CSRF_HEADERS });
  return {
    onRequestParse(payload) {
      try {
        return inner.onRequestParse?.(payload);
      } catch {
        throw new GraphQLError(
          `Browser-style requests (form posts, text/plain, GET without a custom header) need one of the headers ${CSRF_HEADERS.join(', ')}`,
          { extensions: { code: 'CSRF_PREVENTED', http: { status: 403 } } },
        );
      }
    },
  };
}
