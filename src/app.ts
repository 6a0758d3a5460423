/**
 * The gateway: Koa, the hooks in their fixed order, and one router per service
 * built from the generated tables. Wiring only; the work is in the modules.
 *
 * Hook order (each request passes them top to bottom):
 *   request id → access log → faults → service context → (auth → rate limit → audit) → routers
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import { SERVICES } from '../generated/services.js';
import type { ServiceInfo } from '../generated/common.js';
import { ConfigError, auditFile, keyDir, regionConfig, type Config } from './config.js';
import { Fault } from './faults.js';
import { createLogger } from './log.js';
import { TABLES } from './tables.js';
import { loadValidators, type ServiceValidator } from './validation.js';
import { buildServiceRouter } from './dispatch.js';
import { requestIdHook } from './hooks/request-id.js';
import { accessLogHook } from './hooks/access-log.js';
import { faultHook } from './hooks/faults.js';
import type { GatewayState } from './state.js';
import { authHook } from './hooks/auth.js';
import { createRateLimitStore, rateLimitHook } from './hooks/rate-limit.js';
import { auditHook, openAuditFile } from './hooks/audit.js';
import { openStore } from './store/index.js';
import { answerClientError } from './client-errors.js';
import type { Store } from './store/store.js';
import { IdentityStore } from './identity/store.js';
import { KeyRepository } from './identity/keys.js';
import { TokenSealer } from './identity/tokens.js';
import { IdentityService } from './identity/service.js';
import { authPlugin } from './identity/auth.js';
import { seedCatalog } from './identity/catalog.js';
import { KeystoneIdentity } from './identity/keystone.js';
import { identityV2Router } from './identity/v2.js';
import { loadBackendModule } from '../drivers/registry.js';
import type { Backend, BackendModule, DriverSet } from '../drivers/types.js';

/** The project root (holds generated/), from src/ or from dist/src/. */
export function projectRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', '../..']) {
    const root = resolve(here, up);
    if (existsSync(join(root, 'generated', 'compute', 'spec.json'))) return root;
  }
  throw new Error(`cannot find generated/ above ${here}; run \`make regen\``);
}

/** One region of the catalog and the backend behind it. */
export interface GatewayRegion {
  readonly name: string;
  /** '' for the first region, `/region/<name>` for the others. */
  readonly prefix: string;
  readonly backendModule: BackendModule;
  readonly backend: Backend;
}

export interface Gateway {
  readonly app: Koa<GatewayState>;
  readonly config: Config;
  readonly logger: Logger;
  /** The first region's backend. */
  readonly backend: Backend;
  readonly backendModule: BackendModule;
  /** Every region, the first one first. */
  readonly regions: readonly GatewayRegion[];
  readonly validators: Map<string, ServiceValidator>;
  readonly store: Store;
  readonly identity: IdentityService;
  /** The driver serving each service in the first region: the backend's, and the gateway's Keystone for identity. */
  readonly drivers: Partial<DriverSet>;
  /** Starts listening; resolves with the bound URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  /** A ready backend (tests), instead of the one the config names. */
  backend?: { module: BackendModule; backend: Backend };
  /** A store to use instead of opening the configured one (tests). */
  store?: Store;
}

/**
 * Opens the store, key repository and identity service a gateway (or the CLI)
 * works with. Only `stackgate init` creates keys: a gateway that made its own
 * would not validate the tokens of the others sharing its store.
 */
export function openIdentity(config: Config, store?: Store, opts: { createKeys?: boolean } = {}): { store: Store; identity: IdentityService; keys: KeyRepository } {
  const keys = new KeyRepository(keyDir(config));
  if (opts.createKeys) keys.ensure();
  else if (keys.load().ids().length === 0) {
    throw new ConfigError(`no token keys in ${keyDir(config)} (identity.keyDir): run \`stackgate init\`, or \`stackgate keys rotate\` to make one`);
  }
  const opened = store ?? openStore(config);
  const plugins = config.identity.auth.map((name) => {
    const p = authPlugin(name, config);
    if (!p) throw new Error(`unknown auth plugin ${name}`);
    return p;
  });
  // The token cache must notice this process's own writes too: changeEpoch, not readEpoch.
  const identity = new IdentityService(new IdentityStore(opened), new TokenSealer(keys), plugins, config.identity.tokenTtlSeconds * 1000, {
    passwordCacheSeconds: config.identity.passwordCacheSeconds, ...(opened.changeEpoch ? { changes: () => opened.changeEpoch!() } : {}),
  });
  return { store: opened, identity, keys };
}

/** The identity driver that forwards Keystone's admin operations upstream (drivers/openstack/identity.ts). */
async function upstreamIdentity(config: Config, local: KeystoneIdentity, logger: Logger) {
  const authUrl = config.identity.upstreamKeystone.authUrl;
  if (!authUrl) throw new ConfigError('identity.upstreamKeystone.forwardAdmin needs identity.upstreamKeystone.authUrl');
  const [{ OpenStackCloud }, { OpenStackIdentity }] = await Promise.all([import('../drivers/openstack/cloud.js'), import('../drivers/openstack/identity.js')]);
  const cloud = new OpenStackCloud({
    // Only the caller's own upstream token: no service account stands in for Keystone's admin operations.
    config: { ...config.openstack, credentials: 'user', serviceAccount: null, timeoutMs: config.identity.upstreamKeystone.timeoutMs },
    authUrl, region: 'identity', logger: logger.child({ upstream: 'keystone' }),
    breaker: { failures: config.breaker.failures, openMs: config.breaker.openSeconds * 1000 },
  });
  return new OpenStackIdentity(cloud, local) as unknown as DriverSet['identity'];
}

/** Runs middleware in turn, as Koa would (routers call next when no route matches). */
function chain(stack: readonly Middleware<GatewayState>[]): Middleware<GatewayState> {
  return (ctx, next) => {
    const run = (i: number): Promise<void> => (i === stack.length ? next() : Promise.resolve(stack[i]!(ctx, () => run(i + 1))));
    return run(0);
  };
}

/** `/region/<name>/rest` → the region's name and the rest of the path. */
const REGION_PATH = /^\/region\/([^/]+)(\/.*)?$/;

/** Finds the service whose prefix the path starts with. */
function serviceFor(path: string): ServiceInfo | undefined {
  return SERVICES.find((s) => path === s.prefix || path.startsWith(`${s.prefix}/`));
}

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.log.level);
  const root = projectRoot();
  // Response schemas are only needed to check responses (contract mode).
  const document = config.contract ? 'spec.json' : 'requests.json';
  const validators = await loadValidators(SERVICES, (s) => join(root, 'generated', s.name, document));
  const { store, identity } = openIdentity(config, opts.store);
  if (identity.store.list('user').length === 0) logger.warn('no users yet: run `stackgate init` to create the admin user');

  // The first region is `region` + `backend` (or the backend a test hands in); then `regions`.
  const regions: GatewayRegion[] = [];
  try {
    const firstModule = opts.backend?.module ?? await loadBackendModule(config.backend);
    const firstBackend = opts.backend?.backend ?? await firstModule.create({ config, logger, store });
    regions.push({ name: config.region, prefix: '', backendModule: firstModule, backend: firstBackend });
    for (const r of config.regions) {
      const module = await loadBackendModule(r.backend);
      const backend = await module.create({ config: regionConfig(config, r), logger: logger.child({ region: r.name }), store });
      regions.push({ name: r.name, prefix: `/region/${encodeURIComponent(r.name)}`, backendModule: module, backend });
    }
  } catch (err) {
    await Promise.all(regions.map((r) => r.backend.close()));
    throw err;
  }
  const [first] = regions as [GatewayRegion];
  const backendModule = first.backendModule;
  const backend = first.backend;
  seedCatalog(identity, regions.map((r, i) => ({
    name: r.name,
    prefix: r.prefix,
    // The first region lists every service (unimplemented ones answer 501); the others what their backend serves.
    services: i === 0 ? SERVICES.map((s) => s.name) : SERVICES.filter((s) => r.backend.drivers[s.id as keyof DriverSet]).map((s) => s.name),
  })));
  // Keystone is the gateway's own unless the backend brings one; with forwardAdmin its
  // user, project and role operations go to the upstream Keystone.
  const keystone = new KeystoneIdentity(identity);
  const drivers: Partial<DriverSet> = {
    identity: config.identity.upstreamKeystone.forwardAdmin ? await upstreamIdentity(config, keystone, logger) : keystone,
    ...backend.drivers,
  };
  const audit = config.hooks.audit ? openAuditFile(auditFile(config)) : null;

  const app = new Koa<GatewayState>({ proxy: config.trustProxy });
  app.silent = true; // errors are rendered and logged by faultHook

  app.use(requestIdHook());
  app.use(accessLogHook(logger));
  app.use(faultHook(logger));
  const byName = new Map(regions.map((r) => [r.name, r]));
  app.use(async (ctx, next) => {
    ctx.state.region = config.region;
    ctx.state.regionPrefix = '';
    const inRegion = REGION_PATH.exec(ctx.path);
    if (inRegion) {
      let name: string;
      try {
        name = decodeURIComponent(inRegion[1]!);
      } catch {
        name = '';
      }
      const region = byName.get(name);
      if (!region || region === first) throw Fault.notFound(`There is no region ${name} at this path.`);
      ctx.state.region = region.name;
      ctx.state.regionPrefix = region.prefix;
      ctx.path = inRegion[2] ?? '/';
    }
    // Neutron accepts a `.json` suffix on any resource (`/v2.0/networks.json`).
    if (ctx.path.startsWith('/network/') && ctx.path.endsWith('.json')) ctx.path = ctx.path.slice(0, -'.json'.length);
    ctx.state.service = serviceFor(ctx.path);
    ctx.state.publicBase = config.publicUrl ?? `${ctx.protocol}://${ctx.host}`;
    // The response's close, not the request's: a request closes as soon as its
    // body has been read, while the client may still be waiting for the answer.
    const abort = new AbortController();
    const onClose = () => { if (!ctx.res.writableEnded) abort.abort(); };
    ctx.res.once('close', onClose);
    ctx.state.signal = abort.signal;
    ctx.state.authEnabled = config.hooks.auth;
    try {
      await next();
    } finally {
      ctx.res.off('close', onClose);
    }
    // Nothing answered: an unknown path, a wrong method, an unknown method.
    if (ctx.body === undefined || ctx.body === null) {
      if (ctx.status === 404) throw Fault.notFound('The resource could not be found.');
      if (ctx.status === 405) {
        throw new Fault('badMethod', `The method ${ctx.method} is not allowed for this resource.`, { headers: { Allow: ctx.response.get('Allow') } });
      }
      if (ctx.status === 501) throw Fault.notImplemented(`The method ${ctx.method} is not implemented.`);
    }
  });

  if (config.hooks.auth) app.use(authHook(identity));
  const { read, write, auth: authRule } = config.rateLimit;
  const rateLimitStore = config.hooks.rateLimit ? await createRateLimitStore(config.rateLimit, logger) : null;
  if (rateLimitStore) app.use(rateLimitHook({ rules: { read, write, auth: authRule }, store: rateLimitStore }));
  if (audit) app.use(auditHook({ write: (line) => audit.write(line), onError: (err) => logger.error({ err }, 'audit write failed') }));

  const v2 = identityV2Router(identity);
  app.use(v2.routes());
  app.use(v2.allowedMethods());

  const routerFor = (service: (typeof SERVICES)[number], region: GatewayRegion, driver: object | undefined): Middleware<GatewayState>[] => {
    const table = TABLES[service.name];
    if (!table) throw new Error(`no generated table for ${service.name}`);
    const { router } = buildServiceRouter({
      service,
      spec: table.spec,
      operations: table.operations,
      validator: validators.get(service.name)!,
      driver,
      implementer: service.id === 'identity' && !backend.drivers.identity
        ? 'the gateway\'s Keystone'
        : `the ${region.backendModule.name} backend${region === first ? '' : ` of region ${region.name}`}`,
      driverRange: region.backendModule.microversions?.[service.id as 'compute' | 'volume' | 'placement'],
      maxBodyBytes: config.limits.maxBodyBytes,
      contract: config.contract,
    });
    return [router.routes() as Middleware<GatewayState>, router.allowedMethods() as Middleware<GatewayState>];
  };
  // Keystone is one for all regions; every other service has a router per region.
  // A request goes to its service's router only: each router tests its routes
  // one by one, and a compute request went past all of Keystone's first.
  // Routes live under their service's prefix, so the answer is the same.
  const identityService = SERVICES.find((s) => s.id === 'identity')!;
  const identityStack = chain(routerFor(identityService, first, drivers.identity));
  const regionStacks = new Map(regions.map((r) => {
    const byService = new Map(SERVICES.filter((s) => s.id !== 'identity').map((s) => {
      const driver = r === first ? drivers[s.id as keyof DriverSet] : r.backend.drivers[s.id as keyof DriverSet];
      return [s.name, chain(routerFor(s, r, driver))] as const;
    }));
    return [r.name, { byService, all: chain([...byService.values()]) }] as const;
  }));
  app.use((ctx, next) => {
    const service = ctx.state.service;
    if (service?.id === 'identity') return identityStack(ctx, next);
    const stacks = regionStacks.get(ctx.state.region)!;
    const own = service && stacks.byService.get(service.name);
    return own ? own(ctx, next) : identityStack(ctx, () => stacks.all(ctx, next));
  });

  let server: Server | undefined;
  return {
    app, config, logger, backend, backendModule, regions, validators, store, identity, drivers,
    listen(port = config.listen.port, host = config.listen.host) {
      return new Promise((resolvePromise, reject) => {
        // Slow clients: headers must arrive in time (408), idle keep-alive connections close.
        // A request's body is not timed as a whole: a large image upload may take long.
        server = createServer({
          headersTimeout: config.limits.headersTimeoutMs,
          requestTimeout: 0,
          keepAliveTimeout: config.limits.idleTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, config.limits.headersTimeoutMs),
        }, app.callback());
        server.on('clientError', answerClientError);
        server.listen(port, host);
        server.once('error', reject);
        server.once('listening', () => {
          const addr = server!.address() as AddressInfo;
          const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          resolvePromise(`http://${h}:${addr.port}`);
        });
      });
    },
    async close() {
      if (server) {
        await new Promise<void>((r) => server!.close(() => r()));
        server.closeAllConnections?.();
      }
      await Promise.all(regions.map((r) => r.backend.close()));
      await audit?.close();
      await rateLimitStore?.close?.();
      if (!opts.store) store.close();
    },
  };
}
