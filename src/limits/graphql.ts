import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import {
  type DocumentNode,
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
}

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
  /** Fields resolved when the selection is resolved once. */
  cost: number;
}

/**
 * Depth and cost of one operation. Cost estimates how many fields get resolved: each field counts
 * once per time its parent is resolved, and a field with a `first` argument (a connection)
 * multiplies what is below it by its page size. Fragments are measured once each, so a document of
 * nested fragment spreads cannot make this walk exponential; introspection fields are left to the
 * introspection switch.
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

  const pageSize = (value: ValueNode | undefined): number => {
    let n: unknown = pages.defaultPageSize;
    if (value?.kind === Kind.INT) n = Number(value.value);
    else if (value?.kind === Kind.VARIABLE) n = variables[value.name.value] ?? pages.defaultPageSize;
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
        cost += 1 + factor * child.cost;
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

/** Depth and introspection depend on the document alone, so they are validation rules (cached). */
function documentRule(limits: OperationLimits): ValidationRule {
  return function operationLimits(context) {
    const document: DocumentNode = context.getDocument();
    const schema = context.getSchema();
    const fragments = fragmentsOf(document);
    return {
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
        if (!limits.introspection && (field.name.value === '__schema' || field.name.value === '__type')) {
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

/**
 * Query depth, cost, document size and introspection, as envelop hooks, so they apply over HTTP,
 * SSE and graphql-ws alike. The size check runs before parsing; the token cap stops the parser
 * early; depth is a validation rule; cost is checked before execution, with the variables.
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
    },
    onExecute({ args, setResultAndStopExecution }) {
      const refused = costRefusal(limits, args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = costRefusal(limits, args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
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
