import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { RestError } from './errors.js';
import { REFERENCES } from './schemas.js';

/**
 * TypeBox decides whether a value fits a schema; this turns its first error into the message and
 * field REST clients have always been given ("project_id must be a string", "repository must be a
 * string or null", "body must be a JSON object", field "events.3.seq").
 */

export interface Problem {
  /** Dotted path of the offending value ("project_id", "events.3.seq"); "body" for the root. */
  field: string;
  message: string;
}

const TYPE_NAMES: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.String]: 'a string',
  [ValueErrorType.Integer]: 'an integer',
  [ValueErrorType.Number]: 'a number',
  [ValueErrorType.Boolean]: 'a boolean',
  [ValueErrorType.Object]: 'a JSON object',
  [ValueErrorType.Array]: 'an array',
  [ValueErrorType.Null]: 'null',
};

/** JSON pointer ("/events/3/seq") → dotted field ("events.3.seq"); the root is "body". */
function fieldOf(path: string): string {
  if (!path) return 'body';
  return path
    .slice(1)
    .split('/')
    .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** Of a union's alternatives, the one that got furthest (past the type check), else all their types. */
function unionProblem(error: ValueError, at: string): Problem {
  const firsts = error.errors.flatMap((alternative) => alternative.First() ?? []);
  const deeper = firsts.find((e) => e.path !== error.path || !TYPE_NAMES[e.type]);
  if (deeper) return problemOf(deeper);
  return { field: at, message: `${at} must be ${firsts.map((e) => TYPE_NAMES[e.type]).join(' or ')}` };
}

function problemOf(error: ValueError): Problem {
  const field = fieldOf(error.path);
  if (error.type === ValueErrorType.Union) return unionProblem(error, field);
  return { field, message: messageOf(error, field) };
}

function messageOf(error: ValueError, at: string): string {
  const schema = error.schema;
  const type = TYPE_NAMES[error.type];
  if (type) return `${at} must be ${type}`;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `${at} is required`;
    case ValueErrorType.ObjectAdditionalProperties:
      return `${at} is not an allowed field`;
    case ValueErrorType.Kind:
      return `${at} must be one of ${(schema.enum as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case ValueErrorType.StringFormat:
      return `${at} must be an ISO-8601 UTC time ending in Z`;
    case ValueErrorType.StringMinLength:
      return `${at} must be at least ${schema.minLength} characters`;
    case ValueErrorType.StringMaxLength:
      return `${at} must be at most ${schema.maxLength} characters`;
    case ValueErrorType.StringPattern:
      return `${at} must match ${schema.pattern}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `${at} must be at least ${schema.minimum}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `${at} must be at most ${schema.maximum}`;
    default:
      return `${at} is invalid: ${error.message}`;
  }
}

/**
 * The first problem in the order clients have always seen them: the body's own type, then a
 * missing required field, then the fields in the order the body lists them.
 */
export function firstProblem(errors: Iterable<ValueError>, value: unknown): Problem | null {
  const all = [...errors];
  if (all.length === 0) return null;
  const keys = value && typeof value === 'object' ? Object.keys(value) : [];
  const rank = (error: ValueError): number => {
    if (!error.path) return -2;
    if (error.type === ValueErrorType.ObjectRequiredProperty) return -1;
    const index = keys.indexOf(fieldOf(error.path).split('.')[0]);
    return index < 0 ? keys.length : index;
  };
  // Stable sort: within one field TypeBox's own order (type before constraints) is kept.
  const first = all
    .map((error, i) => ({ error, i }))
    .sort((a, b) => rank(a.error) - rank(b.error) || a.i - b.i)[0].error;
  return problemOf(first);
}

/** The first problem of `value` against `schema`, its `Ref`s resolved against the REST components. */
export function check(schema: TSchema, value: unknown): Problem | null {
  return firstProblem(Value.Errors(schema, REFERENCES, value), value);
}

/**
 * A validator for a request body: the body typed as the schema, or a 422 BAD_USER_INPUT naming
 * the field. Compiled once, when the route is set up.
 */
export function bodyValidator<T extends TSchema>(schema: T): (body: unknown) => Static<T> {
  const compiled = TypeCompiler.Compile(schema, REFERENCES);
  return (body) => {
    if (compiled.Check(body)) return body;
    const problem = firstProblem(compiled.Errors(body), body) ?? {
      field: 'body',
      message: 'body is invalid',
    };
    throw new RestError(422, 'BAD_USER_INPUT', problem.message, problem.field);
  };
}
