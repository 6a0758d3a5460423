/**
 * spec-diff: what changed between two imported spec sets, operation by
 * operation, and which driver methods in drivers/ the changes touch.
 *
 *   spec-diff [--from specs/previous] [--to specs] [--out reports/spec-diff-previous-to-current]
 *
 * Both sets go through the same patches and model as `make regen`, so the
 * report speaks of stable operation ids and driver method names.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SERVICES, type ServiceInfo } from '../codegen/services.js';
import { loadService, type LoadedService } from '../codegen/build.js';
import { sha256, type Json, type JsonObject } from '../codegen/spec-import.js';
import type { OperationModel } from '../codegen/model.js';
import { BACKENDS } from '../drivers/registry.js';
import type { DriverClass, ServiceId } from '../drivers/types.js';
import { classMethods } from './matrix.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface OperationChange {
  id: string;
  method: string;
  path: string;
  action: string | null;
  driverMethod: string;
  changes: string[];
  /** `drivers/sandbox/compute.ts:42 SandboxCompute.showServer` */
  affects: string[];
}

export interface ServiceDiff {
  service: string;
  from: { version: string; operations: number; rows: number; microversions: string | null };
  to: { version: string; operations: number; rows: number; microversions: string | null };
  added: OperationChange[];
  removed: OperationChange[];
  changed: OperationChange[];
}

/** Resolves every local $ref (cycles become their name) for fingerprints. */
function expand(doc: JsonObject, node: Json, seen: string[] = []): Json {
  if (Array.isArray(node)) return node.map((n) => expand(doc, n, seen));
  if (node === null || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') {
    const ref = node.$ref;
    if (seen.includes(ref)) return { $cycle: ref };
    const target = ref.replace(/^#\//, '').split('/').reduce<Json | undefined>((cur, k) =>
      cur && typeof cur === 'object' && !Array.isArray(cur) ? (cur as JsonObject)[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined, doc);
    return expand(doc, target ?? null, [...seen, ref]);
  }
  const out: JsonObject = {};
  for (const k of Object.keys(node).sort()) out[k] = expand(doc, node[k]!, seen);
  return out;
}

function op(doc: JsonObject, r: OperationModel): JsonObject {
  return (((doc.paths as JsonObject)[r.path] as JsonObject)[r.method.toLowerCase()] ?? {}) as JsonObject;
}

/** Direct component names a schema chooses between (versioned branches). */
function branchNames(node: Json | undefined): string[] {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return [];
  const n = node as JsonObject;
  if (Array.isArray(n.oneOf)) return n.oneOf.flatMap((b) => (b && typeof b === 'object' && !Array.isArray(b) && typeof b.$ref === 'string' ? [b.$ref.split('/').pop()!] : []));
  return [];
}

interface Facts {
  request: string;
  response: string;
  requestBranches: string[];
  responseBranches: string[];
  query: string[];
}

function facts(doc: JsonObject, r: OperationModel): Facts {
  const o = op(doc, r);
  const components = ((doc.components as JsonObject).schemas ?? {}) as JsonObject;
  let request: Json = null;
  let requestBranches: string[] = [];
  if (r.action && r.actionSchema) {
    request = expand(doc, { $ref: `#/components/schemas/${r.actionSchema}` });
    requestBranches = branchNames(components[r.actionSchema]);
  } else {
    const rb = (((o.requestBody as JsonObject | undefined)?.content as JsonObject | undefined) ?? {}) as JsonObject;
    request = expand(doc, rb);
    const js = (rb['application/json'] as JsonObject | undefined)?.schema;
    requestBranches = branchNames(js && typeof js === 'object' && (js as JsonObject).$ref ? components[String((js as JsonObject).$ref).split('/').pop()!] : js);
  }
  let response: Json;
  let responseBranches: string[] = [];
  if (r.action) {
    response = r.actionResponseSchemas.map((n) => expand(doc, { $ref: `#/components/schemas/${n}` }));
    responseBranches = [...r.actionResponseSchemas];
  } else {
    const res = (o.responses ?? {}) as JsonObject;
    const ok: JsonObject = {};
    for (const code of Object.keys(res).filter((c) => c.startsWith('2'))) {
      ok[code] = expand(doc, res[code]!);
      const sch = (((res[code] as JsonObject).content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined)?.schema;
      responseBranches.push(...branchNames(sch));
    }
    response = ok;
  }
  const params = [...((op(doc, r).parameters ?? []) as Json[]), ...((((doc.paths as JsonObject)[r.path] as JsonObject).parameters ?? []) as Json[])];
  const query = params.map((p) => expand(doc, p) as JsonObject).filter((p) => p.in === 'query').map((p) => String(p.name)).sort();
  return {
    request: sha256(JSON.stringify(request)).slice(0, 12),
    response: sha256(JSON.stringify(response)).slice(0, 12),
    requestBranches: [...new Set(requestBranches)].sort(),
    responseBranches: [...new Set(responseBranches)].sort(),
    query,
  };
}

function listDiff(label: string, before: string[], after: string[]): string[] {
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  const out: string[] = [];
  if (added.length) out.push(`${label} added: ${added.join(', ')}`);
  if (removed.length) out.push(`${label} removed: ${removed.join(', ')}`);
  return out;
}

const range = (r: OperationModel) => `${r.minVersion ?? '-'}..${r.maxVersion ?? '-'}`;
const statuses = (r: OperationModel) => r.success.map((s) => s.status + (s.min || s.max ? `@${s.min ?? ''}-${s.max ?? ''}` : '')).join(',');

function compareRows(a: LoadedService, ra: OperationModel, b: LoadedService, rb: OperationModel): string[] {
  const changes: string[] = [];
  if (ra.method !== rb.method || ra.path !== rb.path) changes.push(`route: ${ra.method} ${ra.path} → ${rb.method} ${rb.path}`);
  if (range(ra) !== range(rb)) changes.push(`microversions: ${range(ra)} → ${range(rb)}`);
  if (statuses(ra) !== statuses(rb)) changes.push(`success status: ${statuses(ra)} → ${statuses(rb)}`);
  changes.push(...listDiff('aliases', ra.aliases, rb.aliases));
  const fa = facts(a.doc, ra);
  const fb = facts(b.doc, rb);
  changes.push(...listDiff('query parameters', fa.query, fb.query));
  if (fa.request !== fb.request) {
    const br = listDiff('request branches', fa.requestBranches, fb.requestBranches);
    changes.push(...(br.length ? br : ['request schema changed']));
  }
  if (fa.response !== fb.response) {
    const br = listDiff('response branches', fa.responseBranches, fb.responseBranches);
    changes.push(...(br.length ? br : ['response schema changed']));
  }
  return changes;
}

/**
 * `Class.method` → where drivers/ defines it (`drivers/sandbox/compute.ts SandboxCompute.showServer`).
 * No line numbers: the committed report must not go stale each time a driver file moves a line.
 */
export function driverMethodIndex(driversDir: string): Map<string, string> {
  const index = new Map<string, string>();
  if (!existsSync(driversDir)) return index;
  for (const backend of readdirSync(driversDir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const dir = join(driversDir, backend.name);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
      const lines = readFileSync(join(dir, file), 'utf8').split('\n');
      let cls = '';
      for (const line of lines) {
        const c = /^export class (\w+)/.exec(line);
        if (c) cls = c[1]!;
        const m = /^ {2}(?:async\s+)?(\w+)\s*\(/.exec(line);
        if (m && cls && m[1] !== 'constructor') index.set(`${cls}.${m[1]}`, `${relative(ROOT, join(dir, file))} ${cls}.${m[1]}`);
      }
    }
  }
  return index;
}

/** Per backend, the driver class of a service and the methods it has. */
export interface ServiceDrivers {
  backend: string;
  className: string;
  methods: Set<string>;
}

export function diffService(service: ServiceInfo, fromDir: string, toDir: string, index: Map<string, string>, drivers: ServiceDrivers[]): ServiceDiff {
  const patches = join(ROOT, 'specs/patches');
  const a = loadService(service, fromDir, patches, { lenient: true });
  const b = loadService(service, toDir, patches, { lenient: true });
  const byA = new Map(a.rows.map((r) => [r.id, r]));
  const byB = new Map(b.rows.map((r) => [r.id, r]));
  const entry = (r: OperationModel, changes: string[]): OperationChange => ({
    id: r.id, method: r.method, path: r.path, action: r.action, driverMethod: r.driverMethod, changes,
    affects: r.headOf ? [] : drivers.filter((d) => d.methods.has(r.driverMethod))
      .map((d) => index.get(`${d.className}.${r.driverMethod}`) ?? `${d.backend}: ${d.className}.${r.driverMethod}`),
  });
  const mv = (l: LoadedService) => (l.meta.minMicroversion ? `${l.meta.minMicroversion}..${l.meta.maxMicroversion}` : null);
  const diff: ServiceDiff = {
    service: service.name,
    from: { version: a.meta.specVersion, operations: a.meta.upstreamOperations, rows: a.rows.length, microversions: mv(a) },
    to: { version: b.meta.specVersion, operations: b.meta.upstreamOperations, rows: b.rows.length, microversions: mv(b) },
    added: [], removed: [], changed: [],
  };
  for (const r of b.rows) if (!byA.has(r.id)) diff.added.push(entry(r, [`new in ${b.meta.specVersion}${r.minVersion ? `, from microversion ${r.minVersion}` : ''}`]));
  for (const r of a.rows) if (!byB.has(r.id)) diff.removed.push(entry(r, [`gone in ${b.meta.specVersion}`]));
  for (const r of b.rows) {
    const old = byA.get(r.id);
    if (!old) continue;
    const changes = compareRows(a, old, b, r);
    if (changes.length) diff.changed.push(entry(r, changes));
  }
  return diff;
}

export function renderDiff(diffs: ServiceDiff[], from: string, to: string): string {
  const out: string[] = [];
  out.push(`# Spec diff: ${from} → ${to}`, '');
  out.push('Generated by `make spec-diff` (scripts/spec-diff). Operations are compared by stable id after the patches in specs/patches/.', '');
  out.push('| service | version | microversions | upstream operations | served operations | added | removed | changed |');
  out.push('|---|---|---|---:|---:|---:|---:|---:|');
  for (const d of diffs) {
    const v = d.from.version === d.to.version ? d.to.version : `${d.from.version} → ${d.to.version}`;
    const mv = d.from.microversions === d.to.microversions ? d.to.microversions ?? '' : `${d.from.microversions} → ${d.to.microversions}`;
    const n = (x: number, y: number) => (x === y ? `${y}` : `${x} → ${y}`);
    out.push(`| ${d.service} | ${v} | ${mv} | ${n(d.from.operations, d.to.operations)} | ${n(d.from.rows, d.to.rows)} | ${d.added.length} | ${d.removed.length} | ${d.changed.length} |`);
  }
  const affected = diffs.flatMap((d) => [...d.changed, ...d.removed].flatMap((c) => c.affects.map((w) => `${w} (${c.id})`)));
  out.push('', '## Driver methods affected', '');
  if (affected.length) for (const a of [...new Set(affected)].sort()) out.push(`- ${a}`);
  else out.push('None: no driver implements a changed or removed operation.');
  for (const d of diffs) {
    if (!d.added.length && !d.removed.length && !d.changed.length) continue;
    out.push('', `## ${d.service}`, '');
    for (const [title, list] of [['Added', d.added], ['Removed', d.removed], ['Changed', d.changed]] as const) {
      if (!list.length) continue;
      out.push(`### ${title}`, '');
      for (const c of list) {
        out.push(`- \`${c.id}\` ${c.method} \`${c.path}\`${c.action ? ` (${c.action})` : ''} → \`${c.driverMethod}\``);
        for (const ch of c.changes) out.push(`  - ${ch}`);
        for (const w of c.affects) out.push(`  - affects ${w}`);
      }
      out.push('');
    }
  }
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' }, check: { type: 'boolean', default: false } } });
  const fromDir = resolve(values.from ?? join(ROOT, 'specs/previous'));
  const toDir = resolve(values.to ?? join(ROOT, 'specs'));
  const index = driverMethodIndex(join(ROOT, 'drivers'));
  const modules = await Promise.all(Object.values(BACKENDS).map(async (load) => (await load()).default));
  const diffs: ServiceDiff[] = [];
  for (const s of SERVICES) {
    const drivers: ServiceDrivers[] = [];
    for (const m of modules) {
      const cls = m.classes[s.id as ServiceId] as DriverClass<unknown> | undefined;
      if (cls) drivers.push({ backend: m.name, className: cls.name, methods: classMethods(cls) });
    }
    const d = diffService(s, fromDir, toDir, index, drivers);
    diffs.push(d);
    console.log(`spec-diff: ${s.name.padEnd(14)} ${d.from.version} → ${d.to.version}: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed`);
  }
  const fromName = relative(ROOT, fromDir) || '.';
  const toName = relative(ROOT, toDir) || '.';
  const md = renderDiff(diffs, fromName, toName);
  const json = JSON.stringify({ from: fromName, to: toName, services: diffs }, null, 1) + '\n';
  if (values.out && values.check) {
    const out = resolve(values.out);
    const stale = [[`${out}.md`, md], [`${out}.json`, json]].filter(([f, t]) => !existsSync(f!) || readFileSync(f!, 'utf8') !== t);
    if (stale.length) {
      console.error(`spec-diff: ${stale.map(([f]) => relative(ROOT, f!)).join(', ')} stale, run \`make spec-diff\``);
      process.exit(1);
    }
    console.log('spec-diff: report is up to date');
  } else if (values.out) {
    const out = resolve(values.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.md`, md);
    writeFileSync(`${out}.json`, json);
    console.log(`spec-diff: wrote ${relative(ROOT, out)}.md and .json`);
  } else {
    process.stdout.write(md);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => { console.error(err); process.exit(1); });
}
