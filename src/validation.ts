/**
 * Request (and, in tests, response) validation with openapi-backend against
 * generated/<service>/spec.json.
 *
 * Two keywords written by codegen choose the schema branch a request must
 * match: `x-stackgate-versions` by the negotiated microversion and
 * `x-stackgate-actions` by the action name. ajv validates synchronously, so
 * the selection for the request under validation is held in `current`.
 */
import { readFileSync } from 'node:fs';
import { OpenAPIBackend, type Operation, type Request as OABRequest } from 'openapi-backend';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import ipaddr from 'ipaddr.js';
import type { ServiceInfo } from '../generated/common.js';
import { versionInRange } from './microversion.js';

export interface Selection {
  microversion: string | null;
  action: string | null;
}

let current: Selection = { microversion: null, action: null };

function withSelection<T>(sel: Selection, fn: () => T): T {
  const saved = current;
  current = sel;
  try {
    return fn();
  } finally {
    current = saved;
  }
}

interface VersionCase { min: string | null; max: string | null; schema: object }

type KeywordValidate = ((data: unknown, dataCxt?: { instancePath: string }) => boolean) & { errors?: ErrorObject[] };

function prefixErrors(errors: ErrorObject[] | null | undefined, path: string): ErrorObject[] {
  return (errors ?? []).map((e) => ({ ...e, instancePath: path + e.instancePath }));
}

function addSelectionKeywords(ajv: Ajv): void {
  ajv.addKeyword({
    keyword: 'x-stackgate-versions',
    errors: true,
    compile(cases: VersionCase[]) {
      const compiled = new Map<number, ValidateFunction>();
      const sub = (i: number): ValidateFunction => {
        const known = compiled.get(i);
        if (known) return known;
        const f = ajv.compile(cases[i]!.schema);
        compiled.set(i, f);
        return f;
      };
      const validate: KeywordValidate = (data, cxt) => {
        const path = cxt?.instancePath ?? '';
        const v = current.microversion;
        if (v === null) {
          // No version to choose by (a service without microversions): any branch will do.
          for (let i = 0; i < cases.length; i++) if (sub(i)(data)) return true;
          validate.errors = prefixErrors(sub(cases.length - 1).errors, path);
          return false;
        }
        const i = cases.findIndex((c) => versionInRange(v, c.min, c.max));
        if (i < 0) {
          validate.errors = [{ keyword: 'x-stackgate-versions', instancePath: path, schemaPath: '', params: {}, message: `is not accepted at microversion ${v}` }];
          return false;
        }
        const f = sub(i);
        if (f(data)) return true;
        validate.errors = prefixErrors(f.errors, path);
        return false;
      };
      return validate;
    },
  });
  ajv.addKeyword({
    keyword: 'x-stackgate-actions',
    errors: true,
    compile(actions: Record<string, object>) {
      const compiled = new Map<string, ValidateFunction>();
      const validate: KeywordValidate = (data, cxt) => {
        const path = cxt?.instancePath ?? '';
        let name = current.action;
        if (name === null && data && typeof data === 'object' && !Array.isArray(data)) {
          const keys = Object.keys(data).filter((k) => k in actions);
          if (keys.length === 1) name = keys[0]!;
        }
        if (name === null || !(name in actions)) {
          validate.errors = [{ keyword: 'x-stackgate-actions', instancePath: path, schemaPath: '', params: {}, message: 'is not a known action' }];
          return false;
        }
        let f = compiled.get(name);
        if (!f) {
          f = ajv.compile(actions[name]!);
          compiled.set(name, f);
        }
        if (f(data)) return true;
        validate.errors = prefixErrors(f.errors, path);
        return false;
      };
      return validate;
    },
  });
}

/** `uuidutils.is_uuid_like`: Nova and Cinder accept any case, with or without dashes. */
const UUID_LIKE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
/** RFC 3339 date-time, as JSON Schema means it: the zone is required. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
/**
 * ISO 8601 as Nova, Cinder and Keystone write it with Python's isoformat():
 * the zone is often missing (`2024-01-02T03:04:05.000000`). Patches in
 * specs/patches/ switch those services' date-times to this format.
 */
const OPENSTACK_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;
const HOSTNAME = /^(?=.{1,255}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9_])?)*\.?$/;

/** Nova's `name` format: printable, without leading or trailing whitespace. */
function novaName(s: string): boolean {
  return s.length > 0 && s.trim() === s && !/[\u0000-\u001f\u007f]/.test(s);
}

const FORMATS: Record<string, (s: string) => boolean> = {
  uuid: (s) => UUID_LIKE.test(s),
  'date-time': (s) => DATE_TIME.test(s),
  'openstack-date-time': (s) => OPENSTACK_DATE_TIME.test(s),
  'keystone-id': (s) => s.length > 0 && s.length <= 64,
  'mac-address': (s) => MAC.test(s),
  ipv4: (s) => ipaddr.IPv4.isValidFourPartDecimal(s),
  ipv6: (s) => ipaddr.IPv6.isValid(s) && s.includes(':'),
  cidr: (s) => { try { ipaddr.parseCIDR(s); return true; } catch { return false; } },
  base64: (s) => BASE64.test(s),
  hostname: (s) => HOSTNAME.test(s),
  name: novaName,
  name_with_leading_trailing_spaces: (s) => s.trim().length > 0 && !/[\u0000-\u001f\u007f]/.test(s),
  regex: (s) => { try { new RegExp(s); return true; } catch { return false; } },
};

/** Every `format` named in a document: formats we do not check are accepted. */
function collectFormats(node: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => collectFormats(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'format' && typeof v === 'string') out.add(v);
      else collectFormats(v, out);
    }
  }
  return out;
}

/**
 * What a query parameter given more than once means, per operation: the
 * `x-stackgate-query-repeats` extension that specs/patches/ set on the
 * operations whose service reads repeats (each patch says why). Parameters
 * whose schema is an array (Nova's sort_key, Neutron's sort_key and tags)
 * always keep every value.
 *   last: the last value, as webob's MultiDict answers `req.GET[name]` (Nova's
 *         multi_params schemas with controllers reading one value).
 *   any:  every value, each valid by the parameter's schema, reaching the
 *         driver as a list: a filter matching any of them (Neutron). Paging
 *         parameters (PAGING_QUERY) still take the last value.
 * Without the extension a repeated scalar parameter is refused ("must be
 * string"), as Nova's single_param schemas (maxItems 1) refuse it.
 */
const REPEATS_KEY = 'x-stackgate-query-repeats';
const PAGING_QUERY = new Set(['limit', 'marker', 'page_reverse']);

type JsonNode = Record<string, unknown>;

function resolveRef(doc: JsonNode, node: unknown): JsonNode | undefined {
  let n = node as JsonNode | undefined;
  for (let i = 0; i < 10 && n && typeof n.$ref === 'string'; i++) {
    n = n.$ref.replace(/^#\//, '').split('/').reduce<unknown>((cur, k) => (cur as JsonNode | undefined)?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc) as JsonNode | undefined;
  }
  return n;
}

/**
 * Reads the repeat rule of every operation and, in `doc` (changed in place),
 * lets the scalar parameters of `any` operations also take a list of values.
 * Returns operationId → the names of the parameters whose repeats reduce to
 * their last value.
 */
function applyQueryRepeats(doc: JsonNode): Map<string, Set<string>> {
  const lastOnly = new Map<string, Set<string>>();
  for (const item of Object.values((doc.paths ?? {}) as Record<string, JsonNode>)) {
    for (const op of Object.values(item) as JsonNode[]) {
      if (!op || typeof op !== 'object' || !(REPEATS_KEY in op)) continue;
      const mode = op[REPEATS_KEY];
      if (mode !== 'last' && mode !== 'any') throw new Error(`${String(op.operationId)}: ${REPEATS_KEY} must be last or any, not ${JSON.stringify(mode)}`);
      const last = new Set<string>();
      op.parameters = ((op.parameters ?? []) as unknown[]).map((ref) => {
        const p = resolveRef(doc, ref);
        if (!p || p.in !== 'query' || typeof p.name !== 'string') return ref;
        const schema = resolveRef(doc, p.schema);
        if (!schema || schema.type === 'array') return ref;
        if (mode === 'last' || PAGING_QUERY.has(p.name)) {
          last.add(p.name);
          return ref;
        }
        return { ...p, schema: { anyOf: [schema, { type: 'array', minItems: 1, items: schema }] } };
      });
      lastOnly.set(String(op.operationId), last);
    }
  }
  return lastOnly;
}

export interface ValidationIssue {
  where: string;
  message: string;
}

/** One service's validator: spec.json loaded into openapi-backend once. */
export class ServiceValidator {
  private readonly api: OpenAPIBackend;
  /** specOperationId → query parameter names the operation declares */
  private readonly queryParams = new Map<string, Set<string>>();
  /**
   * The operations by id, looked up once: openapi-backend finds an operation
   * named by its id by rebuilding the list of all of them, on every call.
   */
  private readonly operations = new Map<string, Operation>();
  /** specOperationId → query parameters whose repeats reduce to the last value */
  private readonly lastValue: Map<string, Set<string>>;
  readonly document: Record<string, unknown>;

  constructor(readonly service: ServiceInfo, specPath: string) {
    this.document = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
    const formats = collectFormats(this.document, new Set());
    this.lastValue = applyQueryRepeats(this.document);
    this.api = new OpenAPIBackend({
      definition: this.document as never,
      quick: true,
      validate: true,
      coerceTypes: true,
      ajvOpts: { strict: false, unicodeRegExp: false, allErrors: false, logger: false },
      customizeAjv: (ajv) => {
        for (const f of formats) ajv.addFormat(f, FORMATS[f] ?? true);
        addSelectionKeywords(ajv);
        return ajv;
      },
    });
  }

  async init(): Promise<void> {
    await this.api.init();
    for (const op of this.api.getOperations()) {
      this.operations.set(op.operationId!, op);
      const names = new Set<string>();
      for (const p of (op.parameters ?? []) as { in?: string; name?: string }[]) if (p.in === 'query' && p.name) names.add(p.name);
      this.queryParams.set(op.operationId!, names);
    }
  }

  /** Query parameters the operation knows; OpenStack services ignore the others. */
  knownQuery(operationId: string, query: Record<string, unknown>): Record<string, unknown> {
    const names = this.queryParams.get(operationId);
    const out: Record<string, unknown> = {};
    if (!names) return out;
    for (const [k, v] of Object.entries(query)) if (names.has(k)) out[k] = v;
    return out;
  }

  /**
   * Validates one request. `path` is the operation's canonical path with values
   * filled in (alias routes are mapped back). Returns coerced query and path.
   */
  validateRequest(
    operationId: string,
    req: { method: string; path: string; headers: Record<string, string | string[] | undefined>; query: Record<string, unknown>; body: unknown },
    sel: Selection,
  ): { issues: ValidationIssue[]; query: Record<string, unknown>; params: Record<string, unknown> } {
    const query = this.knownQuery(operationId, req.query);
    for (const name of this.lastValue.get(operationId) ?? []) {
      const v = query[name];
      if (Array.isArray(v)) query[name] = v[v.length - 1];
    }
    const request: OABRequest = {
      method: req.method.toLowerCase(),
      path: req.path,
      headers: req.headers as OABRequest['headers'],
      query: query as OABRequest['query'],
      body: req.body,
    };
    const result = withSelection(sel, () => this.api.validateRequest(request, this.operations.get(operationId) ?? operationId));
    const coerced = (result.coerced ?? {}) as { query?: Record<string, unknown>; params?: Record<string, unknown> };
    return {
      issues: (result.errors ?? []).map(describe),
      query: coerced.query ?? query,
      params: coerced.params ?? {},
    };
  }

  /** Validates a response body against the spec (used by the contract tests). */
  validateResponse(operationId: string, status: number, body: unknown, sel: Selection): ValidationIssue[] {
    const result = withSelection(sel, () => this.api.validateResponse(body, this.operations.get(operationId) ?? operationId, status));
    return (result.errors ?? []).map(describe);
  }

  /** Compiles one operation's request validators now (start-up warming). */
  warm(operationId: string): void {
    this.api.validator.getRequestValidatorsForOperation(operationId);
  }

  operationIds(): string[] {
    return [...this.queryParams.keys()];
  }
}

function describe(e: ErrorObject): ValidationIssue {
  const where = e.instancePath.replace(/^\/requestBody/, '').replace(/^\//, '').replace(/\//g, '.') || 'body';
  const params = e.params as Record<string, unknown>;
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties' && params.additionalProperty) {
    message = `has an unexpected property '${String(params.additionalProperty)}'`;
  } else if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { where, message };
}

/** Loads every service's validator; `specPath(service)` locates its document. */
export async function loadValidators(services: readonly ServiceInfo[], specPath: (s: ServiceInfo) => string): Promise<Map<string, ServiceValidator>> {
  const out = new Map<string, ServiceValidator>();
  for (const s of services) {
    const v = new ServiceValidator(s, specPath(s));
    await v.init();
    out.set(s.name, v);
  }
  return out;
}
