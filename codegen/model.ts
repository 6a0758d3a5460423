/**
 * The operation model: one row per served operation, derived from the
 * patched document. `POST …/action` bodies become one row per action, a HEAD
 * that mirrors a GET is served by the GET's driver method.
 */
import type { ServiceInfo } from './services.js';
import { HTTP_METHODS, type Json, type JsonObject } from './spec-import.js';
import { actionBranches, deref, type Overrides, type StatusRule } from './patches.js';
import { deriveActionName, deriveName } from './naming.js';

export interface OperationModel {
  id: string;
  method: string;
  path: string;
  aliases: string[];
  driverMethod: string;
  upstreamId: string;
  minVersion: string | null;
  maxVersion: string | null;
  action: string | null;
  success: StatusRule[];
  statuses: number[];
  /** request media type, when the operation takes a body */
  requestBody: string | null;
  requestBodyRequired: boolean;
  /** for HEAD rows: the GET row whose method serves them */
  headOf: string | null;
  /** 'gateway' rows (version documents) are answered by src/, not drivers */
  servedBy: 'driver' | 'gateway';
  tags: string[];
  /** component names, for types: action request body and action responses */
  actionSchema: string | null;
  actionResponseSchemas: string[];
  /** the key the spec.json operation carries (actions share their /action op) */
  specOperationId: string;
}

export class ModelError extends Error {}

function xo(node: Json | undefined): JsonObject {
  return ((node && typeof node === 'object' && !Array.isArray(node) ? node['x-openstack'] : undefined) ?? {}) as JsonObject;
}

function str(v: Json | undefined): string | null {
  return typeof v === 'string' ? v : null;
}

/** Compares `2.10` and `2.9` as microversions. */
export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am! - bm! || an! - bn!;
}

/** Range of a (possibly versioned oneOf) schema: the union of its branches. */
function schemaRange(doc: JsonObject, node: Json): { min: string | null; max: string | null } {
  const s = deref(doc, node) as JsonObject;
  const own = xo(s);
  if (Array.isArray(s.oneOf) && !own['min-ver'] && s.oneOf.every((b) => xo(deref(doc, b))['min-ver'])) {
    let min: string | null = null;
    let max: string | null = '0.0';
    for (const b of s.oneOf) {
      const r = xo(deref(doc, b));
      const bmin = str(r['min-ver']);
      const bmax = str(r['max-ver']);
      if (bmin && (!min || compareVersions(bmin, min) < 0)) min = bmin;
      if (max !== null) max = bmax === null ? null : compareVersions(bmax, max) > 0 ? bmax : max;
    }
    return { min, max };
  }
  return { min: str(own['min-ver']), max: str(own['max-ver']) };
}

function refName(ref: Json): string | null {
  const r = (ref as JsonObject | null)?.$ref;
  return typeof r === 'string' && r.startsWith('#/components/schemas/') ? r.slice('#/components/schemas/'.length) : null;
}

/**
 * A JSON body is required when its schema asks for something (a property or a
 * `required` list), as OpenStack services answer 400 to a missing body there;
 * an empty-object body (Glance deactivate) may be left out.
 */
function bodyRequired(doc: JsonObject, op: JsonObject): boolean {
  const rb = op.requestBody as JsonObject | undefined;
  if (!rb) return false;
  if (rb.required === true) return true;
  const content = (rb.content ?? {}) as JsonObject;
  const media = content['application/json'] as JsonObject | undefined;
  if (!media) return Object.keys(content).length > 0 && !content['application/octet-stream'] ? true : false;
  const s = deref(doc, media.schema) as JsonObject | undefined;
  if (!s) return false;
  return Boolean(s.oneOf || s.anyOf || (Array.isArray(s.required) && s.required.length) || (s.properties && Object.keys(s.properties).length) || s.type === 'array');
}

function twoXX(op: JsonObject): number[] {
  return Object.keys((op.responses ?? {}) as JsonObject).filter((c) => /^2\d\d$/.test(c)).map(Number).sort();
}

export function buildModel(service: ServiceInfo, doc: JsonObject, ov: Overrides): OperationModel[] {
  const rows: OperationModel[] = [];
  const paths = doc.paths as JsonObject;
  for (const [path, itemJson] of Object.entries(paths)) {
    const item = itemJson as JsonObject;
    for (const m of HTTP_METHODS) {
      const op = item[m] as JsonObject | undefined;
      if (!op) continue;
      const key = `${m.toUpperCase()} ${path}`;
      const range = { min: str(xo(op)['min-ver']), max: str(xo(op)['max-ver']) };
      const statuses = Object.keys((op.responses ?? {}) as JsonObject).filter((c) => /^\d{3}$/.test(c)).map(Number).sort();
      const content = ((op.requestBody as JsonObject | undefined)?.content ?? null) as JsonObject | null;
      const requestBody = content ? Object.keys(content).sort()[0] ?? null : null;
      const requestBodyRequired = bodyRequired(doc, op);
      const tags = Array.isArray(op.tags) ? op.tags.map(String) : [];
      const upstreamId = String(op.operationId ?? key);
      const branches = actionBranches(doc, op);
      const base = {
        method: m.toUpperCase(), path, aliases: ov.aliases.get(key) ?? [], upstreamId, statuses,
        requestBody, requestBodyRequired, headOf: null, tags,
      };
      if (branches.length) {
        const opId = deriveActionName(path, 'x').id.replace(/\.x$/, '');
        const responses = (op.responses ?? {}) as JsonObject;
        for (const b of branches) {
          if (!b.name) throw new ModelError(`${service.name}: ${key} has an action body without x-openstack action-name`);
          const names = { ...deriveActionName(path, b.name), ...ov.rename.get(`${key}#${b.name}`) };
          const r = schemaRange(doc, b.ref);
          const respSchemas: string[] = [];
          for (const code of twoXX(op)) {
            const s = (((responses[String(code)] as JsonObject | undefined)?.content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined)?.schema as JsonObject | undefined;
            const candidates = s && Array.isArray(s.oneOf) ? s.oneOf : s ? [s] : [];
            for (const c of candidates) {
              if (xo(deref(doc, c))['action-name'] === b.name) {
                const n = refName(c);
                if (n && !respSchemas.includes(n)) respSchemas.push(n);
              }
            }
          }
          const codes = twoXX(op);
          const success = ov.status.get(`${key}#${b.name}`)
            ?? [{ status: codes.includes(202) ? 202 : codes[0] ?? 200 }];
          rows.push({
            ...base, id: `${service.id}.${names.id}`, driverMethod: names.method!,
            statuses: [...new Set([...success.map((x) => x.status), ...statuses.filter((c) => c >= 300)])].sort(),
            requestBodyRequired: true,
            minVersion: r.min ?? range.min, maxVersion: r.max ?? range.max, action: b.name, success,
            servedBy: 'driver', actionSchema: refName(b.ref), actionResponseSchemas: respSchemas.sort(),
            specOperationId: `${service.id}.${opId}`,
          });
        }
        continue;
      }
      const derived = deriveName(path, m, { hasPatchTwin: Boolean(item.patch) });
      const names = { ...derived, ...ov.rename.get(key) };
      // Version documents (`/`, `/v3`, `/v2.1/`, `/v2.1/versions/{id}`) are the gateway's.
      const isVersionDoc = /^versions?\./.test(names.id);
      const codes = twoXX(op);
      rows.push({
        ...base, id: `${service.id}.${names.id}`, driverMethod: names.method!,
        minVersion: range.min, maxVersion: range.max, action: null,
        success: ov.status.get(key) ?? [{ status: codes[0] ?? 200 }],
        servedBy: isVersionDoc ? 'gateway' : 'driver', actionSchema: null, actionResponseSchemas: [],
        specOperationId: `${service.id}.${names.id}`,
      });
    }
  }
  // A HEAD beside a GET on the same path is the GET without a body (as Keystone serves it).
  for (const row of rows) {
    if (row.method !== 'HEAD') continue;
    const get = rows.find((r) => r.method === 'GET' && r.path === row.path);
    if (get) {
      row.headOf = get.id;
      row.driverMethod = get.driverMethod;
      row.servedBy = get.servedBy;
    }
  }
  checkUnique(service, rows);
  return rows.sort((a, b) => a.id.localeCompare(b.id));
}

function checkUnique(service: ServiceInfo, rows: OperationModel[]): void {
  const byId = new Map<string, OperationModel[]>();
  const byMethod = new Map<string, OperationModel[]>();
  for (const r of rows) {
    byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    if (!r.headOf) byMethod.set(r.driverMethod, [...(byMethod.get(r.driverMethod) ?? []), r]);
  }
  const problems: string[] = [];
  const show = (r: OperationModel) => `${r.method} ${r.path}${r.action ? ` [${r.action}]` : ''}`;
  for (const [id, rs] of byId) if (rs.length > 1) problems.push(`id ${id}: ${rs.map(show).join(' | ')}`);
  for (const [m, rs] of byMethod) if (rs.length > 1) problems.push(`method ${m}: ${rs.map(show).join(' | ')}`);
  if (problems.length) {
    throw new ModelError(`${service.name}: derived names collide; add a rename in specs/patches/${service.name}.yaml:\n  ${problems.join('\n  ')}`);
  }
}
