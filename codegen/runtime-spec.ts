/**
 * The runtime document (generated/<service>/spec.json) that openapi-backend
 * loads: the patched spec with stable operationIds and with its `oneOf`s that
 * choose by microversion or by action rewritten as selections.
 *
 * Validating against a union of microversion branches gives wrong answers
 * (`networks: "auto"` is valid only from 2.37), so the branch is chosen by the
 * negotiated version: `x-stackgate-versions: [{min, max, schema}]`, and action
 * bodies by their action name: `x-stackgate-actions: {name: schema}`.
 * src/validation.ts implements both keywords for ajv.
 */
import type { Json, JsonObject } from './spec-import.js';
import { HTTP_METHODS } from './spec-import.js';
import { deref } from './patches.js';
import type { OperationModel } from './model.js';

function xo(node: Json | undefined): JsonObject {
  return ((node && typeof node === 'object' && !Array.isArray(node) ? node['x-openstack'] : undefined) ?? {}) as JsonObject;
}

function versionCases(doc: JsonObject, branches: Json[]): Json[] {
  return branches.map((b) => {
    const x = xo(deref(doc, b));
    return { min: x['min-ver'] ?? null, max: x['max-ver'] ?? null, schema: b };
  });
}

function isVersioned(doc: JsonObject, node: JsonObject): boolean {
  if (!Array.isArray(node.oneOf) || node.oneOf.length === 0) return false;
  if (xo(node).discriminator === 'microversion') return true;
  return node.oneOf.every((b) => typeof xo(deref(doc, b))['min-ver'] === 'string');
}

function isByAction(doc: JsonObject, node: JsonObject): boolean {
  if (!Array.isArray(node.oneOf) || node.oneOf.length === 0) return false;
  if (xo(node).discriminator === 'action') return true;
  return node.oneOf.every((b) => typeof xo(deref(doc, b))['action-name'] === 'string');
}

function selectify(doc: JsonObject, node: Json): Json {
  if (Array.isArray(node)) return node.map((n) => selectify(doc, n));
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'x-openstack') continue;
    if (k === 'enum' || k === 'const' || k === 'default' || k === 'required') out[k] = v;
    else out[k] = selectify(doc, v);
  }
  if (isByAction(doc, node)) {
    const groups = new Map<string, Json[]>();
    for (const b of node.oneOf as Json[]) {
      const name = String(xo(deref(doc, b))['action-name']);
      groups.set(name, [...(groups.get(name) ?? []), b]);
    }
    const actions: JsonObject = {};
    for (const [name, bs] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      actions[name] = bs.length === 1 ? (bs[0] as Json) : { 'x-stackgate-versions': versionCases(doc, bs) };
    }
    delete out.oneOf;
    out['x-stackgate-actions'] = actions;
  } else if (isVersioned(doc, node)) {
    delete out.oneOf;
    out['x-stackgate-versions'] = versionCases(doc, node.oneOf as Json[]);
  }
  return out;
}

/** Builds spec.json: stable operationIds, selections, no x-openstack. */
export function toRuntimeSpec(doc: JsonObject, rows: OperationModel[]): JsonObject {
  const byKey = new Map<string, OperationModel>();
  for (const r of rows) byKey.set(`${r.method} ${r.path}`, r);
  const out = selectify(doc, doc) as JsonObject;
  for (const [path, item] of Object.entries(out.paths as JsonObject)) {
    for (const m of HTTP_METHODS) {
      const op = (item as JsonObject)[m] as JsonObject | undefined;
      if (!op) continue;
      const row = byKey.get(`${m.toUpperCase()} ${path}`);
      if (!row) throw new Error(`no model row for ${m.toUpperCase()} ${path}`);
      op.operationId = row.specOperationId;
      delete op.tags;
    }
  }
  delete out.tags;
  return out;
}

/**
 * The document for request validation alone (requests.json): responses
 * emptied and the components only they used dropped, which more than halves
 * what a gateway parses and keeps in memory. Response validation (the
 * contract tests) loads spec.json.
 */
export function toRequestSpec(runtime: JsonObject): JsonObject {
  const out = structuredClone(runtime);
  for (const item of Object.values(out.paths as JsonObject)) {
    for (const m of HTTP_METHODS) {
      const op = (item as JsonObject)[m] as JsonObject | undefined;
      if (!op?.responses) continue;
      const responses = op.responses as JsonObject;
      for (const code of Object.keys(responses)) responses[code] = {};
    }
  }
  const components = (out.components ?? {}) as Record<string, JsonObject>;
  const keep = new Set<string>();
  const queue: Json[] = [out.paths as Json];
  while (queue.length) {
    const n = queue.pop();
    if (Array.isArray(n)) queue.push(...n);
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/') && !keep.has(v)) {
          keep.add(v);
          const [, , kind, name] = v.split('/');
          queue.push(components[kind!]?.[name!] ?? null);
        } else queue.push(v);
      }
    }
  }
  for (const [kind, entries] of Object.entries(components)) {
    for (const name of Object.keys(entries)) if (!keep.has(`#/components/${kind}/${name}`)) delete entries[name];
  }
  return out;
}
