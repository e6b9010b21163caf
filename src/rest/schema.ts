/**
 * The small subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that this API's document is
 * written in, and a checker for it. One checker serves both sides: request bodies are checked
 * against the documented request schema (so the document cannot drift from what is enforced), and
 * the tests check every response against the documented response schema.
 */
export type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null';

export interface Schema {
  $ref?: string;
  type?: JsonType | JsonType[];
  description?: string;
  format?: 'date-time';
  enum?: readonly unknown[];
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: unknown;
  example?: unknown;
  examples?: unknown[];
}

export interface Problem {
  /** Dotted path of the offending value ("project_id", "events.3.seq"); "body" for the root. */
  field: string;
  message: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

function typeMatches(expected: JsonType, value: unknown): boolean {
  const actual = typeOf(value);
  return actual === expected || (expected === 'number' && actual === 'integer');
}

function article(type: JsonType): string {
  return {
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'a boolean',
    object: 'a JSON object',
    array: 'an array',
    null: 'null',
  }[type];
}

function join(path: string, key: string | number): string {
  return path ? `${path}.${key}` : String(key);
}

/** The first way `value` breaks `schema`, or null. `$ref`s resolve against `schemas` (components.schemas). */
export function check(
  schema: Schema,
  value: unknown,
  schemas: Record<string, Schema> = {},
  path = '',
): Problem | null {
  const at = path || 'body';
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = schemas[name];
    if (!target) throw new Error(`Unknown schema reference ${schema.$ref}`);
    return check(target, value, schemas, path);
  }
  if (schema.anyOf) {
    const problems = schema.anyOf.map((s) => check(s, value, schemas, path));
    if (problems.some((p) => p === null)) return null;
    return problems.find((p) => p && p.field !== at) ?? problems[0];
  }
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, value))) {
      return { field: at, message: `${at} must be ${types.map(article).join(' or ')}` };
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    return {
      field: at,
      message: `${at} must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`,
    };
  }
  if (typeof value === 'string') {
    if (schema.format === 'date-time' && !ISO_UTC.test(value)) {
      return { field: at, message: `${at} must be an ISO-8601 UTC time ending in Z` };
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      return { field: at, message: `${at} must be at least ${schema.minLength} characters` };
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return { field: at, message: `${at} must be at most ${schema.maxLength} characters` };
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      return { field: at, message: `${at} must match ${schema.pattern}` };
    }
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      return { field: at, message: `${at} must be at least ${schema.minimum}` };
    if (schema.maximum !== undefined && value > schema.maximum)
      return { field: at, message: `${at} must be at most ${schema.maximum}` };
  }
  if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const problem = check(schema.items, value[i], schemas, join(path, i));
      if (problem) return problem;
    }
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!Object.hasOwn(object, key))
        return { field: join(path, key), message: `${join(path, key)} is required` };
    }
    for (const [key, item] of Object.entries(object)) {
      const property =
        schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
      const rule = property ?? schema.additionalProperties;
      if (rule === false)
        return { field: join(path, key), message: `${join(path, key)} is not an allowed field` };
      if (rule && rule !== true) {
        const problem = check(rule, item, schemas, join(path, key));
        if (problem) return problem;
      }
    }
  }
  return null;
}
