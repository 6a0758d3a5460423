/**
 * One service through the pipeline: imported spec + patches → model → files.
 * Shared by `make regen` (codegen/index.ts) and scripts/spec-diff.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import type { ServiceInfo } from './services.js';
import { listOperations, parseYaml, sha256, type JsonObject } from './spec-import.js';
import { applyPatches, loadPatches, type Overrides } from './patches.js';
import { buildModel, compareVersions, type OperationModel } from './model.js';
import { toRequestSpec, toRuntimeSpec } from './runtime-spec.js';
import { emitDriver, emitOperations, header, type ServiceMeta } from './emit.js';
import { HTTP_METHODS } from './spec-import.js';

export interface LoadedService {
  service: ServiceInfo;
  doc: JsonObject;
  /** the document the types are generated from (patches scoped to types applied) */
  typesDoc: JsonObject;
  rows: OperationModel[];
  overrides: Overrides;
  meta: ServiceMeta;
  /** sha256 of the imported spec and of its patch file together */
  inputHash: string;
}

/** Highest and lowest microversion a document names, for services that have them. */
function microversionRange(service: ServiceInfo, doc: JsonObject): { min: string | null; max: string | null } {
  if (!service.microversion) return { min: null, max: null };
  const version = String((doc.info as JsonObject).version);
  return { min: service.microversion.defaultVersion, max: version };
}

export function loadService(service: ServiceInfo, specsDir: string, patchesDir: string, opts: { lenient?: boolean } = {}): LoadedService {
  const specFile = join(specsDir, `${service.name}.yaml`);
  const patchFile = join(patchesDir, `${service.name}.yaml`);
  const specText = readFileSync(specFile, 'utf8');
  const doc = parseYaml(specText);
  const typesDoc = structuredClone(doc);
  const upstreamOperations = listOperations(doc).length;
  const entries = loadPatches(patchFile);
  const overrides = applyPatches(doc, entries, `specs/patches/${service.name}.yaml`, opts);
  applyPatches(typesDoc, entries, `specs/patches/${service.name}.yaml`, { ...opts, target: 'types' });
  const rows = buildModel(service, doc, overrides);
  const range = microversionRange(service, doc);
  let patchText = '';
  try { patchText = readFileSync(patchFile, 'utf8'); } catch { /* no patches */ }
  const meta: ServiceMeta = {
    service,
    specVersion: String((doc.info as JsonObject).version),
    specSha256: sha256(specText),
    upstreamOperations,
    minMicroversion: range.min,
    maxMicroversion: range.max,
    patches: overrides.applied,
  };
  return { service, doc, typesDoc, rows, overrides, meta, inputHash: sha256(specText + '\0' + patchText) };
}

/** The document openapi-typescript sees: stable operationIds, nothing else changed. */
function typesDocument(doc: JsonObject, rows: OperationModel[]): JsonObject {
  const byKey = new Map(rows.map((r) => [`${r.method} ${r.path}`, r] as const));
  const out = structuredClone(doc);
  for (const [path, item] of Object.entries(out.paths as JsonObject)) {
    for (const m of HTTP_METHODS) {
      const op = (item as JsonObject)[m] as JsonObject | undefined;
      if (op) op.operationId = byKey.get(`${m.toUpperCase()} ${path}`)!.specOperationId;
    }
  }
  return out;
}

export async function generateService(loaded: LoadedService): Promise<Map<string, string>> {
  const { service, doc, typesDoc, rows, meta, inputHash } = loaded;
  const input = `specs/${service.name}.yaml + specs/patches/${service.name}.yaml (sha256 ${inputHash.slice(0, 16)})`;
  const files = new Map<string, string>();
  const ast = await openapiTS(typesDocument(typesDoc, rows) as unknown as Parameters<typeof openapiTS>[0], {
    emptyObjectsUnknown: true,
    alphabetize: true,
    silent: true,
  });
  files.set('types.ts', header(`Types of the ${service.name} API, by openapi-typescript.`, input) + '/* eslint-disable */\n' + astToString(ast));
  files.set('operations.ts', emitOperations(meta, rows, input));
  files.set('driver.ts', emitDriver(meta, rows, input));
  const runtime = toRuntimeSpec(doc, rows);
  files.set('spec.json', JSON.stringify(runtime) + '\n');
  files.set('requests.json', JSON.stringify(toRequestSpec(runtime)) + '\n');
  return files;
}

export { compareVersions };
