/**
 * The sandbox's compute service (Nova 2.1 with microversions): servers and
 * their lifecycle and actions, flavors, key pairs, quotas and limits, server
 * groups, availability zones, instance actions, metadata and tags, volume and
 * interface attachments. Servers ask Glance, Neutron and Cinder through the
 * sides of cloud.ts. Records and views are in compute-views.ts.
 */
import { randomBytes } from 'node:crypto';
import type { ComputeDriver, ComputeRequest, ComputeResponse } from '../../generated/index.js';
import { Reply, type AuthContext, type RequestContext } from '../../generated/common.js';
import { Fault, isFault } from '../../src/faults.js';
import { atLeast } from '../../src/microversion.js';
import { nextLink, paginate, parseLimit } from '../../src/paging.js';
import { allFlavors, flavorVisible, getFlavor, type FlavorRecord } from './flavors.js';
import type { ComputeSide, SandboxCloud, ServerAddress } from './cloud.js';
import { NovaProxy } from './compute-proxy.js';
import { ServerRows } from './compute-rows.js';
import { isoNoZone, isoZ, type CreationKey, type Resource } from './store.js';
import {
  DEFAULT_QUOTAS, HOST, quotaClassKeys, quotaDefaults, flavorView, normalizeIPv6, generateX509Keypair, instanceActionView, keypairFacts, links, matchesStatus,
  needsSettle, quotaKeys, quotaLimits, serverGroupView, serverStatus, serverView, settle, sshFingerprint, x509Fingerprint,
  type InstanceActionRecord, type KeypairRecord, type QuotaRecord, type ServerGroupRecord, type ServerRecord, type VmState,
} from './compute-views.js';
import { generateSshKeypair } from '../../src/keypairs.js';
import { keypairList, keypairName, keypairNotFound, keypairView, requirePublicKeyFrom292 } from '../../src/nova-keypairs.js';

type Ctx = RequestContext;

/**
 * The generated response types are unions over every microversion; the views
 * build plain objects per microversion, which the contract tests check against
 * the spec. This is the one place they are handed over as the generated type.
 */
function out<T>(body: unknown): T {
  return body as T;
}

function auth(ctx: Ctx): AuthContext {
  if (!ctx.auth) throw Fault.unauthorized('The request you have made requires authentication.');
  return ctx.auth;
}

function requireAdmin(ctx: Ctx, rule: string): void {
  if (!auth(ctx).isAdmin) throw Fault.forbidden(`Policy doesn't allow ${rule} to be performed.`);
}

/** Nova's truthy query values. */
function truthy(v: unknown): boolean {
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(String(v).toLowerCase());
}

/** OS-DCF:diskConfig of a create, rebuild, resize or update body. */
function diskConfigOf(b: Record<string, unknown>): string | undefined {
  const v = b['OS-DCF:diskConfig'];
  if (v === undefined) return undefined;
  if (v !== 'AUTO' && v !== 'MANUAL') throw Fault.badRequest(`Invalid input for field/attribute OS-DCF:diskConfig. Value: ${String(v)}.`);
  return v;
}

interface CreateServerBody {
  server: {
    name: string;
    flavorRef: string;
    imageRef?: string;
    description?: string | null;
    key_name?: string;
    user_data?: string;
    metadata?: Record<string, string>;
    security_groups?: { name: string }[];
    availability_zone?: string;
    networks?: 'auto' | 'none' | { uuid?: string; port?: string; fixed_ip?: string; tag?: string }[];
    block_device_mapping_v2?: {
      boot_index?: number | string | null; uuid?: string; source_type?: string; destination_type?: string;
      volume_size?: number; delete_on_termination?: boolean; tag?: string; device_name?: string;
    }[];
    min_count?: number | string;
    max_count?: number | string;
    return_reservation_id?: boolean;
    accessIPv4?: string;
    accessIPv6?: string;
    config_drive?: boolean | string;
    adminPass?: string;
    tags?: string[];
    hostname?: string;
  };
  'os:scheduler_hints'?: { group?: string; [k: string]: unknown };
  'OS-SCH-HNT:scheduler_hints'?: { group?: string; [k: string]: unknown };
}

const ACTION_EVENT: Record<string, string> = {
  create: 'compute__do_build_and_run_instance', delete: 'compute_terminate_instance', reboot: 'compute_reboot_instance',
  stop: 'compute_stop_instance', start: 'compute_start_instance', pause: 'compute_pause_instance',
  unpause: 'compute_unpause_instance', suspend: 'compute_suspend_instance', resume: 'compute_resume_instance',
  resize: 'compute_finish_resize', confirmResize: 'compute_confirm_resize', revertResize: 'compute_revert_resize',
  rebuild: 'compute_rebuild_instance', createImage: 'compute_snapshot_instance', changePassword: 'compute_set_admin_password',
  attach_volume: 'compute_attach_volume', detach_volume: 'compute_detach_volume', attach_interface: 'compute_attach_interface',
  detach_interface: 'compute_detach_interface', trigger_crash_dump: 'compute_trigger_crash_dump',
};

/** The sort keys of a server list other than created_at (any other key sorts by created_at). */
type SortValue = string | number | null;

/** Server sort keys the sandbox has values for; the other valid keys (Nova's columns it does not model) sort as equal. */
const SERVER_SORT_KEYS = new Map<string, (s: ServerRecord) => SortValue>([
  ['created_at', (s) => s.created_at], ['display_name', (s) => s.name], ['uuid', (s) => s.id], ['updated_at', (s) => s.updated_at],
  ['vm_state', (s) => s.vm_state], ['task_state', (s) => s.task_state], ['power_state', (s) => s.power_state],
  ['project_id', (s) => s.project_id], ['user_id', (s) => s.user_id], ['hostname', (s) => s.hostname], ['key_name', (s) => s.key_name],
  ['display_description', (s) => s.description], ['launched_at', (s) => s.launched_at], ['launch_index', (s) => s.launch_index],
  ['reservation_id', (s) => s.reservation_id], ['availability_zone', (s) => s.availability_zone], ['image_ref', (s) => s.image_id ?? ''],
  ['access_ip_v4', (s) => s.access_ipv4], ['access_ip_v6', (s) => s.access_ipv6], ['config_drive', (s) => s.config_drive],
  ['progress', (s) => s.progress], ['locked', (s) => (s.locked ? 1 : 0)], ['locked_by', (s) => s.locked_by],
  ['instance_type_id', (s) => s.flavor.id], ['host', () => HOST], ['node', () => HOST],
]);

/**
 * Sort keys Nova drops from a server list's sort, with their directions
 * (SERVER_LIST_IGNORE_SORT_KEY in nova/api/openstack/compute/schemas/servers.py;
 * `locked` sorts from 2.73). From 2.75 its query schema refuses them.
 */
const IGNORED_SORT_KEYS = new Set(['architecture', 'cell_name', 'cleaned', 'default_ephemeral_device', 'default_swap_device', 'deleted', 'deleted_at',
  'disable_terminate', 'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', 'launched_on', 'locked', 'memory_mb', 'os_type', 'reservation_id',
  'root_gb', 'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode']);

/** A query value that may be given more than once, as a list. */
function many(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x).trim());
}

function compareSort(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  if (a === null) return -1; // NULL sorts first ascending, as in MySQL
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/** Query parameters of a server list that only page, scope (as listScope reads them) or sort it. */
const PAGE_ONLY_QUERY = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'all_tenants', 'all_projects', 'project_id', 'tenant_id']);

export class SandboxCompute implements ComputeDriver {
  private readonly proxy: NovaProxy;

  /** Server rows of lists, parsed and viewed once while unchanged. */
  private readonly rows = new ServerRows();

  constructor(readonly cloud: SandboxCloud) {
    this.proxy = new NovaProxy(cloud);
  }

  private get store() { return this.cloud.store; }

  // ---- helpers ---------------------------------------------------------------

  /** A server the caller may see (its project's, any for admins), settled; 404 otherwise. */
  private server(ctx: Ctx, id: string): ServerRecord {
    const s = this.store.get<ServerRecord>('server', id);
    const a = auth(ctx);
    if (!s || (!a.isAdmin && s.project_id !== this.cloud.project(ctx))) throw Fault.notFound(`Instance ${id} could not be found.`);
    return settle(this.store, s);
  }

  private addresses(s: ServerRecord): Record<string, ServerAddress[]> {
    return s.networked ? this.cloud.network.serverAddresses(s.id) : {};
  }

  private view(ctx: Ctx, s: ServerRecord, inList = false, addresses = this.addresses(s)) {
    return serverView(s, { ctx, isAdmin: auth(ctx).isAdmin, addresses, inList });
  }

  /** The addresses of each server of a list, looked up for all of them at once. */
  private addressesOf(servers: readonly ServerRecord[]): (s: ServerRecord) => Record<string, ServerAddress[]> {
    const byId = this.cloud.network.serversAddresses(servers.filter((s) => s.networked).map((s) => s.id));
    return (s) => byId.get(s.id) ?? {};
  }

  private record(ctx: Ctx, s: { id: string; project_id: string }, action: string, message: string | null = null): void {
    const now = isoZ();
    const a = auth(ctx);
    this.store.insert<InstanceActionRecord>('instance_action', {
      id: this.store.newId(), project_id: s.project_id, server_id: s.id, request_id: ctx.requestId, action,
      user_id: a.userId, message, start_time: isoNoZone(), created_at: now, updated_at: now,
      events: [{ event: ACTION_EVENT[action] ?? `compute_${action}`, start_time: isoNoZone(), finish_time: isoNoZone(), result: 'Success' }],
    });
  }

  /** Nova's check_instance_state and lock check, then the change, the record and a save. */
  private act(ctx: Ctx, id: string, action: string, states: VmState[] | null, change: (s: ServerRecord) => void, opts: { taskOk?: boolean; lockOk?: boolean } = {}): ServerRecord {
    return this.store.tx(() => {
      const s = this.server(ctx, id);
      const a = auth(ctx);
      if (s.locked && !opts.lockOk && !a.isAdmin) throw Fault.conflict(`Instance ${s.id} is locked`);
      if (states && !states.includes(s.vm_state)) {
        throw Fault.conflict(`Cannot '${action}' instance ${s.id} while it is in vm_state ${s.vm_state}`);
      }
      if (states && s.task_state && !opts.taskOk) {
        throw Fault.conflict(`Cannot '${action}' instance ${s.id} while it is in task_state ${s.task_state}`);
      }
      change(s);
      this.store.put('server', s);
      this.record(ctx, s, action);
      return s;
    });
  }

  private visibleFlavor(ctx: Ctx, id: string): FlavorRecord {
    const f = getFlavor(this.store, id);
    const a = auth(ctx);
    if (!flavorVisible(f, a.projectId ?? '', a.isAdmin)) throw Fault.notFound(`Flavor ${id} could not be found.`);
    return f;
  }

  private usage(projectId: string) {
    // Every create checks quotas: read the servers in place (forEach), not a parsed copy of each (list), which grew with the project.
    let instances = 0, cores = 0, ram = 0;
    this.store.forEach<ServerRecord>('server', (s) => {
      instances++;
      cores += s.flavor.vcpus;
      ram += s.flavor.ram;
    }, projectId);
    return {
      instances,
      cores,
      ram,
      server_groups: this.store.count('server_group', projectId),
      key_pairs: 0,
    };
  }

  // ---- flavors ---------------------------------------------------------------

  private selectFlavors(ctx: Ctx, query: Record<string, unknown>): FlavorRecord[] {
    const minRam = query.minRam === undefined ? 0 : Number(query.minRam);
    const minDisk = query.minDisk === undefined ? 0 : Number(query.minDisk);
    if (Number.isNaN(minRam)) throw Fault.badRequest(`Invalid minRam filter [${String(query.minRam)}]`);
    if (Number.isNaN(minDisk)) throw Fault.badRequest(`Invalid minDisk filter [${String(query.minDisk)}]`);
    const a = auth(ctx);
    const project = a.projectId ?? '';
    const isPublic = query.is_public === undefined ? 'true' : String(query.is_public).toLowerCase();
    const sortKey = (query.sort_key ?? 'flavorid') as string;
    const keys: Record<string, (f: FlavorRecord) => string | number> = {
      flavorid: (f) => f.id, id: (f) => f.id, name: (f) => f.name, memory_mb: (f) => f.ram, memory: (f) => f.ram,
      root_gb: (f) => f.disk, vcpus: (f) => f.vcpus, ephemeral_gb: (f) => f.ephemeral, swap: (f) => f.swap,
      rxtx_factor: (f) => f.rxtxFactor, disabled: (f) => Number(f.disabled), is_public: (f) => Number(f.isPublic),
      created_at: (f) => f.created_at, description: (f) => f.description ?? '',
    };
    const key = keys[sortKey];
    if (!key) throw Fault.badRequest(`Invalid sort_key: ${sortKey}`);
    const dir = query.sort_dir === 'desc' ? -1 : 1;
    return allFlavors(this.store)
      .filter((f) => f.ram >= minRam && f.disk >= minDisk)
      .filter((f) => {
        // Admins choose with is_public (none: all); others see public flavors and those shared with them.
        if (!a.isAdmin) return f.isPublic || f.access.includes(project);
        return isPublic === 'none' || (truthy(isPublic) ? f.isPublic : !f.isPublic);
      })
      .sort((x1, y1) => {
        const x = key(x1), y = key(y1);
        return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true })) * dir;
      });
  }

  async listFlavors(req: ComputeRequest<'listFlavors'>): Promise<ComputeResponse<'listFlavors'>> {
    const ctx = req.context;
    const { items, more } = paginate(this.selectFlavors(ctx, req.query), req.query, (f) => f.id);
    const linksOut = more ? { flavors_links: [nextLink(ctx.url, req.query, items[items.length - 1]!.id)] } : {};
    const withDesc = atLeast(ctx.microversion, '2.55');
    return out({
      flavors: items.map((f) => ({ id: f.id, name: f.name, ...(withDesc ? { description: f.description } : {}), links: links(ctx, 'flavors', f.id) })),
      ...linksOut,
    });
  }

  async listFlavorsDetail(req: ComputeRequest<'listFlavorsDetail'>): Promise<ComputeResponse<'listFlavorsDetail'>> {
    const ctx = req.context;
    const { items, more } = paginate(this.selectFlavors(ctx, req.query), req.query, (f) => f.id);
    const flavors = items.map((f) => flavorView(ctx, f));
    return out(more ? { flavors, flavors_links: [nextLink(ctx.url, req.query, items[items.length - 1]!.id)] } : { flavors });
  }

  async showFlavor(req: ComputeRequest<'showFlavor'>): Promise<ComputeResponse<'showFlavor'>> {
    // Nova shows any flavor by id, private ones included (the server's flavor must stay readable).
    return out({ flavor: flavorView(req.context, getFlavor(this.store, req.path.id)) });
  }

  async createFlavor(req: ComputeRequest<'createFlavor'>): Promise<ComputeResponse<'createFlavor'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-flavor-manage:create');
    const b = (req.body as unknown as { flavor: Record<string, unknown> }).flavor;
    const num = (k: string, dflt: number, min = 0): number => {
      const v = b[k] ?? dflt;
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min) throw Fault.badRequest(`Invalid input for field/attribute ${k}. Value: ${String(v)}.`);
      return n;
    };
    const name = String(b.name ?? '').trim();
    if (!name || name.length > 255) throw Fault.badRequest('Invalid input for field/attribute name.');
    const id = b.id === undefined || b.id === null ? this.store.newId() : String(b.id);
    const f = {
      id, name, vcpus: num('vcpus', 0, 1), ram: num('ram', 0, 1), disk: num('disk', 0),
      ephemeral: num('OS-FLV-EXT-DATA:ephemeral', 0), swap: b.swap === '' ? 0 : num('swap', 0),
      rxtxFactor: Number(b.rxtx_factor ?? 1), isPublic: b['os-flavor-access:is_public'] === undefined || b['os-flavor-access:is_public'] === null ? true : truthy(b['os-flavor-access:is_public']),
      disabled: false, description: (b.description as string | null | undefined) ?? null, extraSpecs: {},
      access: [] as string[], project_id: null, created_at: isoZ(), updated_at: isoZ(),
    };
    this.store.tx(() => {
      const existing = allFlavors(this.store);
      if (existing.some((x) => x.id === id)) throw Fault.conflict(`Flavor with ID ${id} already exists.`);
      if (existing.some((x) => x.name === name)) throw Fault.conflict(`Flavor with name ${name} already exists.`);
      this.store.insert<FlavorRecord>('flavor', f);
    });
    return out({ flavor: flavorView(ctx, f) });
  }

  async updateFlavor(req: ComputeRequest<'updateFlavor'>): Promise<ComputeResponse<'updateFlavor'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-manage:update');
    const f = getFlavor(this.store, req.path.id);
    f.description = (req.body as unknown as { flavor: { description: string | null } }).flavor.description ?? null;
    this.store.put('flavor', f);
    return out({ flavor: flavorView(req.context, f) });
  }

  async deleteFlavor(req: ComputeRequest<'deleteFlavor'>): Promise<ComputeResponse<'deleteFlavor'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-manage:delete');
    getFlavor(this.store, req.path.id);
    this.store.delete('flavor', req.path.id);
  }

  async listFlavorExtraSpecs(req: ComputeRequest<'listFlavorExtraSpecs'>): Promise<ComputeResponse<'listFlavorExtraSpecs'>> {
    return out({ extra_specs: { ...getFlavor(this.store, req.path.flavor_id).extraSpecs } });
  }

  async showFlavorExtraSpec(req: ComputeRequest<'showFlavorExtraSpec'>): Promise<ComputeResponse<'showFlavorExtraSpec'>> {
    const f = getFlavor(this.store, req.path.flavor_id);
    const value = f.extraSpecs[req.path.id];
    if (value === undefined) throw Fault.notFound(`Flavor ${f.id} has no extra specs with key ${req.path.id}.`);
    return out({ [req.path.id]: value });
  }

  async createFlavorExtraSpec(req: ComputeRequest<'createFlavorExtraSpec'>): Promise<ComputeResponse<'createFlavorExtraSpec'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-extra-specs:create');
    const f = getFlavor(this.store, req.path.flavor_id);
    const specs = (req.body as unknown as { extra_specs: Record<string, unknown> }).extra_specs;
    for (const [k, v] of Object.entries(specs)) f.extraSpecs[k] = String(v);
    this.store.put('flavor', f);
    return out({ extra_specs: Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, String(v)])) });
  }

  async updateFlavorExtraSpec(req: ComputeRequest<'updateFlavorExtraSpec'>): Promise<ComputeResponse<'updateFlavorExtraSpec'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-extra-specs:update');
    const f = getFlavor(this.store, req.path.flavor_id);
    // The spec leaves this body optional; Nova does not.
    const body = (req.body ?? {}) as unknown as Record<string, unknown>;
    if (typeof body !== 'object' || !(req.path.id in body)) throw Fault.badRequest('Request body and URI mismatch');
    if (Object.keys(body).length > 1) throw Fault.badRequest('Request body contains too many items');
    f.extraSpecs[req.path.id] = String(body[req.path.id]);
    this.store.put('flavor', f);
    return out({ [req.path.id]: f.extraSpecs[req.path.id] });
  }

  async deleteFlavorExtraSpec(req: ComputeRequest<'deleteFlavorExtraSpec'>): Promise<ComputeResponse<'deleteFlavorExtraSpec'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-extra-specs:delete');
    const f = getFlavor(this.store, req.path.flavor_id);
    if (f.extraSpecs[req.path.id] === undefined) throw Fault.notFound(`Flavor ${f.id} has no extra specs with key ${req.path.id}.`);
    delete f.extraSpecs[req.path.id];
    this.store.put('flavor', f);
    return out(undefined);
  }

  private accessList(f: FlavorRecord) {
    return { flavor_access: f.access.map((tenant_id) => ({ flavor_id: f.id, tenant_id })) };
  }

  async listFlavorFlavorAccess(req: ComputeRequest<'listFlavorFlavorAccess'>): Promise<ComputeResponse<'listFlavorFlavorAccess'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-access');
    const f = getFlavor(this.store, req.path.flavor_id);
    if (f.isPublic) throw Fault.notFound('Access list not available for public flavors.');
    return out(this.accessList(f));
  }

  async addTenantAccessFlavor(req: ComputeRequest<'addTenantAccessFlavor'>): Promise<ComputeResponse<'addTenantAccessFlavor'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-access:add_tenant_access');
    const f = getFlavor(this.store, req.path.id);
    const tenant = (req.body as unknown as { addTenantAccess: { tenant: string } }).addTenantAccess.tenant;
    if (f.isPublic) throw Fault.conflict('Can not add access to a public flavor.');
    if (f.access.includes(tenant)) throw Fault.conflict(`Flavor access already exists for flavor ${f.id} and project ${tenant} combination.`);
    f.access.push(tenant);
    this.store.put('flavor', f);
    return out(this.accessList(f));
  }

  async removeTenantAccessFlavor(req: ComputeRequest<'removeTenantAccessFlavor'>): Promise<ComputeResponse<'removeTenantAccessFlavor'>> {
    requireAdmin(req.context, 'os_compute_api:os-flavor-access:remove_tenant_access');
    const f = getFlavor(this.store, req.path.id);
    const tenant = (req.body as unknown as { removeTenantAccess: { tenant: string } }).removeTenantAccess.tenant;
    if (!f.access.includes(tenant)) throw Fault.notFound(`Flavor access not found for ${f.id} flavor and ${tenant} project.`);
    f.access = f.access.filter((t) => t !== tenant);
    this.store.put('flavor', f);
    return out(this.accessList(f));
  }

  // ---- key pairs -------------------------------------------------------------

  /** Key pairs belong to users; admins name another with user_id (2.10+). */
  private keypairUser(ctx: Ctx, query: Record<string, unknown>, bodyUser?: string): string {
    const a = auth(ctx);
    const asked = bodyUser ?? (query.user_id as string | undefined);
    if (asked && atLeast(ctx.microversion, '2.10') && asked !== a.userId) {
      requireAdmin(ctx, 'os_compute_api:os-keypairs');
      return asked;
    }
    return a.userId;
  }

  private keypair(userId: string, name: string): KeypairRecord {
    const k = this.store.get<KeypairRecord>('keypair', `${userId}/${name}`);
    if (!k) throw keypairNotFound(name, userId);
    return k;
  }

  async createKeypair(req: ComputeRequest<'createKeypair'>): Promise<ComputeResponse<'createKeypair'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { keypair: { name: string; public_key?: string; type?: 'ssh' | 'x509'; user_id?: string } }).keypair;
    const userId = this.keypairUser(ctx, {}, b.user_id);
    const name = keypairName(ctx.microversion, b.name);
    const type = atLeast(ctx.microversion, '2.2') ? (b.type ?? 'ssh') : 'ssh';
    requirePublicKeyFrom292(ctx.microversion, b.public_key);
    let publicKey = b.public_key;
    let privateKey: string | undefined;
    if (!publicKey) {
      const generated = type === 'x509' ? generateX509Keypair(`${userId}-${name}`) : generateSshKeypair('Generated-by-Nova');
      publicKey = generated.publicKey;
      privateKey = generated.privateKey;
    }
    const fingerprint = type === 'x509' ? x509Fingerprint(publicKey) : sshFingerprint(publicKey);
    const now = isoZ();
    // project_id holds the owning user: key pairs are per user, and the store indexes that column.
    const k: KeypairRecord = { id: `${userId}/${name}`, project_id: userId, name, user_id: userId, type, public_key: publicKey, fingerprint, created_at: now, updated_at: now };
    this.store.tx(() => {
      if (this.store.get('keypair', k.id)) throw Fault.conflict(`Key pair '${name}' already exists.`);
      const limit = quotaLimits(this.store, auth(ctx).projectId ?? '').key_pairs!;
      if (limit >= 0 && this.store.count('keypair', userId) >= limit) throw Fault.forbidden('Quota exceeded, too many key pairs.');
      this.store.insert('keypair', k);
    });
    const v = keypairView(ctx.microversion, keypairFacts(k), false);
    v.user_id = userId;
    if (privateKey) v.private_key = privateKey;
    return out({ keypair: v });
  }

  async listKeypairs(req: ComputeRequest<'listKeypairs'>): Promise<ComputeResponse<'listKeypairs'>> {
    const ctx = req.context;
    const query = req.query as Record<string, unknown>;
    const userId = this.keypairUser(ctx, query);
    return out(keypairList(ctx, this.store.list<KeypairRecord>('keypair', { projectId: userId }).map(keypairFacts), query));
  }

  async showKeypair(req: ComputeRequest<'showKeypair'>): Promise<ComputeResponse<'showKeypair'>> {
    const ctx = req.context;
    const k = this.keypair(this.keypairUser(ctx, req.query as Record<string, unknown>), req.path.id);
    return out({ keypair: keypairView(ctx.microversion, keypairFacts(k), true) });
  }

  async deleteKeypair(req: ComputeRequest<'deleteKeypair'>): Promise<ComputeResponse<'deleteKeypair'>> {
    const k = this.keypair(this.keypairUser(req.context, req.query as Record<string, unknown>), req.path.id);
    this.store.delete('keypair', k.id);
  }

  // ---- servers: create ---------------------------------------------------------

  async createServer(req: ComputeRequest<'createServer'>): Promise<ComputeResponse<'createServer'> | Reply<ComputeResponse<'createServer'>>> {
    const ctx = req.context;
    const mv = ctx.microversion;
    const a = auth(ctx);
    const projectId = this.cloud.project(ctx);
    const body = req.body as unknown as CreateServerBody;
    const b = body.server;
    const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};

    let flavor: FlavorRecord;
    try {
      flavor = this.visibleFlavor(ctx, String(b.flavorRef).replace(/^.*\/flavors\//, ''));
    } catch (err) {
      // Nova answers a bad flavorRef on create with 400 (FlavorNotFound → HTTPBadRequest).
      if (isFault(err) && err.status === 404) throw Fault.badRequest(err.message);
      throw err;
    }
    if (flavor.disabled) throw Fault.badRequest(`Flavor ${flavor.id} is disabled.`);

    // Boot source: an image, or a volume (block_device_mapping_v2 with boot_index 0).
    const bdms = b.block_device_mapping_v2 ?? [];
    const bootBdm = bdms.find((d) => String(d.boot_index) === '0');
    let imageId: string | null = null;
    if (!bootBdm || bootBdm.source_type === 'image' && bootBdm.destination_type !== 'volume') {
      const ref = (b.imageRef ?? bootBdm?.uuid ?? '').replace(/^.*\/images\//, '');
      if (!ref) throw Fault.badRequest('Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.');
      const image = this.cloud.image.image(projectId, ref);
      if (!image) throw Fault.badRequest(`Image ${ref} could not be found.`);
      if (image.status !== 'active') throw Fault.badRequest(`Image ${ref} is not active.`);
      if (image.min_ram > flavor.ram) throw Fault.badRequest("Flavor's memory is too small for requested image.");
      if (image.min_disk > flavor.disk || (flavor.disk > 0 && (image.size ?? 0) > flavor.disk * 1024 ** 3)) {
        throw Fault.badRequest("Flavor's disk is too small for requested image.");
      }
      imageId = image.id;
    }

    // user_data: base64, at most 65535 bytes encoded.
    if (b.user_data !== undefined && b.user_data !== null) {
      if (b.user_data.length > 65535 || !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(b.user_data)) {
        throw Fault.badRequest('User data needs to be valid base 64.');
      }
    }
    let keyData: string | null = null;
    if (b.key_name) {
      const k = this.store.get<KeypairRecord>('keypair', `${a.userId}/${b.key_name}`);
      if (!k) throw Fault.badRequest(`Invalid key_name provided.`);
      keyData = k.public_key;
    }
    const zone = b.availability_zone ? b.availability_zone.split(':')[0]! : 'nova';
    if (!this.zones().includes(zone)) throw Fault.badRequest(`The requested availability zone is not available`);
    const metadata = b.metadata ?? {};
    const limits = quotaLimits(this.store, projectId);
    if (Object.keys(metadata).length > limits.metadata_items! && limits.metadata_items! >= 0) {
      throw Fault.forbidden('Quota exceeded for metadata_items: Requested 1, but already used 0 of 128 metadata_items');
    }
    const minCount = Number(b.min_count ?? 1);
    const maxCount = Number(b.max_count ?? minCount);
    if (!Number.isInteger(minCount) || !Number.isInteger(maxCount) || minCount < 1 || maxCount < minCount) {
      throw Fault.badRequest("min_count must be <= max_count");
    }
    const networks = b.networks ?? (atLeast(mv, '2.37') ? undefined : 'auto');
    if (networks === undefined) throw Fault.badRequest("Invalid input for field/attribute server. Value: 'networks' is a required property");
    if (Array.isArray(networks) && networks.some((n) => n.port) && maxCount > 1) {
      throw Fault.badRequest('Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.');
    }
    // Clients send a group's name or its id (openstackclient sends the id);
    // Nova keeps and shows the name.
    const sgNames = (b.security_groups ?? []).map((g) => g.name);
    if (sgNames.length === 0) sgNames.push('default');
    if (networks !== 'none') {
      for (let i = 0; i < sgNames.length; i++) {
        try {
          sgNames[i] = this.cloud.network.securityGroup(projectId, sgNames[i]!).name;
        } catch (err) {
          // Nova: "Security group x not found for project y." is a 400 on create.
          if (isFault(err) && err.status === 404) throw Fault.badRequest(err.message);
          throw err;
        }
      }
    }

    // Server group policy (affinity / anti-affinity on the sandbox's one host).
    let group: ServerGroupRecord | undefined;
    if (hints.group) {
      group = this.store.get<ServerGroupRecord>('server_group', String(hints.group));
      if (!group || (group.project_id !== projectId && !a.isAdmin)) throw Fault.badRequest(`Invalid server group ${String(hints.group)}`);
    }

    const diskConfig = diskConfigOf(body.server as unknown as Record<string, unknown>) ?? 'MANUAL';
    const reservationId = `r-${randomBytes(4).toString('hex').slice(0, 8)}`;
    const created: ServerRecord[] = [];
    this.store.tx(() => {
      // Quotas: Nova makes as many as fit, at least min_count, else 403.
      const used = this.usage(projectId);
      const fit = (key: 'instances' | 'cores' | 'ram', per: number) => {
        const limit = limits[key]!;
        return limit < 0 ? Infinity : Math.floor((limit - used[key]) / per);
      };
      const allowed = Math.min(fit('instances', 1), fit('cores', flavor.vcpus), fit('ram', flavor.ram));
      if (allowed < minCount) {
        const [key, per] = fit('instances', 1) < minCount ? ['instances', 1] as const
          : fit('cores', flavor.vcpus) < minCount ? ['cores', flavor.vcpus] as const : ['ram', flavor.ram] as const;
        throw Fault.forbidden(`Quota exceeded for ${key}: Requested ${per * minCount}, but already used ${used[key]} of ${limits[key]} ${key}`);
      }
      const count = Math.min(maxCount, allowed);
      if (group) {
        const members = group.members.length;
        const gl = limits.server_group_members!;
        if (gl >= 0 && members + count > gl) throw Fault.forbidden('Quota exceeded, too many servers in group');
        // One hypervisor: anti-affinity allows one member only (Nova's scheduler finds no valid host: ERROR).
        if (group.policy === 'anti-affinity' && members + count > 1) {
          const maxPerHost = Number((group.rules as { max_server_per_host?: number }).max_server_per_host ?? 1);
          if (members + count > maxPerHost) {
            throw Fault.badRequest(`No valid host was found. There are not enough hosts available (server group ${group.id} has policy anti-affinity).`);
          }
        }
      }
      const now = Date.now();
      for (let i = 0; i < count; i++) {
        const id = this.store.newId();
        const serial = this.store.next('instance');
        const name = count > 1 ? `${b.name}-${i + 1}` : b.name;
        const s: ServerRecord = {
          id, project_id: projectId, user_id: a.userId, name, description: atLeast(mv, '2.19') ? b.description ?? null : null,
          vm_state: 'building', task_state: 'scheduling', power_state: 0, build_until: now + this.cloud.options.buildDelayMs,
          launched_at: null, flavor: { ...flavor }, old_flavor: null, image_id: imageId, key_name: b.key_name ?? null, key_data: keyData,
          metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])),
          tags: atLeast(mv, '2.52') ? [...(b.tags ?? [])] : [], locked: false, locked_reason: null, locked_by: null,
          user_data: b.user_data ?? null, config_drive: b.config_drive === true || b.config_drive === 'True' || b.config_drive === 'true' ? 'True' : '',
          availability_zone: zone, access_ipv4: b.accessIPv4 ?? '', access_ipv6: normalizeIPv6(b.accessIPv6 ?? ''),
          disk_config: diskConfig,
          instance_name: `instance-${serial.toString(16).padStart(8, '0')}`, reservation_id: reservationId, launch_index: i,
          hostname: (b.hostname ?? name).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || `server-${id}`,
          security_groups: [...new Set(sgNames)], networked: networks !== 'none', volumes: [], server_group: group?.id ?? null,
          admin_pass: b.adminPass ?? randomBytes(9).toString('base64url').slice(0, 12), progress: 0, console: [],
          created_at: isoZ(now), updated_at: isoZ(now),
        };
        this.store.insert('server', s);
        created.push(s);
        // Neutron ports.
        if (networks !== 'none') {
          const sgIds = s.security_groups.map((g) => {
            try {
              return this.cloud.network.securityGroup(projectId, g).id;
            } catch (err) {
              // Nova: "Security group x not found for project y." is a 400 on create.
              if (isFault(err) && err.status === 404) throw Fault.badRequest(err.message);
              throw err;
            }
          });
          const reqs = networks === 'auto' ? [{ uuid: this.cloud.network.autoNetwork(projectId) }] : networks;
          for (const n of reqs) {
            try {
              this.cloud.network.allocateServerPort(projectId, { networkId: n.uuid, portId: n.port, fixedIp: n.fixed_ip, securityGroups: sgIds, serverId: id });
            } catch (err) {
              // Nova validates requested networks and ports before it builds: a 400 (409 for a port in use).
              if (isFault(err) && err.status === 404) throw Fault.badRequest(err.message);
              throw err;
            }
          }
        }
        // Cinder volumes.
        let dev = 0;
        for (const d of [...bdms].sort((x, y) => Number(x.boot_index ?? 99) - Number(y.boot_index ?? 99))) {
          if (d.destination_type !== 'volume') continue;
          const device = `/dev/vd${String.fromCharCode(97 + dev++)}`;
          let volumeId = d.uuid ?? '';
          if (d.source_type === 'image') {
            const size = Number(d.volume_size ?? flavor.disk);
            volumeId = this.cloud.volume.createFromImage(projectId, d.uuid ?? '', size, `${name}-boot`, a.userId).id;
          } else if (d.source_type === 'volume') {
            const vol = this.cloud.volume.volume(projectId, volumeId);
            if (!vol) throw Fault.badRequest(`Block Device Mapping is Invalid: failed to get volume ${volumeId}.`);
            if (String(d.boot_index) === '0' && !vol.bootable) throw Fault.badRequest(`Block Device ${volumeId} is not bootable.`);
            if (vol.status !== 'available') throw Fault.badRequest(`Block Device Mapping is Invalid: Volume ${volumeId} status must be available, but the current status is: ${vol.status}.`);
          } else continue;
          this.cloud.volume.attach(projectId, volumeId, id, device);
          s.volumes.push({ id: volumeId, device, delete_on_termination: d.delete_on_termination ?? d.source_type === 'image', tag: d.tag ?? null, attachment_id: this.store.newId() });
        }
        this.store.put('server', s, false);
        if (group) {
          group.members.push(id);
          this.store.put('server_group', group);
        }
        this.record(ctx, s, 'create');
      }
    });
    if (b.return_reservation_id) return out(new Reply({ reservation_id: reservationId }, 202));
    const s = created[0]!;
    const body2: Record<string, unknown> = { id: s.id, links: links(ctx, 'servers', s.id), 'OS-DCF:diskConfig': s.disk_config ?? 'MANUAL', adminPass: s.admin_pass };
    body2.security_groups = s.security_groups.map((name) => ({ name }));
    return out(new Reply({ server: body2 }, 202, { Location: `${ctx.endpoint}/v2.1/servers/${s.id}` }));
  }

  // ---- servers: list, show, update, delete ----------------------------------

  /** Whose servers a list shows. Nova ignores tenant_id / project_id unless all_tenants is given too. */
  private serverScope(ctx: Ctx, query: Record<string, unknown>): string | null {
    return auth(ctx).isAdmin && query.all_tenants === undefined ? this.cloud.project(ctx) : this.cloud.listScope(ctx, query);
  }

  private selectServers(ctx: Ctx, query: Record<string, unknown>): ServerRecord[] {
    const mv = ctx.microversion;
    const a = auth(ctx);
    const scope = this.serverScope(ctx, query);
    let servers = this.store.list<ServerRecord>('server', { projectId: scope }).map((s) => settle(this.store, s));
    const str = (k: string) => (query[k] === undefined ? undefined : String(query[k]));
    const regex = (k: string) => {
      const v = str(k);
      if (v === undefined) return undefined;
      try { return new RegExp(v); } catch { return new RegExp(v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')); }
    };
    const name = regex('name');
    if (name) servers = servers.filter((s) => name.test(s.name));
    const status = str('status');
    if (status) servers = servers.filter((s) => matchesStatus(s, status));
    const image = str('image')?.replace(/^.*\/images\//, '');
    if (image) servers = servers.filter((s) => s.image_id === image);
    const flavor = str('flavor')?.replace(/^.*\/flavors\//, '');
    if (flavor) servers = servers.filter((s) => s.flavor.id === flavor);
    const since = str('changes-since');
    if (since) {
      const t = Date.parse(since);
      if (Number.isNaN(t)) throw Fault.badRequest(`Invalid input for query parameters changes-since. Value: ${since}.`);
      servers = servers.filter((s) => Date.parse(s.updated_at) >= t);
    }
    const before = str('changes-before');
    if (before && atLeast(mv, '2.66')) servers = servers.filter((s) => Date.parse(s.updated_at) <= Date.parse(before));
    const ip = regex('ip');
    const ip6 = regex('ip6');
    if (ip || ip6) {
      const addresses = this.addressesOf(servers);
      if (ip) servers = servers.filter((s) => Object.values(addresses(s)).flat().some((x) => x.version === 4 && ip.test(x.addr)));
      if (ip6) servers = servers.filter((s) => Object.values(addresses(s)).flat().some((x) => x.version === 6 && ip6.test(x.addr)));
    }
    if (a.isAdmin) {
      const host = str('host');
      if (host) servers = servers.filter(() => host === HOST);
      const uid = str('user_id');
      if (uid) servers = servers.filter((s) => s.user_id === uid);
    }
    const reservation = str('reservation_id');
    if (reservation) servers = servers.filter((s) => s.reservation_id === reservation);
    if (atLeast(mv, '2.26')) {
      const list = (k: string) => str(k)?.split(',').filter(Boolean);
      const tags = list('tags'), any = list('tags-any'), not = list('not-tags'), notAny = list('not-tags-any');
      if (tags) servers = servers.filter((s) => tags.every((t) => s.tags.includes(t)));
      if (any) servers = servers.filter((s) => any.some((t) => s.tags.includes(t)));
      if (not) servers = servers.filter((s) => !not.every((t) => s.tags.includes(t)));
      if (notAny) servers = servers.filter((s) => !notAny.some((t) => s.tags.includes(t)));
    }
    const locked = str('locked');
    if (locked !== undefined && atLeast(mv, '2.73')) servers = servers.filter((s) => s.locked === truthy(locked));
    const { keys, dirs } = this.serverSort(ctx, query);
    const order = new Map(servers.map((s, i) => [s.id, i]));
    const first = dirs[0] === 'asc' ? 1 : -1;
    return servers.sort((x, y) => {
      for (const [i, k] of keys.entries()) {
        const of = SERVER_SORT_KEYS.get(k);
        const c = of ? compareSort(of(x), of(y)) : 0;
        if (c) return dirs[i] === 'asc' ? c : -c;
      }
      // Then created_at and id in the first direction (process_sort_params' defaults): creation order.
      return (order.get(x.id)! - order.get(y.id)!) * first;
    });
  }

  /**
   * The keys and directions a server list sorts by, as Nova reads them:
   * sort_key and sort_dir are lists applied in order (get_sort_params; created_at
   * desc when none); ignored keys are dropped with their direction, host and
   * node are for admins (remove_invalid_sort_keys); directions must be asc or
   * desc, no more than the keys, and missing ones take the first
   * (process_sort_params). Ties go by creation order in the first direction:
   * Nova's created_at and id (the sandbox gives the servers of one create the
   * same created_at, so its uuid tie-break would shuffle them).
   */
  private serverSort(ctx: Ctx, query: Record<string, unknown>): { keys: string[]; dirs: string[] } {
    const keys = many(query.sort_key);
    const dirs = many(query.sort_dir);
    if (!keys.length) keys.push('created_at');
    if (!dirs.length) dirs.push('desc');
    const ignored = new Set(IGNORED_SORT_KEYS);
    if (atLeast(ctx.microversion, '2.73')) ignored.delete('locked');
    for (const k of [...keys]) {
      const i = keys.indexOf(k);
      if (ignored.has(k)) {
        if (atLeast(ctx.microversion, '2.75')) throw Fault.badRequest(`Invalid input for query parameters sort_key. Value: ${k}. '${k}' is not one of the valid sort keys.`);
        if (dirs.length > i) dirs.splice(i, 1);
        keys.splice(i, 1);
      } else if ((k === 'host' || k === 'node') && !auth(ctx).isAdmin) {
        throw Fault.forbidden(`Only administrators can sort servers by ${k}`);
      }
    }
    if (!keys.length) return { keys: ['created_at'], dirs: ['desc'] };
    for (const d of dirs) if (d !== 'asc' && d !== 'desc') throw Fault.badRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
    if (dirs.length > keys.length) throw Fault.badRequest('Invalid input received: Sort direction size exceeds sort key size');
    while (dirs.length < keys.length) dirs.push(dirs[0]!);
    return { keys, dirs };
  }

  /**
   * The common list, a page by creation time with no filter, read in SQL:
   * only the page's servers are read and settled, where selectServers reads,
   * settles and sorts every server of the scope. Undefined for any other
   * query (a filter, another sort key, an unusual marker), which takes the
   * general path. Same page, order, marker errors and next link as that
   * path: it sorts by created_at (isoZ, so its binary order is localeCompare's)
   * then creation order (seq), as pageByCreation does; settling never
   * changes created_at.
   */
  private pageByCreation(ctx: Ctx, query: Record<string, unknown>): { items: ServerRecord[]; more: boolean } | undefined {
    if (Object.entries(query).some(([k, v]) => v !== undefined && !PAGE_ONLY_QUERY.has(k))) return undefined;
    // Only by creation time: sort_key created_at (or none) and at most one direction.
    const keys = many(query.sort_key), dirs = many(query.sort_dir);
    if (keys.some((k) => k !== 'created_at') || keys.length > 1 || dirs.length > 1) return undefined;
    if (dirs.length && dirs[0] !== 'asc' && dirs[0] !== 'desc') return undefined;
    const marker = query.marker;
    if (marker !== undefined && typeof marker !== 'string') return undefined;
    const newestFirst = dirs[0] !== 'asc';
    const scope = this.serverScope(ctx, query);
    // As paginate: the limit is checked before the marker.
    const limit = parseLimit(query.limit as number | string | undefined);
    let after: CreationKey | undefined;
    if (marker !== undefined && marker !== '') {
      after = this.store.creationKey('server', marker, scope);
      if (!after) throw Fault.badRequest(`marker [${marker}] not found`);
    }
    // One more than the page tells whether another page follows.
    const rows = this.store.pageByCreation<ServerRecord>('server', { projectId: scope, newestFirst, after, limit: limit + 1, parse: this.rows.parse });
    // The records are shared (compute-rows.ts): one that settles now is copied first.
    const items = rows.slice(0, limit).map((s) => (needsSettle(s) ? settle(this.store, structuredClone(s)) : s));
    return { items, more: rows.length > limit && items.length > 0 };
  }

  private page(ctx: Ctx, query: Record<string, unknown>) {
    const { items, more } = this.pageByCreation(ctx, query) ?? paginate(this.selectServers(ctx, query), query, (s) => s.id);
    const extra = more ? { servers_links: [nextLink(ctx.url, query, items[items.length - 1]!.id)] } : {};
    return { items, extra };
  }

  async listServers(req: ComputeRequest<'listServers'>): Promise<ComputeResponse<'listServers'>> {
    const ctx = req.context;
    const { items, extra } = this.page(ctx, req.query as Record<string, unknown>);
    return out({ servers: items.map((s) => ({ id: s.id, name: s.name, links: links(ctx, 'servers', s.id) })), ...extra });
  }

  async listServersDetail(req: ComputeRequest<'listServersDetail'>): Promise<ComputeResponse<'listServersDetail'>> {
    const ctx = req.context;
    const { items, extra } = this.page(ctx, req.query as Record<string, unknown>);
    const addresses = this.addressesOf(items);
    const isAdmin = auth(ctx).isAdmin;
    return out({
      servers: items.map((s) => {
        const a = addresses(s);
        // Everything serverView reads besides the record.
        const key = JSON.stringify([ctx.microversion, isAdmin, ctx.endpoint, a]);
        return this.rows.view(s, key, () => serverView(s, { ctx, isAdmin, addresses: a, inList: true }));
      }),
      ...extra,
    });
  }

  async showServer(req: ComputeRequest<'showServer'>): Promise<ComputeResponse<'showServer'>> {
    return out({ server: this.view(req.context, this.server(req.context, req.path.id)) });
  }

  async updateServer(req: ComputeRequest<'updateServer'>): Promise<ComputeResponse<'updateServer'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { server: { name?: string; description?: string | null; accessIPv4?: string; accessIPv6?: string; hostname?: string } }).server;
    const s = this.store.tx(() => {
      const s = this.server(ctx, req.path.id);
      if (b.name !== undefined) s.name = b.name;
      if (b.description !== undefined && atLeast(ctx.microversion, '2.19')) s.description = b.description;
      if (b.accessIPv4 !== undefined) s.access_ipv4 = b.accessIPv4;
      if (b.accessIPv6 !== undefined) s.access_ipv6 = normalizeIPv6(b.accessIPv6);
      s.disk_config = diskConfigOf(b as Record<string, unknown>) ?? s.disk_config;
      if (b.hostname !== undefined && atLeast(ctx.microversion, '2.90')) s.hostname = b.hostname;
      return this.store.put('server', s);
    });
    return out({ server: this.briefView(ctx, s) });
  }

  /** Update and rebuild answer the short form before 2.75: no extended attributes. */
  private briefView(ctx: Ctx, s: ServerRecord): Record<string, unknown> {
    const v = this.view(ctx, s);
    if (!atLeast(ctx.microversion, '2.75')) {
      for (const k of Object.keys(v)) if (/^OS-EXT-(SRV-ATTR|STS|AZ)|^OS-SRV-USG|^os-extended-volumes|^security_groups$|^key_name$|^config_drive$/.test(k)) delete v[k];
      // extend_address=False: addresses without type and MAC.
      v.addresses = Object.fromEntries(Object.entries(v.addresses as Record<string, ServerAddress[]>).map(([n, l]) => [n, l.map((x) => ({ version: x.version, addr: x.addr }))]));
    }
    return v;
  }

  async deleteServer(req: ComputeRequest<'deleteServer'>): Promise<ComputeResponse<'deleteServer'>> {
    const ctx = req.context;
    this.store.tx(() => {
      const s = this.server(ctx, req.path.id);
      if (s.locked && !auth(ctx).isAdmin) throw Fault.conflict(`Instance ${s.id} is locked`);
      this.destroy(s);
      this.record(ctx, s, 'delete');
    });
  }

  private destroy(s: ServerRecord): void {
    if (s.networked) this.cloud.network.releaseServerPorts(s.id);
    for (const v of s.volumes) {
      // Nova deletes the server even when Cinder no longer knows the attachment or the volume.
      try {
        this.cloud.volume.detach(s.project_id, v.id, s.id);
        if (v.delete_on_termination) this.cloud.volume.delete(s.project_id, v.id);
      } catch (err) {
        if (!isFault(err) || err.status >= 500) throw err;
      }
    }
    if (s.server_group) {
      const g = this.store.get<ServerGroupRecord>('server_group', s.server_group);
      if (g) {
        g.members = g.members.filter((m) => m !== s.id);
        this.store.put('server_group', g);
      }
    }
    this.store.delete('server', s.id);
    // A tombstone, so that 2.21+ can still list the deleted server's instance actions.
    this.store.insert('server_deleted', { id: s.id, project_id: s.project_id, created_at: s.created_at, updated_at: isoZ() });
  }

  // ---- server actions ----------------------------------------------------------

  async rebootServer(req: ComputeRequest<'rebootServer'>): Promise<ComputeResponse<'rebootServer'>> {
    const type = String((req.body as unknown as { reboot: { type: string } }).reboot.type).toUpperCase();
    if (type !== 'SOFT' && type !== 'HARD') throw Fault.badRequest(`Argument 'type' for reboot must be a string with value 'SOFT' or 'HARD'`);
    this.act(req.context, req.path.id, 'reboot', type === 'SOFT' ? ['active'] : ['active', 'stopped', 'paused', 'suspended', 'error'], (s) => {
      s.vm_state = 'active';
      s.power_state = 1;
      s.console.push(`[    0.000000] reboot: Restarting system (${type.toLowerCase()})`, ...bootLines(s));
    });
  }

  async stopServer(req: ComputeRequest<'stopServer'>): Promise<ComputeResponse<'stopServer'>> {
    this.act(req.context, req.path.id, 'stop', ['active', 'error'], (s) => {
      s.vm_state = 'stopped';
      s.power_state = 4;
      s.console.push('[  OK  ] Reached target Power-Off.', 'reboot: Power down');
    });
  }

  async startServer(req: ComputeRequest<'startServer'>): Promise<ComputeResponse<'startServer'>> {
    this.act(req.context, req.path.id, 'start', ['stopped'], (s) => {
      s.vm_state = 'active';
      s.power_state = 1;
      s.console.push(...bootLines(s));
    });
  }

  async pauseServer(req: ComputeRequest<'pauseServer'>): Promise<ComputeResponse<'pauseServer'>> {
    this.act(req.context, req.path.id, 'pause', ['active'], (s) => { s.vm_state = 'paused'; s.power_state = 3; });
  }

  async unpauseServer(req: ComputeRequest<'unpauseServer'>): Promise<ComputeResponse<'unpauseServer'>> {
    this.act(req.context, req.path.id, 'unpause', ['paused'], (s) => { s.vm_state = 'active'; s.power_state = 1; });
  }

  async suspendServer(req: ComputeRequest<'suspendServer'>): Promise<ComputeResponse<'suspendServer'>> {
    this.act(req.context, req.path.id, 'suspend', ['active'], (s) => { s.vm_state = 'suspended'; s.power_state = 4; });
  }

  async resumeServer(req: ComputeRequest<'resumeServer'>): Promise<ComputeResponse<'resumeServer'>> {
    this.act(req.context, req.path.id, 'resume', ['suspended'], (s) => { s.vm_state = 'active'; s.power_state = 1; });
  }

  async lockServer(req: ComputeRequest<'lockServer'>): Promise<ComputeResponse<'lockServer'>> {
    const ctx = req.context;
    const reason = (req.body as unknown as { lock: { locked_reason?: string } | null }).lock?.locked_reason ?? null;
    this.act(ctx, req.path.id, 'lock', null, (s) => {
      s.locked = true;
      s.locked_reason = atLeast(ctx.microversion, '2.73') ? reason : null;
      s.locked_by = auth(ctx).isAdmin && s.project_id !== auth(ctx).projectId ? 'admin' : 'owner';
    }, { lockOk: true });
  }

  async unlockServer(req: ComputeRequest<'unlockServer'>): Promise<ComputeResponse<'unlockServer'>> {
    const ctx = req.context;
    this.act(ctx, req.path.id, 'unlock', null, (s) => {
      if (s.locked_by === 'admin' && !auth(ctx).isAdmin) throw Fault.forbidden(`Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.`);
      s.locked = false;
      s.locked_reason = null;
      s.locked_by = null;
    }, { lockOk: true });
  }

  async resizeServer(req: ComputeRequest<'resizeServer'>): Promise<ComputeResponse<'resizeServer'>> {
    const ctx = req.context;
    const rb = (req.body as unknown as { resize: { flavorRef: string } }).resize;
    const ref = String(rb.flavorRef).replace(/^.*\/flavors\//, '');
    const dc = diskConfigOf(rb as unknown as Record<string, unknown>);
    const flavor = this.store.get<FlavorRecord>('flavor', ref) ?? allFlavors(this.store).find((f) => f.id === ref);
    const a = auth(ctx);
    if (!flavor || !flavorVisible(flavor, a.projectId ?? '', a.isAdmin)) throw Fault.badRequest(`Unable to find flavor ${ref}`);
    this.act(ctx, req.path.id, 'resize', ['active', 'stopped'], (s) => {
      if (s.flavor.id === flavor.id) throw Fault.badRequest('When resizing, instances must change flavor!');
      if (!s.image_id && flavor.disk < s.flavor.disk) { /* boot from volume: root disk size does not matter */ } else if (flavor.disk < s.flavor.disk) {
        throw Fault.badRequest('Resize error: Unable to resize disk down.');
      }
      const limits = quotaLimits(this.store, s.project_id);
      const used = this.usage(s.project_id);
      for (const [key, delta] of [['cores', flavor.vcpus - s.flavor.vcpus], ['ram', flavor.ram - s.flavor.ram]] as const) {
        if (delta > 0 && limits[key]! >= 0 && used[key] + delta > limits[key]!) {
          throw Fault.forbidden(`Quota exceeded for ${key}: Requested ${delta}, but already used ${used[key]} of ${limits[key]} ${key}`);
        }
      }
      const now = isoZ();
      this.store.insert<MigrationRecord>('migration', {
        id: this.store.newId(), uuid: this.store.newId(), serial: this.store.next('migration'), project_id: s.project_id, user_id: a.userId,
        instance_uuid: s.id, status: 'finished', migration_type: 'resize', old_flavor_serial: flavorSerial(s.flavor.id), new_flavor_serial: flavorSerial(flavor.id),
        created_at: now, updated_at: now,
      });
      s.old_flavor = s.flavor;
      s.flavor = { ...flavor };
      if (dc) s.disk_config = dc;
      // The guest comes back up on the new flavor, waiting for confirmation.
      s.power_state = s.vm_state === 'stopped' ? 4 : 1;
      s.vm_state = 'resized';
    });
  }

  async confirmResizeServer(req: ComputeRequest<'confirmResizeServer'>): Promise<ComputeResponse<'confirmResizeServer'>> {
    this.act(req.context, req.path.id, 'confirmResize', null, (s) => {
      if (s.vm_state !== 'resized') throw Fault.badRequest(`Instance has not been resized.`);
      this.finishMigration(s.id, 'confirmed');
      s.old_flavor = null;
      s.vm_state = s.power_state === 4 ? 'stopped' : 'active';
    });
  }

  async revertResizeServer(req: ComputeRequest<'revertResizeServer'>): Promise<ComputeResponse<'revertResizeServer'>> {
    this.act(req.context, req.path.id, 'revertResize', null, (s) => {
      if (s.vm_state !== 'resized' || !s.old_flavor) throw Fault.badRequest(`Instance has not been resized.`);
      this.finishMigration(s.id, 'reverted');
      s.flavor = s.old_flavor;
      s.old_flavor = null;
      s.vm_state = s.power_state === 4 ? 'stopped' : 'active';
    });
  }

  private finishMigration(serverId: string, status: string): void {
    const m = this.store.list<MigrationRecord>('migration', { where: (x) => x.instance_uuid === serverId && x.status === 'finished' }).pop();
    if (m) this.store.put('migration', { ...m, status });
  }

  async rebuildServer(req: ComputeRequest<'rebuildServer'>): Promise<ComputeResponse<'rebuildServer'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { rebuild: { imageRef: string; name?: string; metadata?: Record<string, string>; adminPass?: string; description?: string | null; key_name?: string | null; user_data?: string | null; preserve_ephemeral?: boolean; accessIPv4?: string; accessIPv6?: string } }).rebuild;
    const projectId = this.cloud.project(ctx);
    const ref = String(b.imageRef).replace(/^.*\/images\//, '');
    const s0 = this.server(ctx, req.path.id);
    if (!s0.image_id && ref) {
      // Rebuilding a volume-backed server with a new image is refused before 2.93.
      if (!atLeast(ctx.microversion, '2.93')) throw Fault.badRequest('Unable to rebuild with a different image for a volume-backed server.');
    }
    const image = this.cloud.image.image(projectId, ref);
    if (!image) throw Fault.badRequest(`Image ${ref} could not be found.`);
    if (image.status !== 'active') throw Fault.badRequest(`Image ${ref} is not active.`);
    let keyData: string | null | undefined;
    if (b.key_name !== undefined && atLeast(ctx.microversion, '2.54')) {
      if (b.key_name === null) keyData = null;
      else {
        const k = this.store.get<KeypairRecord>('keypair', `${auth(ctx).userId}/${b.key_name}`);
        if (!k) throw Fault.badRequest('Invalid key_name provided.');
        keyData = k.public_key;
      }
    }
    const adminPass = b.adminPass ?? randomBytes(9).toString('base64url').slice(0, 12);
    const s = this.act(ctx, req.path.id, 'rebuild', ['active', 'stopped', 'error'], (s) => {
      s.image_id = s.image_id ? image.id : s.image_id;
      if (b.name !== undefined) s.name = b.name;
      if (b.metadata !== undefined) s.metadata = { ...b.metadata };
      if (b.description !== undefined && atLeast(ctx.microversion, '2.19')) s.description = b.description;
      if (keyData !== undefined) { s.key_data = keyData; s.key_name = b.key_name ?? null; }
      if (b.user_data !== undefined && atLeast(ctx.microversion, '2.57')) s.user_data = b.user_data;
      s.admin_pass = adminPass;
      s.disk_config = diskConfigOf(b as unknown as Record<string, unknown>) ?? s.disk_config;
      if (b.accessIPv4 !== undefined) s.access_ipv4 = b.accessIPv4;
      if (b.accessIPv6 !== undefined) s.access_ipv6 = normalizeIPv6(b.accessIPv6);
      s.console.push(...bootLines(s));
      if (s.vm_state === 'error') { s.vm_state = 'active'; s.power_state = 1; }
    });
    const v = this.briefView(ctx, s);
    v.adminPass = adminPass;
    // Rebuild shows key_name from 2.54 and user_data from 2.57 (nova/api/openstack/compute/servers.py _action_rebuild).
    if (atLeast(ctx.microversion, '2.54')) v.key_name = s.key_name;
    if (atLeast(ctx.microversion, '2.57')) {
      // user_data is shown as such, not as the admin's OS-EXT-SRV-ATTR:user_data (Tempest's v2_75 rebuild schema).
      delete v['OS-EXT-SRV-ATTR:user_data'];
      v.user_data = s.user_data;
    }
    return out({ server: v });
  }

  async createImageServer(req: ComputeRequest<'createImageServer'>): Promise<ComputeResponse<'createImageServer'> | Reply<ComputeResponse<'createImageServer'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { createImage: { name: string; metadata?: Record<string, string> } }).createImage;
    let imageId = '';
    this.act(ctx, req.path.id, 'createImage', ['active', 'stopped', 'paused', 'suspended'], (s) => {
      this.snapshotWindow(s);
      const image = this.cloud.image.snapshotImage(s.project_id, b.name, s.image_id, { instance_uuid: s.id, image_type: 'snapshot', ...(b.metadata ?? {}) });
      imageId = image.id;
    });
    const location = `${ctx.endpoint.replace(/\/compute$/, '/image')}/v2/images/${imageId}`;
    if (atLeast(ctx.microversion, '2.45')) return out({ image_id: imageId });
    return out(new Reply(undefined, 202, { Location: location }));
  }

  /**
   * A snapshot keeps the server in task_state image_snapshot for the build
   * delay, as Nova does while it uploads: another action meanwhile is a 409.
   */
  private snapshotWindow(s: ServerRecord): void {
    const delay = this.cloud.options.buildDelayMs;
    if (delay <= 0) return;
    s.task_state = 'image_snapshot';
    s.task_until = Date.now() + delay;
  }

  /** createBackup: a snapshot marked as a backup; older backups beyond the rotation are deleted. */
  async createBackupServer(req: ComputeRequest<'createBackupServer'>): Promise<ComputeResponse<'createBackupServer'> | Reply<ComputeResponse<'createBackupServer'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { createBackup: { name: string; backup_type: string; rotation: number | string; metadata?: Record<string, string> } }).createBackup;
    const rotation = Number(b.rotation);
    if (!Number.isInteger(rotation) || rotation < 0) throw Fault.badRequest(`Invalid input for field/attribute rotation. Value: ${String(b.rotation)}.`);
    let imageId = '';
    this.act(ctx, req.path.id, 'createBackup', ['active', 'stopped', 'paused', 'suspended'], (s) => {
      this.snapshotWindow(s);
      const image = this.cloud.image.snapshotImage(s.project_id, b.name, s.image_id, { instance_uuid: s.id, image_type: 'backup', ...(b.metadata ?? {}), backup_type: b.backup_type });
      imageId = image.id;
    });
    // Rotation: only the newest `rotation` backups of this type of this server are kept.
    const s = this.server(ctx, req.path.id);
    const backups = this.cloud.image.visibleImages(s.project_id, false).filter((i) => {
      const p = i.properties ?? {};
      return p.image_type === 'backup' && p.backup_type === b.backup_type && p.instance_uuid === s.id;
    });
    for (const old of backups.slice(0, Math.max(0, backups.length - Math.max(rotation, 1)))) {
      try {
        await this.cloud.image.api('deleteImage', ctx, { path: { image_id: old.id } });
      } catch (err) {
        // A backup a server was booted from stays (Glance's 409); the new backup is made all the same.
        if (!isFault(err) || err.status !== 409) throw err;
      }
    }
    if (atLeast(ctx.microversion, '2.45')) return out({ image_id: imageId });
    return out(new Reply(undefined, 202, { Location: `${ctx.endpoint.replace(/\/compute$/, '/image')}/v2/images/${imageId}` }));
  }

  async getConsoleOutputServer(req: ComputeRequest<'getConsoleOutputServer'>): Promise<ComputeResponse<'getConsoleOutputServer'>> {
    const ctx = req.context;
    const s = this.server(ctx, req.path.id);
    if (s.vm_state === 'building') throw Fault.conflict(`Instance ${s.id} is not ready`);
    const raw = (req.body as unknown as { 'os-getConsoleOutput': { length?: number | string | null } })['os-getConsoleOutput'].length;
    let lines = s.console;
    if (raw !== undefined && raw !== null) {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < -1) throw Fault.badRequest(`Invalid input for field/attribute length. Value: ${String(raw)}.`);
      if (n >= 0) lines = lines.slice(Math.max(0, lines.length - n));
    }
    return out({ output: lines.join('\n') });
  }

  async addSecurityGroupServer(req: ComputeRequest<'addSecurityGroupServer'>): Promise<ComputeResponse<'addSecurityGroupServer'>> {
    const name = (req.body as unknown as { addSecurityGroup: { name: string } }).addSecurityGroup.name;
    this.securityGroupChange(req.context, req.path.id, name, true);
  }

  async removeSecurityGroupServer(req: ComputeRequest<'removeSecurityGroupServer'>): Promise<ComputeResponse<'removeSecurityGroupServer'>> {
    const name = (req.body as unknown as { removeSecurityGroup: { name: string } }).removeSecurityGroup.name;
    this.securityGroupChange(req.context, req.path.id, name, false);
  }

  private securityGroupChange(ctx: Ctx, id: string, name: string, add: boolean): void {
    this.store.tx(() => {
      const s = this.server(ctx, id);
      if (!s.networked) throw Fault.badRequest(`Server ${s.id} has no network interfaces to change security groups of.`);
      const g = this.cloud.network.securityGroup(s.project_id, name);
      const has = s.security_groups.includes(g.name);
      if (add && has) throw Fault.badRequest(`Security group ${g.name} is already associated with the instance ${s.id}`);
      if (!add && !has) throw Fault.badRequest(`Security group ${g.name} not associated with the instance ${s.id}`);
      this.cloud.network.setServerSecurityGroup(s.id, g.id, add);
      s.security_groups = add ? [...s.security_groups, g.name] : s.security_groups.filter((x) => x !== g.name);
      this.store.put('server', s);
    });
  }

  async listServerSecurityGroups(req: ComputeRequest<'listServerSecurityGroups'>): Promise<ComputeResponse<'listServerSecurityGroups'>> {
    const s = this.server(req.context, req.path.server_id);
    return out(await this.proxy.serverSecurityGroups(req.context, s.id));
  }

  /** os-resetState (admin): straight to active or error, task state cleared. */
  async resetStateServer(req: ComputeRequest<'resetStateServer'>): Promise<ComputeResponse<'resetStateServer'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-admin-actions:reset_state');
    const state = (req.body as unknown as { 'os-resetState': { state: string } })['os-resetState'].state;
    if (state !== 'active' && state !== 'error') throw Fault.badRequest(`Invalid input for field/attribute state. Value: ${state}.`);
    this.act(ctx, req.path.id, 'resetState', null, (s) => {
      s.vm_state = state;
      s.task_state = null;
      if (state === 'active' && s.power_state === 0) s.power_state = 1;
      if (s.build_until > Date.now()) s.build_until = Date.now();
    }, { lockOk: true });
  }

  async changePasswordServer(req: ComputeRequest<'changePasswordServer'>): Promise<ComputeResponse<'changePasswordServer'>> {
    const pass = (req.body as unknown as { changePassword: { adminPass: string } }).changePassword.adminPass;
    this.act(req.context, req.path.id, 'changePassword', ['active'], (s) => { s.admin_pass = pass; });
  }

  async triggerCrashDumpServer(req: ComputeRequest<'triggerCrashDumpServer'>): Promise<ComputeResponse<'triggerCrashDumpServer'>> {
    this.act(req.context, req.path.id, 'trigger_crash_dump', ['active', 'paused', 'suspended', 'error'], (s) => {
      s.console.push('[  123.456789] sysrq: Trigger a crash', '[  123.456790] Kernel panic - not syncing: sysrq triggered crash');
    });
  }

  // ---- instance actions ----------------------------------------------------------

  /** The server whose actions are asked for; from 2.21 a deleted one too. */
  private actionsServer(ctx: Ctx, id: string): { id: string; project_id: string } {
    if (atLeast(ctx.microversion, '2.21')) {
      const t = this.store.get<Resource & { project_id: string }>('server_deleted', id);
      if (t && (auth(ctx).isAdmin || t.project_id === this.cloud.project(ctx))) return t;
    }
    return this.server(ctx, id);
  }

  async listServerInstanceActions(req: ComputeRequest<'listServerInstanceActions'>): Promise<ComputeResponse<'listServerInstanceActions'>> {
    const ctx = req.context;
    const s = this.actionsServer(ctx, req.path.server_id);
    const query = req.query as Record<string, unknown>;
    let actions = this.store.list<InstanceActionRecord>('instance_action', { projectId: s.project_id, where: (x) => x.server_id === s.id }).reverse();
    const body: Record<string, unknown> = {};
    if (atLeast(ctx.microversion, '2.58')) {
      const since = query['changes-since'] === undefined ? undefined : Date.parse(String(query['changes-since']));
      if (since !== undefined) actions = actions.filter((x) => Date.parse(x.updated_at) >= since);
      const before = query['changes-before'] === undefined ? undefined : Date.parse(String(query['changes-before']));
      if (before !== undefined && atLeast(ctx.microversion, '2.66')) actions = actions.filter((x) => Date.parse(x.updated_at) <= before);
      const page = paginate(actions, query, (x) => x.request_id);
      actions = page.items;
      if (page.more) body.links = [nextLink(ctx.url, query, actions[actions.length - 1]!.request_id)];
    }
    return out({ instanceActions: actions.map((x) => instanceActionView(ctx, x, false, auth(ctx).isAdmin)), ...body });
  }

  async showServerInstanceAction(req: ComputeRequest<'showServerInstanceAction'>): Promise<ComputeResponse<'showServerInstanceAction'>> {
    const ctx = req.context;
    const s = this.actionsServer(ctx, req.path.server_id);
    const a = this.store.list<InstanceActionRecord>('instance_action', { projectId: s.project_id, where: (x) => x.server_id === s.id && x.request_id === req.path.id })[0];
    if (!a) throw Fault.notFound(`Action ${req.path.id} not found`);
    return out({ instanceAction: instanceActionView(ctx, a, true, auth(ctx).isAdmin) });
  }

  // ---- metadata ------------------------------------------------------------------

  private metaChange(ctx: Ctx, id: string, fn: (m: Record<string, string>) => Record<string, string>): Record<string, string> {
    return this.store.tx(() => {
      const s = this.server(ctx, id);
      if (s.locked && !auth(ctx).isAdmin) throw Fault.conflict(`Instance ${s.id} is locked`);
      const next = fn({ ...s.metadata });
      const limit = quotaLimits(this.store, s.project_id).metadata_items!;
      if (limit >= 0 && Object.keys(next).length > limit) throw Fault.forbidden(`Quota exceeded for metadata_items: Requested ${Object.keys(next).length}, but already used 0 of ${limit} metadata_items`);
      for (const [k, v] of Object.entries(next)) {
        if (!k || k.length > 255 || String(v).length > 255) throw Fault.badRequest('Invalid metadata size: key and value must be 1 to 255 characters.');
      }
      s.metadata = next;
      this.store.put('server', s);
      return next;
    });
  }

  async listServerMetadata(req: ComputeRequest<'listServerMetadata'>): Promise<ComputeResponse<'listServerMetadata'>> {
    return out({ metadata: { ...this.server(req.context, req.path.server_id).metadata } });
  }

  async createServerMetadata(req: ComputeRequest<'createServerMetadata'>): Promise<ComputeResponse<'createServerMetadata'>> {
    const add = (req.body as unknown as { metadata: Record<string, string> }).metadata;
    return out({ metadata: this.metaChange(req.context, req.path.server_id, (m) => ({ ...m, ...add })) });
  }

  async replaceServerMetadata(req: ComputeRequest<'replaceServerMetadata'>): Promise<ComputeResponse<'replaceServerMetadata'>> {
    const all = (req.body as unknown as { metadata: Record<string, string> }).metadata;
    return out({ metadata: this.metaChange(req.context, req.path.server_id, () => ({ ...all })) });
  }

  async showServerMetadata(req: ComputeRequest<'showServerMetadata'>): Promise<ComputeResponse<'showServerMetadata'>> {
    const m = this.server(req.context, req.path.server_id).metadata;
    if (m[req.path.id] === undefined) throw Fault.notFound('Metadata item was not found');
    return out({ meta: { [req.path.id]: m[req.path.id] } });
  }

  async updateServerMetadata(req: ComputeRequest<'updateServerMetadata'>): Promise<ComputeResponse<'updateServerMetadata'>> {
    const meta = (req.body as unknown as { meta: Record<string, string> }).meta;
    if (!(req.path.id in meta)) throw Fault.badRequest('Request body and URI mismatch');
    if (Object.keys(meta).length > 1) throw Fault.badRequest('Request body contains too many items');
    this.metaChange(req.context, req.path.server_id, (m) => ({ ...m, ...meta }));
    return out({ meta });
  }

  async deleteServerMetadata(req: ComputeRequest<'deleteServerMetadata'>): Promise<ComputeResponse<'deleteServerMetadata'>> {
    this.metaChange(req.context, req.path.server_id, (m) => {
      if (m[req.path.id] === undefined) throw Fault.notFound('Metadata item was not found');
      delete m[req.path.id];
      return m;
    });
  }

  // ---- tags (2.26+) ----------------------------------------------------------------

  private tagChange(ctx: Ctx, id: string, fn: (tags: string[]) => string[]): string[] {
    return this.store.tx(() => {
      const s = this.server(ctx, id);
      if (s.vm_state === 'building') throw Fault.conflict(`Cannot 'update tags' instance ${s.id} while it is in vm_state building`);
      const next = fn([...s.tags]);
      for (const t of next) if (!t || t.length > 60 || /[,/]/.test(t)) throw Fault.badRequest(`Invalid tag: '${t}'`);
      if (next.length > 50) throw Fault.badRequest('The number of tags exceeded the per-server limit 50');
      s.tags = [...new Set(next)];
      this.store.put('server', s);
      return s.tags;
    });
  }

  async listServerTags(req: ComputeRequest<'listServerTags'>): Promise<ComputeResponse<'listServerTags'>> {
    return out({ tags: [...this.server(req.context, req.path.server_id).tags] });
  }

  async replaceServerTags(req: ComputeRequest<'replaceServerTags'>): Promise<ComputeResponse<'replaceServerTags'>> {
    const tags = (req.body as unknown as { tags: string[] }).tags;
    return out({ tags: this.tagChange(req.context, req.path.server_id, () => tags) });
  }

  async deleteAllServerTags(req: ComputeRequest<'deleteAllServerTags'>): Promise<ComputeResponse<'deleteAllServerTags'>> {
    this.tagChange(req.context, req.path.server_id, () => []);
  }

  async showServerTag(req: ComputeRequest<'showServerTag'>): Promise<ComputeResponse<'showServerTag'>> {
    if (!this.server(req.context, req.path.server_id).tags.includes(req.path.id)) throw Fault.notFound(`Tag ${req.path.id} could not be found.`);
  }

  async updateServerTag(req: ComputeRequest<'updateServerTag'>): Promise<ComputeResponse<'updateServerTag'> | Reply<ComputeResponse<'updateServerTag'>>> {
    const ctx = req.context;
    let existed = false;
    this.tagChange(ctx, req.path.server_id, (t) => {
      existed = t.includes(req.path.id);
      return existed ? t : [...t, req.path.id];
    });
    const location = `${ctx.endpoint}/v2.1/servers/${req.path.server_id}/tags/${encodeURIComponent(req.path.id)}`;
    return out(new Reply(undefined, existed ? 204 : 201, { Location: location }));
  }

  async deleteServerTag(req: ComputeRequest<'deleteServerTag'>): Promise<ComputeResponse<'deleteServerTag'>> {
    this.tagChange(req.context, req.path.server_id, (t) => {
      if (!t.includes(req.path.id)) throw Fault.notFound(`Tag ${req.path.id} could not be found.`);
      return t.filter((x) => x !== req.path.id);
    });
  }

  // ---- ips -------------------------------------------------------------------------

  async listServerIps(req: ComputeRequest<'listServerIps'>): Promise<ComputeResponse<'listServerIps'>> {
    const s = this.server(req.context, req.path.server_id);
    const addrs = this.addresses(s);
    return out({ addresses: Object.fromEntries(Object.entries(addrs).map(([n, l]) => [n, l.map((x) => ({ version: x.version, addr: x.addr }))])) });
  }

  async showServerIp(req: ComputeRequest<'showServerIp'>): Promise<ComputeResponse<'showServerIp'>> {
    const s = this.server(req.context, req.path.server_id);
    const list = this.addresses(s)[req.path.id];
    if (!list) throw Fault.notFound('Instance is not a member of specified network');
    return out({ [req.path.id]: list.map((x) => ({ version: x.version, addr: x.addr })) });
  }

  // ---- volume attachments ------------------------------------------------------------

  /**
   * One volume attachment. From 2.89 the list and show drop `id` for
   * `attachment_id` and `bdm_uuid`; the POST answer keeps `id` (Nova's
   * volume_attachments view builder).
   */
  private attachmentView(ctx: Ctx, s: ServerRecord, v: ServerRecord['volumes'][number], created = false): Record<string, unknown> {
    const mv = ctx.microversion;
    const out1: Record<string, unknown> = { device: v.device, serverId: s.id, volumeId: v.id };
    const newShape = atLeast(mv, '2.89') && !created;
    if (!newShape) out1.id = v.id;
    if (atLeast(mv, '2.70')) out1.tag = v.tag;
    if (atLeast(mv, '2.79')) out1.delete_on_termination = v.delete_on_termination;
    if (newShape) Object.assign(out1, { attachment_id: v.attachment_id, bdm_uuid: v.attachment_id });
    return out1;
  }

  async listServerVolumeAttachments(req: ComputeRequest<'listServerVolumeAttachments'>): Promise<ComputeResponse<'listServerVolumeAttachments'>> {
    const ctx = req.context;
    const s = this.server(ctx, req.path.server_id);
    const { items } = paginate(s.volumes, req.query as Record<string, unknown>, (v) => v.id);
    return out({ volumeAttachments: items.map((v) => this.attachmentView(ctx, s, v)) });
  }

  async showServerVolumeAttachment(req: ComputeRequest<'showServerVolumeAttachment'>): Promise<ComputeResponse<'showServerVolumeAttachment'>> {
    const ctx = req.context;
    const s = this.server(ctx, req.path.server_id);
    const v = s.volumes.find((x) => x.id === req.path.id);
    if (!v) throw Fault.notFound(`Instance ${s.id} is not attached.`);
    return out({ volumeAttachment: this.attachmentView(ctx, s, v) });
  }

  async createServerVolumeAttachment(req: ComputeRequest<'createServerVolumeAttachment'>): Promise<ComputeResponse<'createServerVolumeAttachment'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { volumeAttachment: { volumeId: string; device?: string | null; tag?: string; delete_on_termination?: boolean } }).volumeAttachment;
    let view: Record<string, unknown> = {};
    this.act(ctx, req.path.server_id, 'attach_volume', ['active', 'stopped', 'paused', 'suspended', 'resized'], (s) => {
      if (s.volumes.some((v) => v.id === b.volumeId)) throw Fault.badRequest(`Invalid volume: volume ${b.volumeId} already attached`);
      const used = new Set(s.volumes.map((v) => v.device));
      if (s.image_id) used.add('/dev/vda');
      let device = b.device ?? '';
      if (!device) {
        for (let i = 0; i < 26 && !device; i++) { const d = `/dev/vd${String.fromCharCode(97 + i)}`; if (!used.has(d)) device = d; }
      }
      try {
        this.cloud.volume.attach(s.project_id, b.volumeId, s.id, device);
      } catch (err) {
        // Nova: an in-use or missing volume is a 400 (InvalidVolume) / 404.
        if (isFault(err) && err.status === 409) throw Fault.badRequest(`Invalid volume: ${err.message}`);
        throw err;
      }
      const att = { id: b.volumeId, device, delete_on_termination: atLeast(ctx.microversion, '2.79') ? b.delete_on_termination ?? false : false, tag: atLeast(ctx.microversion, '2.49') ? b.tag ?? null : null, attachment_id: this.store.newId() };
      s.volumes.push(att);
      view = this.attachmentView(ctx, s, att, true);
    });
    return out({ volumeAttachment: view });
  }

  async deleteServerVolumeAttachment(req: ComputeRequest<'deleteServerVolumeAttachment'>): Promise<ComputeResponse<'deleteServerVolumeAttachment'>> {
    this.act(req.context, req.path.server_id, 'detach_volume', ['active', 'stopped', 'paused', 'suspended', 'resized'], (s) => {
      const v = s.volumes.find((x) => x.id === req.path.id);
      if (!v) throw Fault.notFound(`Volume ${req.path.id} is not attached to server ${s.id}`);
      if (v.device === '/dev/vda' && !s.image_id) throw Fault.badRequest(`Cannot detach a root device volume`);
      this.cloud.volume.detach(s.project_id, v.id, s.id);
      s.volumes = s.volumes.filter((x) => x !== v);
    });
  }

  /**
   * PUT os-volume_attachments/{volume}: swaps the attached volume for another
   * (an admin's call), or from 2.85 changes the attachment's
   * delete_on_termination when the volume is the same.
   */
  async updateServerVolumeAttachment(req: ComputeRequest<'updateServerVolumeAttachment'>): Promise<ComputeResponse<'updateServerVolumeAttachment'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { volumeAttachment: { volumeId: string; delete_on_termination?: boolean } }).volumeAttachment;
    const oldId = req.path.id;
    const s0 = this.server(ctx, req.path.server_id);
    if (!this.cloud.volume.volume(s0.project_id, oldId)) throw Fault.notFound(`Volume ${oldId} could not be found.`);
    const swap = b.volumeId !== oldId;
    if (swap) {
      requireAdmin(ctx, 'os_compute_api:os-volumes-attachments:swap');
      if (!this.cloud.volume.volume(s0.project_id, b.volumeId)) throw Fault.badRequest(`Volume ${b.volumeId} could not be found.`);
    } else if (!atLeast(ctx.microversion, '2.85')) {
      throw Fault.badRequest(`Invalid volume: the volume ${oldId} is already attached; swapping it for itself is not a change.`);
    }
    this.act(ctx, s0.id, swap ? 'swap_volume' : 'update_volume', ['active', 'paused', 'resized'], (s) => {
      const att = s.volumes.find((x) => x.id === oldId);
      if (!att) throw Fault.notFound('The volume was either invalid or not attached to the instance.');
      if (swap) {
        try {
          this.cloud.volume.attach(s.project_id, b.volumeId, s.id, att.device);
        } catch (err) {
          if (isFault(err) && err.status === 409) throw Fault.badRequest(`Invalid volume: ${err.message}`);
          throw err;
        }
        this.cloud.volume.detach(s.project_id, oldId, s.id);
        att.id = b.volumeId;
      }
      if (b.delete_on_termination !== undefined && atLeast(ctx.microversion, '2.85')) att.delete_on_termination = b.delete_on_termination;
    });
    // Nova answers 202 with no body (the spec lists one).
    return out(undefined);
  }

  // ---- interface attachments -----------------------------------------------------------

  private interfaces(s: ServerRecord, ctx: Ctx): Record<string, unknown>[] {
    if (!s.networked) return [];
    const ports = this.store.list<Resource & { network_id: string; mac_address: string; fixed_ips: { subnet_id: string; ip_address: string }[]; device_id: string; status: string }>('port', { where: (p) => p.device_id === s.id });
    return ports.map((p) => {
      const v: Record<string, unknown> = { port_state: p.status, fixed_ips: p.fixed_ips, port_id: p.id, net_id: p.network_id, mac_addr: p.mac_address };
      if (atLeast(ctx.microversion, '2.70')) v.tag = null;
      return v;
    });
  }

  async listServerInterface(req: ComputeRequest<'listServerInterface'>): Promise<ComputeResponse<'listServerInterface'>> {
    const s = this.server(req.context, req.path.server_id);
    return out({ interfaceAttachments: this.interfaces(s, req.context) });
  }

  async showServerInterface(req: ComputeRequest<'showServerInterface'>): Promise<ComputeResponse<'showServerInterface'>> {
    const s = this.server(req.context, req.path.server_id);
    const i = this.interfaces(s, req.context).find((x) => x.port_id === req.path.id);
    if (!i) throw Fault.notFound(`Port ${req.path.id} could not be found.`);
    return out({ interfaceAttachment: i });
  }

  async createServerInterface(req: ComputeRequest<'createServerInterface'>): Promise<ComputeResponse<'createServerInterface'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { interfaceAttachment?: { net_id?: string; port_id?: string; fixed_ips?: { ip_address: string }[] } }).interfaceAttachment ?? {};
    let portId = '';
    const s = this.act(ctx, req.path.server_id, 'attach_interface', ['active', 'stopped', 'paused', 'suspended'], (s) => {
      const networkId = b.net_id ?? (b.port_id ? undefined : this.cloud.network.autoNetwork(s.project_id));
      const sgs = s.security_groups.map((g) => this.cloud.network.securityGroup(s.project_id, g).id);
      const port = this.cloud.network.allocateServerPort(s.project_id, { networkId, portId: b.port_id, fixedIp: b.fixed_ips?.[0]?.ip_address, securityGroups: b.port_id ? [] : sgs, serverId: s.id });
      portId = port.id;
      s.networked = true;
    });
    const i = this.interfaces(s, ctx).find((x) => x.port_id === portId);
    return out({ interfaceAttachment: i });
  }

  async deleteServerInterface(req: ComputeRequest<'deleteServerInterface'>): Promise<ComputeResponse<'deleteServerInterface'>> {
    const ctx = req.context;
    this.act(ctx, req.path.server_id, 'detach_interface', ['active', 'stopped', 'paused', 'suspended'], (s) => {
      const ports = this.interfaces(s, ctx);
      if (!ports.some((p) => p.port_id === req.path.id)) throw Fault.notFound(`Port ${req.path.id} is not attached`);
      // The Neutron side frees all of a server's ports at once; keep the others by re-allocating them is not
      // possible, so only a server's last interface may be detached this way.
      if (ports.length > 1) throw Fault.conflict('The sandbox detaches only the last interface of a server.');
      this.cloud.network.releaseServerPorts(s.id);
      s.networked = false;
    });
  }

  // ---- server groups -----------------------------------------------------------------

  private group(ctx: Ctx, id: string): ServerGroupRecord {
    const g = this.store.get<ServerGroupRecord>('server_group', id);
    if (!g || (!auth(ctx).isAdmin && g.project_id !== this.cloud.project(ctx))) throw Fault.notFound(`Server group ${id} could not be found.`);
    return g;
  }

  async createServerGroup(req: ComputeRequest<'createServerGroup'>): Promise<ComputeResponse<'createServerGroup'>> {
    const ctx = req.context;
    const projectId = this.cloud.project(ctx);
    const b = (req.body as unknown as { server_group: { name: string; policies?: string[]; policy?: string; rules?: Record<string, unknown> } }).server_group;
    const policy = atLeast(ctx.microversion, '2.64') ? b.policy : b.policies?.[0];
    const allowed = ['affinity', 'anti-affinity', ...(atLeast(ctx.microversion, '2.15') ? ['soft-affinity', 'soft-anti-affinity'] : [])];
    if (!policy || !allowed.includes(policy)) throw Fault.badRequest(`Invalid input for field/attribute policy. Value: ${String(policy)}.`);
    if ((b.policies?.length ?? 1) > 1) throw Fault.badRequest('Invalid input for field/attribute policies: only one policy is allowed.');
    const rules = b.rules ?? {};
    if (Object.keys(rules).length && policy !== 'anti-affinity') throw Fault.badRequest(`Only anti-affinity policy supports rules.`);
    const now = isoZ();
    const g: ServerGroupRecord = { id: this.store.newId(), project_id: projectId, user_id: auth(ctx).userId, name: b.name, policy, rules, members: [], metadata: {}, created_at: now, updated_at: now };
    this.store.tx(() => {
      const limit = quotaLimits(this.store, projectId).server_groups!;
      if (limit >= 0 && this.store.count('server_group', projectId) >= limit) throw Fault.forbidden('Quota exceeded, too many server groups.');
      this.store.insert('server_group', g);
    });
    return out({ server_group: serverGroupView(ctx, g) });
  }

  async listServerGroups(req: ComputeRequest<'listServerGroups'>): Promise<ComputeResponse<'listServerGroups'>> {
    const ctx = req.context;
    const query = req.query as Record<string, unknown>;
    const scope = auth(ctx).isAdmin && truthy(query.all_projects ?? 'false') ? null : this.cloud.project(ctx);
    const { items } = paginate(this.store.list<ServerGroupRecord>('server_group', { projectId: scope }), { limit: query.limit as string | undefined, marker: undefined }, (g) => g.id);
    const offset = Number(query.offset ?? 0);
    return out({ server_groups: items.slice(offset).map((g) => serverGroupView(ctx, g)) });
  }

  async showServerGroup(req: ComputeRequest<'showServerGroup'>): Promise<ComputeResponse<'showServerGroup'>> {
    return out({ server_group: serverGroupView(req.context, this.group(req.context, req.path.id)) });
  }

  async deleteServerGroup(req: ComputeRequest<'deleteServerGroup'>): Promise<ComputeResponse<'deleteServerGroup'>> {
    const g = this.group(req.context, req.path.id);
    this.store.delete('server_group', g.id);
  }

  // ---- availability zones, limits, quotas ------------------------------------------------

  /** Zones servers can use: the default `nova` and those of aggregates holding the compute host. */
  private zones(): string[] {
    const named = this.store.list<AggregateRecord>('aggregate', { where: (a) => a.availability_zone !== null && a.hosts.includes(HOST) }).map((a) => a.availability_zone!);
    return [...new Set(['nova', ...named])];
  }

  async listAvailabilityZone(_req: ComputeRequest<'listAvailabilityZone'>): Promise<ComputeResponse<'listAvailabilityZone'>> {
    return out({ availabilityZoneInfo: this.zones().map((zoneName) => ({ zoneName, zoneState: { available: true }, hosts: null })) });
  }

  async listAvailabilityZoneDetail(req: ComputeRequest<'listAvailabilityZoneDetail'>): Promise<ComputeResponse<'listAvailabilityZoneDetail'>> {
    requireAdmin(req.context, 'os_compute_api:os-availability-zone:detail');
    const svc = (name: string) => ({ [name]: { available: true, active: true, updated_at: isoNoZone() } });
    return out({
      availabilityZoneInfo: [
        { zoneName: 'internal', zoneState: { available: true }, hosts: { 'sandbox-controller': { ...svc('nova-conductor'), ...svc('nova-scheduler') } } },
        ...this.zones().map((zoneName) => ({ zoneName, zoneState: { available: true }, hosts: { [HOST]: svc('nova-compute') } })),
      ],
    });
  }

  /** The sandbox's Nova services: a conductor and a scheduler on the controller, nova-compute on the one hypervisor. */
  private services(): ServiceRecord[] {
    const now = new Date(0).toISOString();
    return NOVA_SERVICES.map((x) => this.store.get<ServiceRecord>('nova_service', x.uuid)
      ?? { ...x, id: x.uuid, project_id: null, disabled: false, disabled_reason: null, forced_down: false, created_at: now, updated_at: now });
  }

  private serviceView(ctx: Ctx, x: ServiceRecord): Record<string, unknown> {
    return {
      id: atLeast(ctx.microversion, '2.53') ? x.uuid : x.n, binary: x.binary, host: x.host, zone: x.zone,
      status: x.disabled ? 'disabled' : 'enabled', state: x.forced_down ? 'down' : 'up', updated_at: isoNoZone(), disabled_reason: x.disabled_reason,
      ...(atLeast(ctx.microversion, '2.11') ? { forced_down: x.forced_down } : {}),
    };
  }

  async listServices(req: ComputeRequest<'listServices'>): Promise<ComputeResponse<'listServices'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-services:list');
    const query = req.query as Record<string, unknown>;
    const services = this.services().filter((x) => (query.host === undefined || x.host === query.host) && (query.binary === undefined || x.binary === query.binary));
    return out({ services: services.map((x) => this.serviceView(ctx, x)) });
  }

  /** Enable, disable (with a reason) or force down a service: by action name before 2.53, by id after. */
  async updateService(req: ComputeRequest<'updateService'>): Promise<ComputeResponse<'updateService'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-services:update');
    const b = req.body as unknown as { host?: string; binary?: string; status?: string; disabled_reason?: string; forced_down?: boolean };
    const save = (x: ServiceRecord) => {
      const now = isoZ();
      if (this.store.get('nova_service', x.id)) this.store.put('nova_service', x);
      else this.store.insert('nova_service', { ...x, created_at: now, updated_at: now });
    };
    if (!atLeast(ctx.microversion, '2.53')) {
      const action = req.path.id;
      if (!['enable', 'disable', 'disable-log-reason', 'force-down'].includes(action)) throw Fault.notFound('Unknown action');
      const x = this.services().find((y) => y.host === b.host && y.binary === b.binary);
      if (!x) throw Fault.notFound(`Service ${String(b.binary)} on host ${String(b.host)} could not be found.`);
      if (action === 'force-down') {
        if (!atLeast(ctx.microversion, '2.11')) throw Fault.notFound('Unknown action');
        x.forced_down = Boolean(b.forced_down);
        save(x);
        return out({ service: { host: x.host, binary: x.binary, forced_down: x.forced_down } });
      }
      x.disabled = action !== 'enable';
      x.disabled_reason = action === 'disable-log-reason' ? b.disabled_reason ?? null : action === 'enable' ? null : x.disabled_reason;
      if (action === 'disable-log-reason' && !b.disabled_reason) throw Fault.badRequest('Missing disabled reason field');
      save(x);
      return out({ service: { host: x.host, binary: x.binary, status: x.disabled ? 'disabled' : 'enabled', ...(action === 'disable-log-reason' ? { disabled_reason: x.disabled_reason } : {}) } });
    }
    const x = this.services().find((y) => y.uuid === req.path.id);
    if (!x) throw Fault.notFound(`Service ${req.path.id} not found.`);
    if (b.status === undefined && b.forced_down === undefined) throw Fault.badRequest('At least one of status or forced_down must be specified.');
    if (b.disabled_reason !== undefined && b.status !== 'disabled') throw Fault.badRequest('Specifying a disabled_reason is only supported when the status is disabled.');
    if (b.status !== undefined) {
      x.disabled = b.status === 'disabled';
      x.disabled_reason = x.disabled ? b.disabled_reason ?? null : null;
    }
    if (b.forced_down !== undefined) x.forced_down = b.forced_down;
    save(x);
    return out({ service: this.serviceView(ctx, x) });
  }

  // ---- the one hypervisor, hosts, migrations, diagnostics ---------------------------

  private hypervisorId(ctx: Ctx): number | string {
    return atLeast(ctx.microversion, '2.53') ? HYPERVISOR_UUID : 1;
  }

  private checkHypervisor(ctx: Ctx, id: string): void {
    if (id !== String(this.hypervisorId(ctx)) && id !== HOST) throw Fault.notFound(`Hypervisor with ID '${id}' could not be found.`);
  }

  private hypervisorServers() {
    return this.store.list<ServerRecord>('server').map((s) => settle(this.store, s));
  }

  private hypervisorView(ctx: Ctx, detail: boolean, withServers: boolean): Record<string, unknown> {
    const mv = ctx.microversion;
    const servers = this.hypervisorServers();
    const v: Record<string, unknown> = { id: this.hypervisorId(ctx), hypervisor_hostname: HOST, state: 'up', status: 'enabled' };
    if (detail) {
      const service = { host: HOST, id: atLeast(mv, '2.53') ? COMPUTE_SERVICE_UUID : 3, disabled_reason: null };
      Object.assign(v, { hypervisor_type: 'QEMU', hypervisor_version: 8002000, host_ip: '192.0.2.10', service });
      if (atLeast(mv, '2.88')) {
        // 2.88 folds the uptime call into show and detail.
        v.uptime = hypervisorUptime();
      } else {
        const used = { vcpus: servers.reduce((n, s) => n + s.flavor.vcpus, 0), ram: servers.reduce((n, s) => n + s.flavor.ram, 0) + 512, disk: servers.reduce((n, s) => n + s.flavor.disk, 0) };
        const cpu = { arch: 'x86_64', model: 'sandbox', vendor: 'stackgate', topology: { cells: 1, sockets: 1, cores: 16, threads: 2 }, features: [] as string[] };
        Object.assign(v, {
          cpu_info: atLeast(mv, '2.28') ? cpu : JSON.stringify(cpu), vcpus: HYPERVISOR.vcpus, vcpus_used: used.vcpus,
          memory_mb: HYPERVISOR.ram, memory_mb_used: used.ram, free_ram_mb: HYPERVISOR.ram - used.ram,
          local_gb: HYPERVISOR.disk, local_gb_used: used.disk, free_disk_gb: HYPERVISOR.disk - used.disk,
          disk_available_least: HYPERVISOR.disk - used.disk, current_workload: 0, running_vms: servers.length,
        });
      }
    }
    if (withServers) v.servers = servers.map((s) => ({ uuid: s.id, name: s.instance_name }));
    return v;
  }

  private withServers(ctx: Ctx, query: Record<string, unknown>): boolean {
    return atLeast(ctx.microversion, '2.53') && truthy(query.with_servers ?? 'false');
  }

  private hypervisorFilter(ctx: Ctx, query: Record<string, unknown>): boolean {
    const pattern = query.hypervisor_hostname_pattern;
    return pattern === undefined || !atLeast(ctx.microversion, '2.53') || HOST.includes(String(pattern));
  }

  async listHypervisors(req: ComputeRequest<'listHypervisors'>): Promise<ComputeResponse<'listHypervisors'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-hypervisors:list');
    const query = req.query as Record<string, unknown>;
    if (!this.hypervisorFilter(ctx, query)) throw Fault.notFound(`Hypervisor with ID '${String(query.hypervisor_hostname_pattern)}' could not be found.`);
    const all = [this.hypervisorView(ctx, false, this.withServers(ctx, query))];
    return out({ hypervisors: atLeast(ctx.microversion, '2.33') ? paginate(all, query, (h) => String(h.id)).items : all });
  }

  async listHypervisorsDetail(req: ComputeRequest<'listHypervisorsDetail'>): Promise<ComputeResponse<'listHypervisorsDetail'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-hypervisors:list-detail');
    const query = req.query as Record<string, unknown>;
    if (!this.hypervisorFilter(ctx, query)) throw Fault.notFound(`Hypervisor with ID '${String(query.hypervisor_hostname_pattern)}' could not be found.`);
    const all = [this.hypervisorView(ctx, true, this.withServers(ctx, query))];
    return out({ hypervisors: atLeast(ctx.microversion, '2.33') ? paginate(all, query, (h) => String(h.id)).items : all });
  }

  async showHypervisor(req: ComputeRequest<'showHypervisor'>): Promise<ComputeResponse<'showHypervisor'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-hypervisors:show');
    this.checkHypervisor(ctx, req.path.id);
    return out({ hypervisor: this.hypervisorView(ctx, true, this.withServers(ctx, req.query as Record<string, unknown>)) });
  }

  async listHypervisorStatistics(req: ComputeRequest<'listHypervisorStatistics'>): Promise<ComputeResponse<'listHypervisorStatistics'>> {
    requireAdmin(req.context, 'os_compute_api:os-hypervisors:statistics');
    const v = this.hypervisorView(req.context, true, false);
    const keys = ['vcpus', 'vcpus_used', 'memory_mb', 'memory_mb_used', 'free_ram_mb', 'local_gb', 'local_gb_used', 'free_disk_gb', 'disk_available_least', 'current_workload', 'running_vms'];
    return out({ hypervisor_statistics: { count: 1, ...Object.fromEntries(keys.map((k) => [k, v[k]])) } });
  }

  async listHypervisorUptime(req: ComputeRequest<'listHypervisorUptime'>): Promise<ComputeResponse<'listHypervisorUptime'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-hypervisors:uptime');
    this.checkHypervisor(ctx, req.path.id);
    return out({ hypervisor: { ...this.hypervisorView(ctx, false, false), uptime: hypervisorUptime() } });
  }

  async listHypervisorSearch(req: ComputeRequest<'listHypervisorSearch'>): Promise<ComputeResponse<'listHypervisorSearch'>> {
    requireAdmin(req.context, 'os_compute_api:os-hypervisors:search');
    if (!HOST.includes(req.path.id)) throw Fault.notFound(`No hypervisor matching '${req.path.id}' could be found.`);
    return out({ hypervisors: [this.hypervisorView(req.context, false, false)] });
  }

  async listHypervisorServers(req: ComputeRequest<'listHypervisorServers'>): Promise<ComputeResponse<'listHypervisorServers'>> {
    requireAdmin(req.context, 'os_compute_api:os-hypervisors:servers');
    if (!HOST.includes(req.path.id)) throw Fault.notFound(`No hypervisor matching '${req.path.id}' could be found.`);
    return out({ hypervisors: [this.hypervisorView(req.context, false, true)] });
  }

  async listHosts(req: ComputeRequest<'listHosts'>): Promise<ComputeResponse<'listHosts'>> {
    requireAdmin(req.context, 'os_compute_api:os-hosts:list');
    const zone = (req.query as Record<string, unknown>).zone;
    const hosts = [
      { host_name: 'sandbox-controller', service: 'conductor', zone: 'internal' },
      { host_name: 'sandbox-controller', service: 'scheduler', zone: 'internal' },
      { host_name: HOST, service: 'compute', zone: 'nova' },
    ];
    return out({ hosts: zone === undefined || zone === '' ? hosts : hosts.filter((x) => x.zone === zone) });
  }

  async showHost(req: ComputeRequest<'showHost'>): Promise<ComputeResponse<'showHost'>> {
    requireAdmin(req.context, 'os_compute_api:os-hosts:show');
    if (req.path.id !== HOST) throw Fault.notFound(`Compute host ${req.path.id} could not be found.`);
    const servers = this.hypervisorServers();
    const row = (project: string, cpu: number, memory_mb: number, disk_gb: number) => ({ resource: { host: HOST, project, cpu, memory_mb, disk_gb } });
    const used = [servers.reduce((n, s) => n + s.flavor.vcpus, 0), servers.reduce((n, s) => n + s.flavor.ram, 0), servers.reduce((n, s) => n + s.flavor.disk, 0)] as const;
    const projects = [...new Set(servers.map((s) => s.project_id))].map((p) => {
      const mine = servers.filter((s) => s.project_id === p);
      return row(p, mine.reduce((n, s) => n + s.flavor.vcpus, 0), mine.reduce((n, s) => n + s.flavor.ram, 0), mine.reduce((n, s) => n + s.flavor.disk, 0));
    });
    return out({ host: [row('(total)', HYPERVISOR.vcpus, HYPERVISOR.ram, HYPERVISOR.disk), row('(used_now)', used[0], used[1] + 512, used[2]), row('(used_max)', used[0], used[1], used[2]), ...projects] });
  }

  async listMigrations(req: ComputeRequest<'listMigrations'>): Promise<ComputeResponse<'listMigrations'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-migrations:index');
    const mv = ctx.microversion;
    const query = req.query as Record<string, unknown>;
    let items = this.store.list<MigrationRecord>('migration').reverse();
    if (query.instance_uuid) items = items.filter((m) => m.instance_uuid === query.instance_uuid);
    if (query.migration_type) items = items.filter((m) => m.migration_type === query.migration_type);
    if (query.status) items = items.filter((m) => m.status === query.status);
    const body: Record<string, unknown> = {};
    if (atLeast(mv, '2.59')) {
      const page = paginate(items, query, (m) => m.uuid);
      items = page.items;
      if (page.more) body.migrations_links = [nextLink(ctx.url, query, items[items.length - 1]!.uuid)];
    }
    body.migrations = items.map((m) => {
      const v: Record<string, unknown> = {
        id: m.serial, instance_uuid: m.instance_uuid, status: m.status, created_at: isoNoZone(Date.parse(m.created_at)), updated_at: isoNoZone(Date.parse(m.updated_at)),
        source_compute: HOST, dest_compute: HOST, source_node: HOST, dest_node: HOST, dest_host: '192.0.2.10',
        old_instance_type_id: m.old_flavor_serial, new_instance_type_id: m.new_flavor_serial,
      };
      if (atLeast(mv, '2.23')) {
        v.migration_type = m.migration_type;
        if (m.migration_type === 'live-migration') v.links = links(ctx, `servers/${m.instance_uuid}/migrations`, String(m.serial));
      }
      if (atLeast(mv, '2.59')) v.uuid = m.uuid;
      if (atLeast(mv, '2.80')) Object.assign(v, { user_id: m.user_id, project_id: m.project_id });
      return v;
    });
    return out(body);
  }

  async listServerDiagnostics(req: ComputeRequest<'listServerDiagnostics'>): Promise<ComputeResponse<'listServerDiagnostics'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-server-diagnostics');
    const s = this.server(ctx, req.path.server_id);
    if (s.vm_state === 'building') throw Fault.conflict(`Cannot 'get_diagnostics' instance ${s.id} while it is in vm_state building`);
    const uptime = Math.floor((Date.now() - s.build_until) / 1000);
    if (!atLeast(ctx.microversion, '2.48')) {
      return out({ 'cpu0_time': uptime * 1_000_000_000, memory: s.flavor.ram * 1024, 'vda_read': 0, 'vda_write': 0 });
    }
    const state = { 1: 'running', 3: 'paused', 4: 'shutdown', 7: 'suspended' }[s.power_state as 1 | 3 | 4 | 7] ?? 'pending';
    return out({
      state, driver: 'libvirt', hypervisor: 'qemu', hypervisor_os: 'linux', uptime, config_drive: s.config_drive === 'True', num_cpus: s.flavor.vcpus,
      num_nics: 0, num_disks: 1, memory_details: { maximum: s.flavor.ram, used: 0 },
      cpu_details: Array.from({ length: s.flavor.vcpus }, (_, id) => ({ id, time: uptime * 1_000_000_000, utilisation: 0 })),
      nic_details: [], disk_details: [{ read_bytes: 0, read_requests: 0, write_bytes: 0, write_requests: 0, errors_count: 0 }],
    });
  }

  // ---- host aggregates (the one compute host can join them) ---------------------------

  private aggregate(id: string): AggregateRecord {
    const a = /^\d+$/.test(id) ? this.store.list<AggregateRecord>('aggregate', { where: (x) => String(x.serial) === id })[0] : undefined;
    if (!a) throw Fault.notFound(`Aggregate ${id} could not be found.`);
    return a;
  }

  private aggregateView(ctx: Ctx, a: AggregateRecord, created = false): Record<string, unknown> {
    const v: Record<string, unknown> = {
      id: a.serial, name: a.name, availability_zone: a.availability_zone, created_at: isoNoZone(Date.parse(a.created_at)),
      updated_at: a.modified ? isoNoZone(Date.parse(a.updated_at)) : null, deleted: false, deleted_at: null,
    };
    if (!created) Object.assign(v, { hosts: [...a.hosts], metadata: { ...a.metadata, ...(a.availability_zone ? { availability_zone: a.availability_zone } : {}) } });
    if (atLeast(ctx.microversion, '2.41')) v.uuid = a.id;
    return v;
  }

  private aggregateChange(ctx: Ctx, id: string, fn: (a: AggregateRecord) => void): Record<string, unknown> {
    requireAdmin(ctx, 'os_compute_api:os-aggregates');
    const a = this.store.tx(() => {
      const a = this.aggregate(id);
      fn(a);
      a.modified = true;
      return this.store.put('aggregate', a);
    });
    return this.aggregateView(ctx, a);
  }

  private checkAggregateName(name: string, az: string | null, except?: string): void {
    if (this.store.list<AggregateRecord>('aggregate', { where: (x) => x.name === name && x.id !== except }).length) {
      throw Fault.conflict(`Aggregate ${name} already exists.`);
    }
    if (az !== null && (az === 'internal' || az.trim() === '' || az.length > 255)) throw Fault.badRequest(`Invalid input for field/attribute availability_zone. Value: ${az}.`);
  }

  async createAggregate(req: ComputeRequest<'createAggregate'>): Promise<ComputeResponse<'createAggregate'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-aggregates:create');
    const b = (req.body as unknown as { aggregate: { name: string; availability_zone?: string | null } }).aggregate;
    const name = String(b.name ?? '').trim();
    if (!name || name.length > 255) throw Fault.badRequest('Invalid input for field/attribute name.');
    const az = b.availability_zone ?? null;
    const now = isoZ();
    const a: AggregateRecord = { id: this.store.newId(), serial: 0, project_id: null, name, availability_zone: az, hosts: [], metadata: {}, created_at: now, updated_at: now };
    this.store.tx(() => {
      this.checkAggregateName(name, az);
      a.serial = this.store.next('aggregate');
      this.store.insert('aggregate', a);
    });
    return out({ aggregate: this.aggregateView(ctx, a, true) });
  }

  async listAggregates(req: ComputeRequest<'listAggregates'>): Promise<ComputeResponse<'listAggregates'>> {
    requireAdmin(req.context, 'os_compute_api:os-aggregates:index');
    return out({ aggregates: this.store.list<AggregateRecord>('aggregate').map((a) => this.aggregateView(req.context, a)) });
  }

  async showAggregate(req: ComputeRequest<'showAggregate'>): Promise<ComputeResponse<'showAggregate'>> {
    requireAdmin(req.context, 'os_compute_api:os-aggregates:show');
    return out({ aggregate: this.aggregateView(req.context, this.aggregate(req.path.id)) });
  }

  async updateAggregate(req: ComputeRequest<'updateAggregate'>): Promise<ComputeResponse<'updateAggregate'>> {
    const b = (req.body as unknown as { aggregate: { name?: string; availability_zone?: string | null } }).aggregate;
    return out({
      aggregate: this.aggregateChange(req.context, req.path.id, (a) => {
        const az = b.availability_zone === undefined ? a.availability_zone : b.availability_zone;
        this.checkAggregateName(b.name ?? a.name, az, a.id);
        if (b.name !== undefined) a.name = b.name;
        a.availability_zone = az;
      }),
    });
  }

  async deleteAggregate(req: ComputeRequest<'deleteAggregate'>): Promise<ComputeResponse<'deleteAggregate'>> {
    requireAdmin(req.context, 'os_compute_api:os-aggregates:delete');
    const a = this.aggregate(req.path.id);
    if (a.hosts.length) throw Fault.badRequest(`Cannot remove aggregate ${a.serial}: it still has hosts.`);
    this.store.delete('aggregate', a.id);
    return out(undefined);
  }

  async addHostAggregate(req: ComputeRequest<'addHostAggregate'>): Promise<ComputeResponse<'addHostAggregate'>> {
    const host = (req.body as unknown as { add_host: { host: string } }).add_host.host;
    return out({
      aggregate: this.aggregateChange(req.context, req.path.id, (a) => {
        if (host !== HOST) throw Fault.notFound(`Compute host ${host} could not be found.`);
        if (a.hosts.includes(host)) throw Fault.conflict(`Aggregate ${a.serial} already has host ${host}.`);
        a.hosts.push(host);
      }),
    });
  }

  async removeHostAggregate(req: ComputeRequest<'removeHostAggregate'>): Promise<ComputeResponse<'removeHostAggregate'>> {
    const host = (req.body as unknown as { remove_host: { host: string } }).remove_host.host;
    return out({
      aggregate: this.aggregateChange(req.context, req.path.id, (a) => {
        if (!a.hosts.includes(host)) throw Fault.notFound(`Cannot remove host ${host} in aggregate ${a.serial}`);
        a.hosts = a.hosts.filter((h) => h !== host);
      }),
    });
  }

  async setMetadataAggregate(req: ComputeRequest<'setMetadataAggregate'>): Promise<ComputeResponse<'setMetadataAggregate'>> {
    const meta = (req.body as unknown as { set_metadata: { metadata: Record<string, string | null> } }).set_metadata.metadata;
    return out({
      aggregate: this.aggregateChange(req.context, req.path.id, (a) => {
        for (const [k, v] of Object.entries(meta)) {
          if (k === 'availability_zone') a.availability_zone = v;
          else if (v === null) delete a.metadata[k];
          else a.metadata[k] = String(v);
        }
      }),
    });
  }

  async listLimits(req: ComputeRequest<'listLimits'>): Promise<ComputeResponse<'listLimits'>> {
    const ctx = req.context;
    const mv = ctx.microversion;
    const query = req.query as Record<string, unknown>;
    let projectId = this.cloud.project(ctx);
    if (query.tenant_id && auth(ctx).isAdmin) projectId = String(query.tenant_id);
    const l = quotaLimits(this.store, projectId);
    const used = this.usage(projectId);
    const absolute: Record<string, number> = {
      maxServerMeta: l.metadata_items!, maxTotalKeypairs: l.key_pairs!,
      maxTotalInstances: l.instances!, maxTotalCores: l.cores!, maxTotalRAMSize: l.ram!,
      maxServerGroups: l.server_groups!, maxServerGroupMembers: l.server_group_members!,
      totalInstancesUsed: used.instances, totalCoresUsed: used.cores, totalRAMUsed: used.ram, totalServerGroupsUsed: used.server_groups,
    };
    if (!atLeast(mv, '2.36')) {
      Object.assign(absolute, {
        maxSecurityGroups: l.security_groups!, maxSecurityGroupRules: l.security_group_rules!, maxTotalFloatingIps: l.floating_ips!,
        totalSecurityGroupsUsed: 0, totalFloatingIpsUsed: 0,
      });
    }
    // 2.39 drops the image-proxy limit, 2.57 the personality ones.
    if (!atLeast(mv, '2.39')) absolute.maxImageMeta = 128;
    if (!atLeast(mv, '2.57')) Object.assign(absolute, { maxPersonality: l.injected_files!, maxPersonalitySize: l.injected_file_content_bytes! });
    return out({ limits: { rate: [], absolute } });
  }

  private quotaTarget(ctx: Ctx, id: string): string {
    if (id !== this.cloud.project(ctx) && !auth(ctx).isAdmin) throw Fault.forbidden(`Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.`);
    return id;
  }

  private quotaBody(ctx: Ctx, projectId: string, detail: boolean, limits = quotaLimits(this.store, projectId)): Record<string, unknown> {
    const used = this.usage(projectId);
    const inUse: Record<string, number> = { instances: used.instances, cores: used.cores, ram: used.ram, server_groups: used.server_groups, key_pairs: this.store.count('keypair', auth(ctx).userId) };
    const body: Record<string, unknown> = { id: projectId };
    for (const k of quotaKeys(ctx.microversion)) body[k] = detail ? { in_use: inUse[k] ?? 0, limit: limits[k], reserved: 0 } : limits[k];
    return body;
  }

  async showQuotaSet(req: ComputeRequest<'showQuotaSet'>): Promise<ComputeResponse<'showQuotaSet'>> {
    const ctx = req.context;
    const query = req.query as Record<string, unknown>;
    const project = this.quotaTarget(ctx, req.path.id);
    void query;
    return out({ quota_set: this.quotaBody(ctx, project, false) });
  }

  async listQuotaSetsDetail(req: ComputeRequest<'listQuotaSetsDetail'>): Promise<ComputeResponse<'listQuotaSetsDetail'>> {
    const ctx = req.context;
    const project = this.quotaTarget(ctx, req.path.id);
    return out({ quota_set: this.quotaBody(ctx, project, true) });
  }

  async listQuotaSetDefaults(req: ComputeRequest<'listQuotaSetDefaults'>): Promise<ComputeResponse<'listQuotaSetDefaults'>> {
    const ctx = req.context;
    return out({ quota_set: this.quotaBody(ctx, req.path.id, false, quotaDefaults(this.store)) });
  }

  async updateQuotaSet(req: ComputeRequest<'updateQuotaSet'>): Promise<ComputeResponse<'updateQuotaSet'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-quota-sets:update');
    const b = (req.body as unknown as { quota_set: Record<string, unknown> }).quota_set;
    const project = req.path.id;
    const keys = quotaKeys(ctx.microversion);
    this.store.tx(() => {
      const rec = this.store.get<QuotaRecord>('quota', project);
      const limits = { ...(rec?.limits ?? {}) };
      for (const [k, v] of Object.entries(b)) {
        if (k === 'force') continue;
        if (!keys.includes(k)) throw Fault.badRequest(`Bad key(s) ${k} in quota_set`);
        const n = Number(v);
        if (!Number.isInteger(n) || n < -1) throw Fault.badRequest(`Quota limit ${String(v)} for ${k} must be -1 or greater.`);
        limits[k] = n;
      }
      const now = isoZ();
      if (rec) this.store.put<QuotaRecord>('quota', { ...rec, limits });
      else this.store.insert<QuotaRecord>('quota', { id: project, project_id: project, limits, created_at: now, updated_at: now });
    });
    const body = this.quotaBody(ctx, project, false);
    delete body.id;
    return out({ quota_set: body });
  }

  async deleteQuotaSet(req: ComputeRequest<'deleteQuotaSet'>): Promise<ComputeResponse<'deleteQuotaSet'>> {
    requireAdmin(req.context, 'os_compute_api:os-quota-sets:delete');
    this.store.delete('quota', req.path.id);
  }

  // ---- Nova's proxy APIs (compute-proxy.ts): images, security groups, floating IPs, networks, volumes ----

  async listImages(req: ComputeRequest<'listImages'>): Promise<ComputeResponse<'listImages'>> {
    return out(this.proxy.listImages(req.context, req.query as Record<string, unknown>, false));
  }

  async listImagesDetail(req: ComputeRequest<'listImagesDetail'>): Promise<ComputeResponse<'listImagesDetail'>> {
    return out(this.proxy.listImages(req.context, req.query as Record<string, unknown>, true));
  }

  async showImage(req: ComputeRequest<'showImage'>): Promise<ComputeResponse<'showImage'>> {
    return out(this.proxy.showImage(req.context, req.path.id));
  }

  async deleteImage(req: ComputeRequest<'deleteImage'>): Promise<ComputeResponse<'deleteImage'>> {
    await this.proxy.deleteImage(req.context, req.path.id);
  }

  async listImageMetadata(req: ComputeRequest<'listImageMetadata'>): Promise<ComputeResponse<'listImageMetadata'>> {
    return out({ metadata: this.proxy.imageMetadata(req.context, req.path.image_id) });
  }

  async createImageMetadata(req: ComputeRequest<'createImageMetadata'>): Promise<ComputeResponse<'createImageMetadata'>> {
    const md = (req.body as unknown as { metadata: Record<string, string> }).metadata;
    return out({ metadata: await this.proxy.setImageMetadata(req.context, req.path.image_id, md, false) });
  }

  async replaceImageMetadata(req: ComputeRequest<'replaceImageMetadata'>): Promise<ComputeResponse<'replaceImageMetadata'>> {
    const md = (req.body as unknown as { metadata: Record<string, string> }).metadata;
    return out({ metadata: await this.proxy.setImageMetadata(req.context, req.path.image_id, md, true) });
  }

  async showImageMetadata(req: ComputeRequest<'showImageMetadata'>): Promise<ComputeResponse<'showImageMetadata'>> {
    const md = this.proxy.imageMetadata(req.context, req.path.image_id);
    const key = req.path.id;
    if (!(key in md)) throw Fault.notFound('Image metadata item not found.');
    return out({ meta: { [key]: md[key] } });
  }

  async updateImageMetadata(req: ComputeRequest<'updateImageMetadata'>): Promise<ComputeResponse<'updateImageMetadata'>> {
    const meta = (req.body as unknown as { meta: Record<string, string> }).meta;
    const key = req.path.id;
    this.proxy.imageMetadata(req.context, req.path.image_id);
    if (!(key in meta)) throw Fault.badRequest('Request body and URI mismatch');
    if (Object.keys(meta).length > 1) throw Fault.badRequest('Request body contains too many items');
    const md = await this.proxy.setImageMetadata(req.context, req.path.image_id, { [key]: meta[key]! }, false);
    return out({ meta: { [key]: md[key] } });
  }

  async deleteImageMetadata(req: ComputeRequest<'deleteImageMetadata'>): Promise<ComputeResponse<'deleteImageMetadata'>> {
    const md = this.proxy.imageMetadata(req.context, req.path.image_id);
    const key = req.path.id;
    if (!(key in md)) throw Fault.notFound(`Invalid metadata key`);
    delete md[key];
    await this.proxy.setImageMetadata(req.context, req.path.image_id, md, true);
  }

  async listSecurityGroups(req: ComputeRequest<'listSecurityGroups'>): Promise<ComputeResponse<'listSecurityGroups'>> {
    return out(await this.proxy.listSecurityGroups(req.context, req.query as Record<string, unknown>));
  }

  async showSecurityGroup(req: ComputeRequest<'showSecurityGroup'>): Promise<ComputeResponse<'showSecurityGroup'>> {
    return out(await this.proxy.showSecurityGroup(req.context, req.path.id));
  }

  async createSecurityGroup(req: ComputeRequest<'createSecurityGroup'>): Promise<ComputeResponse<'createSecurityGroup'>> {
    const b = (req.body as unknown as { security_group?: { name?: unknown; description?: unknown } }).security_group;
    if (!b) throw Fault.badRequest('Missing parameter security_group');
    return out(await this.proxy.createSecurityGroup(req.context, b));
  }

  async updateSecurityGroup(req: ComputeRequest<'updateSecurityGroup'>): Promise<ComputeResponse<'updateSecurityGroup'>> {
    const b = (req.body as unknown as { security_group?: { name?: unknown; description?: unknown } }).security_group;
    if (!b) throw Fault.badRequest('Missing parameter security_group');
    return out(await this.proxy.updateSecurityGroup(req.context, req.path.id, b));
  }

  async deleteSecurityGroup(req: ComputeRequest<'deleteSecurityGroup'>): Promise<ComputeResponse<'deleteSecurityGroup'>> {
    await this.proxy.deleteSecurityGroup(req.context, req.path.id);
  }

  async createSecurityGroupRule(req: ComputeRequest<'createSecurityGroupRule'>): Promise<ComputeResponse<'createSecurityGroupRule'>> {
    const b = (req.body as unknown as { security_group_rule?: Record<string, unknown> }).security_group_rule;
    if (!b) throw Fault.badRequest('Missing parameter security_group_rule');
    return out(await this.proxy.createSecurityGroupRule(req.context, b));
  }

  async deleteSecurityGroupRule(req: ComputeRequest<'deleteSecurityGroupRule'>): Promise<ComputeResponse<'deleteSecurityGroupRule'>> {
    await this.proxy.deleteSecurityGroupRule(req.context, req.path.id);
  }

  async listFloatingIps(req: ComputeRequest<'listFloatingIps'>): Promise<ComputeResponse<'listFloatingIps'>> {
    return out(await this.proxy.listFloatingIps(req.context));
  }

  async showFloatingIp(req: ComputeRequest<'showFloatingIp'>): Promise<ComputeResponse<'showFloatingIp'>> {
    return out(await this.proxy.showFloatingIp(req.context, req.path.id));
  }

  async createFloatingIp(req: ComputeRequest<'createFloatingIp'>): Promise<ComputeResponse<'createFloatingIp'>> {
    const pool = (req.body as unknown as { pool?: string | null } | undefined)?.pool ?? undefined;
    return out(await this.proxy.createFloatingIp(req.context, pool));
  }

  async deleteFloatingIp(req: ComputeRequest<'deleteFloatingIp'>): Promise<ComputeResponse<'deleteFloatingIp'>> {
    await this.proxy.deleteFloatingIp(req.context, req.path.id);
  }

  async listFloatingIpPools(_req: ComputeRequest<'listFloatingIpPools'>): Promise<ComputeResponse<'listFloatingIpPools'>> {
    return out(this.proxy.listFloatingIpPools());
  }

  async addFloatingIpServer(req: ComputeRequest<'addFloatingIpServer'>): Promise<ComputeResponse<'addFloatingIpServer'>> {
    const b = (req.body as unknown as { addFloatingIp: { address: string; fixed_address?: string } }).addFloatingIp;
    const s = this.server(req.context, req.path.id);
    await this.proxy.associateFloatingIp(req.context, s.id, b.address, b.fixed_address);
  }

  async removeFloatingIpServer(req: ComputeRequest<'removeFloatingIpServer'>): Promise<ComputeResponse<'removeFloatingIpServer'>> {
    const b = (req.body as unknown as { removeFloatingIp: { address: string } }).removeFloatingIp;
    const s = this.server(req.context, req.path.id);
    await this.proxy.disassociateFloatingIp(req.context, s.id, b.address);
  }

  async listNetworks(req: ComputeRequest<'listNetworks'>): Promise<ComputeResponse<'listNetworks'>> {
    return out(await this.proxy.listNetworks(req.context));
  }

  async showNetwork(req: ComputeRequest<'showNetwork'>): Promise<ComputeResponse<'showNetwork'>> {
    return out(await this.proxy.showNetwork(req.context, req.path.id));
  }

  async listTenantNetworks(req: ComputeRequest<'listTenantNetworks'>): Promise<ComputeResponse<'listTenantNetworks'>> {
    return out(await this.proxy.listTenantNetworks(req.context));
  }

  async showTenantNetwork(req: ComputeRequest<'showTenantNetwork'>): Promise<ComputeResponse<'showTenantNetwork'>> {
    return out(await this.proxy.showTenantNetwork(req.context, req.path.id));
  }

  async listVolumes(req: ComputeRequest<'listVolumes'>): Promise<ComputeResponse<'listVolumes'>> {
    return out(await this.proxy.listVolumes(req.context, req.query as Record<string, unknown>));
  }

  async listVolumesDetail(req: ComputeRequest<'listVolumesDetail'>): Promise<ComputeResponse<'listVolumesDetail'>> {
    return out(await this.proxy.listVolumes(req.context, req.query as Record<string, unknown>));
  }

  async showVolume(req: ComputeRequest<'showVolume'>): Promise<ComputeResponse<'showVolume'>> {
    return out(await this.proxy.showVolume(req.context, req.path.id));
  }

  async createVolume(req: ComputeRequest<'createVolume'>): Promise<ComputeResponse<'createVolume'>> {
    const b = (req.body as unknown as { volume: Record<string, unknown> }).volume;
    return out(await this.proxy.createVolume(req.context, b));
  }

  async deleteVolume(req: ComputeRequest<'deleteVolume'>): Promise<ComputeResponse<'deleteVolume'>> {
    await this.proxy.deleteVolume(req.context, req.path.id);
  }

  async listSnapshots(req: ComputeRequest<'listSnapshots'>): Promise<ComputeResponse<'listSnapshots'>> {
    return out(await this.proxy.listSnapshots(req.context, req.query as Record<string, unknown>));
  }

  async listSnapshotsDetail(req: ComputeRequest<'listSnapshotsDetail'>): Promise<ComputeResponse<'listSnapshotsDetail'>> {
    return out(await this.proxy.listSnapshots(req.context, req.query as Record<string, unknown>));
  }

  async showSnapshot(req: ComputeRequest<'showSnapshot'>): Promise<ComputeResponse<'showSnapshot'>> {
    return out(await this.proxy.showSnapshot(req.context, req.path.id));
  }

  async createSnapshot(req: ComputeRequest<'createSnapshot'>): Promise<ComputeResponse<'createSnapshot'>> {
    const b = (req.body as unknown as { snapshot: Record<string, unknown> }).snapshot;
    return out(await this.proxy.createSnapshot(req.context, b));
  }

  async deleteSnapshot(req: ComputeRequest<'deleteSnapshot'>): Promise<ComputeResponse<'deleteSnapshot'>> {
    await this.proxy.deleteSnapshot(req.context, req.path.id);
  }

  // ---- hosts' power and maintenance (os-hosts, before 2.43) ------------------------------

  /** Only the compute host can be acted on; others are Nova's 404. */
  private computeHost(id: string): void {
    if (id !== HOST) throw Fault.notFound(`Compute host ${id} could not be found.`);
  }

  async listHostReboot(req: ComputeRequest<'listHostReboot'>): Promise<ComputeResponse<'listHostReboot'>> {
    this.computeHost(req.path.id);
    return out({ host: req.path.id, power_action: 'reboot' });
  }

  async listHostShutdown(req: ComputeRequest<'listHostShutdown'>): Promise<ComputeResponse<'listHostShutdown'>> {
    this.computeHost(req.path.id);
    return out({ host: req.path.id, power_action: 'shutdown' });
  }

  async listHostStartup(req: ComputeRequest<'listHostStartup'>): Promise<ComputeResponse<'listHostStartup'>> {
    this.computeHost(req.path.id);
    return out({ host: req.path.id, power_action: 'startup' });
  }

  /** Enables or disables the host's nova-compute service; maintenance mode is kept as asked. */
  async updateHost(req: ComputeRequest<'updateHost'>): Promise<ComputeResponse<'updateHost'>> {
    const b = (req.body ?? {}) as unknown as { status?: string; maintenance_mode?: string };
    const flag = (v: string | undefined, name: string): boolean | undefined => {
      if (v === undefined) return undefined;
      const l = v.toLowerCase();
      if (l !== 'enable' && l !== 'disable') throw Fault.badRequest(`Invalid input for field/attribute ${name}. Value: ${v}.`);
      return l === 'enable';
    };
    const enabled = flag(b.status, 'status');
    const maintenance = flag(b.maintenance_mode, 'maintenance_mode');
    if (enabled === undefined && maintenance === undefined) throw Fault.badRequest("'status' or 'maintenance_mode' needed for host update");
    this.computeHost(req.path.id);
    const result: Record<string, unknown> = { host: req.path.id };
    this.store.tx(() => {
      const x = this.services().find((y) => y.binary === 'nova-compute')!;
      if (enabled !== undefined) {
        x.disabled = !enabled;
        x.disabled_reason = null;
        result.status = enabled ? 'enabled' : 'disabled';
      }
      if (maintenance !== undefined) result.maintenance_mode = maintenance ? 'on_maintenance' : 'off_maintenance';
      const now = isoZ();
      if (this.store.get('nova_service', x.id)) this.store.put('nova_service', x);
      else this.store.insert('nova_service', { ...x, created_at: now, updated_at: now });
    });
    return out(result);
  }

  // ---- quota classes ---------------------------------------------------------------------

  private quotaClassBody(ctx: Ctx, id: string, withId: boolean): Record<string, unknown> {
    const limits = id === 'default' ? quotaDefaults(this.store) : { ...quotaDefaults(this.store), ...this.store.get<QuotaRecord>('quota_class', id)?.limits };
    const body: Record<string, unknown> = withId ? { id } : {};
    for (const k of quotaClassKeys(ctx.microversion)) body[k] = limits[k];
    return body;
  }

  async showQuotaClassSet(req: ComputeRequest<'showQuotaClassSet'>): Promise<ComputeResponse<'showQuotaClassSet'>> {
    return out({ quota_class_set: this.quotaClassBody(req.context, req.path.id, true) });
  }

  async updateQuotaClassSet(req: ComputeRequest<'updateQuotaClassSet'>): Promise<ComputeResponse<'updateQuotaClassSet'>> {
    const ctx = req.context;
    const id = req.path.id;
    const b = (req.body as unknown as { quota_class_set: Record<string, unknown> }).quota_class_set;
    this.store.tx(() => {
      const rec = this.store.get<QuotaRecord>('quota_class', id);
      const limits = { ...(rec?.limits ?? {}) };
      for (const [k, v] of Object.entries(b)) {
        if (!(k in DEFAULT_QUOTAS)) throw Fault.badRequest(`Bad key(s) ${k} in quota_class_set`);
        const n = Number(v);
        if (!Number.isInteger(n) || n < -1) throw Fault.badRequest(`Quota limit ${String(v)} for ${k} must be -1 or greater.`);
        limits[k] = n;
      }
      const now = isoZ();
      if (rec) this.store.put<QuotaRecord>('quota_class', { ...rec, limits });
      else this.store.insert<QuotaRecord>('quota_class', { id, project_id: null, limits, created_at: now, updated_at: now });
    });
    return out({ quota_class_set: this.quotaClassBody(ctx, id, false) });
  }

  // ---- server password, external events, usage audit log, extensions, deferred delete -------

  /** The sandbox's guests post no encrypted password: empty until they would, and after a clear. */
  async listServerServerPassword(req: ComputeRequest<'listServerServerPassword'>): Promise<ComputeResponse<'listServerServerPassword'>> {
    this.server(req.context, req.path.server_id);
    return out({ password: '' });
  }

  async deleteAllServerServerPassword(req: ComputeRequest<'deleteAllServerServerPassword'>): Promise<ComputeResponse<'deleteAllServerServerPassword'>> {
    this.server(req.context, req.path.server_id);
  }

  /** Events for servers (Neutron's and Cinder's notifications): each answered with its own code; 207 when some are not, 404 when none is. */
  async createServerExternalEvent(req: ComputeRequest<'createServerExternalEvent'>): Promise<ComputeResponse<'createServerExternalEvent'> | Reply<ComputeResponse<'createServerExternalEvent'>>> {
    const events = (req.body as unknown as { events: { name: string; server_uuid: string; status?: string; tag?: string }[] }).events;
    let found = 0;
    const answered = events.map((e) => {
      // Settled as every read of a server is: a list no longer settles the servers off its page.
      const stored = this.store.get<ServerRecord>('server', e.server_uuid);
      const s = stored && settle(this.store, stored);
      const ok = s !== undefined && s.vm_state !== 'building';
      if (ok) found++;
      return { ...e, status: ok ? e.status ?? 'completed' : 'failed', code: ok ? 200 : s ? 422 : 404 };
    });
    if (!found) throw Fault.notFound('No instances found for any event');
    return found === events.length ? out({ events: answered }) : out(new Reply({ events: answered }, 207));
  }

  /**
   * The audit of the calendar month before a time (Nova's default
   * `instance_usage_audit_period`): the sandbox's one host has always done it.
   */
  private auditLog(before: number): Record<string, unknown> {
    const d = new Date(before);
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
    const fmt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
    const instances = this.store.list<ServerRecord>('server', { where: (s) => Date.parse(s.created_at) < end }).length;
    return {
      hosts_not_run: [], log: { [HOST]: { state: 'DONE', instances, errors: 0, message: `Instance usage audit ran for host ${HOST}, ${instances} instances in ${0.01} seconds.` } },
      num_hosts: 1, num_hosts_done: 1, num_hosts_not_run: 0, num_hosts_running: 0,
      overall_status: 'ALL hosts done. 0 errors.', period_beginning: fmt(start), period_ending: fmt(end), total_errors: 0, total_instances: instances,
    };
  }

  async listInstanceUsageAuditLog(_req: ComputeRequest<'listInstanceUsageAuditLog'>): Promise<ComputeResponse<'listInstanceUsageAuditLog'>> {
    return out({ instance_usage_audit_logs: this.auditLog(Date.now()) });
  }

  async showInstanceUsageAuditLog(req: ComputeRequest<'showInstanceUsageAuditLog'>): Promise<ComputeResponse<'showInstanceUsageAuditLog'>> {
    const raw = decodeURIComponent(req.path.id);
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(raw);
    const ms = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : NaN;
    if (Number.isNaN(ms)) throw Fault.badRequest(`Invalid timestamp for date ${raw}`);
    return out({ instance_usage_audit_log: this.auditLog(ms) });
  }

  async listExtensions(_req: ComputeRequest<'listExtensions'>): Promise<ComputeResponse<'listExtensions'>> {
    return out({ extensions: EXTENSIONS.map(extensionView) });
  }

  async showExtension(req: ComputeRequest<'showExtension'>): Promise<ComputeResponse<'showExtension'>> {
    const e = EXTENSIONS.find((x) => x[0] === req.path.id);
    if (!e) throw Fault.notFound(`Extension ${req.path.id} could not be found.`);
    return out({ extension: extensionView(e) });
  }

  /** Deleted servers go at once (no soft delete): nothing is ever waiting to be restored. */
  async restoreServer(req: ComputeRequest<'restoreServer'>): Promise<ComputeResponse<'restoreServer'>> {
    this.act(req.context, req.path.id, 'restore', [], () => undefined);
  }

  async forceDeleteServer(req: ComputeRequest<'forceDeleteServer'>): Promise<ComputeResponse<'forceDeleteServer'>> {
    this.act(req.context, req.path.id, 'forceDelete', [], () => undefined);
  }

  // ---- usage -----------------------------------------------------------------------

  /**
   * One page of usage, as Nova's simple_tenant_usage: the servers active in the
   * window (launched before its end; the sandbox deletes at once, so none ended
   * before its start), ordered by project then uuid, paged by `limit`/`marker`
   * from 2.40 (before, max_limit and no marker), then summed per project in
   * that order. The marker is any server's uuid (paging resumes after its
   * project and uuid); an unknown one is a 400.
   */
  private usagePage(ctx: Ctx, query: Record<string, unknown>, projectId: string | null, detailed: boolean) {
    const [start, end] = this.usageWindow(query);
    const paged = atLeast(ctx.microversion, '2.40');
    const limit = parseLimit(paged ? (query.limit as number | string | undefined) : undefined);
    const key = (s: { project_id: string; id: string }) => [s.project_id, s.id] as const;
    const before = (a: readonly [string, string], b: readonly [string, string]) => (a[0] === b[0] ? a[1] < b[1] : a[0] < b[0]);
    let servers = this.store.list<ServerRecord>('server', projectId === null ? {} : { projectId })
      .filter((s) => Date.parse(s.created_at) < end)
      .sort((x, y) => (before(key(x), key(y)) ? -1 : before(key(y), key(x)) ? 1 : 0));
    const marker = paged && typeof query.marker === 'string' && query.marker !== '' ? query.marker : undefined;
    if (marker !== undefined) {
      const m = this.store.get<ServerRecord>('server', marker);
      if (!m) throw Fault.badRequest(`Marker ${marker} could not be found.`);
      servers = servers.filter((s) => before(key(m), key(s)));
    }
    const page = servers.slice(0, limit).map((s) => settle(this.store, s));
    const more = paged && page.length > 0 && servers.length > limit;
    const hours = (s: ServerRecord) => Math.max(0, (Math.min(end, Date.now()) - Math.max(start, Date.parse(s.created_at))) / 3_600_000);
    const usages = new Map<string, Record<string, unknown> & { server_usages?: unknown[] }>();
    for (const s of page) {
      const h = hours(s);
      let u = usages.get(s.project_id);
      if (!u) {
        u = {
          tenant_id: s.project_id, start: isoNoZone(start), stop: isoNoZone(end),
          total_hours: 0, total_vcpus_usage: 0, total_memory_mb_usage: 0, total_local_gb_usage: 0,
          ...(detailed ? { server_usages: [] } : {}),
        };
        usages.set(s.project_id, u);
      }
      u.total_hours = (u.total_hours as number) + h;
      u.total_vcpus_usage = (u.total_vcpus_usage as number) + h * s.flavor.vcpus;
      u.total_memory_mb_usage = (u.total_memory_mb_usage as number) + h * s.flavor.ram;
      u.total_local_gb_usage = (u.total_local_gb_usage as number) + h * s.flavor.disk;
      u.server_usages?.push({
        instance_id: s.id, name: s.name, hours: h, memory_mb: s.flavor.ram, local_gb: s.flavor.disk, vcpus: s.flavor.vcpus,
        tenant_id: s.project_id, flavor: s.flavor.name, started_at: isoNoZone(Date.parse(s.created_at)), ended_at: null,
        state: serverStatus(s) === 'SHUTOFF' ? 'stopped' : s.vm_state, uptime: Math.floor((Date.now() - Date.parse(s.created_at)) / 1000),
      });
    }
    const links = more ? [nextLink(ctx.url, query, page[page.length - 1]!.id)] : undefined;
    return { usages: [...usages.values()], links };
  }

  private usageWindow(query: Record<string, unknown>): [number, number] {
    const end = query.end ? Date.parse(String(query.end)) : Date.now();
    const start = query.start ? Date.parse(String(query.start)) : end;
    if (Number.isNaN(start) || Number.isNaN(end)) throw Fault.badRequest('Invalid start time.');
    if (start > end) throw Fault.badRequest('Invalid start time. The start time cannot occur after the end time.');
    return [start, end];
  }

  async listSimpleTenantUsage(req: ComputeRequest<'listSimpleTenantUsage'>): Promise<ComputeResponse<'listSimpleTenantUsage'>> {
    const ctx = req.context;
    requireAdmin(ctx, 'os_compute_api:os-simple-tenant-usage:list');
    const query = req.query as Record<string, unknown>;
    const { usages, links } = this.usagePage(ctx, query, null, truthy(query.detailed ?? '0'));
    return out({ tenant_usages: usages, ...(links ? { tenant_usages_links: links } : {}) });
  }

  /** A project without servers in the window (or past the last page) shows `{}`, as Nova. */
  async showSimpleTenantUsage(req: ComputeRequest<'showSimpleTenantUsage'>): Promise<ComputeResponse<'showSimpleTenantUsage'>> {
    const ctx = req.context;
    const project = this.quotaTarget(ctx, req.path.id);
    const { usages, links } = this.usagePage(ctx, req.query as Record<string, unknown>, project, true);
    return out({ tenant_usage: usages[0] ?? {}, ...(links ? { tenant_usage_links: links } : {}) });
  }
}

/** The sandbox's one hypervisor: its size and stable ids. */
const HYPERVISOR = { vcpus: 32, ram: 65536, disk: 1000 };
const HYPERVISOR_UUID = '3f4a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const COMPUTE_SERVICE_UUID = '5d1b2b1e-0c1a-4d3e-9b1a-000000000003';
const STARTED = Date.now();

/** `uptime` output, as libvirt's host reports it. */
function hypervisorUptime(): string {
  const mins = Math.floor((Date.now() - STARTED) / 60_000);
  return ` ${new Date().toISOString().slice(11, 19)} up ${Math.floor(mins / 60)}:${String(mins % 60).padStart(2, '0')},  1 user,  load average: 0.00, 0.00, 0.00`;
}

const NOVA_SERVICES = [
  { n: 1, uuid: '5d1b2b1e-0c1a-4d3e-9b1a-000000000001', binary: 'nova-conductor', host: 'sandbox-controller', zone: 'internal' },
  { n: 2, uuid: '5d1b2b1e-0c1a-4d3e-9b1a-000000000002', binary: 'nova-scheduler', host: 'sandbox-controller', zone: 'internal' },
  { n: 3, uuid: '5d1b2b1e-0c1a-4d3e-9b1a-000000000003', binary: 'nova-compute', host: HOST, zone: 'nova' },
] as const;

interface ServiceRecord extends Resource {
  n: number;
  uuid: string;
  binary: string;
  host: string;
  zone: string;
  disabled: boolean;
  disabled_reason: string | null;
  forced_down: boolean;
}

interface AggregateRecord extends Resource {
  /** Nova's integer aggregate id (the record id is its uuid). */
  serial: number;
  name: string;
  availability_zone: string | null;
  hosts: string[];
  metadata: Record<string, string>;
  /** Changed since create (Nova's updated_at is null until then). */
  modified?: boolean;
}

interface MigrationRecord extends Resource {
  uuid: string;
  serial: number;
  project_id: string;
  user_id: string;
  instance_uuid: string;
  status: string;
  migration_type: 'resize' | 'migration' | 'live-migration' | 'evacuation';
  old_flavor_serial: number;
  new_flavor_serial: number;
}

/** Nova's migrations name flavors by their integer database id; ours is derived from the flavor id. */
function flavorSerial(id: string): number {
  const n = Number(id);
  return Number.isInteger(n) && n > 0 ? n : Number.parseInt(id.replace(/[^0-9a-f]/gi, '').slice(0, 6) || '0', 16);
}

/** Console lines of a (re)boot. */
function bootLines(s: ServerRecord): string[] {
  return [
    `[    0.000000] Linux version 6.1.0-sandbox (stackgate@sandbox) #1 SMP`,
    `[    1.234567] smpboot: Allowing ${s.flavor.vcpus} CPUs`,
    `${s.hostname} login: `,
  ];
}

/** What the other sandbox services ask of compute. */
export function computeSide(cloud: SandboxCloud): ComputeSide {
  return {
    serversUsingImage: (imageId) => cloud.store.list<ServerRecord>('server', { where: (s) => s.image_id === imageId }).map((s) => s.id),
    serverExists: (projectId, serverId) => cloud.store.get<ServerRecord>('server', serverId)?.project_id === projectId,
  };
}

/**
 * Nova's v2.1 extension list, frozen since microversions replaced extensions:
 * [alias, name]. Clients (Tempest among them) look some up by alias.
 */
const EXTENSIONS: readonly (readonly [string, string])[] = [
  ['NMN', 'Multinic'], ['OS-DCF', 'DiskConfig'], ['OS-EXT-AZ', 'ExtendedAvailabilityZone'], ['OS-EXT-IMG-SIZE', 'ImageSize'],
  ['OS-EXT-IPS', 'ExtendedIps'], ['OS-EXT-IPS-MAC', 'ExtendedIpsMac'], ['OS-EXT-SRV-ATTR', 'ExtendedServerAttributes'],
  ['OS-EXT-STS', 'ExtendedStatus'], ['OS-FLV-DISABLED', 'FlavorDisabled'], ['OS-FLV-EXT-DATA', 'FlavorExtraData'],
  ['OS-SCH-HNT', 'SchedulerHints'], ['OS-SRV-USG', 'ServerUsage'], ['os-access-ips', 'AccessIPs'], ['os-admin-actions', 'AdminActions'],
  ['os-admin-password', 'AdminPassword'], ['os-agents', 'Agents'], ['os-aggregates', 'Aggregates'],
  ['os-assisted-volume-snapshots', 'AssistedVolumeSnapshots'], ['os-attach-interfaces', 'AttachInterfaces'],
  ['os-availability-zone', 'AvailabilityZone'], ['os-baremetal-ext-status', 'BareMetalExtStatus'], ['os-baremetal-nodes', 'BareMetalNodes'],
  ['os-block-device-mapping', 'BlockDeviceMapping'], ['os-block-device-mapping-v2-boot', 'BlockDeviceMappingV2Boot'],
  ['os-cell-capacities', 'CellCapacities'], ['os-cells', 'Cells'], ['os-certificates', 'Certificates'], ['os-cloudpipe', 'Cloudpipe'],
  ['os-cloudpipe-update', 'CloudpipeUpdate'], ['os-config-drive', 'ConfigDrive'], ['os-console-auth-tokens', 'ConsoleAuthTokens'],
  ['os-console-output', 'ConsoleOutput'], ['os-consoles', 'Consoles'], ['os-create-backup', 'CreateBackup'],
  ['os-create-server-ext', 'Createserverext'], ['os-deferred-delete', 'DeferredDelete'], ['os-evacuate', 'Evacuate'],
  ['os-extended-evacuate-find-host', 'ExtendedEvacuateFindHost'], ['os-extended-floating-ips', 'ExtendedFloatingIps'],
  ['os-extended-hypervisors', 'ExtendedHypervisors'], ['os-extended-networks', 'ExtendedNetworks'], ['os-extended-quotas', 'ExtendedQuotas'],
  ['os-extended-rescue-with-image', 'ExtendedRescueWithImage'], ['os-extended-services', 'ExtendedServices'],
  ['os-extended-services-delete', 'ExtendedServicesDelete'], ['os-extended-status', 'ExtendedStatus'], ['os-extended-volumes', 'ExtendedVolumes'],
  ['os-fixed-ips', 'FixedIPs'], ['os-flavor-access', 'FlavorAccess'], ['os-flavor-extra-specs', 'FlavorExtraSpecs'],
  ['os-flavor-manage', 'FlavorManage'], ['os-flavor-rxtx', 'FlavorRxtx'], ['os-flavor-swap', 'FlavorSwap'],
  ['os-floating-ip-dns', 'FloatingIpDns'], ['os-floating-ip-pools', 'FloatingIpPools'], ['os-floating-ips', 'FloatingIps'],
  ['os-floating-ips-bulk', 'FloatingIpsBulk'], ['os-fping', 'Fping'], ['os-hide-server-addresses', 'HideServerAddresses'],
  ['os-hosts', 'Hosts'], ['os-hypervisor-status', 'HypervisorStatus'], ['os-hypervisors', 'Hypervisors'],
  ['os-instance-actions', 'InstanceActions'], ['os-instance_usage_audit_log', 'OSInstanceUsageAuditLog'], ['os-keypairs', 'Keypairs'],
  ['os-lock-server', 'LockServer'], ['os-migrate-server', 'MigrateServer'], ['os-migrations', 'Migrations'],
  ['os-multiple-create', 'MultipleCreate'], ['os-networks', 'Networks'], ['os-networks-associate', 'NetworkAssociationSupport'],
  ['os-pause-server', 'PauseServer'], ['os-personality', 'Personality'], ['os-preserve-ephemeral-rebuild', 'PreserveEphemeralOnRebuild'],
  ['os-quota-class-sets', 'QuotaClasses'], ['os-quota-sets', 'Quotas'], ['os-rescue', 'Rescue'], ['os-security-group-default-rules', 'SecurityGroupDefaultRules'],
  ['os-security-groups', 'SecurityGroups'], ['os-server-diagnostics', 'ServerDiagnostics'], ['os-server-external-events', 'ServerExternalEvents'],
  ['os-server-group-quotas', 'ServerGroupQuotas'], ['os-server-groups', 'ServerGroups'], ['os-server-list-multi-status', 'ServerListMultiStatus'],
  ['os-server-password', 'ServerPassword'], ['os-server-sort-keys', 'ServerSortKeys'], ['os-server-start-stop', 'ServerStartStop'],
  ['os-services', 'Services'], ['os-shelve', 'Shelve'], ['os-simple-tenant-usage', 'SimpleTenantUsage'], ['os-suspend-server', 'SuspendServer'],
  ['os-tenant-networks', 'OSTenantNetworks'], ['os-used-limits', 'UsedLimits'], ['os-used-limits-for-admin', 'UsedLimitsForAdmin'],
  ['os-user-data', 'UserData'], ['os-user-quotas', 'UserQuotas'], ['os-virtual-interfaces', 'VirtualInterfaces'],
  ['os-volume-attachment-update', 'VolumeAttachmentUpdate'], ['os-volumes', 'Volumes'],
];

function extensionView([alias, name]: readonly [string, string]) {
  return {
    alias, name, description: `${name}, as the sandbox's Nova serves it.`, links: [],
    namespace: 'http://docs.openstack.org/compute/ext/fake_xml', updated: '2014-12-03T00:00:00Z',
  };
}
