/**
 * Paging as OpenStack does it: `limit` and `marker` (the id of the last item
 * seen), and a `next` link when more items follow. One implementation for
 * every driver that pages a list itself.
 */
import { Fault } from './faults.js';

export interface Link {
  rel: string;
  href: string;
}

export interface PageRequest {
  limit?: number | string;
  marker?: string;
}

/** Default and cap of `limit`, as Nova's `max_limit` option (1000). */
export const MAX_LIMIT = 1000;

export function parseLimit(raw: number | string | undefined, max = MAX_LIMIT): number {
  if (raw === undefined || raw === '') return max;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw Fault.badRequest('limit param must be an integer');
  return Math.min(n, max);
}

/**
 * One page of `items` (already filtered and sorted). A marker that is not in
 * the list is a 400, as Nova and Cinder answer ("marker [x] not found").
 */
export function paginate<T>(items: readonly T[], req: PageRequest, id: (item: T) => string, max = MAX_LIMIT): { items: T[]; more: boolean } {
  const limit = parseLimit(req.limit, max);
  let start = 0;
  if (req.marker !== undefined && req.marker !== '') {
    const i = items.findIndex((it) => id(it) === req.marker);
    if (i < 0) throw Fault.badRequest(`marker [${req.marker}] not found`);
    start = i + 1;
  }
  const page = items.slice(start, start + limit);
  return { items: page, more: start + limit < items.length && page.length > 0 };
}

/** The `next` link: the same URL with `marker` set to the last id of the page. */
export function nextLink(url: string, query: Record<string, unknown>, marker: string): Link {
  const u = new URL(url);
  u.search = '';
  for (const [k, v] of Object.entries(query)) {
    if (k === 'marker' || v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(one));
  }
  u.searchParams.set('marker', marker);
  return { rel: 'next', href: u.toString() };
}
