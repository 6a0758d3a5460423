/**
 * Spec import: verify the pinned upstream files, keep their facts, drop their
 * prose. Used by scripts/import-specs and by the tests that check freshness.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface ManifestRow {
  service: string;
  file: string;
  sha256: string;
  source: string;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** Reads MANIFEST.tsv (header line: service, file, sha256, source). */
export function readManifest(dir: string): ManifestRow[] {
  const text = readFileSync(join(dir, 'MANIFEST.tsv'), 'utf8');
  const [header, ...lines] = text.split('\n').filter((l) => l.trim() !== '');
  const cols = header!.split('\t');
  const want = ['service', 'file', 'sha256', 'source'];
  if (want.some((c, i) => cols[i] !== c)) {
    throw new Error(`${dir}/MANIFEST.tsv: expected columns ${want.join(', ')}, found ${cols.join(', ')}`);
  }
  return lines.map((line, i) => {
    const [service, file, sha256, source] = line.split('\t');
    if (!service || !file || !sha256 || !source) {
      throw new Error(`${dir}/MANIFEST.tsv line ${i + 2}: expected 4 tab-separated fields`);
    }
    return { service, file, sha256, source };
  });
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Keys that are human prose, not facts: dropped wherever they are keywords. */
const PROSE_KEYS = new Set(['description', 'summary', 'example', 'examples', 'externalDocs', 'title']);

/**
 * Keys whose object value is a map from user-chosen names to nodes: the names
 * are kept even when they read "description" (a flavor has a `description`).
 */
const NAME_MAP_KEYS = new Set([
  'properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas',
  'paths', 'schemas', 'parameters', 'headers', 'responses', 'content',
  'securitySchemes', 'requestBodies', 'callbacks', 'links', 'encoding', 'variables',
]);

/** Keys whose value is data, copied as is (defaults, enums, vendor extensions). */
const VERBATIM_KEYS = new Set(['default', 'const', 'enum', 'required', 'x-openstack', 'security']);

/** Returns a copy of an OpenAPI document without prose. */
export function stripProse(doc: JsonObject): JsonObject {
  const out = stripNode(doc) as JsonObject;
  // info keeps the API name and version; tags keep their names.
  const info = (doc.info ?? {}) as JsonObject;
  out.info = { title: info.title ?? '', version: info.version ?? '' };
  if (Array.isArray(doc.tags)) {
    out.tags = doc.tags.map((t) => ({ name: (t as JsonObject).name ?? '' }));
  }
  return out;
}

function stripNode(node: Json): Json {
  if (Array.isArray(node)) return node.map(stripNode);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (PROSE_KEYS.has(key)) continue;
    if (VERBATIM_KEYS.has(key)) {
      out[key] = value;
    } else if (NAME_MAP_KEYS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const map: JsonObject = {};
      for (const [name, child] of Object.entries(value)) map[name] = stripNode(child);
      out[key] = map;
    } else {
      out[key] = stripNode(value);
    }
  }
  return out;
}

/** Operations in a document: one per (path, method). */
export function listOperations(doc: JsonObject): { path: string; method: string; op: JsonObject }[] {
  const ops: { path: string; method: string; op: JsonObject }[] = [];
  const paths = (doc.paths ?? {}) as JsonObject;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of HTTP_METHODS) {
      const op = (item as JsonObject)[method];
      if (op && typeof op === 'object') ops.push({ path, method, op: op as JsonObject });
    }
  }
  return ops;
}

export function parseYaml(text: string): JsonObject {
  return YAML.parse(text, { maxAliasCount: -1 }) as JsonObject;
}

/** Deterministic YAML: no line folding, no anchors, stable key order. */
export function toYaml(doc: Json): string {
  return YAML.stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false, sortMapEntries: false });
}
