/**
 * Configuration: one YAML file plus STACKGATE_* environment overrides,
 * validated at start. A bad field stops the gateway with the field named.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import { Ajv, type ErrorObject } from 'ajv';

export interface Config {
  listen: { host: string; port: number };
  /** External URL clients use (behind a proxy); derived from requests when unset. */
  publicUrl: string | null;
  /** Trust X-Forwarded-Proto/Host from a reverse proxy. */
  trustProxy: boolean;
  /** The first region: its name and backend, served at the plain prefixes (`/compute`, `/image`, …). */
  region: string;
  backend: string;
  /**
   * More regions, each with its own backend, served under `/region/<name>/…`
   * and listed in the one catalog. A region's own backend section (`softlayer`,
   * `cloudstack`, `openstack`) is merged over the top-level one.
   */
  regions: RegionConfig[];
  /** Directory for state (sandbox store, keys). */
  dataDir: string;
  /**
   * maxBodyBytes: JSON bodies (image data streams and has its own limit).
   * headersTimeoutMs: a client must send its request headers within this (slow clients get 408).
   * idleTimeoutMs: a kept-alive connection with no request in flight is closed after this.
   */
  limits: { maxBodyBytes: number; headersTimeoutMs: number; idleTimeoutMs: number };
  /** Per backend: failures in a row that open its circuit, and how long it stays open (src/breaker.ts). */
  breaker: { failures: number; openSeconds: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /**
   * Where the identity service and the sandbox keep their state.
   * sqlite: one file (`path`, default <dataDir>/stackgate.db), shared by the gateways of one machine.
   * postgres: one database at `url` (`postgresql://user@host:port/db`; the password from PGPASSWORD
   * or ~/.pgpass rather than the URL), shared by gateways on any number of machines.
   */
  store: { engine: 'sqlite' | 'postgres'; path: string | null; url: string | null };
  identity: {
    /** Token lifetime. */
    tokenTtlSeconds: number;
    /** Token key repository; default <dataDir>/keys. */
    keyDir: string | null;
    /** Keys kept by `stackgate keys rotate` (the primary and the older ones still accepted). */
    activeKeys: number;
    /** Auth plugins tried in order: `local` (users stored by the gateway), `softlayer` (SoftLayer username + API key), `cloudstack` (CloudStack API key + secret key), `upstream-keystone` (users of a real Keystone). */
    auth: string[];
    /** The Keystone the `upstream-keystone` plugin checks passwords with. */
    upstreamKeystone: UpstreamKeystoneConfig;
    /**
     * How long a password that passed its scrypt check is remembered in this
     * process (an HMAC under a per-process key), so a repeat login skips scrypt;
     * 0 turns it off. The trade-off is in src/identity/password-cache.ts and README.
     */
    passwordCacheSeconds: number;
  };
  /** Hooks in their fixed order; each can be turned off. */
  hooks: { accessLog: boolean; auth: boolean; rateLimit: boolean; audit: boolean };
  /**
   * Token buckets per project and route class, kept in this process (`memory`)
   * or in Redis (`redis`, at `redisUrl`) so that every gateway sharing it
   * enforces one limit.
   */
  rateLimit: Record<'read' | 'write' | 'auth', { rate: number; burst: number }> & {
    store: 'memory' | 'redis';
    /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…`; needed when store is redis. */
    redisUrl: string | null;
  };
  /** CADF-like audit lines for mutating calls; default <dataDir>/audit.log. */
  audit: { file: string | null };
  /** The embedded sandbox cloud. */
  sandbox: {
    /** Time a server spends in BUILD (and a volume in creating). */
    buildDelayMs: number;
    /** Largest image upload, bytes. */
    maxImageBytes: number;
    /**
     * Image data, one file per image; default <dataDir>/images. Gateways on
     * several machines sharing one PostgreSQL store need it on shared
     * storage (NFS), as Glance's filesystem store does behind several API nodes.
     */
    imageDir: string | null;
  };
  /** The SoftLayer (IBM Cloud classic) backend and its auth plugin. */
  softlayer: SoftLayerConfig;
  /** The Apache CloudStack backend and its auth plugin. */
  cloudstack: CloudStackConfig;
  /** The OpenStack passthrough backend. */
  openstack: OpenStackConfig;
  /**
   * Validate every response against the spec; a violation becomes a 500 naming
   * it. For the contract tests, never in production.
   */
  contract: boolean;
}

/** A flavor the SoftLayer backend offers: SoftLayer sizes guests by cores, memory and disk. */
export interface SoftLayerFlavor { name: string; vcpus: number; ramMb: number; diskGb: number }

export interface SoftLayerConfig {
  /** REST endpoint (`…/rest/v3.1`). */
  endpoint: string;
  /** Time one SoftLayer call may take. */
  timeoutMs: number;
  /** Retries of a read-only call after a timeout, reset or 5xx. */
  retries: number;
  /** Datacenter for servers created without an availability zone. */
  datacenter: string;
  /** DNS domain of guests created from OpenStack server names without one. */
  domain: string;
  /** Flavors offered (those the account cannot order are left out). */
  flavors: SoftLayerFlavor[];
  /**
   * Local users mapped to SoftLayer credentials: the user logs in with their
   * gateway password; the API key is read from the named environment variable.
   */
  mappedUsers: Record<string, { username: string; apiKeyEnv: string }>;
}

export interface CloudStackConfig {
  /** API endpoint (`…/client/api`). */
  endpoint: string;
  /** Time one CloudStack call may take. */
  timeoutMs: number;
  /** Retries of a read-only command (list*, query*) after a timeout, reset or 5xx. */
  retries: number;
  /** Zone (name) for servers created without an availability zone; the first zone when null. */
  zone: string | null;
  /** Lifetime of a signed request (`expires`, signatureVersion 3). */
  signatureTtlSeconds: number;
  /**
   * Local users mapped to CloudStack keys: the user logs in with their gateway
   * password; the API key and secret key are read from the named environment variables.
   */
  mappedUsers: Record<string, { apiKeyEnv: string; secretKeyEnv: string }>;
}

export interface RegionConfig {
  name: string;
  backend: string;
  softlayer?: Partial<SoftLayerConfig>;
  cloudstack?: Partial<CloudStackConfig>;
  openstack?: Partial<OpenStackConfig>;
}

export interface UpstreamKeystoneConfig {
  /** Keystone v3 (`http://keystone:5000/v3`); null when the plugin is not used. */
  authUrl: string | null;
  timeoutMs: number;
  /**
   * Forward Keystone's user, group, project, domain, role and assignment
   * operations to the upstream Keystone with the caller's upstream token;
   * tokens, the catalog, regions, services and endpoints stay the gateway's.
   */
  forwardAdmin: boolean;
}

/** Credentials of the gateway's own account on an upstream OpenStack; the password comes from the environment. */
export interface OpenStackServiceAccount {
  username: string;
  passwordEnv: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
}

export interface OpenStackConfig {
  /** The upstream Keystone v3; identity.upstreamKeystone.authUrl when null. */
  authUrl: string | null;
  /**
   * `user`: act with the caller's own upstream token (users log in through
   * the `upstream-keystone` plugin); callers who did not log in upstream act
   * with `serviceAccount` when one is set, else they are refused.
   * `service`: act with `serviceAccount` for everyone (one upstream project
   * behind the region).
   */
  credentials: 'user' | 'service';
  serviceAccount: OpenStackServiceAccount | null;
  /** The upstream region whose endpoints are used; the first listed when null. */
  upstreamRegion: string | null;
  interface: 'public' | 'internal' | 'admin';
  /** The services this region forwards (those the upstream runs). */
  services: Array<'compute' | 'image' | 'volume' | 'network' | 'placement'>;
  /** Endpoint overrides by service, instead of the upstream catalog's. */
  endpoints: Partial<Record<'compute' | 'image' | 'volume' | 'network' | 'placement', string>>;
  /** Time to the first byte of an upstream answer. */
  timeoutMs: number;
}

export function defaultConfig(): Config {
  return {
    listen: { host: '127.0.0.1', port: 8000 },
    publicUrl: null,
    trustProxy: false,
    region: 'RegionOne',
    backend: 'sandbox',
    regions: [],
    dataDir: resolve('.stackgate'),
    limits: { maxBodyBytes: 1024 * 1024, headersTimeoutMs: 20_000, idleTimeoutMs: 30_000 },
    breaker: { failures: 5, openSeconds: 10 },
    log: { level: 'info' },
    store: { engine: 'sqlite', path: null, url: null },
    identity: { tokenTtlSeconds: 3600, keyDir: null, activeKeys: 3, auth: ['local'], upstreamKeystone: { authUrl: null, timeoutMs: 20_000, forwardAdmin: false }, passwordCacheSeconds: 300 },
    hooks: { accessLog: true, auth: true, rateLimit: true, audit: true },
    rateLimit: { read: { rate: 200, burst: 400 }, write: { rate: 50, burst: 100 }, auth: { rate: 20, burst: 40 }, store: 'memory', redisUrl: null },
    audit: { file: null },
    sandbox: { buildDelayMs: 1000, maxImageBytes: 2 * 1024 * 1024 * 1024, imageDir: null },
    softlayer: {
      endpoint: 'https://api.softlayer.com/rest/v3.1',
      timeoutMs: 20_000,
      retries: 2,
      datacenter: 'dal10',
      domain: 'stackgate.local',
      flavors: [
        { name: 'sl.1x1x25', vcpus: 1, ramMb: 1024, diskGb: 25 },
        { name: 'sl.1x2x25', vcpus: 1, ramMb: 2048, diskGb: 25 },
        { name: 'sl.2x4x25', vcpus: 2, ramMb: 4096, diskGb: 25 },
        { name: 'sl.4x8x100', vcpus: 4, ramMb: 8192, diskGb: 100 },
        { name: 'sl.8x16x100', vcpus: 8, ramMb: 16384, diskGb: 100 },
      ],
      mappedUsers: {},
    },
    cloudstack: {
      endpoint: 'http://127.0.0.1:8080/client/api',
      timeoutMs: 20_000,
      retries: 2,
      zone: null,
      signatureTtlSeconds: 600,
      mappedUsers: {},
    },
    openstack: {
      authUrl: null,
      credentials: 'user',
      serviceAccount: null,
      upstreamRegion: null,
      interface: 'public',
      services: ['compute', 'image', 'volume', 'network'],
      endpoints: {},
      timeoutMs: 60_000,
    },
    contract: false,
  };
}

const REGION_NAME = '^[A-Za-z0-9_.-]{1,64}$';
const HTTP_URL = '^https?://[^/\\s]+(/[^\\s]*)?$';
const SERVICE_NAMES = ['compute', 'image', 'volume', 'network', 'placement'];

const OPENSTACK_SCHEMA = {
  type: 'object', additionalProperties: false,
  properties: {
    authUrl: { anyOf: [{ type: 'null' }, { type: 'string', pattern: HTTP_URL }] },
    credentials: { enum: ['user', 'service'] },
    serviceAccount: {
      anyOf: [{ type: 'null' }, {
        type: 'object', additionalProperties: false, required: ['username', 'passwordEnv', 'projectName'],
        properties: {
          username: { type: 'string', minLength: 1 },
          passwordEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
          projectName: { type: 'string', minLength: 1 },
          userDomainName: { type: 'string', minLength: 1 },
          projectDomainName: { type: 'string', minLength: 1 },
        },
      }],
    },
    upstreamRegion: { type: ['string', 'null'], minLength: 1 },
    interface: { enum: ['public', 'internal', 'admin'] },
    services: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: SERVICE_NAMES } },
    endpoints: {
      type: 'object', additionalProperties: false,
      properties: Object.fromEntries(SERVICE_NAMES.map((n) => [n, { type: 'string', pattern: HTTP_URL }])),
    },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
  },
} as const;

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: {
      type: 'object', additionalProperties: false,
      properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
    },
    publicUrl: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^https?://[^/\\s]+(/[^\\s]*)?$' }] },
    trustProxy: { type: 'boolean' },
    region: { type: 'string', pattern: REGION_NAME },
    backend: { type: 'string', minLength: 1 },
    regions: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'backend'],
        properties: {
          name: { type: 'string', pattern: REGION_NAME },
          backend: { type: 'string', minLength: 1 },
          softlayer: { type: 'object' },
          cloudstack: { type: 'object' },
          openstack: { type: 'object' },
        },
      },
    },
    openstack: OPENSTACK_SCHEMA,
    dataDir: { type: 'string', minLength: 1 },
    limits: {
      type: 'object', additionalProperties: false,
      properties: {
        maxBodyBytes: { type: 'integer', minimum: 1024 },
        headersTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        idleTimeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
      },
    },
    breaker: {
      type: 'object', additionalProperties: false,
      properties: { failures: { type: 'integer', minimum: 1, maximum: 1000 }, openSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 } },
    },
    log: {
      type: 'object', additionalProperties: false,
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
    contract: { type: 'boolean' },
    store: {
      type: 'object', additionalProperties: false,
      properties: {
        engine: { enum: ['sqlite', 'postgres'] },
        path: { type: ['string', 'null'] },
        url: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^postgres(ql)?://' }] },
      },
    },
    identity: {
      type: 'object', additionalProperties: false,
      properties: {
        tokenTtlSeconds: { type: 'integer', minimum: 60, maximum: 7 * 24 * 3600 },
        keyDir: { type: ['string', 'null'] },
        activeKeys: { type: 'integer', minimum: 2, maximum: 100 },
        auth: { type: 'array', minItems: 1, items: { enum: ['local', 'softlayer', 'cloudstack', 'upstream-keystone'] } },
        upstreamKeystone: {
          type: 'object', additionalProperties: false,
          properties: {
            authUrl: { anyOf: [{ type: 'null' }, { type: 'string', pattern: HTTP_URL }] },
            timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
            forwardAdmin: { type: 'boolean' },
          },
        },
        passwordCacheSeconds: { type: 'integer', minimum: 0, maximum: 86_400 },
      },
    },
    hooks: {
      type: 'object', additionalProperties: false,
      properties: { accessLog: { type: 'boolean' }, auth: { type: 'boolean' }, rateLimit: { type: 'boolean' }, audit: { type: 'boolean' } },
    },
    rateLimit: {
      type: 'object', additionalProperties: false,
      properties: {
        ...Object.fromEntries(['read', 'write', 'auth'].map((k) => [k, {
          type: 'object', additionalProperties: false, required: ['rate', 'burst'],
          properties: { rate: { type: 'number', exclusiveMinimum: 0 }, burst: { type: 'integer', minimum: 1 } },
        }])),
        store: { enum: ['memory', 'redis'] },
        redisUrl: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^rediss?://[^/\\s]+(/[0-9]+)?$' }] },
      },
    },
    audit: { type: 'object', additionalProperties: false, properties: { file: { type: ['string', 'null'] } } },
    sandbox: {
      type: 'object', additionalProperties: false,
      properties: {
        buildDelayMs: { type: 'integer', minimum: 0, maximum: 600_000 },
        maxImageBytes: { type: 'integer', minimum: 1 },
        imageDir: { type: ['string', 'null'], minLength: 1 },
      },
    },
    softlayer: {
      type: 'object', additionalProperties: false,
      properties: {
        endpoint: { type: 'string', pattern: '^https?://[^/\\s]+(/[^\\s]*)?$' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        retries: { type: 'integer', minimum: 0, maximum: 5 },
        datacenter: { type: 'string', pattern: '^[a-z]{3}[0-9]{2}$' },
        domain: { type: 'string', pattern: '^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$' },
        flavors: {
          type: 'array', minItems: 1,
          items: {
            type: 'object', additionalProperties: false, required: ['name', 'vcpus', 'ramMb', 'diskGb'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
              vcpus: { type: 'integer', minimum: 1, maximum: 64 },
              ramMb: { type: 'integer', minimum: 512 },
              diskGb: { type: 'integer', minimum: 1 },
            },
          },
        },
        mappedUsers: {
          type: 'object',
          additionalProperties: {
            type: 'object', additionalProperties: false, required: ['username', 'apiKeyEnv'],
            properties: { username: { type: 'string', minLength: 1 }, apiKeyEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' } },
          },
        },
      },
    },
    cloudstack: {
      type: 'object', additionalProperties: false,
      properties: {
        endpoint: { type: 'string', pattern: '^https?://[^/\\s]+(/[^\\s]*)?$' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        retries: { type: 'integer', minimum: 0, maximum: 5 },
        zone: { type: ['string', 'null'], minLength: 1 },
        signatureTtlSeconds: { type: 'integer', minimum: 30, maximum: 86_400 },
        mappedUsers: {
          type: 'object',
          additionalProperties: {
            type: 'object', additionalProperties: false, required: ['apiKeyEnv', 'secretKeyEnv'],
            properties: { apiKeyEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' }, secretKeyEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' } },
          },
        },
      },
    },
  },
} as const;

/** The config a region's backend sees: the region's own backend sections merged over the top-level ones. */
export function regionConfig(c: Config, r: RegionConfig): Config {
  return {
    ...c,
    region: r.name,
    backend: r.backend,
    softlayer: deepMerge(c.softlayer, r.softlayer),
    cloudstack: deepMerge(c.cloudstack, r.cloudstack),
    openstack: deepMerge(c.openstack, r.openstack),
  };
}

/** Where state lives, once the data dir is known. */
export function storePath(c: Config): string {
  return c.store.path ?? join(c.dataDir, 'stackgate.db');
}
export function imageDir(c: Config): string {
  return c.sandbox.imageDir ? resolve(c.dataDir, c.sandbox.imageDir) : join(c.dataDir, 'images');
}
export function keyDir(c: Config): string {
  return c.identity.keyDir ?? join(c.dataDir, 'keys');
}
export function auditFile(c: Config): string {
  return c.audit.file ?? join(c.dataDir, 'audit.log');
}

export class ConfigError extends Error {}

function describe(e: ErrorObject): string {
  const field = e.instancePath.slice(1).replace(/\//g, '.') || '(top level)';
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return `${field === '(top level)' ? '' : field + '.'}${key}: unknown key`;
  }
  if (e.keyword === 'pattern' && field === 'publicUrl') return `publicUrl: not an http(s) URL`;
  return `${field}: ${e.message ?? 'invalid'}`;
}

function deepMerge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (over === null || typeof over !== 'object' || Array.isArray(over) || base === null || typeof base !== 'object') return over as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out as T;
}

/** STACKGATE_LISTEN_PORT=9000 → { listen: { port: 9000 } }; values are YAML scalars. */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const map: Record<string, string[]> = {
    STACKGATE_LISTEN_HOST: ['listen', 'host'],
    STACKGATE_LISTEN_PORT: ['listen', 'port'],
    STACKGATE_PUBLIC_URL: ['publicUrl'],
    STACKGATE_TRUST_PROXY: ['trustProxy'],
    STACKGATE_REGION: ['region'],
    STACKGATE_BACKEND: ['backend'],
    STACKGATE_DATA_DIR: ['dataDir'],
    STACKGATE_MAX_BODY_BYTES: ['limits', 'maxBodyBytes'],
    STACKGATE_LOG_LEVEL: ['log', 'level'],
    STACKGATE_TOKEN_TTL: ['identity', 'tokenTtlSeconds'],
    STACKGATE_SANDBOX_BUILD_DELAY_MS: ['sandbox', 'buildDelayMs'],
    STACKGATE_SANDBOX_IMAGE_DIR: ['sandbox', 'imageDir'],
    STACKGATE_SOFTLAYER_ENDPOINT: ['softlayer', 'endpoint'],
    STACKGATE_CLOUDSTACK_ENDPOINT: ['cloudstack', 'endpoint'],
    STACKGATE_STORE_ENGINE: ['store', 'engine'],
    STACKGATE_STORE_URL: ['store', 'url'],
    STACKGATE_RATE_LIMIT_STORE: ['rateLimit', 'store'],
    STACKGATE_RATE_LIMIT_REDIS_URL: ['rateLimit', 'redisUrl'],
  };
  for (const [name, path] of Object.entries(map)) {
    const raw = env[name];
    if (raw === undefined) continue;
    const value = name === 'STACKGATE_LISTEN_HOST' || name === 'STACKGATE_DATA_DIR' || name === 'STACKGATE_REGION' || name === 'STACKGATE_SOFTLAYER_ENDPOINT' || name === 'STACKGATE_CLOUDSTACK_ENDPOINT' || name === 'STACKGATE_RATE_LIMIT_STORE' || name === 'STACKGATE_RATE_LIMIT_REDIS_URL'
      || name === 'STACKGATE_STORE_ENGINE' || name === 'STACKGATE_STORE_URL' || name === 'STACKGATE_SANDBOX_IMAGE_DIR' ? raw : YAML.parse(raw) as unknown;
    let cur = out;
    path.slice(0, -1).forEach((p) => { cur = (cur[p] ??= {}) as Record<string, unknown>; });
    cur[path[path.length - 1]!] = value;
  }
  return out;
}

/** Defaults ← file ← environment ← explicit overrides; validated. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: unknown } = {}): Config {
  let fromFile: unknown = {};
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config file ${opts.file}: ${(err as Error).message}`);
    }
    try {
      fromFile = YAML.parse(text) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${opts.file}: not valid YAML: ${(err as Error).message}`);
    }
  }
  const merged = deepMerge(deepMerge(deepMerge(defaultConfig(), fromFile), envOverrides(opts.env ?? {})), opts.overrides);
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(SCHEMA);
  if (!validate(merged)) {
    const where = opts.file ? `config file ${opts.file}` : 'config';
    throw new ConfigError(`${where}:\n  ${(validate.errors ?? []).map(describe).join('\n  ')}`);
  }
  const cfg = merged as Config;
  const auth = cfg.identity.auth;
  if (Object.keys(cfg.softlayer.mappedUsers).length && auth.includes('local') && auth.indexOf('local') < auth.indexOf('softlayer')) {
    throw new ConfigError(`${opts.file ? `config file ${opts.file}` : 'config'}:\n  identity.auth: softlayer.mappedUsers needs 'softlayer' before 'local' (local would answer those users without their SoftLayer key)`);
  }
  if (Object.keys(cfg.cloudstack.mappedUsers).length && auth.includes('local') && auth.indexOf('local') < auth.indexOf('cloudstack')) {
    throw new ConfigError(`${opts.file ? `config file ${opts.file}` : 'config'}:\n  identity.auth: cloudstack.mappedUsers needs 'cloudstack' before 'local' (local would answer those users without their CloudStack keys)`);
  }
  const fail = (msg: string) => new ConfigError(`${opts.file ? `config file ${opts.file}` : 'config'}:\n  ${msg}`);
  if (cfg.store.engine === 'postgres' && !cfg.store.url) {
    throw fail(`store.url: store.engine 'postgres' needs a url (postgresql://user@host:port/database)`);
  }
  if (cfg.rateLimit.store === 'redis' && !cfg.rateLimit.redisUrl) {
    throw fail(`rateLimit.redisUrl: rateLimit.store 'redis' needs a redisUrl (redis://host:port)`);
  }
  if (auth.includes('upstream-keystone') && !cfg.identity.upstreamKeystone.authUrl) {
    throw fail(`identity.auth: 'upstream-keystone' needs identity.upstreamKeystone.authUrl`);
  }
  const names = new Set([cfg.region]);
  const all: Array<{ where: string; backend: string; config: Config }> = [{ where: 'backend', backend: cfg.backend, config: cfg }];
  cfg.regions.forEach((r, i) => {
    if (names.has(r.name)) throw fail(`regions.${i}.name: region ${r.name} is declared twice`);
    names.add(r.name);
    const rc = regionConfig(cfg, r);
    if (!validate(rc)) throw fail((validate.errors ?? []).map((e) => `regions.${i}.${describe(e)}`).join('\n  '));
    all.push({ where: `regions.${i}`, backend: r.backend, config: rc });
  });
  // The sandbox keeps its cloud in the gateway's one store: two sandbox regions would be one cloud.
  if (all.filter((a) => a.backend === 'sandbox').length > 1) throw fail('regions: at most one region can use the sandbox backend');
  for (const a of all.filter((x) => x.backend === 'openstack')) {
    const os = a.config.openstack;
    if (!os.authUrl && !cfg.identity.upstreamKeystone.authUrl) throw fail(`${a.where}: the openstack backend needs openstack.authUrl (or identity.upstreamKeystone.authUrl)`);
    if (os.credentials === 'service' && !os.serviceAccount) throw fail(`${a.where}: openstack.credentials 'service' needs openstack.serviceAccount`);
    if (os.credentials === 'user' && !auth.includes('upstream-keystone') && !os.serviceAccount) throw fail(`${a.where}: openstack.credentials 'user' needs 'upstream-keystone' in identity.auth (users must log in through the upstream Keystone)`);
  }
  if (cfg.publicUrl) cfg.publicUrl = cfg.publicUrl.replace(/\/+$/, '');
  cfg.dataDir = resolve(opts.file ? dirname(resolve(opts.file)) : '.', cfg.dataDir);
  return cfg;
}
