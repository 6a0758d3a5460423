/**
 * The dispatcher: one @koa/router per service, built from the generated
 * operation table. Every operation gets a route; each request is negotiated
 * (microversion), checked against the operation's version range, answered 501
 * when the driver lacks the method, validated with openapi-backend, and then
 * handed to the driver.
 */
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import getRawBody from 'raw-body';
import { Readable } from 'node:stream';
import type { OperationRow, RequestContext, ServiceInfo, ServiceSpecInfo } from '../generated/common.js';
import { isReply } from '../generated/common.js';
import { Fault } from './faults.js';
import { hasJsonText, serializeJson } from './json-text.js';
import { intersect, microversionHeaders, negotiateMicroversion, versionInRange, type VersionRange } from './microversion.js';
import type { ServiceValidator, ValidationIssue } from './validation.js';
import { currentVersion, EXTRA_DISCOVERY_PATHS, versionList, type DiscoveryInput } from './discovery.js';
import type { GatewayState } from './state.js';
import { checkPolicy, isPublic } from './policy.js';
import { unauthorized } from './hooks/auth.js';

/** Any driver method: the dispatcher calls them by name from the table. */
type DriverMethod = (req: unknown) => Promise<unknown>;
type DriverObject = Record<string, unknown>;

export interface ServiceDispatchOptions {
  service: ServiceInfo;
  spec: ServiceSpecInfo;
  operations: readonly OperationRow[];
  validator: ServiceValidator;
  /** The backend's driver for this service, if it has one. */
  driver: object | undefined;
  /** Who serves the service, for 501 messages: `the sandbox backend`. */
  implementer: string;
  /** Microversions the backend serves for this service, if narrower. */
  driverRange?: { min?: string; max?: string };
  maxBodyBytes: number;
  /** Validate responses against the spec and fail on violations (contract tests). */
  contract: boolean;
}

/** `{id}` → `:id` for @koa/router (path-to-regexp). */
export function toRouterPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => `:${name.replace(/[^A-Za-z0-9_]/g, '_')}`);
}

/**
 * Route order: at the first segment where two templates differ, a literal
 * beats a parameter (`/servers/detail` before `/servers/{id}`).
 */
export function compareTemplates(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const ap = as[i]!.startsWith('{');
    const bp = bs[i]!.startsWith('{');
    if (ap !== bp) return ap ? 1 : -1;
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
}

/** Fills a path template with (already decoded) parameter values. */
function fillTemplate(template: string, params: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(params[name.replace(/[^A-Za-z0-9_]/g, '_')] ?? ''));
}

/** Which 2xx a successful call answers at this microversion. */
export function successStatus(row: OperationRow, mv: string | null): number {
  const rule = row.success.find((s) => versionInRange(mv, s.min ?? null, s.max ?? null));
  return (rule ?? row.success[0])?.status ?? 200;
}

const JSON_TYPES = /^application\/([\w.-]+\+)?json$|^application\/openstack-images-v2\.\d+-json-patch$/i;

async function readJsonBody(ctx: Context, limit: number, required: boolean): Promise<unknown> {
  const type = (ctx.get('content-type') || '').split(';')[0]!.trim();
  const length = ctx.get('content-length');
  const chunked = /chunked/i.test(ctx.get('transfer-encoding'));
  if (!chunked && (length === '' || length === '0')) {
    if (required) throw Fault.badRequest('The request body is missing; this operation needs a JSON body.');
    return undefined;
  }
  if (type && !JSON_TYPES.test(type)) {
    throw new Fault('badMediaType', `Unsupported Content-Type: ${type}. Send application/json.`);
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit, encoding: 'utf8', length: length || undefined });
  } catch (err) {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large' || e.status === 413) {
      throw new Fault('overLimit', `Request body is larger than the limit of ${limit} bytes.`);
    }
    throw Fault.badRequest(`Could not read the request body: ${(err as Error).message}`);
  }
  if (text.trim() === '') {
    if (required) throw Fault.badRequest('The request body is missing; this operation needs a JSON body.');
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw Fault.badRequest(`Malformed request body: ${(err as Error).message}`);
  }
}

function validationFault(issues: ValidationIssue[]): Fault {
  const first = issues[0]!;
  const rest = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return Fault.badRequest(`Invalid input for field/attribute ${first.where}: ${first.message}${rest}`);
}

/** Koa's `ctx.query` values are strings or arrays of strings. */
function plainQuery(ctx: Context): Record<string, string | string[]> {
  return { ...ctx.query } as Record<string, string | string[]>;
}

interface RouteGroup {
  method: string;
  /** template under the service prefix */
  template: string;
  /** the operation's own template (differs for alias routes) */
  canonical: string;
  rows: OperationRow[];
  isAction: boolean;
  isAlias: boolean;
}

function groupRoutes(operations: readonly OperationRow[]): RouteGroup[] {
  const groups = new Map<string, RouteGroup>();
  for (const row of operations) {
    // HEAD rows that mirror a GET are served by the GET route (Koa answers HEAD without a body).
    if (row.headOf) continue;
    for (const template of [row.path, ...(row.aliases ?? [])]) {
      const key = `${row.method} ${template}`;
      const g = groups.get(key) ?? { method: row.method, template, canonical: row.path, rows: [], isAction: false, isAlias: template !== row.path };
      g.rows.push(row);
      g.isAction = g.isAction || row.action !== null;
      groups.set(key, g);
    }
  }
  return [...groups.values()].sort((a, b) => compareTemplates(a.template, b.template) || a.method.localeCompare(b.method));
}

export interface ServiceRouter {
  router: Router;
  range: VersionRange | null;
}

/** Builds the router of one service. */
export function buildServiceRouter(opts: ServiceDispatchOptions): ServiceRouter {
  const { service, spec, operations, validator, driver, implementer } = opts;
  const range = spec.minMicroversion && spec.maxMicroversion
    ? intersect({ min: spec.minMicroversion, max: spec.maxMicroversion }, opts.driverRange)
    : null;
  // Strict: `/v3/volumes/` is not `/v3/volumes`, and a blank id is a 404 as in
  // Nova, Cinder, Glance and Neutron, not the list or a 405. Paths carry the
  // service prefix themselves.
  const router = new Router<GatewayState>({ strict: true });
  const at = (template: string) => `${service.prefix}${toRouterPath(template)}`;

  const discoveryInput = (ctx: Context): DiscoveryInput => ({
    service, root: `${(ctx.state as GatewayState).publicBase}${(ctx.state as GatewayState).regionPrefix}${service.prefix}`, specVersion: spec.version, range,
  });

  const headRows = new Map(operations.filter((r) => r.headOf).map((r) => [r.headOf!, r]));

  const negotiate = (ctx: Context): string | null => {
    // Version headers go out on every answer of a microversioned service, errors included.
    const mv = range ? negotiateMicroversion(service, ctx.headers, range) : null;
    ctx.set(microversionHeaders(service, mv));
    return mv;
  };

  const handle = (group: RouteGroup): Middleware => async (ctx) => {
    const state = ctx.state as GatewayState;
    const mv = negotiate(ctx);
    const params = { ...(ctx.params as Record<string, string>) };
    // A token is needed before anything else is looked at (bodies included).
    const isPublicGroup = group.rows.every(isPublic);
    if (!isPublicGroup && state.authEnabled !== false && !state.auth) {
      throw unauthorized(state.publicBase, state.authError);
    }

    // Version documents are the gateway's own.
    if (group.rows[0]!.servedBy === 'gateway') {
      const input = discoveryInput(ctx);
      // `/v2.1/versions/{id}` names the version it shows.
      if (params.id !== undefined && params.id !== `v${spec.version.split('.')[0]}` && params.id !== 'v2.1') {
        throw Fault.notFound(`Version ${params.id} could not be found.`);
      }
      const doc = group.rows[0]!.id.endsWith('.list') || group.rows[0]!.id.endsWith('.check_list') ? versionList(input) : currentVersion(input);
      ctx.status = doc.status;
      ctx.body = doc.body;
      return;
    }

    let row: OperationRow;
    let body: unknown;
    if (group.isAction) {
      body = await readJsonBody(ctx, opts.maxBodyBytes, true);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw Fault.badRequest('Malformed request body: an action body is a JSON object with one key, the action name.');
      }
      const keys = Object.keys(body);
      const named = group.rows.filter((r) => keys.includes(r.action!));
      const inRange = named.filter((r) => versionInRange(mv, r.minVersion, r.maxVersion));
      if (inRange.length === 0) {
        if (named.length) throw Fault.notFound(`Action ${named[0]!.action} is not available at microversion ${mv}.`);
        throw Fault.badRequest(`There is no such action: ${keys[0] ?? '(empty body)'}`);
      }
      if (inRange.length > 1) throw Fault.badRequest(`Only one action per request: got ${inRange.map((r) => r.action).join(', ')}`);
      row = inRange[0]!;
    } else {
      row = group.rows[0]!;
      if (!versionInRange(mv, row.minVersion, row.maxVersion)) {
        throw Fault.notFound(`The resource could not be found: ${row.method} ${service.prefix}${row.path} is not available at microversion ${mv}.`);
      }
    }
    state.operationId = row.id;

    // Who may call it comes before whether it is implemented: a member asking
    // for an admin operation hears 403 whatever the backend.
    const projectId = group.isAlias ? params.project_id ?? params.admin_project_id : undefined;
    const verdict = state.auth && !isPublic(row) ? checkPolicy(row, state.auth, ctx.query as Record<string, unknown>, projectId) : undefined;
    const fn = driver ? (driver as DriverObject)[row.driverMethod] : undefined;
    if (typeof fn !== 'function') {
      throw Fault.notImplemented(
        `${row.id} (${row.method} ${service.prefix}${row.path}${row.action ? ` ${row.action}` : ''}) is not implemented by ${implementer}.`);
    }
    // A list the caller may not see any of (Neutron's policy-filtered lists), from a backend that serves it.
    if (verdict) {
      ctx.status = 200;
      ctx.body = { [verdict.emptyList]: [] };
      return;
    }

    if (!group.isAction && row.requestBody && row.method !== 'GET' && row.method !== 'HEAD') {
      if (row.requestBody === 'application/octet-stream') {
        const type = (ctx.get('content-type') || '').split(';')[0]!.trim();
        if (type && type !== 'application/octet-stream') {
          throw new Fault('badMediaType', `Unsupported Content-Type: ${type}. Send application/octet-stream.`);
        }
        body = ctx.req; // streamed to the driver, never buffered here
      } else {
        body = await readJsonBody(ctx, opts.maxBodyBytes, row.requestBodyRequired);
      }
    }

    // A JSON body sent without a media type (none, or `;;;`) was read as JSON: validate it as JSON too.
    const mediaType = (ctx.get('content-type') || '').split(';')[0]!.trim();
    const headers = body !== undefined && !(body instanceof Readable) && mediaType === ''
      ? { ...ctx.headers, 'content-type': 'application/json' }
      : ctx.headers;
    const validated = validator.validateRequest(row.specOperationId, {
      method: row.method,
      path: fillTemplate(group.canonical, params),
      headers,
      query: plainQuery(ctx),
      body: body instanceof Readable ? undefined : body,
    }, { microversion: mv, action: row.action });
    if (validated.issues.length) throw validationFault(validated.issues);

    const context: RequestContext = {
      requestId: state.requestId,
      method: ctx.method,
      service: service.name,
      operationId: row.id,
      microversion: mv,
      region: state.region,
      endpoint: `${state.publicBase}${state.regionPrefix}${service.prefix}`,
      url: `${state.publicBase}${ctx.originalUrl}`,
      auth: state.auth ?? null,
      ...(projectId ? { urlProjectId: projectId } : {}),
      signal: state.signal,
    };
    const pathParams: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (v !== undefined) pathParams[k] = v;
    // Parameters the spec does not list still reach the driver: Keystone and
    // Neutron filter lists by any attribute (`?name=`, `?type=`).
    const query = { ...plainQuery(ctx), ...validated.query };
    const result = await (fn as DriverMethod).call(driver, {
      path: pathParams, query, body, headers: ctx.headers, context,
    });

    // A HEAD served by its GET route answers the HEAD row's status when it has its own.
    const headRow = ctx.method === 'HEAD' ? headRows.get(row.id) : undefined;
    let status = successStatus(headRow ?? row, mv);
    let out: unknown = result;
    if (isReply(result)) {
      out = result.body;
      if (result.status) status = result.status;
      ctx.set(result.headers);
    }
    // Rows a driver serialised already (JsonText) are copied in, not serialised again.
    const json = hasJsonText(out) ? serializeJson(out) : undefined;
    // Errors a driver passes on as they came (the passthrough's upstream faults) are not checked.
    if (opts.contract && status < 400 && out !== undefined && !(out instanceof Readable) && !Buffer.isBuffer(out)) {
      const issues = validator.validateResponse(row.specOperationId, status, json === undefined ? out : JSON.parse(json.toString('utf8')), { microversion: mv, action: row.action });
      if (issues.length) {
        const text = issues.slice(0, 5).map((i) => `${i.where} ${i.message}`).join('; ');
        throw new Fault('internal', `response of ${row.id} violates the spec: ${text}`, { headers: { 'X-Stackgate-Contract-Violation': text.slice(0, 1000) } });
      }
    }
    if (out === undefined || out === null || status === 204) {
      ctx.body = '';
      ctx.remove('Content-Type');
    } else if (json !== undefined) {
      // The type Koa gives an object body (a Buffer would be application/octet-stream), unless the driver set one.
      if (!ctx.response.get('Content-Type')) ctx.type = 'application/json; charset=utf-8';
      ctx.body = json;
    } else {
      ctx.body = out;
    }
    ctx.status = status;
  };

  /** Version documents answer with and without the trailing slash (`/v2.1/`, `/v3`, `/compute`). */
  const bothSlashes = (path: string) => (path.endsWith('/') ? [path, path.slice(0, -1)] : [path, `${path}/`]).filter(Boolean);

  for (const group of groupRoutes(operations)) {
    const path = at(group.template);
    // Keystone (Flask) takes a trailing slash on any route (Tempest lists trusts as `OS-TRUST/trusts/`).
    const paths = group.rows[0]!.servedBy === 'gateway' || service.name === 'identity' ? bothSlashes(path) : [path];
    for (const p of paths) router.register(p, [group.method], handle(group), { name: `${group.method} ${group.template}` });
  }

  // Version documents the spec does not list.
  for (const extra of EXTRA_DISCOVERY_PATHS[service.name] ?? []) {
    for (const p of bothSlashes(at(extra.path))) {
      router.get(p, (ctx) => {
        negotiate(ctx);
        const input = discoveryInput(ctx);
        const doc = extra.doc === 'list' ? versionList(input) : currentVersion(input);
        ctx.status = doc.status;
        ctx.body = doc.body;
      });
    }
  }
  return { router, range };
}
