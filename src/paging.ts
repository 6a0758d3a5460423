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

type Doc = Record<string, unknown>;

/** Query keys that page or shape a list rather than filter it. */
const NOT_FILTERS = new Set(['fields', 'limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir']);

/**
 * A Neutron list over documents a backend has in memory: any scalar field
 * filters (repeated values: any of them; list fields: any member), `fields`
 * picks keys, `limit`/`marker` page (limit 0 or none: all) with
 * `<collection>_links`. A marker not in the list is a 404, as Neutron answers.
 */
export function neutronListing(items: readonly Doc[], query: Record<string, unknown>, collection: string, url: string): Doc {
  let list = [...items];
  for (const [k, v] of Object.entries(query)) {
    if (NOT_FILTERS.has(k) || v === undefined) continue;
    const wanted = (Array.isArray(v) ? v : [v]).map(String);
    list = list.filter((item) => {
      const have = item[k];
      if (have === undefined) return false;
      if (Array.isArray(have)) return wanted.some((w) => have.map(String).includes(w));
      if (typeof have === 'boolean') return wanted.some((w) => w.toLowerCase() === String(have)); // Neutron takes True/true
      return wanted.includes(String(have));
    });
  }
  let start = 0;
  if (typeof query.marker === 'string') {
    const i = list.findIndex((x) => x.id === query.marker);
    if (i < 0) throw Fault.notFound(`Marker ${query.marker} could not be found.`);
    start = i + 1;
  }
  const limit = query.limit === undefined ? list.length : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 0) throw Fault.badRequest(`Bad limit request: limit must be an integer 0 or greater and not '${String(query.limit)}'.`);
  const page = list.slice(start, limit === 0 ? undefined : start + limit);
  const fields = query.fields === undefined ? null : (Array.isArray(query.fields) ? query.fields : [query.fields]).map(String);
  const body: Doc = { [collection]: fields ? page.map((x) => Object.fromEntries(Object.entries(x).filter(([k]) => fields.includes(k)))) : page };
  if (limit > 0 && start + limit < list.length && page.length) {
    const u = new URL(url);
    u.searchParams.set('marker', String(page[page.length - 1]!.id));
    body[`${collection}_links`] = [{ rel: 'next', href: u.toString() }];
  }
  return body;
}

/**
 * A Glance v2 image list over image views a backend has in memory: equality
 * filters on `filterKeys` (`visibility=all` is no filter), `sort_key`/`sort_dir`
 * (default created_at desc, then id), `limit` (default 25) and `marker` (400 when
 * unknown), with `first`, `next` and `schema` as Glance writes them.
 */
export function glanceImageListing(images: readonly Doc[], query: Record<string, unknown>, filterKeys: readonly string[]): Doc {
  let list = [...images];
  for (const key of filterKeys) {
    const want = query[key];
    if (typeof want === 'string' && !(key === 'visibility' && want === 'all')) list = list.filter((v) => String(v[key]) === want);
  }
  const sortKey = typeof query.sort_key === 'string' ? query.sort_key : 'created_at';
  const desc = query.sort_dir !== 'asc';
  list.sort((a, b) => {
    const c = String(a[sortKey] ?? '').localeCompare(String(b[sortKey] ?? '')) || String(a.id).localeCompare(String(b.id));
    return desc ? -c : c;
  });
  let start = 0;
  if (typeof query.marker === 'string') {
    const i = list.findIndex((v) => v.id === query.marker);
    if (i < 0) throw Fault.badRequest(`marker [${query.marker}] not found`);
    start = i + 1;
  }
  const limit = query.limit === undefined ? 25 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 0) throw Fault.badRequest('limit param must be an integer');
  const page = list.slice(start, start + limit);
  const body: Doc = { images: page, first: '/v2/images', schema: '/v2/schemas/images' };
  if (start + limit < list.length && page.length) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (k !== 'marker' && typeof v === 'string') u.set(k, v);
    u.set('marker', String(page[page.length - 1]!.id));
    body.next = `/v2/images?${u.toString()}`;
  }
  return body;
}

/**
 * A Cinder volume list over volume views a backend has in memory: equality
 * filters on `filterKeys`, limit/marker (400 on an unknown marker), the summary
 * (id, name, links) unless `detail`, and `volumes_links` when more follow.
 */
export function cinderVolumeListing(views: readonly Doc[], query: Record<string, unknown>, url: string, detail: boolean, filterKeys: readonly string[]): Doc {
  let list = [...views];
  for (const key of filterKeys) {
    if (typeof query[key] === 'string') list = list.filter((v) => v[key] === query[key]);
  }
  const { items, more } = paginate(list, query as PageRequest, (v) => String(v.id));
  const volumes = detail ? items : items.map((v) => ({ id: v.id, name: v.name, links: v.links }));
  return { volumes, ...(more ? { volumes_links: [nextLink(url, query, String(items[items.length - 1]!.id))] } : {}) };
}
