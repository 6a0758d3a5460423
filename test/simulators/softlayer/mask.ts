/**
 * SoftLayer object masks and object filters, as the simulator applies them.
 *
 * A mask names the relational properties to fetch (`mask[id,datacenter[name],
 * activeTransaction.transactionStatus[name]]`); local properties always come
 * back (slcli's `vlan list` reads `id` and `vlanNumber` with a mask that does
 * not name them). A filter narrows and orders a list: `{"virtualGuests":
 * {"hostname": {"operation": "_= web"}}}`.
 */

/** An object as the simulator serves it: scalars are local properties, functions relational ones. */
export type View = { [key: string]: unknown };
export type Relational = () => View | View[] | string | number | boolean | null | undefined;

/** A parsed mask: property → its own mask (null: no sub-mask). */
export type MaskTree = Map<string, MaskTree | null>;

export class MaskSyntaxError extends Error {}

/** Parses `mask[…]`, `mask.a.b`, `filteredMask[…]` or a bare `a,b[c]` list. */
export function parseMask(text: string): MaskTree {
  let s = text.trim();
  const tree: MaskTree = new Map();
  if (s === '') return tree;
  let i = 0;
  const ws = () => { while (i < s.length && /\s/.test(s[i]!)) i++; };
  const name = (): string => {
    ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (!m) throw new MaskSyntaxError(`Invalid object mask: unexpected "${s.slice(i, i + 10)}"`);
    i += m[0].length;
    return m[0];
  };
  const merge = (into: MaskTree, key: string, sub: MaskTree | null) => {
    const have = into.get(key);
    if (!sub) { if (!into.has(key)) into.set(key, null); return; }
    if (!have) { into.set(key, sub); return; }
    for (const [k, v] of sub) merge(have, k, v);
  };
  const item = (into: MaskTree) => {
    const key = name();
    ws();
    // `mask(SoftLayer_Hardware_Server)` type casts: the simulator ignores the type.
    if (s[i] === '(') { const end = s.indexOf(')', i); if (end < 0) throw new MaskSyntaxError('Invalid object mask: unclosed "("'); i = end + 1; ws(); }
    if (s[i] === '.') { i++; const sub: MaskTree = new Map(); item(sub); merge(into, key, sub); return; }
    if (s[i] === '[') { i++; const sub: MaskTree = new Map(); list(sub); ws(); if (s[i] !== ']') throw new MaskSyntaxError('Invalid object mask: missing "]"'); i++; merge(into, key, sub); return; }
    merge(into, key, null);
  };
  const list = (into: MaskTree) => {
    item(into);
    ws();
    while (s[i] === ',') { i++; item(into); ws(); }
  };
  list(tree);
  ws();
  if (i < s.length) throw new MaskSyntaxError(`Invalid object mask: unexpected "${s.slice(i, i + 10)}"`);
  // The outer `mask` / `filteredMask` word is the root, not a property.
  if (tree.size === 1) {
    const [[k, v]] = [...tree];
    if ((k === 'mask' || k === 'filteredMask') && v) return v;
  }
  s = '';
  return tree;
}

/** Applies a mask: local properties always, relational ones when named. */
export function applyMask(view: View, mask: MaskTree | null): View {
  const out: View = {};
  for (const [k, v] of Object.entries(view)) if (typeof v !== 'function') out[k] = v;
  if (!mask) return out;
  for (const [k, sub] of mask) {
    const v = view[k];
    if (typeof v !== 'function') continue;
    const related = (v as Relational)();
    if (related === undefined) continue;
    if (related === null || typeof related !== 'object') { out[k] = related; continue; }
    out[k] = Array.isArray(related) ? related.map((r) => applyMask(r, sub)) : applyMask(related, sub);
  }
  return out;
}

/** Resolves a property, calling a relational one. */
function prop(view: View, key: string): unknown {
  const v = view[key];
  return typeof v === 'function' ? (v as Relational)() : v;
}

type FilterNode = { [key: string]: FilterNode } & { operation?: unknown; options?: { name: string; value: unknown[] }[] };

function str(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

/** One `operation` against one value (utils.query_filter's operators). */
export function matchOperation(value: unknown, op: unknown, options?: { name: string; value: unknown[] }[]): boolean {
  if (typeof op === 'number') return Number(value) === op;
  if (typeof op === 'boolean') return Boolean(value) === op;
  if (typeof op !== 'string') return true;
  if (op === 'orderBy') return true;
  if (op === 'in') {
    const data = options?.find((o) => o.name === 'data')?.value ?? [];
    return data.map(str).includes(str(value));
  }
  if (op === 'is null') return value === null || value === undefined;
  if (op === 'not null') return value !== null && value !== undefined;
  const m = /^(_=|\*=|\^=|\$=|!~|~|>=|<=|!=|>|<)\s?(.*)$/s.exec(op);
  const v = str(value);
  if (!m) return v === op;
  const [, kind, arg = ''] = m;
  switch (kind) {
    case '_=': return v.toLowerCase() === arg.toLowerCase();
    case '*=': return v.toLowerCase().includes(arg.toLowerCase());
    case '^=': return v.toLowerCase().startsWith(arg.toLowerCase());
    case '$=': return v.toLowerCase().endsWith(arg.toLowerCase());
    case '~': return v.includes(arg);
    case '!~': return !v.includes(arg);
    case '!=': return v !== arg;
    case '>': return Number(value) > Number(arg);
    case '<': return Number(value) < Number(arg);
    case '>=': return Number(value) >= Number(arg);
    case '<=': return Number(value) <= Number(arg);
    default: return true;
  }
}

/** Does a view match a filter node? Relational lists match when any member does. */
export function matchFilter(view: View, filter: FilterNode): boolean {
  for (const [key, node] of Object.entries(filter)) {
    if (node === null || typeof node !== 'object') continue;
    const value = prop(view, key);
    const n = node as FilterNode;
    if ('operation' in n) {
      if (!matchOperation(value, n.operation, n.options)) return false;
      continue;
    }
    if (value === null || value === undefined) return false;
    if (Array.isArray(value)) {
      if (!value.some((v) => typeof v === 'object' && v !== null && matchFilter(v as View, n))) return false;
    } else if (typeof value === 'object') {
      if (!matchFilter(value as View, n)) return false;
    } else return false;
  }
  return true;
}

/** `orderBy` operations in a filter, outermost first: [path, direction]. */
function orderings(filter: FilterNode, path: string[] = []): { path: string[]; desc: boolean }[] {
  const out: { path: string[]; desc: boolean }[] = [];
  for (const [key, node] of Object.entries(filter)) {
    if (node === null || typeof node !== 'object') continue;
    const n = node as FilterNode;
    if (n.operation === 'orderBy') {
      const sort = n.options?.find((o) => o.name === 'sort')?.value?.[0];
      out.push({ path: [...path, key], desc: String(sort).toUpperCase() === 'DESC' });
    } else if (!('operation' in n)) out.push(...orderings(n, [...path, key]));
  }
  return out;
}

/** Filters and orders a list of views. */
export function applyFilter(items: View[], filter: FilterNode | null): View[] {
  if (!filter) return items;
  const kept = items.filter((v) => matchFilter(v, filter));
  const orders = orderings(filter);
  if (orders.length === 0) return kept;
  const get = (v: View, p: string[]): unknown => p.reduce<unknown>((cur, k) => (cur && typeof cur === 'object' ? prop(cur as View, k) : undefined), v);
  return kept.sort((a, b) => {
    for (const o of orders) {
      const x = get(a, o.path);
      const y = get(b, o.path);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : str(x).localeCompare(str(y));
      if (c !== 0) return o.desc ? -c : c;
    }
    return 0;
  });
}

export type { FilterNode };
