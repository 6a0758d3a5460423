/**
 * Schema-driven fuzzing of one service through a sandbox gateway.
 *
 * Requests are generated with fast-check from the service's request document
 * (generated/<service>/requests.json, the one the gateway validates with when
 * contract mode is off) and its operation table: an operation row, its path
 * parameters (ids of resources the suite created, or random strings, unicode,
 * very long ones), query parameters (valid values of their schemas, or junk),
 * headers (microversions valid, `latest`, out of range, garbage; content types;
 * Accept; tokens missing or wrong) and bodies (generated from the JSON Schema,
 * or mutated: a required member missing, a wrong type, an extra member, a huge
 * string, null, not JSON at all, empty). All requests are sampled up front
 * from a fixed seed, so a run is reproducible (`FUZZ_SEED`, `FUZZ_RUNS`).
 *
 * Every response is checked: no 5xx but 501, every 4xx and 501 in the
 * service's fault shape (src/faults.ts), none slower than a bound; at the end
 * the gateway still answers its version documents.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { expect } from 'chai';
import { SERVICES } from '../../generated/services.js';
import type { OperationRow, ServiceInfo } from '../../generated/common.js';
import { TABLES } from '../../src/tables.js';
import { compareVersions } from '../../src/microversion.js';
import { startGateway, type Harness } from './gateway.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- JSON Schema and JSON bodies are untyped by nature */
type Json = any;
type Schema = Record<string, any>;

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20240613);
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const CONCURRENCY = 8;
/** No response may take longer than this. */
export const RESPONSE_BOUND_MS = 10_000;
/** Bodies stay under this, so no request is a legitimately long upload. */
const MAX_BODY = 64 * 1024;
const MAX_DEPTH = 6;

// ---------------------------------------------------------------------------
// JSON Schema → fast-check arbitrary

export interface SchemaContext {
  /** The document `$ref`s point into. */
  root: Schema;
  /** Ids and names to use where a schema asks for an id (so some requests reach real resources). */
  ids: readonly string[];
  /** The microversion the body is for: picks the `x-stackgate-versions` branch. */
  microversion: string | null;
  /** The action the body is for: picks the `x-stackgate-actions` branch. */
  action: string | null;
}

function resolve(ctx: SchemaContext, s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 20 && cur && typeof cur.$ref === 'string'; i++) {
    const parts = (cur.$ref as string).replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let t: any = ctx.root;
    for (const p of parts) t = t?.[p];
    cur = t ?? {};
  }
  return cur;
}

const junkString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', ' ', '../..', '%00', '\u0000', '💥', 'null', 'true', '-1', '1e309', "' OR 1=1 --", '<script>', '{}', '[]', 'a'.repeat(300)),
);

const junkValue: fc.Arbitrary<Json> = fc.oneof(
  junkString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constantFrom(2 ** 53, -(2 ** 63), 1e308, -0, 0.5),
);

function formatString(fmt: string, ctx: SchemaContext): fc.Arbitrary<string> | null {
  switch (fmt) {
    case 'uuid':
      return ctx.ids.length ? fc.oneof({ arbitrary: fc.uuid(), weight: 1 }, { arbitrary: fc.constantFrom(...ctx.ids), weight: 2 }) : fc.uuid();
    case 'date-time':
    case 'openstack-date-time':
      return fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'ipv4':
      return fc.ipV4();
    case 'ipv6':
      return fc.ipV6();
    case 'cidr':
      return fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, n]) => `${ip}/${n}`);
    case 'uri':
    case 'url':
      return fc.webUrl();
    case 'mac-address':
      return fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
    case 'hostname':
      return fc.domain();
    case 'email':
      return fc.emailAddress();
    case 'base64':
      return fc.base64String({ maxLength: 64 });
    case 'keystone-id':
      return ctx.ids.length ? fc.oneof(fc.constantFrom(...ctx.ids), fc.uuid().map((u) => u.replace(/-/g, ''))) : fc.uuid();
    default:
      return null;
  }
}

function stringArb(s: Schema, ctx: SchemaContext, name: string | undefined): fc.Arbitrary<string> {
  const minLength = Math.min(typeof s.minLength === 'number' ? s.minLength : 0, 64);
  const maxLength = Math.max(minLength, Math.min(typeof s.maxLength === 'number' ? s.maxLength : 40, 64));
  const plain = fc.oneof(
    { arbitrary: fc.string({ minLength, maxLength }), weight: 4 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength, maxLength: Math.max(minLength, Math.min(maxLength, 16)) }), weight: 1 },
  );
  const fmt = typeof s.format === 'string' ? formatString(s.format, ctx) : null;
  const idLike = name !== undefined && /(^id$|_id$|Ref$|^uuid$|_uuid$|^name$)/.test(name) && ctx.ids.length > 0;
  const opts: fc.Arbitrary<string>[] = [];
  if (fmt) opts.push(fmt, fmt, fmt);
  if (idLike) opts.push(fc.constantFrom(...ctx.ids), fc.constantFrom(...ctx.ids));
  opts.push(plain);
  return opts.length === 1 ? plain : fc.oneof(...opts);
}

function numberArb(s: Schema, integer: boolean): fc.Arbitrary<number> {
  const lo = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : -1_000_000;
  const hi = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - 1 : 1_000_000;
  const min = Math.max(Math.ceil(Math.min(lo, hi)), -(2 ** 31));
  const max = Math.min(Math.floor(Math.max(lo, hi)), 2 ** 31);
  const base = fc.integer({ min, max });
  if (integer) return fc.oneof({ arbitrary: base, weight: 4 }, { arbitrary: fc.constantFrom(min, max), weight: 1 });
  return fc.oneof(base, fc.double({ min, max, noNaN: true, noDefaultInfinity: true }));
}

function objectArb(s: Schema, ctx: SchemaContext, depth: number): fc.Arbitrary<Json> {
  const props: Record<string, Schema> = s.properties ?? {};
  const required: string[] = Array.isArray(s.required) ? s.required.filter((k: string) => k in props) : [];
  const model: Record<string, fc.Arbitrary<Json>> = {};
  for (const [k, v] of Object.entries(props)) model[k] = schemaArb(v, ctx, depth + 1, k);
  let arb: fc.Arbitrary<Json> = Object.keys(model).length ? fc.record(model, { requiredKeys: required }) : fc.constant({});
  // Free-form members: patternProperties / additionalProperties schemas (metadata and the like).
  const extra: Schema | null = s.patternProperties ? Object.values(s.patternProperties)[0] as Schema
    : s.additionalProperties && typeof s.additionalProperties === 'object' ? s.additionalProperties : null;
  if (extra) {
    const dict = fc.dictionary(fc.string({ minLength: 1, maxLength: 16 }), schemaArb(extra, ctx, depth + 1, undefined), { maxKeys: 3 });
    arb = fc.tuple(arb, dict).map(([a, b]) => ({ ...b, ...a }));
  }
  return arb;
}

const memo = new WeakMap<object, Map<string, fc.Arbitrary<Json>>>();

/**
 * An arbitrary of values valid against `schema` as far as this generator
 * knows JSON Schema (no `pattern`, shallow `allOf`); beyond MAX_DEPTH it
 * gives up with small constants.
 */
export function schemaArb(schema: Schema | boolean | undefined, ctx: SchemaContext, depth = 0, name?: string): fc.Arbitrary<Json> {
  if (schema === undefined || schema === true) return fc.jsonValue({ maxDepth: 2 });
  if (schema === false) return fc.constant(null);
  if (depth > MAX_DEPTH) return fc.constantFrom(null, {}, 'x', 1);
  const key = `${depth}|${name ?? ''}|${ctx.microversion}|${ctx.action}`;
  let byKey = memo.get(schema);
  if (!byKey) memo.set(schema, (byKey = new Map()));
  const known = byKey.get(key);
  if (known) return known;
  // Built on first use: recursive schemas would not terminate otherwise.
  let built: fc.Arbitrary<Json> | undefined;
  const arb = fc.constant(null).chain(() => (built ??= build(schema, ctx, depth, name)));
  byKey.set(key, arb);
  return arb;
}

function build(schema0: Schema, ctx: SchemaContext, depth: number, name: string | undefined): fc.Arbitrary<Json> {
  const s = resolve(ctx, schema0);
  if (Array.isArray(s['x-stackgate-versions'])) {
    const cases = s['x-stackgate-versions'] as { min: string | null; max: string | null; schema: Schema }[];
    const v = ctx.microversion;
    const fit = cases.find((c) => v !== null && (c.min === null || compareVersions(v, c.min) >= 0) && (c.max === null || compareVersions(v, c.max) <= 0));
    return fit ? schemaArb(fit.schema, ctx, depth, name) : fc.oneof(...cases.map((c) => schemaArb(c.schema, ctx, depth, name)));
  }
  if (s['x-stackgate-actions'] && typeof s['x-stackgate-actions'] === 'object') {
    const actions = s['x-stackgate-actions'] as Record<string, Schema>;
    const pick = ctx.action && actions[ctx.action] ? actions[ctx.action]! : Object.values(actions)[0];
    return schemaArb(pick, ctx, depth, name);
  }
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum) && s.enum.length) return fc.constantFrom(...s.enum);
  const alts = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (Array.isArray(alts) && alts.length) {
    // Members next to oneOf (type, properties) apply to every branch.
    const { oneOf: _o, anyOf: _a, ...rest } = s;
    return fc.oneof(...alts.map((a) => schemaArb({ ...rest, ...resolve(ctx, a) }, ctx, depth, name)));
  }
  if (Array.isArray(s.allOf) && s.allOf.length) {
    const { allOf, ...rest } = s;
    const merged: Schema = { ...rest, properties: { ...(rest.properties ?? {}) }, required: [...(rest.required ?? [])] };
    for (const part of allOf as Schema[]) {
      const r = resolve(ctx, part);
      Object.assign(merged.properties, r.properties ?? {});
      merged.required.push(...(r.required ?? []));
      merged.type ??= r.type;
    }
    return schemaArb(merged, ctx, depth, name);
  }
  let type = s.type;
  if (type === undefined) type = s.properties || s.patternProperties ? 'object' : s.items ? 'array' : undefined;
  if (Array.isArray(type)) return fc.oneof(...type.map((t: string) => schemaArb({ ...s, type: t }, ctx, depth, name)));
  switch (type) {
    case 'string': return stringArb(s, ctx, name);
    case 'integer': return numberArb(s, true);
    case 'number': return numberArb(s, false);
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    case 'array': {
      const minLength = typeof s.minItems === 'number' ? s.minItems : 0;
      const maxLength = Math.max(minLength, Math.min(typeof s.maxItems === 'number' ? s.maxItems : 3, 4));
      const item = schemaArb(Array.isArray(s.items) ? s.items[0] : s.items, ctx, depth + 1, name);
      return fc.array(item, { minLength, maxLength });
    }
    case 'object': return objectArb(s, ctx, depth);
    default: return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------------------
// Mutations of a valid body

type Mutation = 'drop' | 'wrongType' | 'extra' | 'huge' | 'null' | 'wrapArray' | 'deep';

/** Paths to every member of objects and arrays in `v`. */
function containers(v: Json, path: (string | number)[] = [], out: { parent: Json; key: string | number }[] = []): { parent: Json; key: string | number }[] {
  if (v && typeof v === 'object') {
    for (const k of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      out.push({ parent: v, key: k });
      containers(v[k], [...path, k], out);
    }
  }
  return out;
}

function mutate(value: Json, kind: Mutation, pick: number, junk: Json, hugeLen: number): Json {
  const copy: Json = value === undefined ? {} : JSON.parse(JSON.stringify(value));
  if (kind === 'null') return null;
  if (kind === 'wrapArray') return [copy];
  if (kind === 'deep') {
    let d: Json = copy;
    for (let i = 0; i < 2000; i++) d = { a: d };
    return d;
  }
  const spots = containers(copy);
  if (!spots.length) return kind === 'extra' ? { ...(typeof copy === 'object' && copy ? copy : {}), fuzz_extra: junk } : junk;
  const { parent, key } = spots[pick % spots.length]!;
  switch (kind) {
    case 'drop':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'wrongType':
      parent[key] = junk;
      break;
    case 'extra': {
      const target = parent[key] && typeof parent[key] === 'object' && !Array.isArray(parent[key]) ? parent[key] : parent;
      if (Array.isArray(target)) target.push(junk);
      else target[`fuzz_${pick % 97}`] = junk;
      break;
    }
    case 'huge':
      parent[key] = '\u00e9x'.repeat(hugeLen);
      break;
  }
  return copy;
}

// ---------------------------------------------------------------------------
// Requests

export interface FuzzRequest {
  op: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Whether `x-auth-token` is the admin's current token (filled in when sent). */
  adminToken: boolean;
  /** Set on the fixed edge cases (`fixedRequests`), not on sampled requests. */
  fixed?: FixedCase;
}

export interface FuzzTarget {
  service: ServiceInfo;
  /** Ids and names of resources that exist (or existed), for path parameters and id-like body members. */
  ids: readonly string[];
  /** The same ids by the stem of the member they were found under (`server`, `network`, …). */
  idsByKind: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Ids that only reads may name: the admin's own user, project, roles and
   * domain. A fuzzed DELETE/PUT/PATCH/POST on them could lock the suite out.
   */
  protectedIds: ReadonlySet<string>;
  /** The admin's project id (Cinder's `/v3/{project_id}/…` aliases). */
  projectId: string;
  /** A token of the admin that fuzzed requests may revoke (X-Subject-Token on DELETE). */
  victimToken: string;
  /** Values for path parameters the harvest cannot name (`{namespace_name}`), for the fixed edge cases. */
  pathIds?: Readonly<Record<string, string>>;
}

const TOKEN = '\u0000ADMIN\u0000';

function opSpec(root: Schema, template: string, method: string): { op: Schema; params: Schema[] } {
  const item = root.paths?.[template] ?? {};
  const op = item[method.toLowerCase()] ?? {};
  const ref = (p: Schema): Schema => (typeof p.$ref === 'string' ? resolve({ root, ids: [], microversion: null, action: null }, p) : p);
  const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map(ref);
  return { op, params };
}

function versionArb(service: ServiceInfo, row: OperationRow, spec: { minMicroversion: string | null; maxMicroversion: string | null }): fc.Arbitrary<{ headers: Record<string, string>; version: string | null }> {
  const mv = service.microversion;
  if (!mv || !spec.minMicroversion || !spec.maxMicroversion) {
    return fc.oneof(
      { arbitrary: fc.constant({ headers: {}, version: null }), weight: 8 },
      { arbitrary: junkString.map((j) => ({ headers: { 'openstack-api-version': `${service.name} ${j}`.replace(/[\r\n\0]/g, '') }, version: null })), weight: 1 },
    );
  }
  const [lo, hi] = [row.minVersion && compareVersions(row.minVersion, spec.minMicroversion) > 0 ? row.minVersion : spec.minMicroversion,
    row.maxVersion && compareVersions(row.maxVersion, spec.maxMicroversion) < 0 ? row.maxVersion : spec.maxMicroversion];
  const [maj, loMinor] = lo.split('.').map(Number) as [number, number];
  const hiMinor = Number(hi.split('.')[1]);
  const inRange = fc.integer({ min: loMinor, max: Math.max(loMinor, hiMinor) }).map((m) => `${maj}.${m}`);
  const h = (v: string): Record<string, string> => ({ 'openstack-api-version': `${mv.token} ${v}` });
  return fc.oneof(
    { arbitrary: inRange.map((v) => ({ headers: h(v), version: v })), weight: 10 },
    { arbitrary: fc.constant({ headers: {}, version: mv.defaultVersion }), weight: 2 },
    { arbitrary: fc.constant({ headers: h('latest'), version: spec.maxMicroversion }), weight: 2 },
    { arbitrary: fc.constantFrom('0.1', '1.0', `${maj}.999`, `${maj + 1}.0`, '2.', '.5', '2.01', '99999999999999999999.1').map((v) => ({ headers: h(v), version: null })), weight: 1 },
    { arbitrary: junkString.map((j) => ({ headers: { 'openstack-api-version': j.replace(/[\r\n\0]/g, '') }, version: null })), weight: 1 },
    { arbitrary: fc.constant({ headers: { 'openstack-api-version': `other-service ${hi}, ${mv.token} ${lo}` }, version: lo }), weight: 1 },
    ...mv.legacyHeaders.map((name) => ({ arbitrary: inRange.map((v) => ({ headers: { [name.toLowerCase()]: v }, version: v })), weight: 2 })),
  );
}

/** Header values fetch accepts: no control characters, ISO-8859-1 only. */
function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e\x80-\xff]/g, '?').trim();
}

/** `os-server-groups` → `servergroup`, `servers` → `server`: collection and member keys meet. */
function stem(s: string): string {
  return s.toLowerCase().replace(/^os-/, '').replace(/[-_]/g, '').replace(/(ies)$/, 'y').replace(/(sses|xes)$/, (m) => m.slice(0, -2)).replace(/s$/, '');
}

function paramValueArb(name: string, method: string, target: FuzzTarget, segment: string | undefined): fc.Arbitrary<string> {
  const mutating = method !== 'GET' && method !== 'HEAD';
  const allowed = (id: string) => !(mutating && target.protectedIds.has(id));
  const ids = target.ids.filter(allowed);
  const special = name === 'project_id' && !mutating ? [target.projectId] : [];
  const pool = [...ids, ...special];
  // Ids of the resource the path names (`/servers/{id}`: servers' ids), or of the parameter (`{network_id}`: networks').
  const wanted = new Set([segment, name.replace(/_id$/, '')].filter((x): x is string => !!x && x !== 'id').map(stem));
  const near = [...new Set([...target.idsByKind].filter(([k]) => wanted.has(k)).flatMap(([, v]) => [...v]).filter(allowed))].sort();
  const valid = pool.length ? fc.constantFrom(...pool) : fc.uuid();
  return fc.oneof(
    ...(near.length ? [{ arbitrary: fc.constantFrom(...near), weight: 10 }] : []),
    { arbitrary: valid, weight: 4 },
    { arbitrary: fc.uuid(), weight: 1 },
    { arbitrary: junkString, weight: 2 },
    // Long, but under Node's 16 KiB header limit (beyond it Node's parser answers a bare 431 before the gateway sees the request).
    { arbitrary: fc.integer({ min: 0, max: 600 }).map((n) => 'x'.repeat(n * 10)), weight: 1 },
  ).map((v) => encodeURIComponent(v)).map((v) => (v === '' ? '%20' : v));
}

function queryArb(params: Schema[], ctx: SchemaContext): fc.Arbitrary<string> {
  const q = params.filter((p) => p.in === 'query' && typeof p.name === 'string');
  const valid = (p: Schema): fc.Arbitrary<[string, string]> => schemaArb(p.schema ?? { type: 'string' }, ctx, 4, p.name)
    .map((v: Json): [string, string] => [p.name, typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : JSON.stringify(v)]);
  const invalid = (p: Schema): fc.Arbitrary<[string, string]> => junkString.map((v): [string, string] => [p.name, v]);
  // A few parameters at a time, so that many requests are valid as a whole.
  const some = (f: (p: Schema) => fc.Arbitrary<[string, string]>): fc.Arbitrary<[string, string][]> => (q.length
    ? fc.subarray(q, { maxLength: Math.min(3, q.length) }).chain((ps) => fc.tuple(...ps.map(f)))
    : fc.constant([]));
  const extras = fc.array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'marker', 'sort_key', 'sort_dir', 'fields', 'all_tenants', 'page_reverse'), fc.string({ maxLength: 8 })), junkString), { minLength: 1, maxLength: 3 });
  const pairs = fc.oneof(
    { arbitrary: fc.constant([] as [string, string][]), weight: 4 },
    { arbitrary: some(valid), weight: 4 },
    { arbitrary: some((p) => fc.oneof(valid(p), invalid(p))), weight: 2 },
    { arbitrary: extras, weight: 1 },
  );
  return pairs.map((ps) => (ps.length ? '?' + new URLSearchParams(ps).toString() : ''));
}

function bodyArb(row: OperationRow, op: Schema, ctx: SchemaContext, spec: Schema): fc.Arbitrary<{ body?: string; contentType?: string }> {
  const content: Record<string, Schema> = op.requestBody?.content ?? {};
  const [mediaType, media] = Object.entries(content)[0] ?? [row.requestBody ?? 'application/json', { schema: {} }];
  const ct = (): fc.Arbitrary<string | undefined> => fc.oneof(
    { arbitrary: fc.constant(mediaType), weight: 12 },
    { arbitrary: fc.constantFrom(`${mediaType}; charset=utf-8`, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', '*/*', 'garbage', ';;;'), weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
  if (mediaType === 'application/octet-stream') {
    return fc.record({ body: fc.oneof(fc.string({ maxLength: 256 }), fc.integer({ min: 0, max: 60 }).map((k) => 'D'.repeat(k * 1000)), fc.constant('')), contentType: ct() });
  }
  const valid = schemaArb(media.schema ?? {}, ctx, 0);
  const str = (v: Json) => JSON.stringify(v);
  const kinds = fc.constantFrom<Mutation>('drop', 'drop', 'wrongType', 'wrongType', 'extra', 'huge', 'null', 'wrapArray', 'deep');
  const mutated = fc.tuple(valid, kinds, fc.nat(), junkValue, fc.constantFrom(200, 5000, 30000)).map(([v, k, pick, junk, len]) => str(mutate(v, k, pick, junk, len)));
  const body: fc.Arbitrary<string | undefined> = fc.oneof(
    { arbitrary: valid.map(str), weight: row.requestBody ? 8 : 1 },
    { arbitrary: mutated, weight: row.requestBody ? 6 : 1 },
    { arbitrary: fc.constantFrom('', '{', 'not json', '{"a":', '[]', '0', '"s"', 'null', '{"a":1}{"b":2}', '\u00ff\u00fe', '{"__proto__": {"x": 1}}', '{"constructor": {"prototype": {}}}'), weight: 2 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }).map(str), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: row.requestBody ? 2 : 12 },
  );
  void spec;
  return fc.record({ body, contentType: ct() }).map(({ body: b, contentType }) => {
    if (b === undefined) return {};
    if (Buffer.byteLength(b) > MAX_BODY) b = Buffer.from(b).subarray(0, MAX_BODY).toString('latin1');
    return { body: b, ...(contentType ? { contentType } : {}) };
  });
}

const ACCEPTS = ['application/json', 'application/json', 'application/json', 'application/json', '*/*', 'text/html', 'application/xml', 'application/json;q=0.1, text/plain', 'garbage', ''];

/** One request for one operation row. */
function rowArb(target: FuzzTarget, row: OperationRow, root: Schema, spec: { minMicroversion: string | null; maxMicroversion: string | null }): fc.Arbitrary<FuzzRequest> {
  const service = target.service;
  const templates = [row.path, ...(row.aliases ?? [])];
  return fc.tuple(versionArb(service, row, spec), fc.constantFrom(...templates)).chain(([ver, template]) => {
    const { op, params } = opSpec(root, row.path, row.headOf ? 'GET' : row.method);
    const ctx: SchemaContext = { root, ids: target.ids, microversion: ver.version, action: row.action };
    const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const segs = template.split('/');
    const segmentOf = (n: string): string | undefined => { const i = segs.indexOf(`{${n}}`); return i > 0 && !segs[i - 1]!.startsWith('{') ? segs[i - 1] : undefined; };
    const pathArb = fc.tuple(...names.map((n) => (n === 'project_id' && template !== row.path ? fc.constant(target.projectId) : paramValueArb(n, row.method, target, segmentOf(n)))))
      .map((vals) => { let i = 0; return template.replace(/\{[^}]+\}/g, () => vals[i++]!); });
    const headerParams = params.filter((p) => p.in === 'header' && typeof p.name === 'string' && !/openstack-api-version|content-type|accept$/i.test(p.name));
    const hdrArb = fc.tuple(...headerParams.map((p) => fc.option(
      /subject-token/i.test(p.name) ? fc.constantFrom(TOKEN, row.method === 'DELETE' ? target.victimToken : TOKEN, target.victimToken, 'garbage-token', '') : schemaArb(p.schema ?? { type: 'string' }, ctx, 4, p.name).map((v: Json) => (typeof v === 'string' ? v : JSON.stringify(v))),
      { freq: 4, nil: null },
    ).map((v) => [p.name as string, v] as const)));
    const auth = fc.oneof(
      { arbitrary: fc.constant(TOKEN), weight: 30 },
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: fc.constantFrom('garbage', 'gAAAAAB' + 'x'.repeat(180), target.victimToken.slice(0, -3) + 'AAA'), weight: 1 },
    );
    const wrongMethod = fc.oneof({ arbitrary: fc.constant(null), weight: 40 }, { arbitrary: fc.constantFrom('PATCH', 'PUT', 'DELETE', 'POST', 'OPTIONS'), weight: 1 });
    const suffix = fc.oneof({ arbitrary: fc.constant(''), weight: 40 }, { arbitrary: fc.constantFrom('/', '/x', '//', '/%2e%2e', '/..;/', '?%zz'), weight: 1 });
    return fc.record({
      path: pathArb, query: queryArb(params, ctx), headers: hdrArb, auth, accept: fc.constantFrom(...ACCEPTS),
      body: row.method === 'GET' || row.method === 'HEAD' ? fc.oneof({ arbitrary: fc.constant<{ body?: string; contentType?: string }>({}), weight: 20 }, { arbitrary: bodyArb(row, op, ctx, root), weight: 1 }) : bodyArb(row, op, ctx, root),
      wrongMethod, suffix,
    }).map((r) => {
      const headers: Record<string, string> = { ...ver.headers };
      for (const [k, v] of r.headers) if (v !== null) headers[k.toLowerCase()] = v === TOKEN ? TOKEN : headerSafe(v);
      if (r.accept) headers.accept = r.accept;
      if (r.auth !== undefined) headers['x-auth-token'] = r.auth;
      if (r.body.contentType) headers['content-type'] = r.body.contentType;
      for (const k of Object.keys(headers)) if (headers[k] !== TOKEN) headers[k] = headerSafe(headers[k]!);
      let method = r.wrongMethod ?? row.method;
      const body = method === 'GET' || method === 'HEAD' ? undefined : r.body.body;
      if ((method === 'GET' || method === 'HEAD') && r.body.body !== undefined) method = row.method === 'GET' ? 'POST' : method;
      return { op: row.id, method, path: service.prefix + r.path + r.suffix + r.query, headers, ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}), adminToken: r.auth === TOKEN };
    });
  });
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// ---------------------------------------------------------------------------
// Fixed edge cases, sent before the random requests and checked the same way

/** The classes of fixed requests (bugs that random sampling from the default seed missed). */
export type FixedCase = 'emptyBody' | 'noMediaType' | 'unicodeName';
export const FIXED_CASES: readonly FixedCase[] = ['emptyBody', 'noMediaType', 'unicodeName'];

/** Outside Latin-1: astral (the Keystone region repro), then a mix with Latin-1, RTL and an emoji. */
export const UNICODE_VALUES = ['\u{1D36D}', '\u00e9-\u05e9\u05dc\u05d5\u05dd-\u0645\u0631\u062d\u0628\u0627-\u{1F642}'] as const;

/** Ids that look like ids (uuids, hex, digits) before names, then alphabetically. */
function idRank(v: string): number {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) return 0;
  if (/^[0-9a-f]{32}$/i.test(v)) return 1;
  if (/^\d+$/.test(v)) return 2;
  return 3;
}
function byIdRank(a: string, b: string): number { return idRank(a) - idRank(b) || (a < b ? -1 : a > b ? 1 : 0); }

/** A real id for a path parameter (deterministic): one of the resource's own ids if any, else one of the suite's ids. */
function fixedParamValue(name: string, method: string, target: FuzzTarget, segment: string | undefined, alias: boolean): string {
  if (name === 'project_id' && alias) return target.projectId;
  if (target.pathIds?.[name] !== undefined) return target.pathIds[name]!;
  const mutating = method !== 'GET' && method !== 'HEAD';
  const allowed = (id: string) => !(mutating && target.protectedIds.has(id));
  const wanted = new Set([segment, name.replace(/_id$/, '')].filter((x): x is string => !!x && x !== 'id').map(stem));
  const near = [...new Set([...target.idsByKind].filter(([k]) => wanted.has(k)).flatMap(([, v]) => [...v]).filter(allowed))].sort(byIdRank);
  if (near.length) return near[0]!;
  const pool = target.ids.filter(allowed).slice().sort(byIdRank);
  return pool[0] ?? 'fuzz-fixed';
}

function fillPath(template: string, row: OperationRow, target: FuzzTarget): string {
  const segs = template.split('/');
  const segmentOf = (n: string): string | undefined => { const i = segs.indexOf(`{${n}}`); return i > 0 && !segs[i - 1]!.startsWith('{') ? segs[i - 1] : undefined; };
  return template.replace(/\{([^}]+)\}/g, (_m, n: string) => encodeURIComponent(fixedParamValue(n, row.method, target, segmentOf(n), template !== row.path)));
}

/** The lowest and highest microversion the row is served at: `{}` means the service default (no header). */
function fixedVersions(service: ServiceInfo, row: OperationRow, spec: { minMicroversion: string | null; maxMicroversion: string | null }): { low: { headers: Record<string, string>; version: string | null }; high: { headers: Record<string, string>; version: string | null } } {
  const mv = service.microversion;
  if (!mv || !spec.minMicroversion || !spec.maxMicroversion) return { low: { headers: {}, version: null }, high: { headers: {}, version: null } };
  const lo = row.minVersion && compareVersions(row.minVersion, spec.minMicroversion) > 0 ? row.minVersion : spec.minMicroversion;
  const hi = row.maxVersion && compareVersions(row.maxVersion, spec.maxMicroversion) < 0 ? row.maxVersion : spec.maxMicroversion;
  const h = (v: string): Record<string, string> => ({ 'openstack-api-version': `${mv.token} ${v}` });
  const dflt = compareVersions(mv.defaultVersion, lo) >= 0 && compareVersions(mv.defaultVersion, hi) <= 0;
  return { low: dflt ? { headers: {}, version: mv.defaultVersion } : { headers: h(lo), version: lo }, high: { headers: h(hi), version: hi } };
}

/** The schema branch of `s` for a microversion (`x-stackgate-versions`), first `oneOf`/`anyOf` branch, merged `allOf`. */
function concrete(ctx: SchemaContext, s0: Schema | undefined, depth = 0): Schema {
  let s = resolve(ctx, s0 ?? {});
  for (let i = 0; i < 10 && depth < 10; i++) {
    if (Array.isArray(s['x-stackgate-versions'])) {
      const cases = s['x-stackgate-versions'] as { min: string | null; max: string | null; schema: Schema }[];
      const v = ctx.microversion;
      const fit = cases.find((c) => v !== null && (c.min === null || compareVersions(v, c.min) >= 0) && (c.max === null || compareVersions(v, c.max) <= 0)) ?? cases[0];
      s = resolve(ctx, fit?.schema ?? {});
      continue;
    }
    const alts = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
    if (Array.isArray(alts) && alts.length) {
      const { oneOf: _o, anyOf: _a, ...rest } = s;
      // The branch that has an `id`/`name` member, if any (a create's body), else the first.
      const rs = alts.map((a) => resolve(ctx, a));
      const pick = rs.find((r) => r.properties && ('name' in r.properties || 'id' in r.properties)) ?? rs.find((r) => r.type !== 'null') ?? rs[0]!;
      s = { ...rest, ...pick };
      continue;
    }
    if (Array.isArray(s.allOf) && s.allOf.length) {
      const { allOf, ...rest } = s;
      const merged: Schema = { ...rest, properties: { ...(rest.properties ?? {}) }, required: [...(rest.required ?? [])] };
      for (const part of allOf as Schema[]) {
        const r = concrete(ctx, part, depth + 1);
        Object.assign(merged.properties, r.properties ?? {});
        merged.required.push(...(r.required ?? []));
        merged.type ??= r.type;
      }
      s = merged;
      continue;
    }
    break;
  }
  return s;
}

function isStringSchema(ctx: SchemaContext, s: Schema | undefined): boolean {
  const c = concrete(ctx, s);
  const t = c.type;
  return t === 'string' || (Array.isArray(t) && t.includes('string')) || (t === undefined && !c.properties && !c.items && !('const' in c) && !Array.isArray(c.enum));
}

/** A minimal value of `s`: required members only, ids from the suite where a member names a resource. */
function minimal(ctx: SchemaContext, s0: Schema | undefined, target: FuzzTarget, name: string | undefined, depth = 0): Json {
  const s = concrete(ctx, s0);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum.find((e: Json) => e !== null) ?? s.enum[0];
  if ('default' in s && s.default !== null && typeof s.default !== 'object') return s.default;
  let type = Array.isArray(s.type) ? (s.type as string[]).find((t) => t !== 'null') : s.type;
  if (type === undefined) type = s.properties ? 'object' : s.items ? 'array' : 'string';
  switch (type) {
    case 'object': {
      const out: Record<string, Json> = {};
      if (depth > MAX_DEPTH) return out;
      const props: Record<string, Schema> = s.properties ?? {};
      for (const k of Array.isArray(s.required) ? s.required as string[] : []) out[k] = minimal(ctx, props[k], target, k, depth + 1);
      return out;
    }
    case 'array': {
      const n = typeof s.minItems === 'number' ? s.minItems : 0;
      return Array.from({ length: n }, () => minimal(ctx, Array.isArray(s.items) ? s.items[0] : s.items, target, name, depth + 1));
    }
    case 'integer': case 'number': {
      const lo = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : 1;
      return Math.max(lo, Math.min(1, typeof s.maximum === 'number' ? s.maximum : 1));
    }
    case 'boolean': return false;
    case 'null': return null;
    default: {
      const kind = name ? stem(name.replace(/(_id|_uuid|Ref|_ref)$/, '')) : '';
      const ids = [...(target.idsByKind.get(kind) ?? [])].sort(byIdRank);
      if (name && /(_id|_uuid|Ref|_ref)$/.test(name) && ids.length) return ids[0];
      switch (s.format) {
        case 'uuid': return ids[0] ?? '00000000-0000-4000-8000-000000000000';
        case 'date-time': return '2030-01-01T00:00:00Z';
        case 'ipv4': return '10.97.0.1';
        case 'ipv6': return 'fd00::1';
        case 'cidr': return '10.97.0.0/24';
        case 'uri': case 'url': return 'http://fuzz.example/';
        case 'email': return 'fuzz@example.com';
        default: return 'fuzz-fixed';
      }
    }
  }
}

/** An id of a kind the suite made (uuids first), the `n`th if there are that many. */
function idOf(target: FuzzTarget, kind: string, n = 0): string | undefined {
  const ids = [...(target.idsByKind.get(kind) ?? [])].filter((x) => idRank(x) < 3).sort(byIdRank);
  return ids[Math.min(n, ids.length - 1)];
}

/** Members a create needs beyond its schema's `required`, so that the request gets as far as creating. */
const CREATE_HINTS: Record<string, (t: FuzzTarget) => Record<string, Json>> = {
  'volume.volumes.create': () => ({ size: 1 }),
  'volume.snapshots.create': (t) => ({ volume_id: idOf(t, 'volume', 2), force: true }),
  'volume.backups.create': (t) => ({ volume_id: idOf(t, 'volume', 2), force: true }),
  'compute.servers.create': (t) => ({ imageRef: idOf(t, 'image'), flavorRef: '1', ...(idOf(t, 'network') ? { networks: [{ uuid: idOf(t, 'network') }] } : {}) }),
  'compute.server_groups.create': () => ({ policies: ['affinity'] }),
  'identity.endpoints.create': () => ({ url: 'http://fuzz.example/', interface: 'public' }),
  'identity.ep_filter.endpoint_groups.create': () => ({ filters: { interface: 'public' } }),
  'network.ports.create': (t) => ({ network_id: idOf(t, 'network') }),
  'network.subnets.create': (t) => ({ network_id: idOf(t, 'network'), cidr: '10.97.0.0/24', ip_version: 4 }),
};

/**
 * The create bodies of `row` with a unicode `id`/`name`: where the body has
 * both, one request sets the id, the other the name; the rest is minimal.
 */
function unicodeBodies(row: OperationRow, media: Schema, ctx: SchemaContext, target: FuzzTarget): Json[] {
  const top = concrete(ctx, media.schema);
  if (!top.properties) return [];
  // `{"region": {"id": …}}` (one wrapper member) or a flat body (Glance, Placement).
  const holders: { wrap: string | null; obj: Schema }[] = [{ wrap: null, obj: top }];
  for (const [k, v] of Object.entries(top.properties as Record<string, Schema>)) {
    const c = concrete(ctx, v);
    if (c.properties) holders.push({ wrap: k, obj: c });
  }
  const keyed = (h: { obj: Schema }) => ['id', 'name'].filter((k) => h.obj.properties?.[k] && isStringSchema(ctx, h.obj.properties[k]));
  const h = holders.find((x) => x.wrap !== null && keyed(x).length && (top.required ?? []).includes(x.wrap))
    ?? holders.find((x) => x.wrap !== null && keyed(x).length) ?? holders.find((x) => keyed(x).length);
  if (!h) return [];
  const keys = keyed(h);
  const base = minimal(ctx, top, target, undefined);
  const inner = (b: Json): Json => (h.wrap === null ? b : (b[h.wrap] ??= minimal(ctx, h.obj, target, h.wrap)));
  const hint = CREATE_HINTS[row.id]?.(target) ?? {};
  for (const [k, v] of Object.entries(hint)) if (v !== undefined) inner(base)[k] = v;
  const make = (set: Record<string, string>, drop: string[]): Json => {
    const b = JSON.parse(JSON.stringify(base));
    const o = inner(b);
    for (const k of drop) if (!(h.obj.required ?? []).includes(k)) delete o[k];
    Object.assign(o, set);
    return b;
  };
  const [astral, mixed] = UNICODE_VALUES;
  if (keys.length === 2) return [make({ id: astral }, ['name']), make({ name: `${astral}${mixed}` }, ['id'])];
  const k = keys[0]!;
  return [make({ [k]: astral }, []), make({ [k]: mixed }, [])];
}

/**
 * The fixed edge cases of a service, each a deterministic request (at most
 * two per operation and case), aimed at real ids:
 *  - emptyBody: every POST/PUT/PATCH with an empty body and `Content-Type: application/json`,
 *    at the operation's lowest and highest microversion;
 *  - noMediaType: every operation with a JSON body with `Content-Type: ;;;` and the body `1`, then `[]`;
 *  - unicodeName: every create (POST, not an action) whose body has an `id` or `name` string,
 *    with values outside Latin-1.
 */
export function fixedRequests(target: FuzzTarget): { reqs: FuzzRequest[]; counts: Record<FixedCase, number> } {
  const service = target.service;
  const table = TABLES[service.name]!;
  const root = JSON.parse(readFileSync(`${ROOT}generated/${service.name}/requests.json`, 'utf8')) as Schema;
  const reqs: FuzzRequest[] = [];
  const counts: Record<FixedCase, number> = { emptyBody: 0, noMediaType: 0, unicodeName: 0 };
  const add = (fixed: FixedCase, row: OperationRow, template: string, ver: { headers: Record<string, string> }, contentType: string, body: string) => {
    reqs.push({
      op: row.id, method: row.method, path: service.prefix + fillPath(template, row, target),
      headers: { ...ver.headers, accept: 'application/json', 'x-auth-token': TOKEN, 'content-type': contentType },
      body, adminToken: true, fixed,
    });
    counts[fixed]++;
  };
  for (const row of table.operations) {
    if (row.servedBy !== 'driver' || !['POST', 'PUT', 'PATCH'].includes(row.method)) continue;
    const { low, high } = fixedVersions(service, row, table.spec);
    const templates = [row.path, ...(row.aliases ?? [])];
    const first = templates[0]!;
    const last = templates[templates.length - 1]!;
    add('emptyBody', row, first, low, 'application/json', '');
    add('emptyBody', row, last, high, 'application/json', '');
    if (row.requestBody && /json/.test(row.requestBody)) {
      add('noMediaType', row, last, high, ';;;', '1');
      add('noMediaType', row, first, low, ';;;', '[]');
    }
    if (row.method === 'POST' && row.action === null && !/\/action$/.test(row.path) && row.requestBody && /json/.test(row.requestBody)) {
      const { op } = opSpec(root, row.path, row.method);
      const content: Record<string, Schema> = op.requestBody?.content ?? {};
      const media = content[row.requestBody] ?? Object.values(content)[0];
      if (!media) continue;
      const ctx: SchemaContext = { root, ids: target.ids, microversion: low.version, action: null };
      for (const b of unicodeBodies(row, media, ctx, target)) add('unicodeName', row, last, low, row.requestBody, JSON.stringify(b));
    }
  }
  return { reqs, counts };
}

/** `n` requests for a service, sampled from a fixed seed. */
export function generateRequests(target: FuzzTarget, n: number, seed: number): FuzzRequest[] {
  const table = TABLES[target.service.name]!;
  const root = JSON.parse(readFileSync(`${ROOT}generated/${target.service.name}/requests.json`, 'utf8')) as Schema;
  const rows = table.operations.filter((r) => r.servedBy === 'driver');
  const arbs = rows.map((r) => rowArb(target, r, root, table.spec));
  const versionDocs = table.operations.filter((r) => r.servedBy === 'gateway').map((r) => rowArb(target, r, root, table.spec));
  const any = fc.oneof({ arbitrary: fc.oneof(...arbs), weight: 30 }, ...(versionDocs.length ? [{ arbitrary: fc.oneof(...versionDocs), weight: 1 }] : []));
  return fc.sample(any, { seed, numRuns: n });
}

// ---------------------------------------------------------------------------
// Checks

/** What is wrong with a fault body of `service`, or null. `accept`: what the request asked for (Glance). */
export function faultShapeError(service: ServiceInfo, status: number, text: string, accept: string | undefined): string | null {
  if (service.faultStyle === 'glance' && !(accept ?? '').includes('application/json')) {
    return text.startsWith(`${status} `) ? null : `Glance text fault does not start with "${status} "`;
  }
  let body: any;
  try { body = JSON.parse(text); } catch { return 'fault body is not JSON'; }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'fault body is not an object';
  switch (service.faultStyle) {
    case 'nova': {
      const keys = Object.keys(body);
      if (keys.length !== 1) return `nova fault has ${keys.length} top-level keys`;
      const f = body[keys[0]!];
      if (!f || f.code !== status || typeof f.message !== 'string') return 'nova fault lacks {code: status, message}';
      return null;
    }
    case 'keystone':
      return body.error && body.error.code === status && typeof body.error.title === 'string' && typeof body.error.message === 'string' ? null : 'keystone fault lacks error.{code,title,message}';
    case 'neutron':
      return body.NeutronError && typeof body.NeutronError.type === 'string' && typeof body.NeutronError.message === 'string' && 'detail' in body.NeutronError ? null : 'neutron fault lacks NeutronError.{type,message,detail}';
    case 'placement':
      return Array.isArray(body.errors) && body.errors[0] && body.errors[0].status === status && typeof body.errors[0].title === 'string' && typeof body.errors[0].detail === 'string' ? null : 'placement fault lacks errors[0].{status,title,detail}';
    case 'glance':
      return typeof body.title === 'string' && body.code === `${status} ${body.title}` && typeof body.message === 'string' ? null : 'glance JSON fault lacks {code: "<status> <title>", title, message}';
  }
}

export interface Violation { req: FuzzRequest; status: number | string; ms: number; why: string; text: string }

export interface FuzzResult {
  requests: number;
  ms: number;
  byStatus: Record<string, number>;
  violations: Violation[];
  relogins: number;
  slowestMs: number;
  /** Statuses of the fixed edge cases, by case (proof that they were sent). */
  fixedByStatus: Record<string, Record<string, number>>;
}

/** Sends the requests, `CONCURRENCY` in flight, and checks every response. */
export async function runFuzz(h: Harness, target: FuzzTarget, reqs: FuzzRequest[]): Promise<FuzzResult> {
  const started = Date.now();
  const byStatus: Record<string, number> = {};
  const byOp: Record<string, number> = {};
  const fixedByStatus: Record<string, Record<string, number>> = {};
  const violations: Violation[] = [];
  let token = h.adminToken;
  let relogins = 0;
  let slowestMs = 0;
  let checking: Promise<void> | null = null;
  // The admin's token may be revoked by a fuzzed request (Keystone: DELETE
  // /v3/auth/tokens, a disabled or deleted user or project, a removed role
  // assignment). The admin's own ids are kept out of mutating requests, but
  // when the token stops working anyway it is checked and, if dead, replaced
  // by a new login, so the rest of the run still reaches the drivers.
  const ensureToken = async (): Promise<void> => {
    checking ??= (async () => {
      const r = await fetch(`${h.url}/identity/v3/auth/tokens`, { headers: { 'x-auth-token': token, 'x-subject-token': token } });
      if (r.status !== 200) {
        await r.text();
        token = await h.login('admin', h.adminPassword, 'admin');
        relogins++;
      } else await r.text();
    })().finally(() => { checking = null; });
    await checking;
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < reqs.length) {
      const req = reqs[next++]!;
      if (checking) await checking;
      const headers = { ...req.headers };
      for (const [k, v] of Object.entries(headers)) if (v === TOKEN) headers[k] = token;
      const t0 = Date.now();
      let status: number | string;
      let text = '';
      try {
        const res = await fetch(h.url + req.path, { method: req.method, headers, body: req.body, signal: AbortSignal.timeout(RESPONSE_BOUND_MS) });
        text = await res.text();
        status = res.status;
      } catch (err) {
        status = `no response: ${(err as Error).name} ${(err as Error).message}`;
      }
      const ms = Date.now() - t0;
      slowestMs = Math.max(slowestMs, ms);
      byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
      if (req.fixed) { const f = (fixedByStatus[req.fixed] ??= {}); f[String(status)] = (f[String(status)] ?? 0) + 1; }
      if (req.fixed && process.env.FUZZ_DEBUG) console.log(`fixed-result ${req.fixed} [${req.op}] ${req.method} ${req.path} ${req.headers['openstack-api-version'] ?? ''} ct=${req.headers['content-type']} body=${(req.body ?? '').slice(0, 150)} → ${status} ${text.slice(0, 160)}`); // eslint-disable-line no-console
      if (process.env.FUZZ_DEBUG) { const k = `${req.op} ${typeof status === 'number' ? status : 'x'}`; byOp[k] = (byOp[k] ?? 0) + 1; }
      const bad = (why: string) => violations.push({ req, status, ms, why, text: text.slice(0, 300) });
      if (typeof status === 'string') bad(status);
      else {
        if (ms > RESPONSE_BOUND_MS) bad(`took ${ms} ms`);
        if (status >= 500 && status !== 501) bad(`status ${status}`);
        if ((status >= 400 && status < 500) || status >= 500) {
          if (req.method !== 'HEAD') {
            const err = faultShapeError(target.service, status, text, req.headers.accept);
            if (err) bad(err);
          }
        }
        if (status === 401 && req.adminToken) await ensureToken();
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (process.env.FUZZ_DEBUG) console.log(Object.entries(byOp).sort().map(([k, n]) => `${k}: ${n}`).join('\n')); // eslint-disable-line no-console
  return { requests: reqs.length, ms: Date.now() - started, byStatus, violations, relogins, slowestMs, fixedByStatus };
}

/** A readable summary of the violations: distinct kinds, then the first 20. */
export function summarize(service: string, seed: number, r: FuzzResult): string {
  const kinds = new Map<string, number>();
  for (const v of r.violations) {
    const k = `${v.req.fixed ? `[fixed ${v.req.fixed}] ` : ''}${v.req.op} ${v.req.method} → ${v.status}: ${v.why}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  const lines = [`${service}: ${r.violations.length} violations in ${r.requests} requests (seed ${seed}, FUZZ_SEED=${seed} to reproduce)`];
  lines.push('distinct:', ...[...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${n}× ${k}`));
  lines.push('first 20:');
  // Fixed edge cases first: each is a reproduction by itself.
  const shown = [...r.violations.filter((v) => v.req.fixed), ...r.violations.filter((v) => !v.req.fixed)].slice(0, 20);
  for (const v of shown) {
    const hdrs = Object.entries(v.req.headers).filter(([k]) => k !== 'x-auth-token').map(([k, val]) => `${k}: ${val.slice(0, 80)}`).join('; ');
    lines.push(`  [${v.req.fixed ? `fixed ${v.req.fixed}: ` : ''}${v.req.op}] ${v.req.method} ${v.req.path.slice(0, 200)} {${hdrs}} body=${(v.req.body ?? '').slice(0, 200)}`);
    lines.push(`    → ${v.status} in ${v.ms} ms: ${v.why}: ${v.text.slice(0, 200)}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// The suite

/**
 * Every string under `id`, `uuid`, `name`, `*_id` members of a JSON value;
 * `byKind` files each under the stem of the enclosing member (`servers` → `server`)
 * or of its own name (`network_id` → `network`).
 */
export function harvest(v: Json, out: Set<string>, byKind?: Map<string, Set<string>>, kind = ''): Set<string> {
  if (Array.isArray(v)) for (const x of v) harvest(x, out, byKind, kind);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' && x.length > 0 && x.length <= 80 && /^(id|uuid|name|.*_id)$/.test(k)) {
        out.add(x);
        const kk = k === 'id' || k === 'uuid' || k === 'name' ? kind : stem(k.replace(/_id$/, ''));
        if (byKind && kk) { if (!byKind.has(kk)) byKind.set(kk, new Set()); byKind.get(kk)!.add(x); }
      } else harvest(x, out, byKind, stem(k));
    }
  }
  return out;
}

/** GETs every list operation without path parameters, gathering ids and names. */
async function harvestService(h: Harness, service: ServiceInfo, out: Set<string>, byKind?: Map<string, Set<string>>): Promise<void> {
  const table = TABLES[service.name]!;
  for (const row of table.operations) {
    if (row.method !== 'GET' || row.path.includes('{') || row.servedBy !== 'driver') continue;
    const headers: Record<string, string> = service.microversion && table.spec.maxMicroversion ? { 'openstack-api-version': `${service.microversion.token} ${row.maxVersion ?? table.spec.maxMicroversion}` } : {};
    const res = await h.request('GET', service.prefix + row.path, { headers });
    if (res.status === 200) harvest(res.json, out, byKind);
  }
}

/** A setup may name values for path parameters the harvest cannot find (`{ pathIds: { namespace_name: 'fuzz-ns' } }`). */
export type Setup = (h: Harness, ctx: { projectId: string; post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<Json> }) => Promise<void | { pathIds?: Record<string, string> }>;

/**
 * Defines `describe(fuzz <service>)`: one sandbox gateway, `setup` creates
 * resources to aim at, then FUZZ_RUNS requests.
 */
export function fuzzSuite(serviceName: string, setup: Setup): void {
  const service = SERVICES.find((s) => s.name === serviceName)!;
  describe(`fuzz ${serviceName} (seed ${FUZZ_SEED}, ${FUZZ_RUNS} requests)`, function () {
    this.timeout(240_000);
    let h: Harness;
    before(async () => { h = await startGateway(); });
    after(async () => { await h?.close(); });

    it(`answers ${FUZZ_RUNS} fuzzed requests with no 5xx but 501, faults in the ${service.faultStyle} shape, each within ${RESPONSE_BOUND_MS / 1000} s, and stays up`, async () => {
      const info = await h.request('GET', '/identity/v3/auth/tokens', { headers: { 'x-subject-token': h.adminToken } });
      const tok = (info.json as any).token;
      const projectId: string = tok.project.id;
      const protectedIds = new Set<string>([tok.user.id, tok.project.id, tok.user.domain.id, 'default', 'admin', ...tok.roles.flatMap((r: any) => [r.id, r.name])]);
      // Everything that exists before the suite's own resources (the
      // bootstrap's users, projects, roles, domain, service catalog) is read-only for the fuzzer.
      const ids = new Set<string>();
      const byKind = new Map<string, Set<string>>();
      await harvestService(h, SERVICES.find((s) => s.name === 'identity')!, ids, byKind);
      for (const id of ids) protectedIds.add(id);
      const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Json> => {
        const res = await h.request('POST', path, { body, headers });
        if (res.status >= 300) console.warn(`fuzz setup: POST ${path} → ${res.status} ${res.text.slice(0, 200)}`); // eslint-disable-line no-console
        harvest(res.json, ids, byKind);
        return res.json;
      };
      const t0 = Date.now();
      const made = await setup(h, { projectId, post });
      await harvestService(h, service, ids, byKind);
      const victimToken = await h.login('admin', h.adminPassword, 'admin');
      const target: FuzzTarget = { service, ids: [...ids].sort().slice(0, 300), idsByKind: byKind, protectedIds, projectId, victimToken, ...(made?.pathIds ? { pathIds: made.pathIds } : {}) };
      // The fixed edge cases go first, while the suite's resources all still exist.
      const fixed = fixedRequests(target);
      if (process.env.FUZZ_DEBUG) for (const r of fixed.reqs) console.log(`fixed ${r.fixed} [${r.op}] ${r.method} ${r.path} ${JSON.stringify(r.headers)} body=${r.body}`); // eslint-disable-line no-console
      for (const c of FIXED_CASES) expect(fixed.counts[c], `fixed ${c} requests for ${serviceName}`).to.be.greaterThan(0);
      const reqs = [...fixed.reqs, ...generateRequests(target, FUZZ_RUNS, FUZZ_SEED)];
      const genMs = Date.now() - t0;
      const result = await runFuzz(h, target, reqs);
      for (const c of FIXED_CASES) expect(Object.values(result.fixedByStatus[c] ?? {}).reduce((a, b) => a + b, 0), `fixed ${c} requests sent`).to.equal(fixed.counts[c]);
      // Still up: every service's version document answers.
      for (const path of SERVICES.map((s) => `${s.prefix}/`)) {
        const res = await fetch(h.url + path, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(RESPONSE_BOUND_MS) });
        await res.text();
        if (![200, 300].includes(res.status)) result.violations.push({ req: { op: 'version document', method: 'GET', path, headers: {}, adminToken: false }, status: res.status, ms: 0, why: 'version document does not answer after the run', text: '' });
      }
      // eslint-disable-next-line no-console
      console.log(`      ${serviceName}: ${fixed.reqs.length} fixed edge cases (${FIXED_CASES.map((c) => `${c} ${fixed.counts[c]} ${JSON.stringify(result.fixedByStatus[c] ?? {})}`).join(', ')})`);
      // eslint-disable-next-line no-console
      console.log(`      ${serviceName}: ${result.requests} requests (${fixed.reqs.length} fixed + ${FUZZ_RUNS} sampled) in ${result.ms} ms (setup+generation ${genMs} ms, slowest ${result.slowestMs} ms, ${result.relogins} re-logins) statuses ${JSON.stringify(result.byStatus)}`);
      expect(result.violations, summarize(serviceName, FUZZ_SEED, result)).to.have.length(0);
    });
  });
}
