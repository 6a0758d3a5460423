/**
 * Patch overlays: specs/patches/<service>.yaml fixes upstream defects before
 * codegen. Each entry names one defect and carries its `reason`; an entry that
 * matches nothing is an error, so a fix upstream shows up as a stale patch.
 *
 * Entry kinds (exactly one per entry, plus a selector where it needs one):
 *   status:       replace the 2xx codes of operation(s) (or of one `action`);
 *                 a number, or [{status, min?, max?}] when it depends on the microversion
 *   rename:       {id?, method?} for an operation (or one `action`) whose derived name collides
 *   drop-actions: [names] removed from a `POST …/action` body oneOf
 *   merge:        RFC 7386 merge patch into a `schema` (or into the selected operations)
 *   json-patch:   RFC 6902 operations on the whole document
 *   merge-prefix: {prefix, into}: routes under `prefix` that repeat a route under
 *                 `into` become its alias (block-storage's `{project_id}` twins)
 *   formats:      {from: to} format names swapped document-wide
 *   nullable:     {schemas: <regex over component names>, properties: [names]}: those
 *                 properties, at any depth of the matching schemas, may also be null
 * `scope: types|runtime` limits a schema fix to the TypeScript types or to validation.
 * Selectors: `operation: "POST /v2.1/servers"`, `operations: [...]`, or
 * `match: <regex over "METHOD /path">`; `action:`/`actions:` narrow to action bodies.
 */
import { existsSync, readFileSync } from 'node:fs';
import YAML from 'yaml';
import { HTTP_METHODS, type Json, type JsonObject } from './spec-import.js';

export interface StatusRule { status: number; min?: string; max?: string }

/** What the model needs beyond the document: names, statuses, aliases. */
export interface Overrides {
  /** key: `METHOD /path` or `METHOD /path#action` */
  status: Map<string, StatusRule[]>;
  rename: Map<string, { id?: string; method?: string }>;
  /** canonical `METHOD /path` → alias paths */
  aliases: Map<string, string[]>;
  /** reasons applied, for the generated header and the report */
  applied: { reason: string; targets: number }[];
}

interface PatchEntry {
  reason?: string;
  operation?: string;
  operations?: string[];
  match?: string;
  action?: string;
  actions?: string[];
  schema?: string;
  status?: number | StatusRule[];
  rename?: { id?: string; method?: string };
  'drop-actions'?: string[];
  merge?: JsonObject;
  'json-patch'?: { op: string; path: string; value?: Json; from?: string }[];
  'merge-prefix'?: { prefix: string; into: string };
  formats?: Record<string, string>;
  nullable?: { schemas: string; properties: string[] };
  /** `types`: the fix is for TypeScript only; `runtime`: for validation only. */
  scope?: 'types' | 'runtime';
}

export class PatchError extends Error {}

export function loadPatches(file: string): PatchEntry[] {
  if (!existsSync(file)) return [];
  const doc = YAML.parse(readFileSync(file, 'utf8')) as unknown;
  if (doc == null) return [];
  if (!Array.isArray(doc)) throw new PatchError(`${file}: expected a list of patch entries`);
  return doc as PatchEntry[];
}

const KINDS = ['status', 'rename', 'drop-actions', 'merge', 'json-patch', 'merge-prefix', 'formats', 'nullable'] as const;

function opKeys(doc: JsonObject): string[] {
  const keys: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as JsonObject)) {
    for (const m of HTTP_METHODS) if ((item as JsonObject)[m]) keys.push(`${m.toUpperCase()} ${path}`);
  }
  return keys;
}

function selectOperations(doc: JsonObject, e: PatchEntry, where: string): string[] {
  const all = opKeys(doc);
  let sel: string[];
  if (e.operation) sel = all.filter((k) => k === e.operation);
  else if (e.operations) sel = all.filter((k) => e.operations!.includes(k));
  else if (e.match) {
    const re = new RegExp(e.match);
    sel = all.filter((k) => re.test(k));
  } else throw new PatchError(`${where}: needs operation, operations or match`);
  const wanted = e.operation ? 1 : e.operations ? e.operations.length : 1;
  if (sel.length < wanted) throw new PatchError(`${where}: selector matches ${sel.length} operation(s), expected ${wanted}; stale patch?`);
  return sel;
}

function getOp(doc: JsonObject, key: string): JsonObject {
  const sp = key.indexOf(' ');
  return ((doc.paths as JsonObject)[key.slice(sp + 1)] as JsonObject)[key.slice(0, sp).toLowerCase()] as JsonObject;
}

/** Resolves a local `$ref` (only `#/components/...` are used by these specs). */
export function deref(doc: JsonObject, node: Json | undefined): Json | undefined {
  let n = node;
  const seen = new Set<string>();
  while (n && typeof n === 'object' && !Array.isArray(n) && typeof n.$ref === 'string') {
    const ref = n.$ref;
    if (seen.has(ref)) throw new PatchError(`circular $ref ${ref}`);
    seen.add(ref);
    n = resolvePointer(doc, ref.replace(/^#/, ''));
  }
  return n;
}

export function resolvePointer(doc: Json, pointer: string): Json | undefined {
  if (pointer === '') return doc;
  let cur: Json | undefined = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(key)] : cur[key];
  }
  return cur;
}

/** RFC 7386 JSON merge patch, in place. */
export function mergePatch(target: JsonObject, patch: JsonObject): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v) && target[k] && typeof target[k] === 'object' && !Array.isArray(target[k])) {
      mergePatch(target[k] as JsonObject, v);
    } else target[k] = structuredClone(v);
  }
}

/** RFC 6902 subset: add, remove, replace, test. */
export function applyJsonPatch(doc: JsonObject, ops: NonNullable<PatchEntry['json-patch']>, where: string): void {
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    const parent = resolvePointer(doc, parts.length ? '/' + parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/') : '');
    if (parent === null || typeof parent !== 'object') throw new PatchError(`${where}: json-patch path ${op.path} has no parent`);
    const arr = Array.isArray(parent) ? parent : null;
    const obj = arr ? null : (parent as JsonObject);
    const has = arr ? Number(last) < arr.length : last in obj!;
    switch (op.op) {
      case 'add':
        if (arr) arr.splice(last === '-' ? arr.length : Number(last), 0, structuredClone(op.value!));
        else obj![last] = structuredClone(op.value!);
        break;
      case 'replace':
        if (!has) throw new PatchError(`${where}: json-patch replace of missing ${op.path}`);
        if (arr) arr[Number(last)] = structuredClone(op.value!);
        else obj![last] = structuredClone(op.value!);
        break;
      case 'remove':
        if (!has) throw new PatchError(`${where}: json-patch remove of missing ${op.path}`);
        if (arr) arr.splice(Number(last), 1);
        else delete obj![last];
        break;
      case 'test':
        if (JSON.stringify(arr ? arr[Number(last)] : obj![last]) !== JSON.stringify(op.value)) throw new PatchError(`${where}: json-patch test failed at ${op.path}`);
        break;
      default:
        throw new PatchError(`${where}: unsupported json-patch op ${op.op}`);
    }
  }
}

/** Names of the action bodies in a `POST …/action` operation. */
export function actionBranches(doc: JsonObject, op: JsonObject): { name: string; ref: JsonObject; schema: JsonObject }[] {
  const schema = (((op.requestBody as JsonObject | undefined)?.content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined)?.schema as JsonObject | undefined;
  if (!schema || !Array.isArray(schema.oneOf) || (schema['x-openstack'] as JsonObject | undefined)?.discriminator !== 'action') return [];
  return schema.oneOf.map((ref) => {
    const s = deref(doc, ref) as JsonObject;
    const name = String((s['x-openstack'] as JsonObject | undefined)?.['action-name'] ?? '');
    return { name, ref: ref as JsonObject, schema: s };
  });
}

function setStatus(op: JsonObject, rules: StatusRule[]): void {
  const responses = op.responses as JsonObject;
  const old2xx = Object.keys(responses).filter((c) => c.startsWith('2'));
  const content = old2xx.map((c) => responses[c]).find((r) => r && typeof r === 'object' && (r as JsonObject).content) ?? {};
  for (const c of old2xx) delete responses[c];
  for (const r of rules) {
    // A 204 has no body; other codes keep the documented body.
    responses[String(r.status)] = r.status === 204 ? {} : structuredClone(content);
  }
  // Keep keys ordered so output stays deterministic.
  const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
  for (const k of Object.keys(responses)) delete responses[k];
  Object.assign(responses, sorted);
}

/** Applies every entry in order; returns the overrides the model consumes. */
export function applyPatches(doc: JsonObject, entries: PatchEntry[], file: string, opts: { lenient?: boolean; target?: 'types' | 'runtime' } = {}): Overrides {
  const ov: Overrides = { status: new Map(), rename: new Map(), aliases: new Map(), applied: [] };
  const target = opts.target ?? 'runtime';
  entries.forEach((e, i) => {
    if (e.scope !== undefined) {
      if (e.scope !== 'types' && e.scope !== 'runtime') throw new PatchError(`${file} entry ${i + 1}: scope must be types or runtime`);
      if (!(['merge', 'json-patch', 'formats', 'nullable'] as const).some((k) => e[k] !== undefined)) {
        throw new PatchError(`${file} entry ${i + 1}: only merge, json-patch, formats and nullable can be scoped`);
      }
      if (e.scope !== target) return;
    }
    // spec-diff applies today's patches to an older spec: entries that do not fit are skipped there.
    if (opts.lenient) {
      try {
        applyOne(doc, e, i, file, ov);
      } catch (err) {
        if (!(err instanceof PatchError)) throw err;
      }
    } else applyOne(doc, e, i, file, ov);
  });
  return ov;
}

function applyOne(doc: JsonObject, e: PatchEntry, i: number, file: string, ov: Overrides): void {
  {
    const where = `${file} entry ${i + 1}`;
    if (!e.reason || typeof e.reason !== 'string' || e.reason.trim().length < 10) {
      throw new PatchError(`${where}: every patch needs a reason`);
    }
    const kinds = KINDS.filter((k) => e[k] !== undefined);
    if (kinds.length !== 1) throw new PatchError(`${where}: expected exactly one of ${KINDS.join(', ')}, found ${kinds.join(', ') || 'none'}`);
    const kind = kinds[0]!;
    let targets = 0;
    switch (kind) {
      case 'status': {
        const rules: StatusRule[] = typeof e.status === 'number' ? [{ status: e.status }] : e.status!;
        for (const key of selectOperations(doc, e, where)) {
          const op = getOp(doc, key);
          const actions = e.actions ?? (e.action ? [e.action] : null);
          if (actions) {
            for (const a of actions) {
              if (!actionBranches(doc, op).some((b) => b.name === a)) throw new PatchError(`${where}: ${key} has no action ${a}`);
              ov.status.set(`${key}#${a}`, rules);
            }
          } else {
            setStatus(op, rules);
            ov.status.set(key, rules);
          }
          targets++;
        }
        break;
      }
      case 'rename': {
        for (const key of selectOperations(doc, e, where)) {
          ov.rename.set(e.action ? `${key}#${e.action}` : key, e.rename!);
          targets++;
        }
        break;
      }
      case 'drop-actions': {
        for (const key of selectOperations(doc, e, where)) {
          const op = getOp(doc, key);
          const schema = (((op.requestBody as JsonObject).content as JsonObject)['application/json'] as JsonObject).schema as JsonObject;
          const branches = actionBranches(doc, op);
          for (const name of e['drop-actions']!) {
            if (!branches.some((b) => b.name === name)) throw new PatchError(`${where}: ${key} has no action ${name}`);
          }
          schema.oneOf = branches.filter((b) => !e['drop-actions']!.includes(b.name)).map((b) => b.ref);
          targets++;
        }
        break;
      }
      case 'merge': {
        if (e.schema) {
          const s = ((doc.components as JsonObject).schemas as JsonObject)[e.schema];
          if (!s || typeof s !== 'object') throw new PatchError(`${where}: no schema ${e.schema}`);
          mergePatch(s as JsonObject, e.merge!);
          targets++;
        } else {
          for (const key of selectOperations(doc, e, where)) {
            mergePatch(getOp(doc, key), e.merge!);
            targets++;
          }
        }
        break;
      }
      case 'json-patch': {
        applyJsonPatch(doc, e['json-patch']!, where);
        targets = e['json-patch']!.length;
        break;
      }
      case 'merge-prefix': {
        const { prefix, into } = e['merge-prefix']!;
        const paths = doc.paths as JsonObject;
        for (const p of Object.keys(paths)) {
          if (!p.startsWith(prefix + '/')) continue;
          const twin = into + p.slice(prefix.length);
          const item = paths[p] as JsonObject;
          const twinItem = paths[twin] as JsonObject | undefined;
          if (!twinItem) continue;
          for (const m of HTTP_METHODS) {
            if (!item[m]) continue;
            if (!twinItem[m]) continue;
            const key = `${m.toUpperCase()} ${twin}`;
            ov.aliases.set(key, [...(ov.aliases.get(key) ?? []), p]);
            delete item[m];
            targets++;
          }
          if (!HTTP_METHODS.some((m) => item[m])) delete paths[p];
        }
        if (!targets) throw new PatchError(`${where}: merge-prefix ${prefix} → ${into} merged nothing; stale patch?`);
        break;
      }
      case 'nullable': {
        const re = new RegExp(e.nullable!.schemas);
        const names = new Set(e.nullable!.properties);
        const seen = new Set<string>();
        const walk = (n: Json): void => {
          if (Array.isArray(n)) n.forEach(walk);
          else if (n && typeof n === 'object') {
            const props = n.properties;
            if (props && typeof props === 'object' && !Array.isArray(props)) {
              for (const [name, prop] of Object.entries(props)) {
                if (!names.has(name) || !prop || typeof prop !== 'object' || Array.isArray(prop)) continue;
                const t = prop.type;
                if (typeof t === 'string' && t !== 'null') prop.type = [t, 'null'];
                else if (Array.isArray(t) && !t.includes('null')) prop.type = [...t, 'null'];
                else continue;
                seen.add(name);
                targets++;
              }
            }
            for (const [k, v] of Object.entries(n)) if (k !== 'x-openstack' && k !== 'enum' && k !== 'default') walk(v);
          }
        };
        for (const [name, schema] of Object.entries(((doc.components as JsonObject).schemas ?? {}) as JsonObject)) {
          if (re.test(name)) walk(schema);
        }
        const unused = [...names].filter((n) => !seen.has(n));
        if (unused.length) throw new PatchError(`${where}: nullable found no non-null ${unused.join(', ')} in schemas ${e.nullable!.schemas}; stale patch?`);
        break;
      }
      case 'formats': {
        const swap = e.formats!;
        const walk = (n: Json): void => {
          if (Array.isArray(n)) n.forEach(walk);
          else if (n && typeof n === 'object') {
            if (typeof n.format === 'string' && swap[n.format]) {
              n.format = swap[n.format]!;
              targets++;
            }
            for (const [k, v] of Object.entries(n)) if (k !== 'x-openstack' && k !== 'enum' && k !== 'default') walk(v);
          }
        };
        walk(doc);
        if (!targets) throw new PatchError(`${where}: formats ${Object.keys(swap).join(', ')} not found; stale patch?`);
        break;
      }
    }
    ov.applied.push({ reason: e.reason.trim(), targets });
  }
}
