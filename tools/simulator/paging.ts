/**
 * Offset pagination for V1 `{items, next_page_id}` pages. The page id is the offset as a
 * string; clients treat it as opaque. Because it is an offset, re-reading the last page id
 * later also returns items appended since (what a client tailing events relies on).
 */
import { detail, queryInt, type Reply } from './http.js';

export function pageOf<T>(
  all: readonly T[],
  query: URLSearchParams,
): { ok: true; page: { items: T[]; next_page_id: string | null } } | { ok: false; reply: Reply } {
  const limit = queryInt(query, 'limit', 100);
  if (!limit.ok) return limit;
  if (limit.value <= 0 || limit.value > 100) {
    return {
      ok: false,
      reply: {
        status: 422,
        body: {
          detail: [
            limit.value <= 0
              ? {
                  type: 'greater_than',
                  loc: ['query', 'limit'],
                  msg: 'Input should be greater than 0',
                  input: String(limit.value),
                  ctx: { gt: 0 },
                }
              : {
                  type: 'less_than_equal',
                  loc: ['query', 'limit'],
                  msg: 'Input should be less than or equal to 100',
                  input: String(limit.value),
                  ctx: { le: 100 },
                },
          ],
        },
      },
    };
  }
  const pageId = query.get('page_id');
  let offset = 0;
  if (pageId !== null && pageId !== '') {
    if (!/^\d+$/.test(pageId)) return { ok: false, reply: detail(400, 'Invalid page_id') };
    offset = Number(pageId);
  }
  const items = all.slice(offset, offset + limit.value);
  const end = offset + items.length;
  return { ok: true, page: { items, next_page_id: end < all.length ? String(end) : null } };
}
