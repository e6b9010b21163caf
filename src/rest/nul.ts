/**
 * PostgreSQL cannot store U+0000 in text, nor in jsonb strings, so a NUL anywhere in input ends
 * as a database error (a 500) unless refused first. The run service does not check for it yet
 * (GraphQL has the same gap), so the REST layer refuses it up front, naming the field.
 */
export function nulPath(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}.${i}`);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return at;
      const found = nulPath(item, at);
      if (found) return found;
    }
  }
  return null;
}
