/**
 * Nova's proxy APIs in the sandbox: images and image metadata (Glance),
 * os-security-groups and rules, os-floating-ips and pools, os-networks and
 * os-tenant-networks (Neutron), os-volumes and os-snapshots (Cinder). As in
 * Nova, each call goes to the other service's API with the caller's context
 * (the sides' `api`), and its answer is turned into Nova's shape; the other
 * service's faults become the ones Nova answers. SandboxCompute's methods
 * delegate here.
 */
import type { RequestContext } from '../../generated/common.js';
import { Fault, isFault } from '../../src/faults.js';
import type { ImageRecord, SandboxCloud } from './cloud.js';
import { links } from './compute-views.js';

type Ctx = RequestContext;

function isAdmin(ctx: Ctx): boolean {
  return ctx.auth?.isAdmin === true;
}

/** Runs a call of another service and turns its faults into Nova's (by status; others pass). */
async function mapped<T>(call: Promise<unknown>, faults: Partial<Record<number, (f: Fault) => Fault>>): Promise<T> {
  try {
    return (await call) as T;
  } catch (err) {
    if (isFault(err)) {
      const map = faults[err.status];
      if (map) throw map(err);
    }
    throw err;
  }
}

/** A fault of another service, answered by Nova with `kind` and that service's message. */
const pass = (kind: 'badRequest' | 'forbidden' | 'notFound' | 'conflict') => (f: Fault): Fault => Fault[kind](f.message);

/** Nova writes times as `2011-01-01T01:02:03Z`. */
function novaTime(t: string | null | undefined): string | null {
  if (!t) return null;
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(t) ? t : `${t}Z`);
  return Number.isNaN(ms) ? t : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

// ---- images -------------------------------------------------------------------

/** Glance status → Nova's (nova/api/openstack/compute/views/images.py). */
const IMAGE_STATUS: Record<string, string> = {
  active: 'ACTIVE', queued: 'SAVING', saving: 'SAVING', uploading: 'SAVING', importing: 'SAVING',
  deleted: 'DELETED', pending_delete: 'DELETED', killed: 'ERROR',
};
const IMAGE_PROGRESS: Record<string, number> = { queued: 25, saving: 50, active: 100 };
/** Nova's `max_metadata_items` quota, which image metadata counts against. */
const METADATA_ITEMS = 128;

interface GlanceLike extends ImageRecord {
  properties?: Record<string, unknown>;
}

function imageProps(img: GlanceLike): Record<string, string> {
  const props: Record<string, string> = {};
  for (const [k, v] of Object.entries(img.properties ?? {})) props[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return props;
}

// ---- Neutron and Cinder answers, as Nova reads them ------------------------------

interface NeutronRule {
  id: string; security_group_id: string; direction: string; ethertype: string; protocol: string | null;
  port_range_min: number | null; port_range_max: number | null; remote_ip_prefix: string | null; remote_group_id: string | null;
}
interface NeutronGroup { id: string; name: string; description: string; tenant_id: string; security_group_rules: NeutronRule[] }
interface NeutronFip { id: string; floating_ip_address: string; floating_network_id: string; fixed_ip_address: string | null; port_id: string | null; tenant_id: string }
interface NeutronNetwork { id: string; name: string; subnets: string[]; 'router:external'?: boolean }
interface NeutronPort { id: string; device_id: string; device_owner: string; fixed_ips: { subnet_id: string; ip_address: string }[] }
interface CinderVolume {
  id: string; name: string | null; description: string | null; status: string; size: number; availability_zone: string | null;
  created_at: string; volume_type: string | null; snapshot_id: string | null; metadata: Record<string, string>;
  attachments: { server_id: string; device: string | null }[];
}
interface CinderSnapshot { id: string; name: string | null; description: string | null; status: string; size: number; volume_id: string; created_at: string }

/** Nova's rule shape (nova/network/security_group_api.py, before the view). */
interface NovaRule {
  id: string; parent_group_id: string; protocol: string | null; from_port: number | null; to_port: number | null;
  group_id: string | null; cidr: string;
}

function novaRule(r: NeutronRule): NovaRule {
  let from = r.port_range_min, to = r.port_range_max;
  if (r.protocol && from === null && to === null) {
    [from, to] = ['tcp', 'udp'].includes(r.protocol.toLowerCase()) ? [1, 65535] : [-1, -1];
  }
  return { id: r.id, parent_group_id: r.security_group_id, protocol: r.protocol, from_port: from, to_port: to, group_id: r.remote_group_id, cidr: r.remote_ip_prefix || '0.0.0.0/0' };
}

export class NovaProxy {
  constructor(readonly cloud: SandboxCloud) {}

  private project(ctx: Ctx): string {
    return this.cloud.project(ctx);
  }

  // ---- images ----

  private image(ctx: Ctx, id: string): GlanceLike {
    const img = this.cloud.image.visibleImage(this.project(ctx), isAdmin(ctx), id);
    if (!img) throw Fault.notFound('Image not found.');
    return img;
  }

  imageView(ctx: Ctx, img: GlanceLike, detail: boolean): Record<string, unknown> {
    const glance = ctx.endpoint.replace(/\/[^/]+$/, '/image');
    const view: Record<string, unknown> = {
      id: img.id, name: img.name ?? null,
      links: [...links(ctx, 'images', img.id), { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${glance}/images/${img.id}` }],
    };
    if (!detail) return view;
    const props = imageProps(img);
    Object.assign(view, {
      minRam: img.min_ram, minDisk: img.min_disk, metadata: props,
      created: novaTime(img.created_at), updated: novaTime(img.updated_at),
      status: IMAGE_STATUS[img.status] ?? 'UNKNOWN', progress: IMAGE_PROGRESS[img.status] ?? 0,
      'OS-EXT-IMG-SIZE:size': img.size ?? 0,
    });
    if (props.instance_uuid) view.server = { id: props.instance_uuid, links: links(ctx, 'servers', props.instance_uuid) };
    if (props.auto_disk_config !== undefined) view['OS-DCF:diskConfig'] = ['true', 'True', '1'].includes(props.auto_disk_config) ? 'AUTO' : 'MANUAL';
    return view;
  }

  /** GET /images[/detail]: Nova's filters over Glance's list (newest first), then limit and marker. */
  listImages(ctx: Ctx, query: Record<string, unknown>, detail: boolean): Record<string, unknown> {
    let images = this.cloud.image.visibleImages(this.project(ctx), isAdmin(ctx)) as GlanceLike[];
    const q = (k: string) => (query[k] === undefined ? undefined : String(query[k]));
    const num = (k: string) => {
      const v = q(k);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n)) throw Fault.badRequest(`Invalid ${k} filter [${v}]`);
      return n;
    };
    const name = q('name'), status = q('status'), server = q('server'), type = q('type'), since = q('changes-since');
    const minRam = num('minRam'), minDisk = num('minDisk');
    if (name !== undefined) images = images.filter((i) => i.name === name);
    if (status !== undefined) images = images.filter((i) => (IMAGE_STATUS[i.status] ?? 'UNKNOWN') === status.toUpperCase());
    // `server` may be the server's URL: its last segment is the id.
    if (server !== undefined) images = images.filter((i) => imageProps(i).instance_uuid === server.split('/').pop());
    if (type !== undefined) images = images.filter((i) => imageProps(i).image_type === type);
    if (minRam !== undefined) images = images.filter((i) => i.min_ram >= minRam);
    if (minDisk !== undefined) images = images.filter((i) => i.min_disk >= minDisk);
    if (since !== undefined) {
      const t = Date.parse(since);
      if (Number.isNaN(t)) throw Fault.badRequest(`Invalid changes-since value: ${since}`);
      images = images.filter((i) => Date.parse(i.updated_at) >= t);
    }
    for (const [k, v] of Object.entries(query)) {
      if (k.startsWith('property-')) images = images.filter((i) => imageProps(i)[k.slice('property-'.length)] === String(v));
    }
    images = [...images].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
    const marker = q('marker');
    if (marker !== undefined) {
      const i = images.findIndex((x) => x.id === marker);
      if (i < 0) throw Fault.badRequest(`marker [${marker}] not found`);
      images = images.slice(i + 1);
    }
    const limit = num('limit');
    if (limit !== undefined) {
      if (limit < 0) throw Fault.badRequest('limit param must be positive');
      images = images.slice(0, limit);
    }
    const body: Record<string, unknown> = { images: images.map((i) => this.imageView(ctx, i, detail)) };
    if (limit !== undefined && images.length === limit && limit > 0) {
      const u = new URL(ctx.url);
      u.searchParams.set('marker', images[images.length - 1]!.id);
      body.images_links = [{ rel: 'next', href: u.toString() }];
    }
    return body;
  }

  showImage(ctx: Ctx, id: string): Record<string, unknown> {
    return { image: this.imageView(ctx, this.image(ctx, id), true) };
  }

  async deleteImage(ctx: Ctx, id: string): Promise<void> {
    await mapped(this.cloud.image.api('deleteImage', ctx, { path: { image_id: id } }), {
      404: () => Fault.notFound('Image not found.'),
      403: () => Fault.forbidden('You are not allowed to delete the image.'),
      409: pass('conflict'),
    });
  }

  imageMetadata(ctx: Ctx, id: string): Record<string, string> {
    return imageProps(this.image(ctx, id));
  }

  /** Glance's JSON patch that makes the image's properties `want` (removing the others when `purge`). */
  async setImageMetadata(ctx: Ctx, id: string, want: Record<string, string>, purge: boolean): Promise<Record<string, string>> {
    const img = this.image(ctx, id);
    const have = imageProps(img);
    const merged = purge ? { ...want } : { ...have, ...want };
    if (Object.keys(merged).length > METADATA_ITEMS) throw Fault.forbidden(`Quota exceeded for metadata items: the limit is ${METADATA_ITEMS}.`);
    const ops: { op: string; path: string; value?: string }[] = [];
    const pointer = (k: string) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    for (const [k, v] of Object.entries(want)) ops.push({ op: k in have ? 'replace' : 'add', path: pointer(k), value: v });
    if (purge) for (const k of Object.keys(have)) if (!(k in want)) ops.push({ op: 'remove', path: pointer(k) });
    if (ops.length) {
      await mapped(this.cloud.image.api('updateImage', ctx, {
        path: { image_id: id }, body: ops, headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
      }), { 404: () => Fault.notFound('Image not found.'), 403: pass('forbidden'), 409: pass('conflict'), 413: pass('forbidden') });
    }
    return this.imageMetadata(ctx, id);
  }

  // ---- security groups ----

  private async neutronGroup(ctx: Ctx, id: string): Promise<NeutronGroup> {
    const body = await mapped<{ security_group: NeutronGroup }>(this.cloud.network.api('showSecurityGroup', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Security group ${id} not found.`),
    });
    return body.security_group;
  }

  /** Nova's group view: ingress rules only, a peer group by name and project. */
  private async groupView(ctx: Ctx, g: NeutronGroup, known: NeutronGroup[] = []): Promise<Record<string, unknown>> {
    const rules: Record<string, unknown>[] = [];
    for (const r of g.security_group_rules.filter((x) => x.direction === 'ingress')) rules.push(await this.ruleView(ctx, novaRule(r), [g, ...known]));
    return { id: g.id, name: g.name, description: g.description, tenant_id: g.tenant_id, rules };
  }

  private async ruleView(ctx: Ctx, r: NovaRule, known: NeutronGroup[] = []): Promise<Record<string, unknown>> {
    const view: Record<string, unknown> = {
      id: r.id, parent_group_id: r.parent_group_id, ip_protocol: r.protocol, from_port: r.from_port, to_port: r.to_port, group: {}, ip_range: {},
    };
    if (r.group_id) {
      let peer = known.find((g) => g.id === r.group_id);
      if (!peer) {
        try { peer = await this.neutronGroup(ctx, r.group_id); } catch { peer = undefined; }
      }
      view.group = peer ? { name: peer.name, tenant_id: peer.tenant_id } : {};
    } else {
      view.ip_range = { cidr: r.cidr };
    }
    return view;
  }

  private checkGroupText(value: unknown, what: 'name' | 'description'): string {
    if (typeof value !== 'string') throw Fault.badRequest(`Security group ${what} is not a string or unicode`);
    const v = value.trim();
    if (!v) throw Fault.badRequest(`Security group ${what} cannot be empty.`);
    if (value.length > 255) throw Fault.badRequest(`Security group ${what} should not be greater than 255 characters.`);
    return value;
  }

  async listSecurityGroups(ctx: Ctx, query: Record<string, unknown>): Promise<Record<string, unknown>> {
    const all = isAdmin(ctx) && ['1', 't', 'true', 'on', 'y', 'yes'].includes(String(query.all_tenants ?? '').toLowerCase());
    const body = await this.cloud.network.api('listSecurityGroups', ctx, { query: all ? { all_tenants: 'True' } : { tenant_id: this.project(ctx) } }) as { security_groups: NeutronGroup[] };
    const groups: Record<string, unknown>[] = [];
    for (const g of body.security_groups) groups.push(await this.groupView(ctx, g, body.security_groups));
    const offset = query.offset === undefined ? 0 : Number(query.offset);
    const limit = query.limit === undefined ? undefined : Number(query.limit);
    if (!Number.isInteger(offset) || offset < 0) throw Fault.badRequest('offset param must be an integer');
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw Fault.badRequest('limit param must be an integer');
    return { security_groups: groups.slice(offset, limit === undefined ? undefined : offset + limit) };
  }

  async showSecurityGroup(ctx: Ctx, id: string): Promise<Record<string, unknown>> {
    return { security_group: await this.groupView(ctx, await this.neutronGroup(ctx, id)) };
  }

  async createSecurityGroup(ctx: Ctx, body: { name?: unknown; description?: unknown }): Promise<Record<string, unknown>> {
    const name = this.checkGroupText(body.name, 'name');
    const description = this.checkGroupText(body.description, 'description');
    const made = await mapped<{ security_group: NeutronGroup }>(this.cloud.network.api('createSecurityGroup', ctx, { body: { security_group: { name, description } } }), {
      400: pass('badRequest'), 409: pass('badRequest'),
    });
    return { security_group: await this.groupView(ctx, made.security_group) };
  }

  async updateSecurityGroup(ctx: Ctx, id: string, body: { name?: unknown; description?: unknown }): Promise<Record<string, unknown>> {
    const name = this.checkGroupText(body.name, 'name');
    const description = this.checkGroupText(body.description, 'description');
    const got = await mapped<{ security_group: NeutronGroup }>(this.cloud.network.api('updateSecurityGroup', ctx, { path: { id }, body: { security_group: { name, description } } }), {
      404: () => Fault.notFound(`Security group ${id} not found.`), 400: pass('badRequest'), 409: pass('badRequest'),
    });
    return { security_group: await this.groupView(ctx, got.security_group) };
  }

  async deleteSecurityGroup(ctx: Ctx, id: string): Promise<void> {
    // Neutron's 409 (the default group, a group in use) is Nova's 400.
    await mapped(this.cloud.network.api('deleteSecurityGroup', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Security group ${id} not found.`), 409: pass('badRequest'),
    });
  }

  /** Nova's _new_ingress_rule: ports and protocol checked, or null when a CIDR rule lacks them. */
  private ruleArgs(b: { ip_protocol?: unknown; from_port?: unknown; to_port?: unknown; cidr?: unknown; group_id?: unknown }): { protocol?: string; from_port?: number; to_port?: number; cidr?: string } | null {
    const values: { protocol?: string; from_port?: number; to_port?: number; cidr?: string } = {};
    const cidr = b.group_id ? undefined : typeof b.cidr === 'string' && b.cidr ? b.cidr : '0.0.0.0/0';
    if (cidr) values.cidr = cidr;
    const proto = b.ip_protocol === undefined || b.ip_protocol === null ? '' : String(b.ip_protocol);
    if (proto && b.from_port !== undefined && b.from_port !== null && b.to_port !== undefined && b.to_port !== null) {
      const from = Number(b.from_port), to = Number(b.to_port);
      const upper = proto.toUpperCase();
      if (!Number.isInteger(from) || !Number.isInteger(to)) {
        throw Fault.badRequest(`Invalid input received: ${upper === 'ICMP' ? 'Type and Code must be integers for ICMP protocol type' : 'To and From ports must be integers'}`);
      }
      if (!['TCP', 'UDP', 'ICMP'].includes(upper)) throw Fault.badRequest(`Invalid IP protocol ${proto}.`);
      if (['TCP', 'UDP'].includes(upper) && from > to) throw Fault.badRequest(`Invalid port range ${from}:${to}. Former value cannot be greater than the later`);
      if (['TCP', 'UDP'].includes(upper) && (from < 1 || to > 65535)) throw Fault.badRequest(`Invalid port range ${from}:${to}. Valid ${upper} ports should be between 1-65535`);
      if (upper === 'ICMP' && (from < -1 || from > 255 || to < -1 || to > 255)) throw Fault.badRequest(`Invalid port range ${from}:${to}. For ICMP, the type:code must be valid`);
      Object.assign(values, { protocol: proto, from_port: from, to_port: to });
    } else if (cidr) {
      return null;
    }
    return values;
  }

  async createSecurityGroupRule(ctx: Ctx, b: { parent_group_id?: unknown; ip_protocol?: unknown; from_port?: unknown; to_port?: unknown; cidr?: unknown; group_id?: unknown }): Promise<Record<string, unknown>> {
    const parentId = String(b.parent_group_id ?? '');
    if (!UUID.test(parentId)) throw Fault.badRequest('Invalid input received: Security group id should be uuid');
    const parent = await this.neutronGroup(ctx, parentId);
    let peer: NeutronGroup | undefined;
    if (b.group_id !== undefined && b.group_id !== null) {
      const gid = String(b.group_id);
      if (!UUID.test(gid)) throw Fault.badRequest('Invalid input received: Security group id should be uuid');
      peer = await this.neutronGroup(ctx, gid);
    }
    const args = this.ruleArgs(b);
    if (args === null) throw Fault.badRequest('Not enough parameters to build a valid rule.');
    if (args.cidr) {
      const [net, prefix] = args.cidr.split('/');
      if (prefix === undefined || !/^\d+$/.test(prefix)) throw Fault.badRequest(`Invalid cidr ${args.cidr}.`);
      if (net !== '0.0.0.0' && net !== '::' && prefix === '0') throw Fault.badRequest(`Bad prefix for network in cidr ${args.cidr}`);
    }
    const wanted: NovaRule = {
      id: '', parent_group_id: parent.id, protocol: args.protocol ?? null, from_port: args.from_port ?? null, to_port: args.to_port ?? null,
      group_id: peer?.id ?? null, cidr: args.cidr ?? '0.0.0.0/0',
    };
    const same = (r: NovaRule) => (['cidr', 'from_port', 'group_id', 'parent_group_id', 'to_port'] as const).every((k) => r[k] === wanted[k])
      && (r.protocol ?? '').toLowerCase() === (wanted.protocol ?? '').toLowerCase();
    if (parent.security_group_rules.filter((r) => r.direction === 'ingress').map(novaRule).some(same)) {
      throw Fault.badRequest(`This rule already exists in group ${parent.id}`);
    }
    const icmp = wanted.protocol?.toLowerCase() === 'icmp';
    const port = (p: number | null) => (p === null || (icmp && p === -1) ? null : p);
    const ethertype = peer ? 'IPv4' : (wanted.cidr.includes(':') ? 'IPv6' : 'IPv4');
    const made = await mapped<{ security_group_rule: NeutronRule }>(this.cloud.network.api('createSecurityGroupRule', ctx, {
      body: {
        security_group_rule: {
          security_group_id: parent.id, direction: 'ingress', ethertype, protocol: wanted.protocol?.toLowerCase() ?? null,
          port_range_min: port(wanted.from_port), port_range_max: port(wanted.to_port),
          ...(peer ? { remote_group_id: peer.id } : { remote_ip_prefix: wanted.cidr }),
        },
      },
    }), { 404: pass('notFound'), 400: pass('badRequest'), 409: pass('forbidden') });
    return { security_group_rule: await this.ruleView(ctx, novaRule(made.security_group_rule), peer ? [parent, peer] : [parent]) };
  }

  async deleteSecurityGroupRule(ctx: Ctx, id: string): Promise<void> {
    if (!UUID.test(id)) throw Fault.badRequest('Invalid input received: Security group id should be uuid');
    await mapped(this.cloud.network.api('deleteSecurityGroupRule', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Rule (${id}) not found`),
    });
  }

  /** The server's groups, as Nova shows them under servers/{id}/os-security-groups. */
  async serverSecurityGroups(ctx: Ctx, serverId: string): Promise<Record<string, unknown>> {
    const ids = new Set<string>();
    for (const p of this.cloud.network.serverPorts(serverId)) for (const g of p.security_groups) ids.add(g);
    const groups: Record<string, unknown>[] = [];
    for (const id of ids) {
      try { groups.push(await this.groupView(ctx, await this.neutronGroup(ctx, id))); } catch { /* a group the caller cannot see is left out */ }
    }
    return { security_groups: groups };
  }

  // ---- floating IPs ----

  private fipView(f: NeutronFip, pools: { id: string; name: string }[]): Record<string, unknown> {
    let instance: string | null = null;
    if (f.port_id) {
      const port = this.cloud.store.get<NeutronPort & { id: string; project_id: string | null; created_at: string; updated_at: string }>('port', f.port_id);
      if (port?.device_owner.startsWith('compute:')) instance = port.device_id;
    }
    const pool = pools.find((p) => p.id === f.floating_network_id);
    return { id: f.id, ip: f.floating_ip_address, pool: pool?.name || f.floating_network_id, fixed_ip: f.fixed_ip_address, instance_id: instance };
  }

  private async allFips(ctx: Ctx): Promise<NeutronFip[]> {
    const body = await this.cloud.network.api('listFloatingips', ctx, { query: { tenant_id: this.project(ctx) } }) as { floatingips: NeutronFip[] };
    return body.floatingips;
  }

  async listFloatingIps(ctx: Ctx): Promise<Record<string, unknown>> {
    const pools = this.cloud.network.floatingPools();
    return { floating_ips: (await this.allFips(ctx)).map((f) => this.fipView(f, pools)) };
  }

  async showFloatingIp(ctx: Ctx, id: string): Promise<Record<string, unknown>> {
    const body = await mapped<{ floatingip: NeutronFip }>(this.cloud.network.api('showFloatingip', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Floating IP not found for ID ${id}`),
    });
    return { floating_ip: this.fipView(body.floatingip, this.cloud.network.floatingPools()) };
  }

  async createFloatingIp(ctx: Ctx, poolName: string | undefined): Promise<Record<string, unknown>> {
    const pools = this.cloud.network.floatingPools();
    // Without a pool, the sandbox's first one (Nova's `default_floating_pool`).
    const matches = poolName === undefined ? pools.slice(0, 1) : pools.filter((p) => p.name === poolName || p.id === poolName);
    if (!matches.length) throw Fault.notFound('Floating IP pool not found.');
    if (matches.length > 1) throw Fault.conflict(`Multiple floating IP pools match name ${poolName}.`);
    const pool = matches[0]!;
    const body = await mapped<{ floatingip: NeutronFip }>(this.cloud.network.api('createFloatingip', ctx, { body: { floatingip: { floating_network_id: pool.id } } }), {
      409: (f) => (/quota/i.test(f.message) ? Fault.forbidden(`IP allocation over quota in pool ${pool.name}.`) : Fault.notFound(`No more floating IPs in pool ${pool.name}.`)),
      400: pass('badRequest'),
    });
    return { floating_ip: this.fipView(body.floatingip, pools) };
  }

  async deleteFloatingIp(ctx: Ctx, id: string): Promise<void> {
    await mapped(this.cloud.network.api('deleteFloatingip', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Floating IP not found for ID ${id}`),
    });
  }

  private async fipByAddress(ctx: Ctx, address: string): Promise<NeutronFip> {
    const found = (await this.allFips(ctx)).find((f) => f.floating_ip_address === address);
    if (!found) throw Fault.notFound(`floating IP not found`);
    return found;
  }

  /** addFloatingIp: the server's first fixed IPv4 address (or the one named) gets the floating IP. */
  async associateFloatingIp(ctx: Ctx, serverId: string, address: string, fixedAddress?: string): Promise<void> {
    if (!address) throw Fault.badRequest("Invalid input for field/attribute address. Value: ''. '' is not a 'ip-address'");
    const ports = this.cloud.network.serverPorts(serverId);
    const fixed = ports.flatMap((p) => p.fixed_ips.map((ip) => ({ port: p.id, address: ip.ip_address })));
    if (!fixed.length) throw Fault.badRequest('No fixed IPs associated to instance');
    let chosen = fixed.find((x) => x.address === fixedAddress);
    if (fixedAddress !== undefined && !chosen) throw Fault.badRequest('Specified fixed address not assigned to instance');
    chosen ??= fixed.find((x) => !x.address.includes(':'));
    if (!chosen) {
      throw Fault.badRequest(`Unable to associate floating IP ${address} to any fixed IPs for instance ${serverId}. Instance has no fixed IPv4 addresses to associate.`);
    }
    const fip = await this.fipByAddress(ctx, address);
    await mapped(this.cloud.network.api('updateFloatingip', ctx, { path: { id: fip.id }, body: { floatingip: { port_id: chosen.port, fixed_ip_address: chosen.address } } }), {
      400: (f) => Fault.badRequest(`Unable to associate floating IP ${address} to fixed IP ${chosen!.address} for instance ${serverId}. Error: ${f.message}`),
      404: (f) => Fault.badRequest(`Unable to associate floating IP ${address} to fixed IP ${chosen!.address} for instance ${serverId}. Error: ${f.message}`),
      409: (f) => Fault.badRequest(`floating IP is already associated: ${f.message}`),
    });
  }

  /** removeFloatingIp: 409 unless the address is the server's. */
  async disassociateFloatingIp(ctx: Ctx, serverId: string, address: string): Promise<void> {
    const fip = await this.fipByAddress(ctx, address);
    const owner = fip.port_id ? this.cloud.network.serverPorts(serverId).some((p) => p.id === fip.port_id) : false;
    if (!owner) throw Fault.conflict(`Floating IP ${address} is not associated with instance ${serverId}.`);
    await this.cloud.network.api('updateFloatingip', ctx, { path: { id: fip.id }, body: { floatingip: { port_id: null } } });
  }

  listFloatingIpPools(): Record<string, unknown> {
    return { floating_ip_pools: this.cloud.network.floatingPools().map((p) => ({ name: p.name })) };
  }

  // ---- networks ----

  private async networks(ctx: Ctx): Promise<NeutronNetwork[]> {
    const body = await this.cloud.network.api('listNetworks', ctx, {}) as { networks: NeutronNetwork[] };
    return body.networks;
  }

  private async network(ctx: Ctx, id: string): Promise<NeutronNetwork> {
    const body = await mapped<{ network: NeutronNetwork }>(this.cloud.network.api('showNetwork', ctx, { path: { network_id: id } }), {
      404: () => Fault.notFound('Network not found.'),
    });
    return body.network;
  }

  /** os-networks: Neutron networks by id and label; nova-network's other fields are null. */
  private osNetworkView(ctx: Ctx, n: NeutronNetwork): Record<string, unknown> {
    const fields = ['cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6', 'gateway_v6', 'netmask_v6'];
    const admin = ['created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan', 'vpn_public_address', 'vpn_public_port',
      'vpn_private_address', 'dhcp_start', 'project_id', 'host', 'bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'mtu', 'dhcp_server', 'enable_dhcp', 'share_address'];
    const view: Record<string, unknown> = { id: n.id, label: n.name };
    for (const f of [...fields, ...(isAdmin(ctx) ? admin : [])]) view[f] = null;
    return view;
  }

  async listNetworks(ctx: Ctx): Promise<Record<string, unknown>> {
    return { networks: (await this.networks(ctx)).map((n) => this.osNetworkView(ctx, n)) };
  }

  async showNetwork(ctx: Ctx, id: string): Promise<Record<string, unknown>> {
    return { network: this.osNetworkView(ctx, await this.network(ctx, id)) };
  }

  private tenantNetworkView(n: NeutronNetwork): Record<string, unknown> {
    return { id: n.id, cidr: 'None', label: n.name };
  }

  async listTenantNetworks(ctx: Ctx): Promise<Record<string, unknown>> {
    return { networks: (await this.networks(ctx)).map((n) => this.tenantNetworkView(n)) };
  }

  async showTenantNetwork(ctx: Ctx, id: string): Promise<Record<string, unknown>> {
    return { network: this.tenantNetworkView(await this.network(ctx, id)) };
  }

  // ---- volumes and snapshots ----

  private volumeView(v: CinderVolume): Record<string, unknown> {
    const attached = v.attachments.filter((a) => a.server_id);
    return {
      id: v.id, status: v.status, size: v.size, availabilityZone: v.availability_zone, createdAt: novaTime(v.created_at),
      attachments: attached.length ? attached.map((a) => ({ id: v.id, volumeId: v.id, serverId: a.server_id, ...(a.device ? { device: a.device } : {}) })) : [{}],
      displayName: v.name, displayDescription: v.description, volumeType: v.volume_type, snapshotId: v.snapshot_id, metadata: v.metadata ?? {},
    };
  }

  private snapshotView(s: CinderSnapshot): Record<string, unknown> {
    return { id: s.id, volumeId: s.volume_id, status: s.status, size: s.size, createdAt: novaTime(s.created_at), displayName: s.name, displayDescription: s.description };
  }

  /** Nova's common.limited: offset and limit over the whole list. */
  private limited<T>(items: T[], query: Record<string, unknown>): T[] {
    const offset = query.offset === undefined ? 0 : Number(query.offset);
    const limit = query.limit === undefined ? undefined : Number(query.limit);
    if (!Number.isInteger(offset) || offset < 0) throw Fault.badRequest('offset param must be an integer');
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw Fault.badRequest('limit param must be an integer');
    return items.slice(offset, limit === undefined ? undefined : offset + limit);
  }

  async listVolumes(ctx: Ctx, query: Record<string, unknown>): Promise<Record<string, unknown>> {
    const body = await this.cloud.volume.api('listVolumesDetail', ctx, { query: { limit: 1000 } }) as { volumes: CinderVolume[] };
    return { volumes: this.limited(body.volumes, query).map((v) => this.volumeView(v)) };
  }

  async showVolume(ctx: Ctx, id: string): Promise<Record<string, unknown>> {
    const body = await mapped<{ volume: CinderVolume }>(this.cloud.volume.api('showVolume', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Volume ${id} could not be found.`),
    });
    return { volume: this.volumeView(body.volume) };
  }

  async createVolume(ctx: Ctx, b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const made = await mapped<{ volume: CinderVolume }>(this.cloud.volume.api('createVolume', ctx, {
      body: {
        volume: {
          size: b.size, name: b.display_name ?? null, description: b.display_description ?? null,
          ...(b.volume_type ? { volume_type: b.volume_type } : {}), ...(b.metadata ? { metadata: b.metadata } : {}),
          ...(b.availability_zone ? { availability_zone: b.availability_zone } : {}), ...(b.snapshot_id ? { snapshot_id: b.snapshot_id } : {}),
          ...(b.imageRef ? { imageRef: b.imageRef } : {}),
        },
      },
    }), { 404: pass('notFound'), 413: pass('forbidden') });
    return { volume: this.volumeView(made.volume) };
  }

  async deleteVolume(ctx: Ctx, id: string): Promise<void> {
    await mapped(this.cloud.volume.api('deleteVolume', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Volume ${id} could not be found.`),
    });
  }

  async listSnapshots(ctx: Ctx, query: Record<string, unknown>): Promise<Record<string, unknown>> {
    const body = await this.cloud.volume.api('listSnapshotsDetail', ctx, { query: { limit: 1000 } }) as { snapshots: CinderSnapshot[] };
    return { snapshots: this.limited(body.snapshots, query).map((s) => this.snapshotView(s)) };
  }

  async showSnapshot(ctx: Ctx, id: string): Promise<Record<string, unknown>> {
    const body = await mapped<{ snapshot: CinderSnapshot }>(this.cloud.volume.api('showSnapshot', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Snapshot ${id} could not be found.`),
    });
    return { snapshot: this.snapshotView(body.snapshot) };
  }

  async createSnapshot(ctx: Ctx, b: { volume_id?: unknown; force?: unknown; display_name?: unknown; display_description?: unknown }): Promise<Record<string, unknown>> {
    const force = b.force === undefined ? false : ['1', 't', 'true', 'on', 'y', 'yes'].includes(String(b.force).toLowerCase());
    const made = await mapped<{ snapshot: CinderSnapshot }>(this.cloud.volume.api('createSnapshot', ctx, {
      body: { snapshot: { volume_id: b.volume_id ?? null, force, name: b.display_name ?? null, description: b.display_description ?? null } },
    }), { 404: pass('notFound'), 413: pass('forbidden') });
    return { snapshot: this.snapshotView(made.snapshot) };
  }

  async deleteSnapshot(ctx: Ctx, id: string): Promise<void> {
    await mapped(this.cloud.volume.api('deleteSnapshot', ctx, { path: { id } }), {
      404: () => Fault.notFound(`Snapshot ${id} could not be found.`),
    });
  }
}
