/**
 * The sandbox's network service (Neutron v2.0): networks, subnets with real
 * CIDR math, ports with MAC and fixed-IP allocation, routers, floating IPs,
 * security groups and rules, quotas, extensions and availability zones.
 * Agent-less: no DHCP or L3 agents, so no DHCP ports; routers and floating
 * IPs are bookkeeping whose checks (reachability, in-use) are Neutron's.
 */
import ipaddr from 'ipaddr.js';
import type { RequestContext } from '../../generated/common.js';
import type { NetworkDriver, NetworkMethodName, NetworkRequest, NetworkResponse } from '../../generated/index.js';
import { Fault } from '../../src/faults.js';
import { extensionList, extensionShow, type NeutronExtension } from '../../src/neutron-extensions.js';
import type { Link } from '../../src/paging.js';
import type { NetworkSide, PortRecord, SandboxCloud, ServerAddress } from './cloud.js';
import { isoZ, type Resource } from './store.js';

// ---- records -----------------------------------------------------------------

interface NetworkRec extends Resource {
  name: string;
  description: string;
  admin_state_up: boolean;
  shared: boolean;
  external: boolean;
  mtu: number;
  port_security_enabled: boolean;
  availability_zone_hints: string[];
  revision_number: number;
  /** Made by autoNetwork for `networks: "auto"`. */
  auto_allocated?: boolean;
}

interface Pool { start: string; end: string }
interface HostRoute { destination: string; nexthop: string }

interface SubnetRec extends Resource {
  name: string;
  description: string;
  network_id: string;
  ip_version: 4 | 6;
  cidr: string;
  gateway_ip: string | null;
  allocation_pools: Pool[];
  dns_nameservers: string[];
  host_routes: HostRoute[];
  enable_dhcp: boolean;
  ipv6_address_mode: Ipv6Mode | null;
  ipv6_ra_mode: Ipv6Mode | null;
  revision_number: number;
}

type Ipv6Mode = 'dhcpv6-stateful' | 'dhcpv6-stateless' | 'slaac';

interface PortRec extends PortRecord {
  name: string;
  description: string;
  revision_number: number;
  port_security_enabled: boolean;
  allowed_address_pairs: { ip_address: string; mac_address: string }[];
  binding_host_id: string;
  binding_vnic_type: VnicType;
  binding_profile: Record<string, unknown>;
  /** Made by allocateServerPort for a server (deleted with it) rather than by the user. */
  created_for_server?: boolean;
}

type VnicType = NonNullable<NonNullable<NonNullable<NetworkRequest<'createPort'>['body']>['port']>['binding:vnic_type']>;

interface RouterRec extends Resource {
  name: string;
  description: string;
  admin_state_up: boolean;
  gateway: { network_id: string; enable_snat: boolean; port_id: string } | null;
  revision_number: number;
}

interface FipRec extends Resource {
  description: string;
  floating_network_id: string;
  floating_ip_address: string;
  /** The network:floatingip port on the external network that holds the address. */
  fip_port_id: string;
  port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  revision_number: number;
}

interface SgRec extends Resource {
  name: string;
  description: string;
  stateful: boolean;
  is_default: boolean;
  revision_number: number;
}

interface RuleRec extends Resource {
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description: string;
  revision_number: number;
}

const QUOTA_KEYS = ['network', 'subnet', 'port', 'router', 'floatingip', 'security_group', 'security_group_rule', 'rbac_policy', 'subnetpool'] as const;
type QuotaKey = typeof QUOTA_KEYS[number];
/** Neutron's default quotas (neutron/conf/quota.py). */
const QUOTA_DEFAULTS: Record<QuotaKey, number> = {
  network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100, rbac_policy: 10, subnetpool: -1,
};
/** The store kind each quota counts. */
const QUOTA_KINDS: Partial<Record<QuotaKey, string>> = {
  network: 'network', subnet: 'subnet', port: 'port', router: 'router', floatingip: 'floatingip', security_group: 'security_group', security_group_rule: 'security_group_rule',
};

interface QuotaRec extends Resource { limits: Partial<Record<QuotaKey, number>> }

const K = {
  network: 'network', subnet: 'subnet', port: 'port', router: 'router', fip: 'floatingip', sg: 'security_group', rule: 'security_group_rule', quota: 'network_quota',
} as const;

const OWNER_ROUTER_INTF = 'network:router_interface';
const OWNER_ROUTER_GW = 'network:router_gateway';
const OWNER_FIP = 'network:floatingip';
const OWNER_DHCP = 'network:dhcp';
const DEFAULT_MTU = 1500;
const AZ = 'nova';

// ---- faults ------------------------------------------------------------------

const notFound = (type: string, message: string) => Fault.notFound(message, { type });
const conflict = (type: string, message: string) => Fault.conflict(message, { type });
const invalid = (message: string) => Fault.badRequest(`Invalid input for operation: ${message}.`, { type: 'InvalidInput' });
const badRequest = (type: string, message: string) => Fault.badRequest(message, { type });
const policy = (rule: string) => Fault.forbidden(`(rule:${rule}) is disallowed by policy`, { type: 'PolicyNotAuthorized' });

// ---- IP math -----------------------------------------------------------------

interface Cidr { version: 4 | 6; first: bigint; last: bigint; prefix: number; text: string }

function bytesToBig(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigToIp(v: bigint, version: 4 | 6): string {
  const n = version === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((v >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Four decimal parts without leading zeros (ipaddr.js reads "010" as octal: those take its path). */
const PLAIN_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** An address as (version, value), or undefined when it is not one (IPv4 must be four-part decimal). */
function parseIp(s: unknown): { version: 4 | 6; value: bigint } | undefined {
  if (typeof s !== 'string') return undefined;
  // Plain dotted quads (every stored IPv4 address) without ipaddr.js: an IP allocation parses every address of the subnet.
  const quad = PLAIN_QUAD.exec(s);
  if (quad) {
    const [a, b, c, d] = [Number(quad[1]), Number(quad[2]), Number(quad[3]), Number(quad[4])];
    if (a <= 255 && b <= 255 && c <= 255 && d <= 255) return { version: 4, value: BigInt(((a << 24) | (b << 16) | (c << 8) | d) >>> 0) };
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return { version: 4, value: bytesToBig(ipaddr.IPv4.parse(s).toByteArray()) };
  if (s.includes(':') && ipaddr.IPv6.isValid(s)) return { version: 6, value: bytesToBig(ipaddr.IPv6.parse(s).toByteArray()) };
  return undefined;
}

function normalIp(s: string): string {
  const p = parseIp(s);
  return p ? bigToIp(p.value, p.version) : s;
}

/** A CIDR; `strict` requires the network address (Neutron refuses 10.0.0.5/24 for a subnet). */
function parseCidr(s: unknown, what: string, strict: boolean): Cidr {
  if (typeof s !== 'string' || !s.includes('/')) throw invalid(`'${String(s)}' is not a valid IP subnet (${what})`);
  const [addr, len] = s.split('/') as [string, string];
  const ip = parseIp(addr);
  const prefix = /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  const bits = ip?.version === 4 ? 32 : 128;
  if (!ip || !(prefix >= 0 && prefix <= bits)) throw invalid(`'${s}' is not a valid IP subnet`);
  const size = 1n << BigInt(bits - prefix);
  const first = ip.value - (ip.value % size);
  const last = first + size - 1n;
  const text = `${bigToIp(first, ip.version)}/${prefix}`;
  if (strict && first !== ip.value) throw invalid(`'${s}' isn't a recommended CIDR, use '${text}' instead`);
  return { version: ip.version, first, last, prefix, text };
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.first <= b.last && b.first <= a.last;
}

function inCidr(c: Cidr, ip: { version: 4 | 6; value: bigint }): boolean {
  return c.version === ip.version && ip.value >= c.first && ip.value <= c.last;
}

/** Neutron's ipam_utils.generate_pools: every host but the gateway (and the IPv4 broadcast). */
function defaultPools(c: Cidr, gateway: string | null): Pool[] {
  if (c.version === 4 && c.prefix >= 31) return [{ start: bigToIp(c.first, 4), end: bigToIp(c.last, 4) }];
  const first = c.first + 1n;
  const last = c.version === 4 ? c.last - 1n : c.last;
  if (first > last) return [];
  const gw = gateway ? parseIp(gateway)?.value : undefined;
  const ranges: [bigint, bigint][] = [];
  if (gw !== undefined && gw >= first && gw <= last) {
    if (gw > first) ranges.push([first, gw - 1n]);
    if (gw < last) ranges.push([gw + 1n, last]);
  } else ranges.push([first, last]);
  return ranges.map(([s, e]) => ({ start: bigToIp(s, c.version), end: bigToIp(e, c.version) }));
}

/** Neutron's ipv6_utils.is_auto_address_subnet: addresses come from the MAC (SLAAC, DHCPv6-stateless). */
function isAutoAddress(s: SubnetRec): boolean {
  const auto = (m: Ipv6Mode | null) => m === 'slaac' || m === 'dhcpv6-stateless';
  return s.ip_version === 6 && (auto(s.ipv6_address_mode) || auto(s.ipv6_ra_mode));
}

/** The EUI-64 address of a MAC in an IPv6 prefix (RFC 4291 appendix A; netaddr's get_ipv6_addr_by_EUI64). */
function eui64(cidr: string, mac: string): string {
  const c = parseCidr(cidr, 'cidr', false);
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const iid = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!].reduce((v, x) => (v << 8n) | BigInt(x), 0n);
  const mask = (1n << 64n) - 1n;
  return bigToIp((c.first & ~mask) | iid, 6);
}

// ---- request helpers -----------------------------------------------------------

function toBool(v: unknown, name: string): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['true', '1', 'yes', 'y', 't', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'n', 'f', 'off'].includes(s)) return false;
  throw invalid(`Invalid input for ${name}. Reason: '${String(v)}' is not a valid boolean value`);
}

function toInt(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw invalid(`Invalid input for ${name}. Reason: '${String(v)}' is not an integer`);
  return n;
}

/** The object under the body's resource key, or 400. */
function resource<T>(body: unknown, key: string): T {
  const b = body as Record<string, unknown> | undefined;
  const r = b?.[key];
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw badRequest('HTTPBadRequest', `Resource body required: expected '${key}'`);
  return r as T;
}

interface Who { project: string; admin: boolean }

type Query = Record<string, unknown>;

function many(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

// ---- lists: filters, sorting, paging, fields ------------------------------------------

/** Query keys that are not attribute filters. */
const NON_FILTERS = new Set(['limit', 'marker', 'page_reverse', 'sort_key', 'sort_dir', 'fields', 'all_tenants', 'all_projects', 'verbose']);

type View = Record<string, unknown>;

function matches(value: unknown, wanted: string[]): boolean {
  if (Array.isArray(value)) return false;
  if (typeof value === 'boolean') return wanted.some((w) => { try { return toBool(w, 'filter') === value; } catch { return false; } });
  if (value === null) return wanted.some((w) => w === '' || w === 'None' || w === 'null');
  return wanted.includes(String(value));
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a), y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function pickFields(v: View, fields: string[]): View {
  if (!fields.length) return v;
  const out: View = {};
  for (const f of fields) if (f in v) out[f] = v[f];
  return out;
}

/** Neutron's list pipeline (api/v2/base.py, api_common.py) over views in creation order. */
function listViews(views: View[], query: Query, collection: string, url: string, skipFilters: string[] = []): { items: View[]; links?: Link[] } {
  let items = views;
  for (const [k, v] of Object.entries(query)) {
    if (NON_FILTERS.has(k) || skipFilters.includes(k) || v === undefined) continue;
    const wanted = many(v);
    // Unknown keys are ignored (the sandbox does not claim filter-validation).
    items = items.filter((it) => !(k in it) || matches(it[k], wanted));
  }
  const sortKeys = many(query.sort_key);
  const sortDirs = many(query.sort_dir);
  if (sortDirs.length && sortDirs.length !== sortKeys.length) throw badRequest('HTTPBadRequest', 'The number of sort_keys and sort_dirs must be same');
  for (const d of sortDirs) if (d !== 'asc' && d !== 'desc') throw badRequest('HTTPBadRequest', `${d} is invalid value for sort_dirs, valid value is 'asc' and 'desc'`);
  const sample = views[0];
  for (const key of sortKeys) {
    if (sample && !(key in sample)) throw badRequest('HTTPBadRequest', `${key} is invalid attribute for sort_keys`);
  }
  const rawLimit = query.limit;
  let limit = 0;
  if (rawLimit !== undefined && rawLimit !== '') {
    limit = typeof rawLimit === 'number' ? rawLimit : Number(rawLimit);
    if (!Number.isInteger(limit)) throw badRequest('HTTPBadRequest', `Limit must be an integer 0 or greater and not '${String(rawLimit)}'`);
    if (limit < 0) throw badRequest('HTTPBadRequest', `Limit must be an integer 0 or greater and not '${limit}'`);
  }
  const marker = query.marker === undefined || query.marker === '' ? undefined : String(query.marker);
  const paging = limit > 0 || marker !== undefined;
  const pageReverse = query.page_reverse !== undefined && toBool(query.page_reverse, 'page_reverse');
  const keys = sortKeys.map((k, i) => ({ k, dir: sortDirs[i] === 'desc' ? -1 : 1 }));
  if (paging && !sortKeys.includes('id')) keys.push({ k: 'id', dir: 1 });
  if (keys.length) {
    const rev = pageReverse ? -1 : 1;
    items = [...items].sort((a, b) => {
      for (const { k, dir } of keys) {
        const c = compare(a[k], b[k]);
        if (c) return c * dir * rev;
      }
      return 0;
    });
  } else if (pageReverse) items = [...items].reverse();
  if (marker !== undefined) {
    const i = items.findIndex((it) => it.id === marker);
    if (i < 0) {
      // Neutron looks the marker up by id first: an unknown one is the resource's 404.
      throw notFound('HTTPNotFound', `${collection} ${marker} could not be found.`);
    }
    items = items.slice(i + 1);
  }
  let links: Link[] | undefined;
  if (limit > 0) {
    items = items.slice(0, limit);
    if (pageReverse) items.reverse();
    links = [];
    if (items.length) {
      const href = (m: string, reverse: boolean): string => {
        const u = new URL(url);
        u.searchParams.delete('marker');
        u.searchParams.delete('page_reverse');
        u.searchParams.set('marker', m);
        if (reverse) u.searchParams.set('page_reverse', 'True');
        return u.toString();
      };
      if (!(items.length < limit && !pageReverse)) links.push({ rel: 'next', href: href(String(items[items.length - 1]!.id), false) });
      if (!(items.length < limit && pageReverse)) links.push({ rel: 'previous', href: href(String(items[0]!.id), true) });
    }
  } else if (pageReverse) items.reverse();
  const fields = many(query.fields);
  return { items: items.map((v) => pickFields(v, fields)), links };
}

function listBody<C extends string>(collection: C, r: { items: View[]; links?: Link[] }): Record<C, View[]> & Record<string, unknown> {
  const body: Record<string, unknown> = { [collection]: r.items };
  if (r.links && r.links.length) body[`${collection}_links`] = r.links;
  return body as Record<C, View[]> & Record<string, unknown>;
}

/** `unknown` to a generated response type: the views are checked against the spec at run time (contract tests). */
function typed<T>(v: unknown): T {
  return v as T;
}

// ---- extensions ----------------------------------------------------------------

/** What the sandbox really implements, as Neutron names it. */
const EXTENSIONS: NeutronExtension[] = [
  { alias: 'allowed-address-pairs', name: 'Allowed Address Pairs', description: 'Allowed Address Pairs, as the sandbox serves it.' },
  { alias: 'availability_zone', name: 'Availability Zone', description: 'Availability Zone, as the sandbox serves it.' },
  { alias: 'network_availability_zone', name: 'Network Availability Zone', description: 'Network Availability Zone, as the sandbox serves it.' },
  { alias: 'binding', name: 'Port Binding', description: 'Port Binding, as the sandbox serves it.' },
  { alias: 'external-net', name: 'Neutron external network', description: 'Neutron external network, as the sandbox serves it.' },
  { alias: 'ext-gw-mode', name: 'Neutron L3 Configurable external gateway mode', description: 'Neutron L3 Configurable external gateway mode, as the sandbox serves it.' },
  { alias: 'net-mtu', name: 'Network MTU', description: 'Network MTU, as the sandbox serves it.' },
  { alias: 'net-mtu-writable', name: 'Network MTU (writable)', description: 'Network MTU (writable), as the sandbox serves it.' },
  { alias: 'pagination', name: 'Pagination support', description: 'Pagination support, as the sandbox serves it.' },
  { alias: 'port-security', name: 'Port Security', description: 'Port Security, as the sandbox serves it.' },
  { alias: 'project-id', name: 'project_id field enabled', description: 'project_id field enabled, as the sandbox serves it.' },
  { alias: 'quotas', name: 'Quota management support', description: 'Quota management support, as the sandbox serves it.' },
  { alias: 'quota_details', name: 'Quota details management support', description: 'Quota details management support, as the sandbox serves it.' },
  { alias: 'router', name: 'Neutron L3 Router', description: 'Neutron L3 Router, as the sandbox serves it.' },
  { alias: 'security-group', name: 'security-group', description: 'security-group, as the sandbox serves it.' },
  { alias: 'sorting', name: 'Sorting support', description: 'Sorting support, as the sandbox serves it.' },
  { alias: 'standard-attr-description', name: 'standard-attr-description', description: 'standard-attr-description, as the sandbox serves it.' },
  { alias: 'standard-attr-revisions', name: 'Resource revision numbers', description: 'Resource revision numbers, as the sandbox serves it.' },
  { alias: 'standard-attr-timestamp', name: 'Resource timestamps', description: 'Resource timestamps, as the sandbox serves it.' },
  { alias: 'stateful-security-group', name: 'Stateful security group', description: 'Stateful security group, as the sandbox serves it.' },
];

// ---- the service -----------------------------------------------------------------

type Req<M extends NetworkMethodName> = NetworkRequest<M>;
type Res<M extends NetworkMethodName> = Promise<NetworkResponse<M>>;

export class SandboxNetwork implements NetworkDriver {
  readonly core: NetworkCore;

  constructor(readonly cloud: SandboxCloud) {
    this.core = new NetworkCore(cloud);
  }

  private who(ctx: RequestContext): Who {
    return { project: this.cloud.project(ctx), admin: ctx.auth?.isAdmin === true };
  }

  /**
   * The projects a list shows (null: all). Neutron lists every project's
   * resources to an admin without all_tenants (Tempest's admin tests rely on
   * it); `project_id`/`tenant_id` then narrow the list as attribute filters.
   * Other callers get listScope's answer: their own project.
   */
  private scope(ctx: RequestContext, query: Query): string | null {
    if (ctx.auth?.isAdmin) {
      this.cloud.project(ctx);
      return null;
    }
    return this.cloud.listScope(ctx, query);
  }

  private fields(query: Query): string[] {
    return many(query.fields);
  }

  /**
   * POST of one resource (`{"network": {…}}`) or, as Neutron's bulk create,
   * of several (`{"networks": [{…}, …]}`): all in one transaction, all or none.
   */
  private create<B>(body: unknown, singular: string, plural: string, one: (item: B) => View): unknown {
    const b = body as Record<string, unknown> | undefined;
    if (b && Array.isArray(b[plural]) && b[singular] === undefined) {
      const items = b[plural] as unknown[];
      return this.cloud.store.tx(() => ({ [plural]: items.map((it) => one(resource<B>({ [singular]: it }, singular))) }));
    }
    const item = resource<B>(body, singular);
    return this.cloud.store.tx(() => ({ [singular]: one(item) }));
  }

  // ---- networks ----

  async listNetworks(req: Req<'listNetworks'>): Res<'listNetworks'> {
    const who = this.who(req.context);
    const scope = this.scope(req.context, req.query);
    const c = this.core;
    const nets = this.cloud.store.list<NetworkRec>(K.network).filter((n) => scope === null ? true : n.project_id === scope || ((n.shared || n.external) && scope === who.project));
    return typed(listBody('networks', listViews(nets.map((n) => c.networkView(n)), req.query, 'networks', req.context.url)));
  }

  async showNetwork(req: Req<'showNetwork'>): Res<'showNetwork'> {
    const n = this.core.network(this.who(req.context), req.path.network_id);
    return typed({ network: pickFields(this.core.networkView(n), this.fields(req.query)) });
  }

  async createNetwork(req: Req<'createNetwork'>): Res<'createNetwork'> {
    const who = this.who(req.context);
    return typed(this.create<NonNullable<NonNullable<Req<'createNetwork'>['body']>['network']>>(req.body, 'network', 'networks', (body) => {
      const owner = this.core.owner(who, body);
      const shared = body.shared === undefined ? false : toBool(body.shared, 'shared');
      const external = body['router:external'] === undefined ? false : toBool(body['router:external'], 'router:external');
      if (shared && !who.admin) throw policy('create_network:shared');
      if (external && !who.admin) throw policy('create_network:router:external');
      const mtu = body.mtu === undefined ? DEFAULT_MTU : toInt(body.mtu, 'mtu');
      if (mtu < 68 || mtu > 9000) throw invalid(`Requested MTU is too big, maximum is 9000`);
      this.core.ensureDefaultGroup(owner);
      this.core.checkQuota(owner, 'network', 1);
      const now = isoZ();
      const n = this.cloud.store.insert<NetworkRec>(K.network, {
        id: this.cloud.store.newId(), project_id: owner, name: body.name ?? '', description: body.description ?? '',
        admin_state_up: body.admin_state_up === undefined ? true : toBool(body.admin_state_up, 'admin_state_up'),
        shared, external, mtu, port_security_enabled: body.port_security_enabled === undefined ? true : toBool(body.port_security_enabled, 'port_security_enabled'),
        availability_zone_hints: body.availability_zone_hints ?? [], revision_number: 1, created_at: now, updated_at: now,
      });
      return this.core.networkView(n);
    }));
  }

  async updateNetwork(req: Req<'updateNetwork'>): Res<'updateNetwork'> {
    const who = this.who(req.context);
    const body = resource<NonNullable<NonNullable<Req<'updateNetwork'>['body']>['network']>>(req.body, 'network');
    return this.cloud.store.tx(() => {
      const n = this.core.ownedNetwork(who, req.path.network_id);
      if (body.name !== undefined) n.name = body.name;
      if (body.description !== undefined) n.description = body.description;
      if (body.admin_state_up !== undefined) n.admin_state_up = toBool(body.admin_state_up, 'admin_state_up');
      if (body.port_security_enabled !== undefined) n.port_security_enabled = toBool(body.port_security_enabled, 'port_security_enabled');
      if (body.mtu !== undefined) {
        const mtu = toInt(body.mtu, 'mtu');
        if (mtu < 68 || mtu > 9000) throw invalid('Requested MTU is too big, maximum is 9000');
        n.mtu = mtu;
      }
      if (body.shared !== undefined) {
        const shared = toBool(body.shared, 'shared');
        if (!who.admin && shared !== n.shared) throw policy('update_network:shared');
        if (!shared && n.shared) {
          const foreign = this.cloud.store.list<PortRec>(K.port, { where: (p) => p.network_id === n.id && p.project_id !== null && p.project_id !== n.project_id });
          if (foreign.length) throw conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${n.id}. Multiple tenants are using it.`);
        }
        n.shared = shared;
      }
      if (body['router:external'] !== undefined) {
        const ext = toBool(body['router:external'], 'router:external');
        if (!who.admin && ext !== n.external) throw policy('update_network:router:external');
        if (!ext && n.external && this.cloud.store.list<PortRec>(K.port, { where: (p) => p.network_id === n.id && (p.device_owner === OWNER_ROUTER_GW || p.device_owner === OWNER_FIP) }).length) {
          throw conflict('ExternalNetworkInUse', `External network ${n.id} cannot be updated to be made non-external, since it has existing gateway ports.`);
        }
        n.external = ext;
      }
      n.revision_number++;
      this.cloud.store.put(K.network, n);
      return typed({ network: this.core.networkView(n) });
    });
  }

  async deleteNetwork(req: Req<'deleteNetwork'>): Res<'deleteNetwork'> {
    const who = this.who(req.context);
    this.cloud.store.tx(() => {
      const n = this.core.ownedNetwork(who, req.path.network_id);
      // DHCP ports and floating IPs go with the network; any other port keeps it in use.
      const ports = this.cloud.store.list<PortRec>(K.port, { where: (p) => p.network_id === n.id });
      if (ports.some((p) => p.device_owner !== OWNER_DHCP && p.device_owner !== OWNER_FIP)) {
        throw conflict('NetworkInUse', `Unable to complete operation on network ${n.id}. There are one or more ports still in use on the network.`);
      }
      for (const f of this.cloud.store.list<FipRec>(K.fip, { where: (x) => x.floating_network_id === n.id })) this.cloud.store.delete(K.fip, f.id);
      for (const p of ports) this.cloud.store.delete(K.port, p.id);
      for (const s of this.core.subnetsOf(n.id)) this.cloud.store.delete(K.subnet, s.id);
      this.cloud.store.delete(K.network, n.id);
    });
  }

  // ---- subnets ----

  async listSubnets(req: Req<'listSubnets'>): Res<'listSubnets'> {
    const who = this.who(req.context);
    const scope = this.scope(req.context, req.query);
    const nets = new Map(this.cloud.store.list<NetworkRec>(K.network).map((n) => [n.id, n]));
    const subnets = this.cloud.store.list<SubnetRec>(K.subnet).filter((s) => {
      if (scope === null || s.project_id === scope) return true;
      const n = nets.get(s.network_id);
      // Subnets of a shared network are everyone's to see; those of an external one are not (only the network is).
      return scope === who.project && !!n && n.shared;
    });
    return typed(listBody('subnets', listViews(subnets.map((s) => this.core.subnetView(s)), req.query, 'subnets', req.context.url)));
  }

  async showSubnet(req: Req<'showSubnet'>): Res<'showSubnet'> {
    const s = this.core.subnet(this.who(req.context), req.path.subnet_id);
    return typed({ subnet: pickFields(this.core.subnetView(s), this.fields(req.query)) });
  }

  async createSubnet(req: Req<'createSubnet'>): Res<'createSubnet'> {
    const who = this.who(req.context);
    return typed(this.create<NonNullable<NonNullable<Req<'createSubnet'>['body']>['subnet']>>(req.body, 'subnet', 'subnets',
      (body) => this.core.subnetView(this.core.createSubnet(who, body))));
  }

  async updateSubnet(req: Req<'updateSubnet'>): Res<'updateSubnet'> {
    const who = this.who(req.context);
    const body = resource<Record<string, unknown>>(req.body, 'subnet');
    return this.cloud.store.tx(() => {
      const s = this.core.subnet(who, req.path.subnet_id);
      if (!who.admin && s.project_id !== who.project) throw policy('update_subnet');
      for (const k of ['cidr', 'ip_version', 'network_id', 'subnetpool_id', 'prefixlen', 'ipv6_address_mode', 'ipv6_ra_mode']) {
        if (body[k] !== undefined) throw badRequest('HTTPBadRequest', `Cannot update read-only attribute ${k}`);
      }
      const cidr = parseCidr(s.cidr, 'cidr', false);
      if (typeof body.name === 'string') s.name = body.name;
      if (typeof body.description === 'string') s.description = body.description;
      if (body.enable_dhcp !== undefined) s.enable_dhcp = toBool(body.enable_dhcp, 'enable_dhcp');
      if (body.gateway_ip !== undefined) s.gateway_ip = this.core.checkGateway(cidr, body.gateway_ip);
      if (body.allocation_pools !== undefined) s.allocation_pools = this.core.checkPools(cidr, body.allocation_pools, s.gateway_ip);
      else if (body.gateway_ip !== undefined) this.core.checkGatewayOutsidePools(s.allocation_pools, s.gateway_ip);
      if (body.dns_nameservers !== undefined) s.dns_nameservers = this.core.checkNameservers(body.dns_nameservers);
      if (body.host_routes !== undefined) s.host_routes = this.core.checkRoutes(cidr, body.host_routes);
      s.revision_number++;
      this.cloud.store.put(K.subnet, s);
      return typed({ subnet: this.core.subnetView(s) });
    });
  }

  async deleteSubnet(req: Req<'deleteSubnet'>): Res<'deleteSubnet'> {
    const who = this.who(req.context);
    this.cloud.store.tx(() => {
      const s = this.core.subnet(who, req.path.subnet_id);
      if (!who.admin && s.project_id !== who.project) throw policy('delete_subnet');
      let users = this.cloud.store.list<PortRec>(K.port, { where: (p) => p.fixed_ips.some((f) => f.subnet_id === s.id) });
      if (isAutoAddress(s)) {
        // Addresses of SLAAC subnets are taken off their ports (Neutron does); router interfaces still hold the subnet.
        for (const p of users.filter((x) => x.device_owner !== OWNER_ROUTER_INTF)) {
          p.fixed_ips = p.fixed_ips.filter((f) => f.subnet_id !== s.id);
          p.revision_number++;
          this.cloud.store.put(K.port, p);
        }
        users = users.filter((x) => x.device_owner === OWNER_ROUTER_INTF);
      }
      if (users.some((p) => p.device_owner !== OWNER_DHCP)) {
        throw conflict('SubnetInUse', `Unable to complete operation on subnet ${s.id}: One or more ports have an IP allocation from this subnet.`);
      }
      this.cloud.store.delete(K.subnet, s.id);
      this.core.bumpNetwork(s.network_id);
    });
  }

  // ---- ports ----

  async listPorts(req: Req<'listPorts'>): Res<'listPorts'> {
    const who = this.who(req.context);
    const scope = this.scope(req.context, req.query);
    const ownNets = new Set(this.cloud.store.list<NetworkRec>(K.network, { projectId: who.project }).map((n) => n.id));
    let ports = this.cloud.store.list<PortRec>(K.port).filter((p) => scope === null || p.project_id === scope || (scope === who.project && ownNets.has(p.network_id)));
    // `fixed_ips=ip_address=10.0.0.3` / `fixed_ips=subnet_id=…`
    for (const f of many(req.query.fixed_ips)) {
      const [k, v] = f.split('=', 2) as [string, string | undefined];
      if (v === undefined || !['ip_address', 'subnet_id', 'ip_address_substr'].includes(k)) throw badRequest('HTTPBadRequest', `Invalid fixed_ips filter: ${f}`);
      ports = ports.filter((p) => p.fixed_ips.some((x) => k === 'ip_address' ? x.ip_address === normalIp(v) : k === 'subnet_id' ? x.subnet_id === v : x.ip_address.includes(v)));
    }
    return typed(listBody('ports', listViews(ports.map((p) => this.core.portView(p)), req.query, 'ports', req.context.url, ['fixed_ips'])));
  }

  async showPort(req: Req<'showPort'>): Res<'showPort'> {
    const p = this.core.port(this.who(req.context), req.path.port_id);
    return typed({ port: pickFields(this.core.portView(p), this.fields(req.query)) });
  }

  async createPort(req: Req<'createPort'>): Res<'createPort'> {
    const who = this.who(req.context);
    return typed(this.create<PortBody>(req.body, 'port', 'ports', (body) => this.core.portView(this.core.createPort(who, body))));
  }

  async updatePort(req: Req<'updatePort'>): Res<'updatePort'> {
    const who = this.who(req.context);
    const body = resource<PortBody>(req.body, 'port');
    return this.cloud.store.tx(() => typed({ port: this.core.portView(this.core.updatePort(who, req.path.port_id, body)) }));
  }

  async deletePort(req: Req<'deletePort'>): Res<'deletePort'> {
    const who = this.who(req.context);
    this.cloud.store.tx(() => {
      const p = this.core.port(who, req.path.port_id);
      if (!who.admin && p.project_id !== who.project) throw notFound('PortNotFound', `Port ${p.id} could not be found.`);
      if ([OWNER_ROUTER_INTF, OWNER_ROUTER_GW, OWNER_FIP].includes(p.device_owner)) {
        throw conflict('L3PortInUse', `Port ${p.id} has owner ${p.device_owner} and therefore cannot be deleted directly via the port API.`);
      }
      this.core.deletePort(p);
    });
  }

  // ---- routers ----

  async listRouters(req: Req<'listRouters'>): Res<'listRouters'> {
    const scope = this.scope(req.context, req.query);
    const routers = this.cloud.store.list<RouterRec>(K.router, { projectId: scope });
    return typed(listBody('routers', listViews(routers.map((r) => this.core.routerView(r)), req.query, 'routers', req.context.url)));
  }

  async showRouter(req: Req<'showRouter'>): Res<'showRouter'> {
    const r = this.core.router(this.who(req.context), req.path.id);
    return typed({ router: pickFields(this.core.routerView(r), this.fields(req.query)) });
  }

  async createRouter(req: Req<'createRouter'>): Res<'createRouter'> {
    const who = this.who(req.context);
    const body = resource<NonNullable<NonNullable<Req<'createRouter'>['body']>['router']>>(req.body, 'router');
    return this.cloud.store.tx(() => {
      const owner = this.core.owner(who, body);
      this.core.checkQuota(owner, 'router', 1);
      const now = isoZ();
      const r = this.cloud.store.insert<RouterRec>(K.router, {
        id: this.cloud.store.newId(), project_id: owner, name: body.name ?? '', description: body.description ?? '',
        admin_state_up: body.admin_state_up === undefined ? true : toBool(body.admin_state_up, 'admin_state_up'),
        gateway: null, revision_number: 1, created_at: now, updated_at: now,
      });
      // `{}` is no gateway (Tempest's create_router sends it when there is no public network).
      if (body.external_gateway_info?.network_id) this.core.setGateway(who, r, body.external_gateway_info);
      this.cloud.store.put(K.router, r, false);
      return typed({ router: this.core.routerView(r) });
    });
  }

  async updateRouter(req: Req<'updateRouter'>): Res<'updateRouter'> {
    const who = this.who(req.context);
    const body = resource<NonNullable<NonNullable<Req<'updateRouter'>['body']>['router']>>(req.body, 'router');
    return this.cloud.store.tx(() => {
      const r = this.core.router(who, req.path.id);
      if (body.name !== undefined) r.name = body.name;
      if (body.description !== undefined) r.description = body.description;
      if (body.admin_state_up !== undefined) r.admin_state_up = toBool(body.admin_state_up, 'admin_state_up');
      if (body.routes !== undefined && body.routes.length) throw badRequest('HTTPBadRequest', 'Unrecognized attribute(s) \'routes\'');
      if (body.external_gateway_info !== undefined) {
        const info = body.external_gateway_info;
        if (info === null || !info.network_id) this.core.clearGateway(r);
        else this.core.setGateway(who, r, info);
      }
      r.revision_number++;
      this.cloud.store.put(K.router, r);
      return typed({ router: this.core.routerView(r) });
    });
  }

  async deleteRouter(req: Req<'deleteRouter'>): Res<'deleteRouter'> {
    const who = this.who(req.context);
    this.cloud.store.tx(() => {
      const r = this.core.router(who, req.path.id);
      if (this.core.routerPorts(r.id, OWNER_ROUTER_INTF).length) throw conflict('RouterInUse', `Router ${r.id} still has ports`);
      if (this.cloud.store.list<FipRec>(K.fip, { where: (f) => f.router_id === r.id }).length) {
        throw conflict('RouterInUse', `Router ${r.id} still has ports`);
      }
      if (r.gateway) this.core.clearGateway(r);
      this.cloud.store.delete(K.router, r.id);
    });
  }

  async replaceRouterAddRouterInterface(req: Req<'replaceRouterAddRouterInterface'>): Res<'replaceRouterAddRouterInterface'> {
    const who = this.who(req.context);
    const body = (req.body ?? {}) as { subnet_id?: string; port_id?: string };
    return this.cloud.store.tx(() => typed(this.core.addInterface(who, req.path.id, body)));
  }

  async replaceRouterRemoveRouterInterface(req: Req<'replaceRouterRemoveRouterInterface'>): Res<'replaceRouterRemoveRouterInterface'> {
    const who = this.who(req.context);
    const body = (req.body ?? {}) as { subnet_id?: string; port_id?: string };
    return this.cloud.store.tx(() => typed(this.core.removeInterface(who, req.path.id, body)));
  }

  // ---- floating IPs ----

  async listFloatingips(req: Req<'listFloatingips'>): Res<'listFloatingips'> {
    const scope = this.scope(req.context, req.query);
    const fips = this.cloud.store.list<FipRec>(K.fip, { projectId: scope });
    return typed(listBody('floatingips', listViews(fips.map((f) => this.core.fipView(f)), req.query, 'floatingips', req.context.url)));
  }

  async showFloatingip(req: Req<'showFloatingip'>): Res<'showFloatingip'> {
    const f = this.core.fip(this.who(req.context), req.path.id);
    return typed({ floatingip: pickFields(this.core.fipView(f), this.fields(req.query)) });
  }

  async createFloatingip(req: Req<'createFloatingip'>): Res<'createFloatingip'> {
    const who = this.who(req.context);
    const body = resource<NonNullable<NonNullable<Req<'createFloatingip'>['body']>['floatingip']>>(req.body, 'floatingip');
    return this.cloud.store.tx(() => typed({ floatingip: this.core.fipView(this.core.createFip(who, body)) }));
  }

  async updateFloatingip(req: Req<'updateFloatingip'>): Res<'updateFloatingip'> {
    const who = this.who(req.context);
    const body = resource<NonNullable<NonNullable<Req<'updateFloatingip'>['body']>['floatingip']>>(req.body, 'floatingip');
    return this.cloud.store.tx(() => {
      const f = this.core.fip(who, req.path.id);
      if (body.description !== undefined) f.description = body.description;
      if (body.port_id !== undefined) {
        if (body.port_id === null) this.core.disassociate(f);
        else this.core.associate(who, f, body.port_id, body.fixed_ip_address ?? undefined);
      } else if (body.fixed_ip_address !== undefined && body.fixed_ip_address !== null && f.port_id) {
        this.core.associate(who, f, f.port_id, body.fixed_ip_address);
      }
      f.revision_number++;
      this.cloud.store.put(K.fip, f);
      return typed({ floatingip: this.core.fipView(f) });
    });
  }

  async deleteFloatingip(req: Req<'deleteFloatingip'>): Res<'deleteFloatingip'> {
    const who = this.who(req.context);
    this.cloud.store.tx(() => {
      const f = this.core.fip(who, req.path.id);
      this.cloud.store.delete(K.port, f.fip_port_id);
      this.cloud.store.delete(K.fip, f.id);
    });
  }

  // ---- security groups ----

  async listSecurityGroups(req: Req<'listSecurityGroups'>): Res<'listSecurityGroups'> {
    const who = this.who(req.context);
    const scope = this.scope(req.context, req.query);
    return this.cloud.store.tx(() => {
      this.core.ensureDefaultGroup(who.project);
      const groups = this.cloud.store.list<SgRec>(K.sg, { projectId: scope });
      return typed(listBody('security_groups', listViews(groups.map((g) => this.core.sgView(g)), req.query, 'security_groups', req.context.url)));
    });
  }

  async showSecurityGroup(req: Req<'showSecurityGroup'>): Res<'showSecurityGroup'> {
    const who = this.who(req.context);
    return this.cloud.store.tx(() => {
      this.core.ensureDefaultGroup(who.project);
      const g = this.core.sg(who, req.path.id);
      return typed({ security_group: pickFields(this.core.sgView(g), this.fields(req.query)) });
    });
  }

  async createSecurityGroup(req: Req<'createSecurityGroup'>): Res<'createSecurityGroup'> {
    const who = this.who(req.context);
    const body = resource<NonNullable<NonNullable<Req<'createSecurityGroup'>['body']>['security_group']>>(req.body, 'security_group');
    return this.cloud.store.tx(() => {
      const owner = this.core.owner(who, body);
      this.core.ensureDefaultGroup(owner);
      if (body.name === 'default') throw conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
      const g = this.core.createGroup(owner, body.name ?? '', body.description ?? '', body.stateful === undefined ? true : toBool(body.stateful, 'stateful'), false);
      return typed({ security_group: this.core.sgView(g) });
    });
  }

  async updateSecurityGroup(req: Req<'updateSecurityGroup'>): Res<'updateSecurityGroup'> {
    const who = this.who(req.context);
    const body = resource<{ name?: string; description?: string; stateful?: boolean | string }>(req.body, 'security_group');
    return this.cloud.store.tx(() => {
      const g = this.core.sg(who, req.path.id);
      if (body.name !== undefined && body.name !== g.name) {
        if (g.is_default) throw conflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
        if (body.name === 'default') throw conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
        g.name = body.name;
      }
      if (body.description !== undefined) g.description = body.description;
      if (body.stateful !== undefined) {
        const stateful = toBool(body.stateful, 'stateful');
        if (stateful !== g.stateful && this.cloud.store.list<PortRec>(K.port, { where: (p) => p.security_groups.includes(g.id) }).length) {
          throw conflict('SecurityGroupInUse', `Security Group ${g.id} in use.`);
        }
        g.stateful = stateful;
      }
      g.revision_number++;
      this.cloud.store.put(K.sg, g);
      return typed({ security_group: this.core.sgView(g) });
    });
  }

  async deleteSecurityGroup(req: Req<'deleteSecurityGroup'>): Res<'deleteSecurityGroup'> {
    const who = this.who(req.context);
    this.cloud.store.tx(() => {
      const g = this.core.sg(who, req.path.id);
      // Neutron: only an admin may remove a project's default group (when cleaning the project up).
      if (g.is_default && !who.admin) throw conflict('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
      if (this.cloud.store.list<PortRec>(K.port, { where: (p) => p.security_groups.includes(g.id) }).length) {
        throw conflict('SecurityGroupInUse', `Security Group ${g.id} in use.`);
      }
      for (const r of this.cloud.store.list<RuleRec>(K.rule, { where: (x) => x.security_group_id === g.id || x.remote_group_id === g.id })) {
        this.cloud.store.delete(K.rule, r.id);
        if (r.security_group_id !== g.id) this.core.bumpGroup(r.security_group_id);
      }
      this.cloud.store.delete(K.sg, g.id);
    });
  }

  async listSecurityGroupRules(req: Req<'listSecurityGroupRules'>): Res<'listSecurityGroupRules'> {
    const who = this.who(req.context);
    const scope = this.scope(req.context, req.query);
    return this.cloud.store.tx(() => {
      this.core.ensureDefaultGroup(who.project);
      const rules = this.cloud.store.list<RuleRec>(K.rule, { projectId: scope });
      return typed(listBody('security_group_rules', listViews(rules.map((r) => this.core.ruleView(r)), req.query, 'security_group_rules', req.context.url)));
    });
  }

  async showSecurityGroupRule(req: Req<'showSecurityGroupRule'>): Res<'showSecurityGroupRule'> {
    const r = this.core.rule(this.who(req.context), req.path.id);
    return typed({ security_group_rule: pickFields(this.core.ruleView(r), this.fields(req.query)) });
  }

  async createSecurityGroupRule(req: Req<'createSecurityGroupRule'>): Res<'createSecurityGroupRule'> {
    const who = this.who(req.context);
    const body = resource<RuleBody>(req.body, 'security_group_rule');
    return this.cloud.store.tx(() => typed({ security_group_rule: this.core.ruleView(this.core.createRule(who, body)) }));
  }

  async deleteSecurityGroupRule(req: Req<'deleteSecurityGroupRule'>): Res<'deleteSecurityGroupRule'> {
    const who = this.who(req.context);
    this.cloud.store.tx(() => {
      const r = this.core.rule(who, req.path.id);
      this.cloud.store.delete(K.rule, r.id);
      this.core.bumpGroup(r.security_group_id);
    });
  }

  // ---- quotas ----

  async listQuotas(req: Req<'listQuotas'>): Res<'listQuotas'> {
    const who = this.who(req.context);
    const recs = this.cloud.store.list<QuotaRec>(K.quota, who.admin ? {} : { projectId: who.project });
    return typed({ quotas: recs.map((q) => ({ ...this.core.limits(q.id), project_id: q.id, tenant_id: q.id })) });
  }

  async showQuotas(req: Req<'showQuotas'>): Res<'showQuotas'> {
    const project = this.quotaProject(req.context, req.path.id);
    return typed({ quota: this.core.limits(project) });
  }

  async listQuotasDefault(req: Req<'listQuotasDefault'>): Res<'listQuotasDefault'> {
    this.quotaProject(req.context, req.path.id); // the same policy as show
    return typed({ quota: { ...QUOTA_DEFAULTS } });
  }

  async listQuotasDetails(req: Req<'listQuotasDetails'>): Res<'listQuotasDetails'> {
    const project = this.quotaProject(req.context, req.path.id);
    const limits = this.core.limits(project);
    const quota: Record<string, { limit: number; used: number; reserved: number }> = {};
    for (const k of QUOTA_KEYS) quota[k] = { limit: limits[k], used: this.core.used(project, k), reserved: 0 };
    return typed({ quota });
  }

  async updateQuotas(req: Req<'updateQuotas'>): Res<'updateQuotas'> {
    const who = this.who(req.context);
    if (!who.admin) throw policy('update_quota');
    const body = resource<Record<string, unknown>>(req.body, 'quota');
    const project = req.path.id;
    return this.cloud.store.tx(() => {
      const now = isoZ();
      const rec = this.cloud.store.get<QuotaRec>(K.quota, project)
        ?? this.cloud.store.insert<QuotaRec>(K.quota, { id: project, project_id: project, limits: {}, created_at: now, updated_at: now });
      for (const [k, v] of Object.entries(body)) {
        if (k === 'project_id' || k === 'tenant_id' || k === 'force' || k === 'check_limit') continue;
        if (!(QUOTA_KEYS as readonly string[]).includes(k)) throw badRequest('HTTPBadRequest', `Unrecognized attribute(s) '${k}'`);
        const n = toInt(v, k);
        if (n < -1) throw invalid(`'${n}' should be greater than or equal to -1`);
        rec.limits[k as QuotaKey] = n;
      }
      this.cloud.store.put(K.quota, rec);
      return typed({ quota: this.core.limits(project) });
    });
  }

  async deleteQuotas(req: Req<'deleteQuotas'>): Res<'deleteQuotas'> {
    const who = this.who(req.context);
    if (!who.admin) throw policy('delete_quota');
    this.cloud.store.tx(() => { this.cloud.store.delete(K.quota, req.path.id); });
  }

  /** A project's quotas: its own, or any for an admin (403 otherwise, as Neutron). */
  private quotaProject(ctx: RequestContext, id: string): string {
    const who = this.who(ctx);
    if (!who.admin && id !== who.project) throw policy('get_quota');
    return id;
  }

  // ---- agents: the sandbox runs none (no DHCP, L3 or OVS agents to report) ----

  async listAgents(_req: Req<'listAgents'>): Res<'listAgents'> {
    return typed({ agents: [] });
  }

  async showAgent(req: Req<'showAgent'>): Res<'showAgent'> {
    throw notFound('AgentNotFound', `Agent ${req.path.id} could not be found.`);
  }

  // ---- extensions, availability zones ----

  async listExtensions(_req: Req<'listExtensions'>): Res<'listExtensions'> {
    return typed(extensionList(EXTENSIONS));
  }

  async showExtension(req: Req<'showExtension'>): Res<'showExtension'> {
    return typed(extensionShow(EXTENSIONS, req.path.id));
  }

  async listAvailabilityZones(req: Req<'listAvailabilityZones'>): Res<'listAvailabilityZones'> {
    this.who(req.context);
    const zones = [{ name: AZ, resource: 'network', state: 'available' }, { name: AZ, resource: 'router', state: 'available' }];
    const q = req.query as Query;
    const out = zones.filter((z) => ['name', 'resource', 'state'].every((k) => q[k] === undefined || many(q[k]).includes(z[k as keyof typeof z])));
    return typed({ availability_zones: out });
  }
}

interface PortBody {
  network_id?: string;
  name?: string;
  description?: string;
  admin_state_up?: boolean | string;
  mac_address?: string;
  fixed_ips?: { subnet_id?: string; ip_address?: string }[];
  device_id?: string;
  device_owner?: string;
  security_groups?: string[] | null;
  port_security_enabled?: boolean | string;
  allowed_address_pairs?: { ip_address?: string; mac_address?: string }[] | null;
  'binding:host_id'?: string;
  'binding:vnic_type'?: VnicType;
  'binding:profile'?: Record<string, unknown> | null;
  tenant_id?: string;
  project_id?: string;
}

interface RuleBody {
  security_group_id?: string;
  direction?: string;
  ethertype?: string;
  protocol?: string | number | null;
  port_range_min?: number | string | null;
  port_range_max?: number | string | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
  remote_address_group_id?: string | null;
  description?: string;
  tenant_id?: string;
  project_id?: string;
}

/** IANA numbers of the protocol names Neutron accepts. */
const PROTOCOLS: Record<string, number> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, igmp: 2, ipip: 4, ipv6_encap: 41, 'ipv6-encap': 41, 'ipv6-frag': 44, 'ipv6-icmp': 58, icmpv6: 58,
  'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89, pgm: 113, rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);
const ICMP_PROTOCOLS = new Set([1, 58]);

/** The state and rules shared by the driver and the side other services use. */
class NetworkCore {
  constructor(readonly cloud: SandboxCloud) {}

  private get store() { return this.cloud.store; }

  /** The project a new resource belongs to: the caller's, or for admins a named one. */
  owner(who: Who, body: { tenant_id?: string; project_id?: string }): string {
    const named = body.project_id ?? body.tenant_id;
    if (named === undefined || named === who.project) return who.project;
    if (!who.admin) throw badRequest('HTTPBadRequest', "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
    return named;
  }

  // ---- quotas ----

  /** A project's limits, resource by resource: what show, default and update answer (only the list names the project). */
  limits(project: string): Record<QuotaKey, number> {
    const rec = this.store.get<QuotaRec>(K.quota, project);
    return { ...QUOTA_DEFAULTS, ...(rec?.limits ?? {}) };
  }

  used(project: string, key: QuotaKey): number {
    const kind = QUOTA_KINDS[key];
    return kind ? this.store.count(kind, project) : 0;
  }

  checkQuota(project: string, key: QuotaKey, adding: number): void {
    const limit = this.limits(project)[key];
    if (limit >= 0 && this.used(project, key) + adding > limit) {
      throw conflict('OverQuota', `Quota exceeded for resources: ['${key}'].`);
    }
  }

  // ---- lookups with visibility ----

  network(who: Who, id: string): NetworkRec {
    const n = this.store.get<NetworkRec>(K.network, id);
    if (!n || !(who.admin || n.project_id === who.project || n.shared || n.external)) throw notFound('NetworkNotFound', `Network ${id} could not be found.`);
    return n;
  }

  /** A network the caller may change: its own (others' visible ones are 403, hidden ones 404). */
  ownedNetwork(who: Who, id: string): NetworkRec {
    const n = this.network(who, id);
    if (!who.admin && n.project_id !== who.project) throw policy('update_network');
    return n;
  }

  subnet(who: Who, id: string): SubnetRec {
    const s = this.store.get<SubnetRec>(K.subnet, id);
    if (s && (who.admin || s.project_id === who.project)) return s;
    if (s) {
      const n = this.store.get<NetworkRec>(K.network, s.network_id);
      if (n?.shared) return s;
    }
    throw notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
  }

  port(who: Who, id: string): PortRec {
    const p = this.store.get<PortRec>(K.port, id);
    if (p && (who.admin || p.project_id === who.project || this.store.get<NetworkRec>(K.network, p.network_id)?.project_id === who.project)) return p;
    throw notFound('PortNotFound', `Port ${id} could not be found.`);
  }

  router(who: Who, id: string): RouterRec {
    const r = this.store.get<RouterRec>(K.router, id);
    if (!r || !(who.admin || r.project_id === who.project)) throw notFound('RouterNotFound', `Router ${id} could not be found.`);
    return r;
  }

  fip(who: Who, id: string): FipRec {
    const f = this.store.get<FipRec>(K.fip, id);
    if (!f || !(who.admin || f.project_id === who.project)) throw notFound('FloatingIPNotFound', `Floating IP ${id} could not be found`);
    return f;
  }

  sg(who: Who, id: string): SgRec {
    const g = this.store.get<SgRec>(K.sg, id);
    if (!g || !(who.admin || g.project_id === who.project)) throw notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);
    return g;
  }

  rule(who: Who, id: string): RuleRec {
    const r = this.store.get<RuleRec>(K.rule, id);
    if (!r || !(who.admin || r.project_id === who.project)) throw notFound('SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`);
    return r;
  }

  subnetsOf(networkId: string): SubnetRec[] {
    return this.store.list<SubnetRec>(K.subnet, { where: (s) => s.network_id === networkId });
  }

  bumpNetwork(id: string): void {
    const n = this.store.get<NetworkRec>(K.network, id);
    if (n) { n.revision_number++; this.store.put(K.network, n); }
  }

  bumpGroup(id: string): void {
    const g = this.store.get<SgRec>(K.sg, id);
    if (g) { g.revision_number++; this.store.put(K.sg, g); }
  }

  // ---- views ----

  networkView(n: NetworkRec): View {
    return {
      id: n.id, name: n.name, description: n.description, tenant_id: n.project_id ?? '', project_id: n.project_id ?? '',
      admin_state_up: n.admin_state_up, status: 'ACTIVE', shared: n.shared, 'router:external': n.external, mtu: n.mtu,
      subnets: this.subnetsOf(n.id).map((s) => s.id), port_security_enabled: n.port_security_enabled,
      availability_zone_hints: n.availability_zone_hints, availability_zones: [AZ],
      revision_number: n.revision_number, created_at: n.created_at, updated_at: n.updated_at,
    };
  }

  subnetView(s: SubnetRec): View {
    return {
      id: s.id, name: s.name, description: s.description, network_id: s.network_id, tenant_id: s.project_id ?? '', project_id: s.project_id ?? '',
      ip_version: s.ip_version, cidr: s.cidr, gateway_ip: s.gateway_ip, allocation_pools: s.allocation_pools,
      dns_nameservers: s.dns_nameservers, host_routes: s.host_routes, enable_dhcp: s.enable_dhcp,
      ipv6_address_mode: s.ipv6_address_mode, ipv6_ra_mode: s.ipv6_ra_mode, subnetpool_id: null,
      revision_number: s.revision_number, created_at: s.created_at, updated_at: s.updated_at,
    };
  }

  portView(p: PortRec): View {
    const bound = p.binding_host_id !== '';
    return {
      id: p.id, name: p.name, description: p.description, network_id: p.network_id, tenant_id: p.project_id ?? '', project_id: p.project_id ?? '',
      mac_address: p.mac_address, admin_state_up: p.admin_state_up, status: p.status, device_id: p.device_id, device_owner: p.device_owner,
      fixed_ips: p.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })), security_groups: p.security_groups,
      allowed_address_pairs: p.allowed_address_pairs, port_security_enabled: p.port_security_enabled,
      'binding:host_id': p.binding_host_id, 'binding:vif_type': bound ? 'ovs' : 'unbound', 'binding:vif_details': bound ? { port_filter: true } : {},
      'binding:vnic_type': p.binding_vnic_type, 'binding:profile': p.binding_profile,
      revision_number: p.revision_number, created_at: p.created_at, updated_at: p.updated_at,
    };
  }

  routerView(r: RouterRec): View {
    let info: View | null = null;
    if (r.gateway) {
      const gp = this.store.get<PortRec>(K.port, r.gateway.port_id);
      info = { network_id: r.gateway.network_id, enable_snat: r.gateway.enable_snat, external_fixed_ips: (gp?.fixed_ips ?? []).map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })) };
    }
    return {
      id: r.id, name: r.name, description: r.description, tenant_id: r.project_id ?? '', project_id: r.project_id ?? '',
      admin_state_up: r.admin_state_up, status: 'ACTIVE', external_gateway_info: info,
      availability_zone_hints: [], availability_zones: [AZ],
      revision_number: r.revision_number, created_at: r.created_at, updated_at: r.updated_at,
    };
  }

  fipView(f: FipRec): View {
    return {
      id: f.id, tenant_id: f.project_id ?? '', project_id: f.project_id ?? '', description: f.description,
      floating_network_id: f.floating_network_id, floating_ip_address: f.floating_ip_address,
      fixed_ip_address: f.fixed_ip_address, port_id: f.port_id, router_id: f.router_id, status: f.port_id ? 'ACTIVE' : 'DOWN',
      revision_number: f.revision_number, created_at: f.created_at, updated_at: f.updated_at,
    };
  }

  sgView(g: SgRec): View {
    return {
      id: g.id, name: g.name, description: g.description, tenant_id: g.project_id ?? '', project_id: g.project_id ?? '', stateful: g.stateful,
      security_group_rules: this.store.list<RuleRec>(K.rule, { where: (r) => r.security_group_id === g.id }).map((r) => this.ruleView(r)),
      revision_number: g.revision_number, created_at: g.created_at, updated_at: g.updated_at,
    };
  }

  ruleView(r: RuleRec): View {
    let normalized: string | null = null;
    if (r.remote_ip_prefix) normalized = parseCidr(r.remote_ip_prefix, 'remote_ip_prefix', false).text;
    return {
      id: r.id, security_group_id: r.security_group_id, direction: r.direction, ethertype: r.ethertype, protocol: r.protocol,
      port_range_min: r.port_range_min, port_range_max: r.port_range_max, remote_ip_prefix: r.remote_ip_prefix, normalized_cidr: normalized,
      remote_group_id: r.remote_group_id, description: r.description, tenant_id: r.project_id ?? '', project_id: r.project_id ?? '',
      revision_number: r.revision_number, created_at: r.created_at, updated_at: r.updated_at,
    };
  }

  // ---- subnets ----

  checkGateway(c: Cidr, gw: unknown): string | null {
    if (gw === null || gw === '') return null;
    const ip = parseIp(gw);
    if (!ip || ip.version !== c.version) throw invalid(`'${String(gw)}' is not a valid IP address`);
    if (!inCidr(c, ip)) throw invalid(`Gateway is not valid on subnet`);
    // Neutron refuses the network address and (IPv4) the broadcast address as gateway.
    if (c.version === 4 && c.prefix < 31 && (ip.value === c.first || ip.value === c.last)) throw invalid(`Gateway is not valid on subnet`);
    if (c.version === 6 && ip.value === c.first && c.prefix < 127) throw invalid(`Gateway is not valid on subnet`);
    return bigToIp(ip.value, c.version);
  }

  checkPools(c: Cidr, raw: unknown, gateway: string | null): Pool[] {
    if (!Array.isArray(raw)) throw invalid(`Invalid data format for IP pool: '${JSON.stringify(raw)}'`);
    const ranges: [bigint, bigint][] = [];
    const pools: Pool[] = [];
    for (const p of raw as { start?: unknown; end?: unknown }[]) {
      const s = parseIp(p?.start), e = parseIp(p?.end);
      if (!s || !e || s.version !== c.version || e.version !== c.version || s.value > e.value) {
        throw badRequest('InvalidAllocationPool', `The allocation pool ${String(p?.start)}-${String(p?.end)} is not valid.`);
      }
      const lowest = c.version === 4 && c.prefix < 31 ? c.first + 1n : c.first;
      const highest = c.version === 4 && c.prefix < 31 ? c.last - 1n : c.last;
      if (s.value < lowest || e.value > highest) {
        throw badRequest('OutOfBoundsAllocationPool', `The allocation pool ${String(p.start)}-${String(p.end)} spans beyond the subnet cidr ${c.text}.`);
      }
      for (const [a, b] of ranges) {
        if (s.value <= b && a <= e.value) throw conflict('OverlappingAllocationPools', `Found overlapping allocation pools: ${String(p.start)}-${String(p.end)} and ${bigToIp(a, c.version)}-${bigToIp(b, c.version)} for subnet ${c.text}.`);
      }
      ranges.push([s.value, e.value]);
      pools.push({ start: bigToIp(s.value, c.version), end: bigToIp(e.value, c.version) });
    }
    this.checkGatewayOutsidePools(pools, gateway);
    return pools;
  }

  checkGatewayOutsidePools(pools: Pool[], gateway: string | null): void {
    const gw = gateway ? parseIp(gateway) : undefined;
    if (!gw) return;
    for (const p of pools) {
      if (gw.value >= parseIp(p.start)!.value && gw.value <= parseIp(p.end)!.value) {
        throw conflict('GatewayConflictWithAllocationPools', `Gateway ip ${gateway} conflicts with allocation pool ${p.start}-${p.end}.`);
      }
    }
  }

  checkNameservers(raw: unknown): string[] {
    if (!Array.isArray(raw)) throw invalid(`'${JSON.stringify(raw)}' is not a list`);
    if (raw.length > 5) throw badRequest('DNSNameServersExhausted', 'Unable to complete operation for subnet. The number of DNS nameservers exceeds the limit 5.');
    const out: string[] = [];
    for (const x of raw) {
      const ip = parseIp(x);
      if (!ip) throw invalid(`'${String(x)}' is not a valid nameserver. '${String(x)}' is not a valid IP address`);
      const s = bigToIp(ip.value, ip.version);
      if (out.includes(s)) throw invalid(`Duplicate nameserver '${s}'`);
      out.push(s);
    }
    return out;
  }

  checkRoutes(c: Cidr, raw: unknown): HostRoute[] {
    if (!Array.isArray(raw)) throw invalid(`'${JSON.stringify(raw)}' is not a list`);
    if (raw.length > 20) throw badRequest('HostRoutesExhausted', 'Unable to complete operation for subnet. The number of host routes exceeds the limit 20.');
    const out: HostRoute[] = [];
    for (const r of raw as { destination?: unknown; nexthop?: unknown }[]) {
      const dest = parseCidr(r?.destination, 'destination', false);
      const hop = parseIp(r?.nexthop);
      if (!hop) throw invalid(`'${String(r?.nexthop)}' is not a valid IP address`);
      if (dest.version !== c.version || hop.version !== c.version) throw invalid(`Host route ${dest.text} via ${String(r.nexthop)} does not match the subnet's IP version`);
      const route = { destination: dest.text, nexthop: bigToIp(hop.value, hop.version) };
      if (out.some((x) => x.destination === route.destination && x.nexthop === route.nexthop)) throw invalid(`Duplicate hostroute '${route.destination}'`);
      out.push(route);
    }
    return out;
  }

  createSubnet(who: Who, body: NonNullable<NonNullable<NetworkRequest<'createSubnet'>['body']>['subnet']>): SubnetRec {
    if (!body.network_id) throw badRequest('HTTPBadRequest', 'Failed to parse request. Required attribute \'network_id\' not specified');
    const net = this.network(who, body.network_id);
    if (!who.admin && net.project_id !== who.project) throw policy('create_subnet');
    const owner = this.owner(who, body as { tenant_id?: string; project_id?: string });
    if (body.subnetpool_id || body.use_default_subnetpool) throw badRequest('HTTPBadRequest', 'Subnet pools are not supported by the sandbox; give a cidr.');
    if (body.cidr === undefined || body.cidr === null) throw badRequest('BadRequest', 'Bad subnets request: a cidr must be specified in the absence of a subnet pool.');
    const version = toInt(body.ip_version, 'ip_version');
    if (version !== 4 && version !== 6) throw invalid(`${version} is not in [4, 6]`);
    const c = parseCidr(body.cidr, 'cidr', true);
    if (c.version !== version) throw invalid('Cannot use CIDR with a different IP version than ip_version');
    if (c.prefix === 0) throw invalid(`'${c.text}' is not allowed as a subnet CIDR`);
    if (version === 4 && (body.ipv6_address_mode || body.ipv6_ra_mode)) throw invalid('ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False or ip_version is 4');
    if (body.ipv6_address_mode && body.ipv6_ra_mode && body.ipv6_address_mode !== body.ipv6_ra_mode) {
      throw invalid(`ipv6_ra_mode set to '${body.ipv6_ra_mode}' with ipv6_address_mode set to '${body.ipv6_address_mode}' is not valid. If both attributes are set, they must be the same value`);
    }
    for (const other of this.subnetsOf(net.id)) {
      const oc = parseCidr(other.cidr, 'cidr', false);
      if (overlaps(c, oc)) throw invalid(`Requested subnet with cidr: ${c.text} for network: ${net.id} overlaps with another subnet`);
    }
    const defaultGw = c.version === 4 && c.prefix >= 31 ? null : bigToIp(c.first + 1n, c.version);
    const gateway = body.gateway_ip === undefined ? defaultGw : this.checkGateway(c, body.gateway_ip);
    const pools = body.allocation_pools === undefined || body.allocation_pools.length === 0 ? defaultPools(c, gateway) : this.checkPools(c, body.allocation_pools, gateway);
    this.checkQuota(owner, 'subnet', 1);
    const now = isoZ();
    const s = this.store.insert<SubnetRec>(K.subnet, {
      id: this.store.newId(), project_id: owner, name: body.name ?? '', description: body.description ?? '', network_id: net.id,
      ip_version: version, cidr: c.text, gateway_ip: gateway, allocation_pools: pools,
      dns_nameservers: body.dns_nameservers === undefined ? [] : this.checkNameservers(body.dns_nameservers),
      host_routes: body.host_routes === undefined ? [] : this.checkRoutes(c, body.host_routes),
      enable_dhcp: body.enable_dhcp === undefined ? true : toBool(body.enable_dhcp, 'enable_dhcp'),
      ipv6_address_mode: version === 6 ? body.ipv6_address_mode ?? null : null,
      ipv6_ra_mode: version === 6 ? body.ipv6_ra_mode ?? null : null,
      revision_number: 1, created_at: now, updated_at: now,
    });
    this.bumpNetwork(net.id);
    return s;
  }

  // ---- IP and MAC allocation ----

  /** Addresses in use on a subnet (every port's fixed IPs there). */
  private usedIps(subnetId: string): Set<bigint> {
    const used = new Set<bigint>();
    // Read in place: a copy of every port (list) for their addresses cost most of a server create.
    this.store.forEach<PortRec>(K.port, (p) => {
      for (const f of p.fixed_ips) if (f.subnet_id === subnetId) used.add(parseIp(f.ip_address)!.value);
    });
    return used;
  }

  /** The lowest free address of the subnet's pools, or undefined when they are exhausted. */
  private nextFree(s: SubnetRec): string | undefined {
    const used = this.usedIps(s.id);
    for (const p of s.allocation_pools) {
      const a = parseIp(p.start)!, b = parseIp(p.end)!;
      for (let v = a.value; v <= b.value; v++) if (!used.has(v)) return bigToIp(v, s.ip_version);
    }
    return undefined;
  }

  /** Fixed IPs for a port: the requested ones, checked, or one per IP version from the network's subnets. */
  allocateIps(net: NetworkRec, requested: { subnet_id?: string; ip_address?: string }[] | undefined, deviceOwner: string, mac: string, keep: { subnet_id: string; ip_address: string }[] = []): { subnet_id: string; ip_address: string }[] {
    const subnets = this.subnetsOf(net.id);
    const out: { subnet_id: string; ip_address: string }[] = [];
    const routerPort = deviceOwner === OWNER_ROUTER_INTF || deviceOwner === OWNER_ROUTER_GW;
    /** SLAAC and DHCPv6-stateless subnets: the address is the prefix plus the MAC's EUI-64. */
    const eui = (s: SubnetRec) => {
      const addr = eui64(s.cidr, mac);
      const v = parseIp(addr)!.value;
      if (this.usedIps(s.id).has(v)) throw conflict('IpAddressAlreadyAllocated', `IP address ${addr} already allocated in subnet ${s.id}`);
      return { subnet_id: s.id, ip_address: addr };
    };
    if (requested === undefined) {
      // Neutron: one address from an IPv4 subnet, one from a stateful IPv6 subnet, and one on every SLAAC subnet.
      if (!routerPort) for (const s of subnets) if (isAutoAddress(s)) out.push(eui(s));
      for (const version of [4, 6] as const) {
        const candidates = subnets.filter((s) => s.ip_version === version && !isAutoAddress(s));
        if (!candidates.length) continue;
        let got: string | undefined;
        for (const s of candidates) {
          got = this.nextFree(s);
          if (got) { out.push({ subnet_id: s.id, ip_address: got }); break; }
        }
        if (!got) throw conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${net.id}.`);
      }
      return out;
    }
    for (const r of requested) {
      if (r.ip_address !== undefined) {
        const ip = parseIp(r.ip_address);
        if (!ip) throw invalid(`'${r.ip_address}' is not a valid IP address`);
        const s = r.subnet_id !== undefined
          ? subnets.find((x) => x.id === r.subnet_id)
          : subnets.find((x) => inCidr(parseCidr(x.cidr, 'cidr', false), ip));
        if (r.subnet_id !== undefined && !s) {
          if (this.store.get<SubnetRec>(K.subnet, r.subnet_id)) throw invalid(`Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${r.subnet_id}`);
          throw notFound('SubnetNotFound', `Subnet ${r.subnet_id} could not be found.`);
        }
        if (!s) throw badRequest('InvalidIpForNetwork', `IP address ${r.ip_address} is not a valid IP for any of the subnets on the specified network.`);
        const c = parseCidr(s.cidr, 'cidr', false);
        if (!inCidr(c, ip)) throw badRequest('InvalidIpForSubnet', `IP address ${r.ip_address} is not a valid IP for the specified subnet.`);
        const addr = bigToIp(ip.value, ip.version);
        const kept = keep.some((k) => k.subnet_id === s.id && k.ip_address === addr);
        if (isAutoAddress(s) && !routerPort && !kept && addr !== eui64(s.cidr, mac)) {
          throw badRequest('InvalidInput', `Invalid input for operation: IPv6 address ${addr} cannot be directly assigned to a port on subnet ${s.id} as the subnet is configured for automatic addresses.`);
        }
        if (!kept && (this.usedIps(s.id).has(ip.value) || out.some((o) => o.ip_address === addr))) {
          throw conflict('IpAddressAlreadyAllocated', `IP address ${addr} already allocated in subnet ${s.id}`);
        }
        if (addr === s.gateway_ip && deviceOwner !== OWNER_ROUTER_INTF && !kept) {
          throw conflict('IpAddressAlreadyAllocated', `IP address ${addr} already allocated in subnet ${s.id}`);
        }
        if (c.version === 4 && c.prefix < 31 && (ip.value === c.first || ip.value === c.last)) throw badRequest('InvalidIpForSubnet', `IP address ${r.ip_address} is not a valid IP for the specified subnet.`);
        out.push({ subnet_id: s.id, ip_address: addr });
      } else if (r.subnet_id !== undefined) {
        const s = subnets.find((x) => x.id === r.subnet_id);
        if (!s) {
          if (this.store.get<SubnetRec>(K.subnet, r.subnet_id)) throw invalid(`Failed to create port on network ${net.id}, because fixed_ips included invalid subnet ${r.subnet_id}`);
          throw notFound('SubnetNotFound', `Subnet ${r.subnet_id} could not be found.`);
        }
        const kept = keep.find((k) => k.subnet_id === s.id && !out.some((o) => o.ip_address === k.ip_address));
        if (kept) { out.push(kept); continue; }
        if (isAutoAddress(s) && !routerPort) { out.push(eui(s)); continue; }
        const used = this.usedIps(s.id);
        for (const o of out) if (o.subnet_id === s.id) used.add(parseIp(o.ip_address)!.value);
        let got: string | undefined;
        for (const p of s.allocation_pools) {
          const a = parseIp(p.start)!, b = parseIp(p.end)!;
          for (let v = a.value; v <= b.value && !got; v++) if (!used.has(v)) got = bigToIp(v, s.ip_version);
          if (got) break;
        }
        if (!got) throw conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${net.id}.`);
        out.push({ subnet_id: s.id, ip_address: got });
      } else throw invalid('Exactly one of subnet_id or ip_address must be given in each fixed_ips entry');
    }
    return out;
  }

  /** A fresh MAC (fa:16:3e: + 24 bits): a counter spread by an odd multiplier, so never repeated. */
  newMac(networkId: string): string {
    // Only the MACs: read in place, not a copy of every port of the network.
    const taken = new Set<string>();
    this.store.forEach<PortRec>(K.port, (p) => { if (p.network_id === networkId) taken.add(p.mac_address); });
    for (;;) {
      const n = BigInt(this.store.next('network:mac'));
      const x = Number((n * 0x9e3779b1n) & 0xffffffn);
      const mac = `fa:16:3e:${[x >> 16, (x >> 8) & 0xff, x & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
      if (!taken.has(mac)) return mac;
    }
  }

  // ---- ports ----

  /** Security groups for a port, by id (the project's, or any for an admin). */
  private portGroups(who: Who, owner: string, ids: string[] | null | undefined, deviceOwner: string, portSecurity: boolean): string[] {
    if (ids === undefined) {
      if (deviceOwner.startsWith('network:') || !portSecurity) return [];
      return [this.ensureDefaultGroup(owner).id];
    }
    const out: string[] = [];
    for (const id of ids ?? []) {
      const g = this.store.get<SgRec>(K.sg, id);
      if (!g || !(who.admin || g.project_id === owner)) throw notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);
      if (!out.includes(id)) out.push(id);
    }
    if (out.length && !portSecurity) throw conflict('PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
    return out;
  }

  createPort(who: Who, body: PortBody, extra: Partial<PortRec> = {}): PortRec {
    if (!body.network_id) throw badRequest('HTTPBadRequest', 'Failed to parse request. Required attribute \'network_id\' not specified');
    const net = this.network(who, body.network_id);
    const owner = this.owner(who, body);
    this.ensureDefaultGroup(owner);
    this.checkQuota(owner, 'port', 1);
    const deviceOwner = body.device_owner ?? '';
    let mac: string;
    if (body.mac_address !== undefined) {
      if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(body.mac_address) || body.mac_address === '00:00:00:00:00:00' || (parseInt(body.mac_address.slice(0, 2), 16) & 1) === 1) {
        throw invalid(`'${body.mac_address}' is not a valid MAC address`);
      }
      mac = body.mac_address.toLowerCase();
      if (this.store.list<PortRec>(K.port, { where: (p) => p.network_id === net.id && p.mac_address === mac }).length) {
        throw conflict('MacAddressInUse', `Unable to complete operation for network ${net.id}. The mac address ${mac} is in use.`);
      }
    } else mac = this.newMac(net.id);
    const portSecurity = body.port_security_enabled === undefined ? net.port_security_enabled : toBool(body.port_security_enabled, 'port_security_enabled');
    const fixed = this.allocateIps(net, body.fixed_ips, deviceOwner, mac);
    const now = isoZ();
    const deviceId = body.device_id ?? '';
    const host = body['binding:host_id'] ?? '';
    const p: PortRec = {
      id: this.store.newId(), project_id: owner, name: body.name ?? '', description: body.description ?? '', network_id: net.id,
      mac_address: mac, fixed_ips: fixed, device_id: deviceId, device_owner: deviceOwner,
      security_groups: this.portGroups(who, owner, body.security_groups, deviceOwner, portSecurity),
      status: this.portStatus(deviceId, deviceOwner, host),
      admin_state_up: body.admin_state_up === undefined ? true : toBool(body.admin_state_up, 'admin_state_up'),
      port_security_enabled: portSecurity, allowed_address_pairs: this.addressPairs(body.allowed_address_pairs, mac, portSecurity),
      binding_host_id: host, binding_vnic_type: body['binding:vnic_type'] ?? 'normal', binding_profile: body['binding:profile'] ?? {},
      revision_number: 1, created_at: now, updated_at: now, ...extra,
    };
    return this.store.insert<PortRec>(K.port, p);
  }

  private portStatus(deviceId: string, deviceOwner: string, host: string): string {
    if (deviceOwner === OWNER_FIP) return 'N/A';
    if (deviceOwner.startsWith('network:') && deviceId) return 'ACTIVE';
    return deviceId && (host || deviceOwner.startsWith('compute:')) ? 'ACTIVE' : 'DOWN';
  }

  private addressPairs(raw: PortBody['allowed_address_pairs'], mac: string, portSecurity: boolean): PortRec['allowed_address_pairs'] {
    if (raw === undefined || raw === null) return [];
    if (raw.length && !portSecurity) throw conflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
    return raw.map((a) => {
      const ok = typeof a.ip_address === 'string' && (parseIp(a.ip_address) || (() => { try { parseCidr(a.ip_address, 'ip_address', false); return true; } catch { return false; } })());
      if (!ok) throw invalid(`'${String(a.ip_address)}' is not a valid IP address`);
      return { ip_address: a.ip_address!, mac_address: (a.mac_address ?? mac).toLowerCase() };
    });
  }

  updatePort(who: Who, id: string, body: PortBody): PortRec {
    const p = this.port(who, id);
    if (body.network_id !== undefined && body.network_id !== p.network_id) throw badRequest('HTTPBadRequest', 'Cannot update read-only attribute network_id');
    if (body.name !== undefined) p.name = body.name;
    if (body.description !== undefined) p.description = body.description;
    if (body.admin_state_up !== undefined) p.admin_state_up = toBool(body.admin_state_up, 'admin_state_up');
    if (body.device_id !== undefined) p.device_id = body.device_id;
    if (body.device_owner !== undefined) p.device_owner = body.device_owner;
    if (body['binding:host_id'] !== undefined) p.binding_host_id = body['binding:host_id'];
    if (body['binding:vnic_type'] !== undefined) p.binding_vnic_type = body['binding:vnic_type'];
    if (body['binding:profile'] !== undefined) p.binding_profile = body['binding:profile'] ?? {};
    if (body.mac_address !== undefined && body.mac_address.toLowerCase() !== p.mac_address) {
      if (!who.admin) throw policy('update_port:mac_address');
      if (p.binding_host_id) throw conflict('PortBound', `Unable to complete operation on port ${p.id}, port is already bound, port type: ovs, old_mac ${p.mac_address}, new_mac ${body.mac_address}.`);
      if (this.store.list<PortRec>(K.port, { where: (x) => x.network_id === p.network_id && x.mac_address === body.mac_address!.toLowerCase() }).length) {
        throw conflict('MacAddressInUse', `Unable to complete operation for network ${p.network_id}. The mac address ${body.mac_address} is in use.`);
      }
      p.mac_address = body.mac_address.toLowerCase();
    }
    if (body.port_security_enabled !== undefined) p.port_security_enabled = toBool(body.port_security_enabled, 'port_security_enabled');
    if (body.fixed_ips !== undefined) {
      const net = this.store.get<NetworkRec>(K.network, p.network_id)!;
      const old = p.fixed_ips;
      p.fixed_ips = [];
      this.store.put(K.port, p, false);
      try {
        p.fixed_ips = this.allocateIps(net, body.fixed_ips, p.device_owner, p.mac_address, old);
      } catch (e) {
        p.fixed_ips = old;
        this.store.put(K.port, p, false);
        throw e;
      }
      for (const f of this.store.list<FipRec>(K.fip, { where: (x) => x.port_id === p.id })) {
        if (f.fixed_ip_address && !p.fixed_ips.some((x) => x.ip_address === f.fixed_ip_address)) this.disassociate(f);
      }
    }
    if (body.security_groups !== undefined) p.security_groups = this.portGroups(who, p.project_id ?? who.project, body.security_groups, p.device_owner, p.port_security_enabled);
    else if (body.port_security_enabled !== undefined && !p.port_security_enabled && p.security_groups.length) {
      throw conflict('PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or IP address until security group is removed.');
    }
    if (body.allowed_address_pairs !== undefined) p.allowed_address_pairs = this.addressPairs(body.allowed_address_pairs, p.mac_address, p.port_security_enabled);
    p.status = this.portStatus(p.device_id, p.device_owner, p.binding_host_id);
    p.revision_number++;
    return this.store.put(K.port, p);
  }

  /** Deletes a port; floating IPs on it are disassociated, as Neutron does. */
  deletePort(p: PortRec): void {
    for (const f of this.store.list<FipRec>(K.fip, { where: (x) => x.port_id === p.id })) this.disassociate(f);
    this.store.delete(K.port, p.id);
  }

  // ---- routers ----

  routerPorts(routerId: string, owner: string): PortRec[] {
    return this.store.list<PortRec>(K.port, { where: (p) => p.device_id === routerId && p.device_owner === owner });
  }

  setGateway(who: Who, r: RouterRec, info: { network_id?: string; enable_snat?: boolean | string; external_fixed_ips?: { subnet_id?: string; ip_address?: string }[] }): void {
    if (!info.network_id) throw badRequest('HTTPBadRequest', 'Invalid input for external_gateway_info: network_id is required');
    const net = this.store.get<NetworkRec>(K.network, info.network_id);
    if (!net || !(net.external || who.admin || net.project_id === who.project || net.shared)) throw notFound('NetworkNotFound', `Network ${info.network_id} could not be found.`);
    if (!net.external) throw badRequest('BadRequest', `Bad router request: Network ${net.id} is not an external network.`);
    const enableSnat = info.enable_snat === undefined ? true : toBool(info.enable_snat, 'enable_snat');
    if (info.enable_snat !== undefined && !who.admin && !enableSnat) throw policy('create_router:external_gateway_info:enable_snat');
    if (info.external_fixed_ips !== undefined && !who.admin) throw policy('create_router:external_gateway_info:external_fixed_ips');
    if (r.gateway && r.gateway.network_id === net.id) {
      r.gateway.enable_snat = enableSnat;
      if (info.external_fixed_ips !== undefined) {
        const gp = this.store.get<PortRec>(K.port, r.gateway.port_id)!;
        this.updatePort({ project: gp.project_id ?? '', admin: true }, gp.id, { fixed_ips: info.external_fixed_ips });
      }
      return;
    }
    if (r.gateway) this.clearGateway(r);
    if (!this.subnetsOf(net.id).length) throw badRequest('BadRequest', `Bad router request: No subnets defined on network ${net.id}.`);
    for (const s of this.routerSubnets(r.id)) this.checkNoOverlap(r.id, s, [net.id]);
    const mac = this.newMac(net.id);
    const gp = this.store.insert<PortRec>(K.port, this.systemPort(net, r.id, OWNER_ROUTER_GW, mac, this.allocateIps(net, info.external_fixed_ips, OWNER_ROUTER_GW, mac)));
    r.gateway = { network_id: net.id, enable_snat: enableSnat, port_id: gp.id };
  }

  clearGateway(r: RouterRec): void {
    if (!r.gateway) return;
    if (this.store.list<FipRec>(K.fip, { where: (f) => f.router_id === r.id }).length) {
      throw conflict('RouterExternalGatewayInUseByFloatingIp', `Gateway cannot be updated for router ${r.id}, since a gateway to external network ${r.gateway.network_id} is required by one or more floating IPs.`);
    }
    this.store.delete(K.port, r.gateway.port_id);
    r.gateway = null;
  }

  /** A port the cloud owns (router gateway, floating IP): no project, no security groups. */
  private systemPort(net: NetworkRec, deviceId: string, owner: string, mac: string, fixed: { subnet_id: string; ip_address: string }[]): PortRec {
    const now = isoZ();
    return {
      id: this.store.newId(), project_id: null, name: '', description: '', network_id: net.id, mac_address: mac,
      fixed_ips: fixed, device_id: deviceId, device_owner: owner, security_groups: [], status: this.portStatus(deviceId, owner, ''),
      admin_state_up: true, port_security_enabled: false, allowed_address_pairs: [], binding_host_id: '', binding_vnic_type: 'normal',
      binding_profile: {}, revision_number: 1, created_at: now, updated_at: now,
    };
  }

  private routerSubnets(routerId: string): SubnetRec[] {
    const ids = this.routerPorts(routerId, OWNER_ROUTER_INTF).flatMap((p) => p.fixed_ips.map((f) => f.subnet_id));
    return ids.map((id) => this.store.get<SubnetRec>(K.subnet, id)).filter((s): s is SubnetRec => !!s);
  }

  private checkNoOverlap(routerId: string, s: SubnetRec, extraNetworks: string[] = []): void {
    const c = parseCidr(s.cidr, 'cidr', false);
    const others = [...this.routerSubnets(routerId), ...extraNetworks.flatMap((n) => this.subnetsOf(n))].filter((o) => o.id !== s.id);
    for (const o of others) {
      if (overlaps(c, parseCidr(o.cidr, 'cidr', false))) {
        throw badRequest('BadRequest', `Bad router request: Cidr ${s.cidr} of subnet ${s.id} overlaps with cidr ${o.cidr} of subnet ${o.id}.`);
      }
    }
  }

  addInterface(who: Who, routerId: string, body: { subnet_id?: string; port_id?: string }): View {
    const r = this.router(who, routerId);
    if (!!body.subnet_id === !!body.port_id) {
      throw badRequest('BadRequest', body.port_id ? 'Bad router request: Cannot specify both subnet-id and port-id.' : 'Bad router request: Either subnet_id or port_id must be specified.');
    }
    let port: PortRec;
    if (body.port_id) {
      port = this.port(who, body.port_id);
      if (port.device_id) throw conflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${port.device_id}.`);
      if (!port.fixed_ips.length) throw badRequest('BadRequest', `Bad router request: Router port must have at least one fixed IP.`);
      for (const f of port.fixed_ips) {
        const s = this.store.get<SubnetRec>(K.subnet, f.subnet_id)!;
        if (this.routerSubnets(r.id).some((x) => x.id === s.id)) throw badRequest('BadRequest', `Bad router request: Router already has a port on subnet ${s.id}.`);
        this.checkNoOverlap(r.id, s, r.gateway ? [r.gateway.network_id] : []);
      }
      port.device_id = r.id;
      port.device_owner = OWNER_ROUTER_INTF;
      port.security_groups = [];
      port.status = 'ACTIVE';
      port.revision_number++;
      this.store.put(K.port, port);
    } else {
      const s = this.subnet(who, body.subnet_id!);
      const net = this.store.get<NetworkRec>(K.network, s.network_id)!;
      if (!who.admin && s.project_id !== who.project && net.project_id !== who.project && !net.shared) throw notFound('SubnetNotFound', `Subnet ${s.id} could not be found.`);
      if (net.external) throw badRequest('BadRequest', `Bad router request: Router interface for subnet ${s.id} on external network ${net.id} is not allowed.`);
      if (!s.gateway_ip) throw badRequest('BadRequest', `Bad router request: Subnet for router interface must have a gateway IP.`);
      if (this.routerSubnets(r.id).some((x) => x.id === s.id)) throw badRequest('BadRequest', `Bad router request: Router already has a port on subnet ${s.id}.`);
      this.checkNoOverlap(r.id, s, r.gateway ? [r.gateway.network_id] : []);
      const holder = this.store.list<PortRec>(K.port, { where: (p) => p.fixed_ips.some((f) => f.subnet_id === s.id && f.ip_address === s.gateway_ip) })[0];
      if (holder) throw conflict('IpAddressInUse', `Unable to complete operation for network ${net.id}. The IP address ${s.gateway_ip} is in use.`);
      this.checkQuota(r.project_id ?? who.project, 'port', 1);
      const now = isoZ();
      port = this.store.insert<PortRec>(K.port, {
        id: this.store.newId(), project_id: r.project_id, name: '', description: '', network_id: net.id, mac_address: this.newMac(net.id),
        fixed_ips: [{ subnet_id: s.id, ip_address: s.gateway_ip }], device_id: r.id, device_owner: OWNER_ROUTER_INTF, security_groups: [],
        status: 'ACTIVE', admin_state_up: true, port_security_enabled: false, allowed_address_pairs: [], binding_host_id: '',
        binding_vnic_type: 'normal', binding_profile: {}, revision_number: 1, created_at: now, updated_at: now,
      });
    }
    r.revision_number++;
    this.store.put(K.router, r);
    return this.interfaceInfo(r, port);
  }

  private interfaceInfo(r: RouterRec, port: PortRec): View {
    const subnetIds = port.fixed_ips.map((f) => f.subnet_id);
    return {
      id: r.id, tenant_id: r.project_id ?? '', project_id: r.project_id ?? '', port_id: port.id, network_id: port.network_id,
      subnet_id: subnetIds[0], subnet_ids: subnetIds,
    };
  }

  removeInterface(who: Who, routerId: string, body: { subnet_id?: string; port_id?: string }): View {
    const r = this.router(who, routerId);
    if (!body.subnet_id && !body.port_id) throw badRequest('BadRequest', 'Bad router request: Either subnet_id or port_id must be specified.');
    const ports = this.routerPorts(r.id, OWNER_ROUTER_INTF);
    let port: PortRec | undefined;
    if (body.port_id) {
      port = ports.find((p) => p.id === body.port_id);
      if (!port) throw notFound('RouterInterfaceNotFound', `Router ${r.id} does not have an interface with id ${body.port_id}`);
      if (body.subnet_id && !port.fixed_ips.some((f) => f.subnet_id === body.subnet_id)) throw conflict('SubnetMismatchForPort', `Subnet ${body.subnet_id} on port ${port.id} does not match with the requested subnet ${body.subnet_id}.`);
    } else {
      this.subnet(who, body.subnet_id!);
      port = ports.find((p) => p.fixed_ips.some((f) => f.subnet_id === body.subnet_id));
      if (!port) throw notFound('RouterInterfaceNotFoundForSubnet', `Router ${r.id} has no interface on subnet ${body.subnet_id}`);
    }
    const subnets = new Set(port.fixed_ips.map((f) => f.subnet_id));
    const inUse = this.store.list<FipRec>(K.fip, { where: (f) => f.router_id === r.id && !!f.port_id }).some((f) => {
      const fp = this.store.get<PortRec>(K.port, f.port_id!);
      return fp?.fixed_ips.some((x) => subnets.has(x.subnet_id) && x.ip_address === f.fixed_ip_address);
    });
    if (inUse) throw conflict('RouterInterfaceInUseByFloatingIP', `Router interface for subnet ${[...subnets][0]} on router ${r.id} cannot be deleted, as it is required by one or more floating IPs.`);
    const info = this.interfaceInfo(r, port);
    this.store.delete(K.port, port.id);
    r.revision_number++;
    this.store.put(K.router, r);
    return info;
  }

  // ---- floating IPs ----

  createFip(who: Who, body: NonNullable<NonNullable<NetworkRequest<'createFloatingip'>['body']>['floatingip']>): FipRec {
    const owner = this.owner(who, body as { tenant_id?: string; project_id?: string });
    const net = this.store.get<NetworkRec>(K.network, body.floating_network_id);
    if (!net || !(net.external || who.admin || net.project_id === who.project || net.shared)) throw notFound('NetworkNotFound', `Network ${body.floating_network_id} could not be found.`);
    if (!net.external) throw badRequest('BadRequest', `Bad floatingip request: Network ${net.id} is not a valid external network.`);
    this.checkQuota(owner, 'floatingip', 1);
    let request: { subnet_id?: string; ip_address?: string }[] | undefined;
    if (body.floating_ip_address || body.subnet_id) {
      request = [{ ...(body.subnet_id ? { subnet_id: body.subnet_id } : {}), ...(body.floating_ip_address ? { ip_address: body.floating_ip_address } : {}) }];
    } else {
      const v4 = this.subnetsOf(net.id).filter((s) => s.ip_version === 4);
      if (!v4.length) throw badRequest('BadRequest', `Bad floatingip request: Network ${net.id} does not contain any IPv4 subnet.`);
      const s = v4.find((x) => this.nextFree(x));
      if (!s) throw conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${net.id}.`);
      request = [{ subnet_id: s.id }];
    }
    const id = this.store.newId();
    const mac = this.newMac(net.id);
    const fixed = this.allocateIps(net, request, OWNER_FIP, mac);
    const fport = this.store.insert<PortRec>(K.port, this.systemPort(net, id, OWNER_FIP, mac, fixed.slice(0, 1)));
    const now = isoZ();
    const f: FipRec = {
      id, project_id: owner, description: body.description ?? '', floating_network_id: net.id, floating_ip_address: fixed[0]!.ip_address,
      fip_port_id: fport.id, port_id: null, fixed_ip_address: null, router_id: null, revision_number: 1, created_at: now, updated_at: now,
    };
    if (body.port_id) this.associate({ project: owner, admin: who.admin }, f, body.port_id, body.fixed_ip_address ?? undefined);
    return this.store.insert<FipRec>(K.fip, f);
  }

  associate(who: Who, f: FipRec, portId: string, fixedIp?: string): void {
    const p = this.port(who, portId);
    if (!who.admin && p.project_id !== (f.project_id ?? who.project)) throw notFound('PortNotFound', `Port ${portId} could not be found.`);
    if (p.device_owner.startsWith('network:')) throw badRequest('BadRequest', `Bad floatingip request: Port ${p.id} has owner ${p.device_owner} and cannot be associated with a floating IP.`);
    const v4 = p.fixed_ips.filter((x) => parseIp(x.ip_address)?.version === 4);
    let fixed: { subnet_id: string; ip_address: string } | undefined;
    if (fixedIp !== undefined) {
      fixed = v4.find((x) => x.ip_address === normalIp(fixedIp));
      if (!fixed) throw badRequest('BadRequest', `Bad floatingip request: Port ${p.id} does not have fixed ip ${fixedIp}.`);
    } else {
      if (!v4.length) throw badRequest('BadRequest', `Bad floatingip request: Port ${p.id} does not have any IPv4 address.`);
      fixed = v4[0];
    }
    const taken = this.store.list<FipRec>(K.fip, { where: (x) => x.id !== f.id && x.port_id === p.id && x.fixed_ip_address === fixed!.ip_address && x.floating_network_id === f.floating_network_id })[0];
    if (taken) {
      throw conflict('FloatingIPPortAlreadyAssociated', `Cannot associate floating IP ${f.floating_ip_address} (${f.id}) with port ${p.id} using fixed IP ${fixed!.ip_address}, as that fixed IP already has a floating IP on external network ${f.floating_network_id}.`);
    }
    // The port's subnet must reach the external network through a router.
    const router = this.store.list<RouterRec>(K.router, { where: (r) => r.gateway?.network_id === f.floating_network_id })
      .find((r) => this.routerPorts(r.id, OWNER_ROUTER_INTF).some((rp) => rp.fixed_ips.some((x) => x.subnet_id === fixed!.subnet_id)));
    if (!router) {
      throw notFound('ExternalGatewayForFloatingIPNotFound', `External network ${f.floating_network_id} is not reachable from subnet ${fixed!.subnet_id}.  Therefore, cannot associate Port ${p.id} with a Floating IP.`);
    }
    f.port_id = p.id;
    f.fixed_ip_address = fixed!.ip_address;
    f.router_id = router.id;
  }

  disassociate(f: FipRec): void {
    f.port_id = null;
    f.fixed_ip_address = null;
    f.router_id = null;
    if (this.store.get<FipRec>(K.fip, f.id)) this.store.put(K.fip, f);
  }

  // ---- security groups ----

  createGroup(owner: string, name: string, description: string, stateful: boolean, isDefault: boolean): SgRec {
    if (!isDefault) this.checkQuota(owner, 'security_group', 1);
    const now = isoZ();
    const g = this.store.insert<SgRec>(K.sg, {
      id: this.store.newId(), project_id: owner, name, description, stateful, is_default: isDefault, revision_number: 1, created_at: now, updated_at: now,
    });
    const rule = (direction: 'ingress' | 'egress', ethertype: 'IPv4' | 'IPv6', remote: string | null) => this.store.insert<RuleRec>(K.rule, {
      id: this.store.newId(), project_id: owner, security_group_id: g.id, direction, ethertype, protocol: null, port_range_min: null,
      port_range_max: null, remote_ip_prefix: null, remote_group_id: remote, description: '', revision_number: 0, created_at: now, updated_at: now,
    });
    for (const e of ['IPv4', 'IPv6'] as const) {
      rule('egress', e, null);
      if (isDefault) rule('ingress', e, g.id);
    }
    return g;
  }

  /** The project's default group, made with Neutron's default rules on first use. */
  ensureDefaultGroup(project: string): SgRec {
    const found = this.store.list<SgRec>(K.sg, { projectId: project, where: (g) => g.is_default })[0];
    if (found) return found;
    return this.createGroup(project, 'default', 'Default security group', true, true);
  }

  createRule(who: Who, body: RuleBody): RuleRec {
    if (!body.security_group_id) throw badRequest('HTTPBadRequest', 'Failed to parse request. Required attribute \'security_group_id\' not specified');
    const g = this.sg(who, body.security_group_id);
    const owner = this.owner(who, body);
    if (owner !== g.project_id && !who.admin) throw notFound('SecurityGroupNotFound', `Security group ${g.id} does not exist`);
    const direction = body.direction;
    if (direction !== 'ingress' && direction !== 'egress') throw invalid(`Invalid input for direction. Reason: '${String(direction)}' is not in ['ingress', 'egress']`);
    const ethertype = body.ethertype ?? 'IPv4';
    if (ethertype !== 'IPv4' && ethertype !== 'IPv6') throw badRequest('SecurityGroupRuleInvalidEtherType', `Security group rule for ethertype '${ethertype}' not supported. Allowed values are ['IPv4', 'IPv6'].`);
    // Protocol: a name, a number 0-255, or any (null).
    let protocol: string | null = body.protocol === undefined || body.protocol === null || body.protocol === '' ? null : String(body.protocol).toLowerCase();
    if (protocol === 'any') protocol = null;
    let protoNum: number | null = null;
    if (protocol !== null) {
      if (/^\d+$/.test(protocol)) {
        protoNum = Number(protocol);
        if (protoNum > 255) throw badRequest('SecurityGroupRuleInvalidProtocol', `Security group rule protocol ${protocol} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`);
      } else if (protocol in PROTOCOLS) protoNum = PROTOCOLS[protocol]!;
      else throw badRequest('SecurityGroupRuleInvalidProtocol', `Security group rule protocol ${protocol} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`);
    }
    if (ethertype === 'IPv4' && protoNum === 58) throw badRequest('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${ethertype} for CIDR ${protocol}`);
    const intOrNull = (v: unknown, name: string): number | null => (v === undefined || v === null || v === '' ? null : toInt(v, name));
    const min = intOrNull(body.port_range_min, 'port_range_min');
    const max = intOrNull(body.port_range_max, 'port_range_max');
    if ((min !== null || max !== null) && protoNum === null) throw badRequest('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
    if (protoNum !== null && PORT_PROTOCOLS.has(protoNum)) {
      if (min !== null && max !== null && min > max) throw badRequest('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
      for (const v of [min, max]) {
        if (v !== null && (v < 1 || v > 65535)) throw badRequest('SecurityGroupInvalidPortValue', `Invalid value for port ${v}`);
      }
      if ((min === null) !== (max === null)) throw badRequest('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
    } else if (protoNum !== null && ICMP_PROTOCOLS.has(protoNum)) {
      for (const [v, n] of [[min, 'type'], [max, 'code']] as const) {
        if (v !== null && (v < 0 || v > 255)) throw badRequest('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${n} (${n === 'type' ? 'port-range-min' : 'port-range-max'}) ${v}. It must be 0 to 255.`);
      }
      if (min === null && max !== null) throw badRequest('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
    } else if (min !== null || max !== null) {
      throw badRequest('SecurityGroupInvalidProtocolForPortRange', `Invalid protocol ${protocol} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.`);
    }
    const prefix = body.remote_ip_prefix === undefined || body.remote_ip_prefix === null || body.remote_ip_prefix === '' ? null : body.remote_ip_prefix;
    const remoteGroup = body.remote_group_id === undefined || body.remote_group_id === null || body.remote_group_id === '' ? null : body.remote_group_id;
    if (body.remote_address_group_id) throw badRequest('HTTPBadRequest', 'Unrecognized attribute(s) \'remote_address_group_id\'');
    if (prefix !== null && remoteGroup !== null) throw badRequest('SecurityGroupRemoteGroupAndRemoteIpPrefix', 'Only remote_ip_prefix or remote_group_id may be provided.');
    let normalized: string | null = null;
    if (prefix !== null) {
      const c = parseIp(prefix) ? parseCidr(`${prefix}/${parseIp(prefix)!.version === 4 ? 32 : 128}`, 'remote_ip_prefix', false) : parseCidr(prefix, 'remote_ip_prefix', false);
      if ((c.version === 4 ? 'IPv4' : 'IPv6') !== ethertype) throw badRequest('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${ethertype} for CIDR ${prefix}`);
      normalized = c.text;
    }
    if (remoteGroup !== null) {
      const rg = this.store.get<SgRec>(K.sg, remoteGroup);
      if (!rg || !(who.admin || rg.project_id === g.project_id)) throw notFound('SecurityGroupNotFound', `Security group ${remoteGroup} does not exist`);
    }
    // Duplicates compare the protocol by number and the remote prefix normalized ("any" equals none).
    const anyNet = ethertype === 'IPv4' ? '0.0.0.0/0' : '::/0';
    const key = (r: { direction: string; ethertype: string; proto: number | null; min: number | null; max: number | null; cidr: string | null; group: string | null }) =>
      JSON.stringify([r.direction, r.ethertype, r.proto, r.min, r.max, r.cidr === anyNet ? null : r.cidr, r.group]);
    const mine = key({ direction, ethertype, proto: protoNum, min, max, cidr: normalized, group: remoteGroup });
    for (const r of this.store.list<RuleRec>(K.rule, { where: (x) => x.security_group_id === g.id })) {
      const rp = r.protocol === null ? null : /^\d+$/.test(r.protocol) ? Number(r.protocol) : PROTOCOLS[r.protocol] ?? null;
      const rc = r.remote_ip_prefix ? parseCidr(parseIp(r.remote_ip_prefix) ? `${r.remote_ip_prefix}/${parseIp(r.remote_ip_prefix)!.version === 4 ? 32 : 128}` : r.remote_ip_prefix, 'remote_ip_prefix', false).text : null;
      if (key({ direction: r.direction, ethertype: r.ethertype, proto: rp, min: r.port_range_min, max: r.port_range_max, cidr: rc, group: r.remote_group_id }) === mine) {
        throw conflict('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${r.id}.`);
      }
    }
    this.checkQuota(g.project_id ?? owner, 'security_group_rule', 1);
    const now = isoZ();
    const rule = this.store.insert<RuleRec>(K.rule, {
      id: this.store.newId(), project_id: g.project_id, security_group_id: g.id, direction, ethertype, protocol,
      port_range_min: min, port_range_max: max, remote_ip_prefix: prefix === null ? null : normalized === null ? prefix : (parseIp(prefix) ? normalized : prefix),
      remote_group_id: remoteGroup, description: body.description ?? '', revision_number: 0, created_at: now, updated_at: now,
    });
    this.bumpGroup(g.id);
    return rule;
  }
}

// ---- the side other services use ------------------------------------------------

/** What Nova asks of the sandbox's Neutron. */
export function networkSide(cloud: SandboxCloud): NetworkSide {
  const core = new NetworkCore(cloud);
  const store = cloud.store;
  // By the device_id index.
  const serverPorts = (serverId: string) => store.listBy<PortRec>(K.port, 'device_id', serverId).filter((p) => p.device_owner.startsWith('compute:'));
  /** Addresses of many servers at once (a page of a list), by server id. */
  const serversAddresses = (serverIds: readonly string[]): Map<string, Record<string, ServerAddress[]>> => {
    // One pass over the scan cache per kind for the whole page: a lookup per
    // server cost each row a store epoch check, a copy of each port and a
    // read of its network (GET /servers/detail?limit=100 spent 43% in it).
    const out = new Map<string, Record<string, ServerAddress[]>>(serverIds.map((id) => [id, {}]));
    const ports: Readonly<PortRec>[] = [];
    store.forEachBy<PortRec>(K.port, 'device_id', new Set(serverIds), (p) => { if (p.device_owner.startsWith('compute:')) ports.push(p); });
    const floating = new Map<string, Readonly<FipRec>[]>();
    store.forEachBy<FipRec>(K.fip, 'port_id', ports.map((p) => p.id), (f, portId) => {
      let list = floating.get(portId as string);
      if (!list) floating.set(portId as string, list = []);
      list.push(f);
    });
    const networkNames = new Map<string, string>();
    for (const p of ports) {
      let name = networkNames.get(p.network_id);
      if (name === undefined) networkNames.set(p.network_id, name = store.get<NetworkRec>(K.network, p.network_id)?.name || p.network_id);
      const addresses = out.get(p.device_id)!;
      const list = (addresses[name] ??= []);
      for (const f of p.fixed_ips) {
        list.push({ version: parseIp(f.ip_address)?.version ?? 4, addr: f.ip_address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': p.mac_address });
      }
      for (const fip of floating.get(p.id) ?? []) {
        list.push({ version: 4, addr: fip.floating_ip_address, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': p.mac_address });
      }
    }
    return out;
    };
  const findGroup = (projectId: string, nameOrId: string): SgRec => {
    core.ensureDefaultGroup(projectId);
    const byId = store.get<SgRec>(K.sg, nameOrId);
    if (byId && byId.project_id === projectId) return byId;
    const byName = store.list<SgRec>(K.sg, { projectId, where: (g) => g.name === nameOrId });
    if (byName.length > 1) throw conflict('DuplicateSecurityGroupName', `Multiple security groups found matching '${nameOrId}'. Use an ID to be more specific.`);
    if (!byName.length) throw notFound('SecurityGroupNotFound', `Security group ${nameOrId} not found.`);
    return byName[0]!;
  };
  const neutron = new SandboxNetwork(cloud);
  return {
    api: (method, ctx, call) => cloud.callService(neutron, { name: 'network', prefix: '/network', microversion: null }, method, ctx, call),

    serverPorts: (serverId) => serverPorts(serverId),

    floatingPools() {
      return store.tx(() => {
        let nets = store.list<NetworkRec>(K.network, { where: (n) => n.external });
        if (!nets.length) {
          // The provider network devstack makes; owned by no project, like an admin's.
          const now = isoZ();
          const n = store.insert<NetworkRec>(K.network, {
            id: store.newId(), project_id: null, name: 'public', description: '', admin_state_up: true, shared: false,
            external: true, mtu: DEFAULT_MTU, port_security_enabled: true, availability_zone_hints: [], revision_number: 1,
            created_at: now, updated_at: now,
          });
          core.createSubnet({ project: '', admin: true }, { network_id: n.id, ip_version: 4, cidr: '172.24.4.0/24', name: 'public-subnet', gateway_ip: '172.24.4.1' });
          nets = [n];
        }
        return nets.map((n) => ({ id: n.id, name: n.name }));
      });
    },

    allocateServerPort(projectId, req) {
      return store.tx(() => {
        const who: Who = { project: projectId, admin: false };
        if (req.portId) {
          const p = core.port(who, req.portId);
          if (p.project_id !== projectId) throw notFound('PortNotFound', `Port ${req.portId} could not be found.`);
          if (p.device_id) throw conflict('PortInUse', `Unable to complete operation on port ${p.id} for network ${p.network_id}. Port already has an attached device ${p.device_id}.`);
          p.device_id = req.serverId;
          p.device_owner = 'compute:nova';
          p.binding_host_id = 'sandbox';
          p.status = 'ACTIVE';
          p.revision_number++;
          return store.put(K.port, p);
        }
        if (!req.networkId) throw Fault.badRequest('A network or a port is required.');
        const groups = req.securityGroups.length ? req.securityGroups.map((g) => findGroup(projectId, g).id) : undefined;
        return core.createPort(who, {
          network_id: req.networkId, device_id: req.serverId, device_owner: 'compute:nova', 'binding:host_id': 'sandbox',
          ...(req.fixedIp ? { fixed_ips: [{ ip_address: req.fixedIp }] } : {}),
          ...(groups ? { security_groups: [...new Set(groups)] } : {}),
        }, { created_for_server: true });
      });
    },

    releaseServerPorts(serverId) {
      store.tx(() => {
        for (const p of serverPorts(serverId)) {
          if (p.created_for_server) core.deletePort(p);
          else {
            p.device_id = '';
            p.device_owner = '';
            p.binding_host_id = '';
            p.status = 'DOWN';
            p.revision_number++;
            store.put(K.port, p);
          }
        }
      });
    },

    serverAddresses(serverId) {
      return serversAddresses([serverId]).get(serverId)!;
    },

    serversAddresses,

    autoNetwork(projectId) {
      return store.tx(() => {
        const found = store.list<NetworkRec>(K.network, { projectId, where: (n) => n.auto_allocated === true })[0];
        if (found) return found.id;
        const who: Who = { project: projectId, admin: false };
        core.ensureDefaultGroup(projectId);
        const now = isoZ();
        const n = store.insert<NetworkRec>(K.network, {
          id: store.newId(), project_id: projectId, name: 'auto_allocated_network', description: '', admin_state_up: true, shared: false,
          external: false, mtu: DEFAULT_MTU, port_security_enabled: true, availability_zone_hints: [], revision_number: 1,
          created_at: now, updated_at: now, auto_allocated: true,
        });
        core.createSubnet(who, { network_id: n.id, ip_version: 4, cidr: '10.0.0.0/24', name: 'auto_allocated_subnet_v4' });
        return n.id;
      });
    },

    securityGroup(projectId, nameOrId) {
      return store.tx(() => findGroup(projectId, nameOrId));
    },

    setServerSecurityGroup(serverId, groupId, add) {
      store.tx(() => {
        const ports = serverPorts(serverId);
        if (!add && ports.length && !ports.some((p) => p.security_groups.includes(groupId))) {
          throw notFound('SecurityGroupNotFound', `Security group ${groupId} not associated with the instance ${serverId}`);
        }
        for (const p of ports) {
          const has = p.security_groups.includes(groupId);
          if (add === has) continue;
          p.security_groups = add ? [...p.security_groups, groupId] : p.security_groups.filter((g) => g !== groupId);
          p.revision_number++;
          store.put(K.port, p);
        }
      });
    },
  };
}
