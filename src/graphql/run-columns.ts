import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { Prisma } from '../generated/prisma/client.js';
import type { Run, RunColumns } from '../runs/store/index.js';

const COLUMNS = new Set<string>(Object.values(Prisma.RunScalarFieldEnum));

/**
 * Extensions for a Run field that is not a column of its own name: the columns its resolver reads.
 * `runColumns` reads them to select only what a query asks for.
 */
export const readsColumns = (...columns: Array<keyof Run>) => ({ runColumns: columns });

/**
 * The Run columns the query asks for under the field being resolved (at `path`, e.g. edges.node
 * for a connection), so a read selects those and not the ~45 of the row. Undefined (read every
 * column) when a field under there is neither a column nor declares `readsColumns`.
 * `@skip`/`@include` are ignored: a field that might be asked is read.
 */
export function runColumns(info: GraphQLResolveInfo, path: string[] = []): RunColumns | undefined {
  const fields = (info.schema.getType('Run') as GraphQLObjectType).getFields();
  const columns: RunColumns = {};
  for (const name of fieldNamesAt(info, path)) {
    if (name === '__typename') continue;
    const declared = fields[name]?.extensions?.runColumns as Array<keyof Run> | undefined;
    if (declared) for (const column of declared) columns[column] = true;
    else if (COLUMNS.has(name)) columns[name as keyof Run] = true;
    else return undefined;
  }
  return columns;
}

function fieldNamesAt(info: GraphQLResolveInfo, path: string[]): Set<string> {
  let nodes: readonly FieldNode[] = info.fieldNodes;
  for (const segment of path) {
    nodes = nodes
      .flatMap((node) => fieldsOf(node.selectionSet, info.fragments))
      .filter((f) => f.name.value === segment);
  }
  return new Set(
    nodes.flatMap((node) => fieldsOf(node.selectionSet, info.fragments)).map((f) => f.name.value),
  );
}

/** The fields of a selection set, with fragments spread. */
function fieldsOf(
  set: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
): FieldNode[] {
  if (!set) return [];
  return set.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection];
    if (selection.kind === Kind.INLINE_FRAGMENT) return fieldsOf(selection.selectionSet, fragments);
    return fieldsOf(fragments[selection.name.value]?.selectionSet, fragments);
  });
}
