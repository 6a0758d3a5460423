/**
 * Nova over SoftLayer virtual guests (SoftLayer_Virtual_Guest): servers and
 * their actions, flavors (the configured sizes the account can order), key
 * pairs (SoftLayer_Security_Ssh_Key), availability zones (datacenters),
 * limits and quotas (read-only: SoftLayer has no per-project quota sets), and
 * Nova's image proxy over block device template groups.
 *
 * Server ids are SoftLayer guest ids; image ids are template globalIdentifiers,
 * or name-based ids of OS reference codes (cloud.ts, osImageUuid).
 */
import type { ComputeDriver, ComputeRequest, ComputeResponse } from '../../generated/index.js';
import { Reply, type RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { atLeast } from '../../src/microversion.js';
import { nextLink, paginate } from '../../src/paging.js';
import type { SoftLayerFlavor } from '../../src/config.js';
import { SoftLayerCloud, isOsImageUuid, isoZ, osImageUuid, slId, slUuid, type SlOsOption, type SlTemplate } from './cloud.js';
import { templateStatus } from './image.js';
import { getStorage, listStorage, type SlStorage } from './volume.js';
import { GROUP_MASK, type SlSecurityGroup } from './network.js';
import { generateSshKeypair } from '../../src/keypairs.js';
import { keypairList, keypairName, keypairNotFound, keypairView, requirePublicKeyFrom292, type KeypairFacts } from '../../src/nova-keypairs.js';

/** A SoftLayer_Security_Ssh_Key, as the mask reads it. */
interface SlSshKey { id: number; label: string; key: string; fingerprint: string; createDate?: string }

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

/** SoftLayer_Virtual_Guest as the mask below returns it. */
export interface SlGuest {
  id: number; globalIdentifier: string; hostname: string; domain: string; accountId: number;
  maxCpu: number; maxMemory: number; createDate: string; modifyDate?: string; provisionDate?: string | null;
  primaryIpAddress?: string; primaryBackendIpAddress?: string; notes?: string;
  powerState?: { keyName: string; name?: string };
  activeTransaction?: { id: number; transactionStatus?: { name: string; friendlyName?: string } };
  datacenter?: { id?: number; name: string };
  blockDevices?: { device: string; diskImage?: { capacity: number; units?: string } }[];
  blockDeviceTemplateGroup?: { globalIdentifier: string; name?: string };
  /** The OS the guest was ordered or reloaded with (also set when a template carries one). */
  operatingSystemReferenceCode?: string;
  sshKeys?: { id: number; label: string }[];
  networkComponents?: {
    id: number; port: number; macAddress?: string; primaryIpAddress?: string; networkVlanId?: number | null; status?: string;
    primarySubnet?: { id: number } | null; securityGroupBindings?: { securityGroupId: number }[];
  }[];
  tagReferences?: { tag?: { name: string } }[];
  userData?: { value: string }[];
}

export const GUEST_MASK = 'mask[id,globalIdentifier,hostname,domain,accountId,maxCpu,maxMemory,createDate,modifyDate,provisionDate,'
  + 'primaryIpAddress,primaryBackendIpAddress,notes,powerState[keyName,name],activeTransaction[id,transactionStatus[name,friendlyName]],'
  + 'datacenter[id,name],blockDevices[device,diskImage[capacity,units]],blockDeviceTemplateGroup[globalIdentifier,name],operatingSystemReferenceCode,sshKeys[id,label],'
  + 'networkComponents[id,port,macAddress,primaryIpAddress,networkVlanId,status,primarySubnet[id],securityGroupBindings[securityGroupId]],tagReferences[tag[name]]]';

/** Nova's power_state numbers (nova/compute/power_state.py). */
const POWER = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4 } as const;

/** Guest power states → Nova status, vm_state, power_state. */
const POWER_STATUS: Record<string, { status: string; vm: string; power: number }> = {
  RUNNING: { status: 'ACTIVE', vm: 'active', power: POWER.RUNNING },
  HALTED: { status: 'SHUTOFF', vm: 'stopped', power: POWER.SHUTDOWN },
  PAUSED: { status: 'PAUSED', vm: 'paused', power: POWER.PAUSED },
};

/** Transaction names (by substring) → what Nova shows while they run. */
const TRANSACTION_STATUS: [RegExp, { status: string; task: string }][] = [
  [/RELOAD/, { status: 'REBUILD', task: 'rebuilding' }],
  [/REBOOT_HARD/, { status: 'HARD_REBOOT', task: 'reboot_started_hard' }],
  [/REBOOT/, { status: 'REBOOT', task: 'reboot_started' }],
  [/CAPTURE|IMAGE/, { status: 'ACTIVE', task: 'image_uploading' }],
];

/** A guest being cancelled: SoftLayer has accepted the delete, so Nova shows it gone. */
function isCancelled(g: SlGuest): boolean {
  return /RECLAIM|CANCEL/i.test(g.activeTransaction?.transactionStatus?.name ?? '');
}

export function guestStatus(g: SlGuest): { status: string; vm: string; power: number; task: string | null } {
  const txn = g.activeTransaction?.transactionStatus?.name ?? '';
  if (!g.provisionDate) return { status: 'BUILD', vm: 'building', power: POWER.NOSTATE, task: 'spawning' };
  const base = POWER_STATUS[g.powerState?.keyName ?? ''] ?? { status: 'UNKNOWN', vm: 'error', power: POWER.NOSTATE };
  if (txn) {
    const hit = TRANSACTION_STATUS.find(([re]) => re.test(txn));
    if (hit) return { ...base, status: hit[1].status === 'ACTIVE' ? base.status : hit[1].status, task: hit[1].task };
  }
  return { ...base, task: null };
}

function diskOf(g: SlGuest): number {
  return g.blockDevices?.find((b) => b.device === '0')?.diskImage?.capacity ?? 0;
}

/** A flavor offered: configured, or a SoftLayer preset (ordered by its key name). */
type OfferedFlavor = SoftLayerFlavor & { preset?: boolean };

function flavorId(f: SoftLayerFlavor): string {
  return f.name;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export class SoftLayerCompute implements ComputeDriver {
  constructor(private readonly cloud: SoftLayerCloud) {}

  // ---- helpers -------------------------------------------------------------------

  private links(ctx: Ctx, collection: string, id: string) {
    return [
      { rel: 'self', href: `${ctx.endpoint}/v2.1/${collection}/${id}` },
      { rel: 'bookmark', href: `${ctx.endpoint}/${collection}/${id}` },
    ];
  }

  /** OpenStack name ↔ SoftLayer hostname + domain: the configured domain is left out of names. */
  private splitName(name: string): { hostname: string; domain: string } {
    const trimmed = name.trim();
    const dot = trimmed.indexOf('.');
    const hostname = dot < 0 ? trimmed : trimmed.slice(0, dot);
    const domain = dot < 0 ? this.cloud.config.domain : trimmed.slice(dot + 1);
    if (!HOSTNAME.test(hostname)) {
      throw Fault.badRequest(`Invalid server name "${name}": SoftLayer hostnames are letters, digits and inner hyphens, at most 63 (a name with dots is hostname.domain).`);
    }
    return { hostname, domain };
  }

  private nameOf(g: SlGuest): string {
    return g.domain === this.cloud.config.domain ? g.hostname : `${g.hostname}.${g.domain}`;
  }

  private flavorFor(g: SlGuest): SoftLayerFlavor {
    const disk = diskOf(g);
    return this.cloud.config.flavors.find((f) => f.vcpus === g.maxCpu && f.ramMb === g.maxMemory && f.diskGb === disk)
      ?? { name: `custom-${g.maxCpu}x${g.maxMemory}x${disk}`, vcpus: g.maxCpu, ramMb: g.maxMemory, diskGb: disk };
  }

  private addresses(g: SlGuest): Record<string, Json[]> {
    const out: Record<string, Json[]> = {};
    for (const nc of g.networkComponents ?? []) {
      if (!nc.primaryIpAddress) continue;
      const net = nc.port === 1 ? 'public' : 'private';
      (out[net] ??= []).push({ version: 4, addr: nc.primaryIpAddress, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': nc.macAddress ?? null });
    }
    if (Object.keys(out).length === 0) {
      if (g.primaryIpAddress) out.public = [{ version: 4, addr: g.primaryIpAddress, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': null }];
      if (g.primaryBackendIpAddress) out.private = [{ version: 4, addr: g.primaryBackendIpAddress, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': null }];
    }
    return out;
  }

  private view(ctx: Ctx, g: SlGuest, inList = false): Json {
    const mv = ctx.microversion;
    const st = guestStatus(g);
    const f = this.flavorFor(g);
    const created = isoZ(g.createDate)!;
    // A guest from a template shows the template; one ordered by OS reference code, that code's image.
    const imageId = g.blockDeviceTemplateGroup?.globalIdentifier ?? (g.operatingSystemReferenceCode ? osImageUuid(g.operatingSystemReferenceCode) : undefined);
    const v: Json = {
      id: slUuid('guest', g.id),
      name: this.nameOf(g),
      status: st.status,
      tenant_id: ctx.auth?.projectId ?? String(g.accountId),
      user_id: ctx.auth?.userId ?? '',
      metadata: {},
      hostId: String(g.accountId),
      image: imageId ? { id: imageId, links: [{ rel: 'bookmark', href: `${ctx.endpoint}/images/${imageId}` }] } : '',
      flavor: atLeast(mv, '2.47')
        ? { vcpus: f.vcpus, ram: f.ramMb, disk: f.diskGb, ephemeral: 0, swap: 0, original_name: flavorId(f), extra_specs: {} }
        : { id: flavorId(f), links: [{ rel: 'bookmark', href: `${ctx.endpoint}/flavors/${flavorId(f)}` }] },
      created,
      updated: isoZ(g.modifyDate) ?? created,
      addresses: this.addresses(g),
      accessIPv4: g.primaryIpAddress ?? '',
      accessIPv6: '',
      links: this.links(ctx, 'servers', slUuid('guest', g.id)),
      'OS-DCF:diskConfig': 'MANUAL',
      key_name: g.sshKeys?.[0]?.label ?? null,
      config_drive: '',
      'OS-EXT-AZ:availability_zone': g.datacenter?.name ?? '',
      'OS-EXT-STS:power_state': st.power,
      'OS-EXT-STS:task_state': st.task,
      'OS-EXT-STS:vm_state': st.vm,
      'OS-SRV-USG:launched_at': g.provisionDate ? isoZ(g.provisionDate)!.replace(/Z$/, '.000000') : null,
      'OS-SRV-USG:terminated_at': null,
      'os-extended-volumes:volumes_attached': [],
    };
    if (['ACTIVE', 'BUILD', 'REBUILD'].includes(st.status)) v.progress = st.status === 'ACTIVE' ? 100 : 0;
    if (ctx.auth?.isAdmin) {
      v['OS-EXT-SRV-ATTR:host'] = g.datacenter?.name ?? null;
      v['OS-EXT-SRV-ATTR:hypervisor_hostname'] = null;
      v['OS-EXT-SRV-ATTR:instance_name'] = `${g.hostname}.${g.domain}`;
    }
    if (atLeast(mv, '2.9')) v.locked = false;
    if (atLeast(mv, '2.73')) v.locked_reason = null;
    if (atLeast(mv, '2.19')) v.description = g.notes ?? null;
    if (atLeast(mv, '2.26')) v.tags = (g.tagReferences ?? []).map((t) => t.tag?.name).filter((t): t is string => Boolean(t));
    if (atLeast(mv, '2.63')) v.trusted_image_certificates = null;
    // SoftLayer placement groups are not served as server groups: a server is in none.
    if (atLeast(mv, '2.71') && !inList) v.server_groups = [];
    if (atLeast(mv, '2.96')) v.pinned_availability_zone = null;
    if (atLeast(mv, '2.100')) v.scheduler_hints = {};
    return v;
  }

  /** A guest by server id; a cancelled one is gone. */
  private async guest(ctx: Ctx, id: string): Promise<SlGuest> {
    const n = slId('guest', id, 'Instance');
    let g: SlGuest;
    try {
      g = await this.cloud.call<SlGuest>(ctx, 'SoftLayer_Virtual_Guest', 'getObject', { id: n, mask: GUEST_MASK });
    } catch (err) {
      if ((err as Fault).status === 404) throw Fault.notFound(`Instance ${id} could not be found.`);
      throw err;
    }
    if (isCancelled(g)) throw Fault.notFound(`Instance ${id} could not be found.`);
    return g;
  }

  private async guests(ctx: Ctx, filter?: Json): Promise<SlGuest[]> {
    const all = await this.cloud.listAll<SlGuest>(ctx, 'SoftLayer_Account', 'getVirtualGuests', {
      mask: GUEST_MASK, filter: { virtualGuests: { id: { operation: 'orderBy', options: [{ name: 'sort', value: ['ASC'] }] }, ...filter } },
    });
    return all.filter((g) => !isCancelled(g));
  }

  private async page(ctx: Ctx, q: Json) {
    const filter: Json = {};
    if (typeof q.name === 'string' && q.name) filter.hostname = { operation: `*= ${q.name.replace(/^\^|\$$/g, '').split('.')[0]}` };
    if (typeof q.availability_zone === 'string') filter.datacenter = { name: { operation: q.availability_zone } };
    let list = await this.guests(ctx, filter);
    if (typeof q.name === 'string' && q.name) {
      let re: RegExp;
      try { re = new RegExp(q.name); } catch { throw Fault.badRequest(`Invalid regular expression in name: ${q.name}`); }
      list = list.filter((g) => re.test(this.nameOf(g)));
    }
    if (typeof q.status === 'string') list = list.filter((g) => guestStatus(g).status === String(q.status).toUpperCase());
    if (typeof q.ip === 'string') {
      const re = new RegExp(q.ip.replace(/\./g, '\\.'));
      list = list.filter((g) => [g.primaryIpAddress, g.primaryBackendIpAddress].some((a) => a && re.test(a)));
    }
    if (typeof q['changes-since'] === 'string') {
      const since = Date.parse(q['changes-since']);
      if (Number.isNaN(since)) throw Fault.badRequest(`Invalid changes-since value: ${q['changes-since']}`);
      list = list.filter((g) => Date.parse(g.modifyDate ?? g.createDate) >= since);
    }
    const { items, more } = paginate(list, q as { limit?: string; marker?: string }, (g) => slUuid('guest', g.id));
    const extra = more ? { servers_links: [nextLink(ctx.url, q, slUuid('guest', items[items.length - 1]!.id))] } : {};
    return { items, extra };
  }

  /** Runs a guest action after checking Nova's state rule (409 like Nova when the state forbids it). */
  private async act(ctx: Ctx, id: string, action: string, allowed: string[], method: string, params?: unknown[]): Promise<SlGuest> {
    const g = await this.guest(ctx, id);
    const st = guestStatus(g);
    if (st.task !== null || !allowed.includes(st.status)) {
      throw Fault.conflict(`Cannot '${action}' instance ${id} while it is in vm_state ${st.vm}${st.task ? ` and task_state ${st.task}` : ''}`);
    }
    await this.cloud.call(ctx, 'SoftLayer_Virtual_Guest', method, { id: g.id, ...(params ? { params } : {}) });
    return g;
  }

  // ---- servers -------------------------------------------------------------------

  async listServers(req: ComputeRequest<'listServers'>): Promise<ComputeResponse<'listServers'>> {
    const ctx = req.context;
    const { items, extra } = await this.page(ctx, req.query as Json);
    return out({ servers: items.map((g) => ({ id: slUuid('guest', g.id), name: this.nameOf(g), links: this.links(ctx, 'servers', slUuid('guest', g.id)) })), ...extra });
  }

  async listServersDetail(req: ComputeRequest<'listServersDetail'>): Promise<ComputeResponse<'listServersDetail'>> {
    const ctx = req.context;
    const { items, extra } = await this.page(ctx, req.query as Json);
    return out({ servers: items.map((g) => this.view(ctx, g, true)), ...extra });
  }

  async showServer(req: ComputeRequest<'showServer'>): Promise<ComputeResponse<'showServer'>> {
    const ctx = req.context;
    const g = await this.guest(ctx, req.path.id);
    const v = this.view(ctx, g);
    // Lists leave this out (one more SoftLayer call per server); show tells the LUNs the guest may reach.
    const vols = (await listStorage(this.cloud, ctx, g.id)).filter((x) => (x.allowedVirtualGuests ?? []).some((a) => a.id === g.id));
    v['os-extended-volumes:volumes_attached'] = vols.map((x) => (atLeast(ctx.microversion, '2.3') ? { id: slUuid('volume', x.id), delete_on_termination: false } : { id: slUuid('volume', x.id) }));
    return out({ server: v });
  }

  async createServer(req: ComputeRequest<'createServer'>): Promise<ComputeResponse<'createServer'> | Reply<ComputeResponse<'createServer'>>> {
    const ctx = req.context;
    const s = (req.body as unknown as { server: Json }).server;
    const { hostname, domain } = this.splitName(String(s.name ?? ''));
    const wanted = String(s.flavorRef ?? '').replace(/^.*\/flavors\//, '');
    const flavor = this.cloud.config.flavors.find((f) => flavorId(f) === wanted) as OfferedFlavor | undefined
      ?? (/^[A-Z]+\d*_\d+X\d+X\d+$/.test(wanted) ? (await this.flavors(ctx)).find((f) => f.preset && flavorId(f) === wanted) : undefined);
    if (!flavor) throw Fault.badRequest(`Flavor ${String(s.flavorRef)} could not be found.`);
    const imageRef = String(s.imageRef ?? '').replace(/^.*\/images\//, '');
    if (!imageRef) throw Fault.badRequest('Booting from volume is not supported by the SoftLayer backend: give an imageRef.');
    let image: { template: SlTemplate } | { os: SlOsOption };
    try {
      image = isOsImageUuid(imageRef) ? { os: await this.cloud.osOption(ctx, imageRef) } : { template: await this.cloud.template(ctx, imageRef) };
    } catch (err) {
      if ((err as Fault).status === 404) throw Fault.badRequest(`Image ${imageRef} could not be found.`);
      throw err;
    }
    const az = typeof s.availability_zone === 'string' && s.availability_zone ? s.availability_zone.split(':')[0]! : this.cloud.config.datacenter;
    const template: Json = {
      hostname, domain, hourlyBillingFlag: true, localDiskFlag: false,
      ...(flavor.preset ? { supplementalCreateObjectOptions: { flavorKeyName: flavor.name } } : {
        startCpus: flavor.vcpus, maxMemory: flavor.ramMb, blockDevices: [{ device: '0', diskImage: { capacity: flavor.diskGb } }],
      }),
      datacenter: { name: az },
      // An OS image is installed by its reference code; a template is booted from.
      ...('os' in image ? { operatingSystemReferenceCode: image.os.code } : { blockDeviceTemplateGroup: { globalIdentifier: image.template.globalIdentifier } }),
    };
    if (typeof s.key_name === 'string' && s.key_name) {
      const key = await this.keyByName(ctx, s.key_name);
      if (!key) throw Fault.badRequest(`Invalid key_name provided.`);
      template.sshKeys = [{ id: key.id }];
    }
    if (typeof s.user_data === 'string' && s.user_data) {
      template.userData = [{ value: Buffer.from(s.user_data, 'base64').toString('utf8') }];
    }
    if (typeof s.description === 'string' && atLeast(ctx.microversion, '2.19')) template.notes = s.description;
    if (s.networks === 'none') throw Fault.badRequest('A SoftLayer guest always has a private network: networks "none" cannot be honoured.');
    if (Array.isArray(s.networks) && s.networks.length > 0) {
      // Only SoftLayer's two networks exist: a guest without "public" is private-only.
      const nets = s.networks as Json[];
      const vlanIds = nets.map((n) => n.uuid).filter((u): u is string => typeof u === 'string');
      if (vlanIds.length !== nets.length) throw Fault.badRequest('The SoftLayer backend attaches servers to networks (VLANs) by uuid only.');
      const vlans = await Promise.all(vlanIds.map((id) => this.cloud.call<{ id: number; networkSpace: string }>(ctx, 'SoftLayer_Network_Vlan', 'getObject', { id: slId('vlan', id, 'Network'), mask: 'mask[id,networkSpace]' })
        .catch((err: Fault) => { throw err.status === 404 ? Fault.badRequest(`Network ${id} could not be found.`) : err; })));
      const pub = vlans.find((v) => v.networkSpace === 'PUBLIC');
      const priv = vlans.find((v) => v.networkSpace === 'PRIVATE');
      if (priv) template.primaryBackendNetworkComponent = { networkVlan: { id: priv.id } };
      if (pub) template.primaryNetworkComponent = { networkVlan: { id: pub.id } };
      else template.privateNetworkOnlyFlag = true;
    }
    // Security groups bind to both primary interfaces at order time. SoftLayer has no
    // "default" group: a request for one that the account lacks binds nothing.
    const sgNames = Array.isArray(s.security_groups) ? (s.security_groups as Json[]).map((g) => String(g.name ?? '')) : [];
    const boundNames: string[] = [];
    if (sgNames.length) {
      const groups = await this.securityGroups(ctx);
      const bindings: Json[] = [];
      for (const name of sgNames) {
        const g = this.oneGroup(groups, name, name !== 'default');
        if (g) { bindings.push({ securityGroup: { id: g.id } }); boundNames.push(name); }
      }
      if (bindings.length) {
        template.primaryBackendNetworkComponent = { ...(template.primaryBackendNetworkComponent as Json | undefined), securityGroupBindings: bindings };
        if (!template.privateNetworkOnlyFlag) template.primaryNetworkComponent = { ...(template.primaryNetworkComponent as Json | undefined), securityGroupBindings: bindings };
      }
    }
    const created = await this.cloud.call<SlGuest>(ctx, 'SoftLayer_Virtual_Guest', 'createObject', { params: [template] });
    const id = slUuid('guest', created.id);
    // Nova would add "default"; a SoftLayer guest has only the groups that exist and were asked for.
    const body: Json = { id, links: this.links(ctx, 'servers', id), 'OS-DCF:diskConfig': 'MANUAL', security_groups: boundNames.map((name) => ({ name })) };
    return new Reply(out<ComputeResponse<'createServer'>>({ server: body }), 202, { Location: `${ctx.endpoint}/v2.1/servers/${id}` });
  }

  async deleteServer(req: ComputeRequest<'deleteServer'>): Promise<ComputeResponse<'deleteServer'>> {
    const g = await this.guest(req.context, req.path.id);
    await this.cloud.call(req.context, 'SoftLayer_Virtual_Guest', 'deleteObject', { id: g.id });
  }

  async updateServer(req: ComputeRequest<'updateServer'>): Promise<ComputeResponse<'updateServer'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { server: { name?: string; description?: string | null } }).server;
    const g = await this.guest(ctx, req.path.id);
    const edit: Json = {};
    if (b.name !== undefined) Object.assign(edit, this.splitName(b.name));
    if (b.description !== undefined && atLeast(ctx.microversion, '2.19')) edit.notes = b.description ?? '';
    if (Object.keys(edit).length) await this.cloud.call(ctx, 'SoftLayer_Virtual_Guest', 'editObject', { id: g.id, params: [edit] });
    return out({ server: this.view(ctx, await this.guest(ctx, req.path.id)) });
  }

  // ---- actions -------------------------------------------------------------------

  async rebootServer(req: ComputeRequest<'rebootServer'>): Promise<ComputeResponse<'rebootServer'>> {
    const type = String((req.body as unknown as { reboot: { type: string } }).reboot.type).toUpperCase();
    if (type !== 'SOFT' && type !== 'HARD') throw Fault.badRequest(`Argument 'type' for reboot must be a string with value 'SOFT' or 'HARD'`);
    await this.act(req.context, req.path.id, 'reboot', type === 'SOFT' ? ['ACTIVE'] : ['ACTIVE', 'SHUTOFF', 'PAUSED'], type === 'SOFT' ? 'rebootSoft' : 'rebootHard');
  }

  async stopServer(req: ComputeRequest<'stopServer'>): Promise<ComputeResponse<'stopServer'>> {
    await this.act(req.context, req.path.id, 'stop', ['ACTIVE'], 'powerOffSoft');
  }

  async startServer(req: ComputeRequest<'startServer'>): Promise<ComputeResponse<'startServer'>> {
    await this.act(req.context, req.path.id, 'start', ['SHUTOFF'], 'powerOn');
  }

  async pauseServer(req: ComputeRequest<'pauseServer'>): Promise<ComputeResponse<'pauseServer'>> {
    await this.act(req.context, req.path.id, 'pause', ['ACTIVE'], 'pause');
  }

  async unpauseServer(req: ComputeRequest<'unpauseServer'>): Promise<ComputeResponse<'unpauseServer'>> {
    await this.act(req.context, req.path.id, 'unpause', ['PAUSED'], 'resume');
  }

  /** Rebuild is SoftLayer's OS reload (reloadOperatingSystem 'FORCE') with the image's template. */
  async rebuildServer(req: ComputeRequest<'rebuildServer'>): Promise<ComputeResponse<'rebuildServer'> | Reply<ComputeResponse<'rebuildServer'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { rebuild: Json }).rebuild;
    const imageRef = String(b.imageRef ?? '').replace(/^.*\/images\//, '');
    const notFound = (err: Fault) => { throw err.status === 404 ? Fault.badRequest(`Image ${imageRef} could not be found.`) : err; };
    const config: Json = {};
    if (isOsImageUuid(imageRef)) {
      // Without a template, reloadOperatingSystem reinstalls the guest's own OS: only that OS image can be rebuilt to.
      const os = await this.cloud.osOption(ctx, imageRef).catch(notFound);
      const current = await this.guest(ctx, req.path.id);
      if (current.blockDeviceTemplateGroup || current.operatingSystemReferenceCode !== os.code) {
        throw Fault.badRequest(`Instance ${req.path.id} runs ${current.blockDeviceTemplateGroup?.name ?? current.operatingSystemReferenceCode ?? 'another image'}: SoftLayer reloads a guest with its own OS or with a template, not with another OS code.`);
      }
    } else {
      config.imageTemplateId = (await this.cloud.template(ctx, imageRef).catch(notFound)).id;
    }
    if (typeof b.key_name === 'string' && atLeast(ctx.microversion, '2.54')) {
      const key = await this.keyByName(ctx, b.key_name);
      if (!key) throw Fault.badRequest('Invalid key_name provided.');
      config.sshKeyIds = [key.id];
    }
    const g = await this.act(ctx, req.path.id, 'rebuild', ['ACTIVE', 'SHUTOFF'], 'reloadOperatingSystem', ['FORCE', config]);
    if (typeof b.name === 'string') await this.cloud.call(ctx, 'SoftLayer_Virtual_Guest', 'editObject', { id: g.id, params: [this.splitName(b.name)] });
    return new Reply(out<ComputeResponse<'rebuildServer'>>({ server: this.view(ctx, await this.guest(ctx, req.path.id)) }), 202);
  }

  /** createImage is SoftLayer's image capture (createArchiveTransaction) of the guest's disks. */
  async createImageServer(req: ComputeRequest<'createImageServer'>): Promise<ComputeResponse<'createImageServer'> | Reply<ComputeResponse<'createImageServer'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { createImage: { name: string; metadata?: Record<string, string> } }).createImage;
    const name = b.name.trim();
    if (!name) throw Fault.badRequest('Image name is required.');
    const g = await this.guest(ctx, req.path.id);
    const st = guestStatus(g);
    if (st.task !== null || !['ACTIVE', 'SHUTOFF', 'PAUSED'].includes(st.status)) {
      throw Fault.conflict(`Cannot 'createImage' instance ${req.path.id} while it is in vm_state ${st.vm}${st.task ? ` and task_state ${st.task}` : ''}`);
    }
    const disks = await this.cloud.call<{ id: number; device: string; mountType?: string }[]>(ctx, 'SoftLayer_Virtual_Guest', 'getBlockDevices', { id: g.id, mask: 'mask[id,device,mountType]' });
    // Nova snapshots the root disk: device 0 (1 is swap, CDs are never captured).
    const image = await this.cloud.call<SlTemplate>(ctx, 'SoftLayer_Virtual_Guest', 'createArchiveTemplate', {
      id: g.id, params: [name, disks.filter((d) => String(d.device) === '0' && d.mountType !== 'CD'), `Captured by stackgate from server ${slUuid('guest', g.id)}`],
    });
    if (!image?.globalIdentifier) throw new Fault('backendError', `SoftLayer accepted the capture of guest ${g.id} but named no template.`);
    const location = `${ctx.endpoint.replace(/\/compute$/, '/image')}/v2/images/${image.globalIdentifier}`;
    if (atLeast(ctx.microversion, '2.45')) return new Reply(out<ComputeResponse<'createImageServer'>>({ image_id: image.globalIdentifier }), 202);
    return new Reply(out<ComputeResponse<'createImageServer'>>(undefined), 202, { Location: location });
  }

  // ---- tags (SoftLayer tag references; setTags replaces them all) ---------------------

  private tagsOf(g: SlGuest): string[] {
    return (g.tagReferences ?? []).map((t) => t.tag?.name).filter((t): t is string => Boolean(t));
  }

  private async setTags(ctx: Ctx, g: SlGuest, tags: string[]): Promise<void> {
    for (const t of tags) if (t.includes(',')) throw Fault.badRequest(`Tag "${t}" is invalid: SoftLayer tags cannot contain commas.`);
    await this.cloud.call(ctx, 'SoftLayer_Virtual_Guest', 'setTags', { id: g.id, params: [tags.join(',')] });
  }

  async listServerTags(req: ComputeRequest<'listServerTags'>): Promise<ComputeResponse<'listServerTags'>> {
    return out({ tags: this.tagsOf(await this.guest(req.context, req.path.server_id)) });
  }

  async replaceServerTags(req: ComputeRequest<'replaceServerTags'>): Promise<ComputeResponse<'replaceServerTags'>> {
    const tags = [...new Set((req.body as unknown as { tags: string[] }).tags)];
    await this.setTags(req.context, await this.guest(req.context, req.path.server_id), tags);
    return out({ tags });
  }

  async deleteAllServerTags(req: ComputeRequest<'deleteAllServerTags'>): Promise<ComputeResponse<'deleteAllServerTags'>> {
    await this.setTags(req.context, await this.guest(req.context, req.path.server_id), []);
  }

  async showServerTag(req: ComputeRequest<'showServerTag'>): Promise<ComputeResponse<'showServerTag'>> {
    if (!this.tagsOf(await this.guest(req.context, req.path.server_id)).includes(req.path.id)) throw Fault.notFound(`Tag ${req.path.id} could not be found.`);
  }

  async updateServerTag(req: ComputeRequest<'updateServerTag'>): Promise<ComputeResponse<'updateServerTag'> | Reply<ComputeResponse<'updateServerTag'>>> {
    const ctx = req.context;
    const g = await this.guest(ctx, req.path.server_id);
    const tags = this.tagsOf(g);
    const existed = tags.includes(req.path.id);
    if (!existed) await this.setTags(ctx, g, [...tags, req.path.id]);
    const location = `${ctx.endpoint}/v2.1/servers/${req.path.server_id}/tags/${encodeURIComponent(req.path.id)}`;
    return new Reply(out<ComputeResponse<'updateServerTag'>>(undefined), existed ? 204 : 201, { Location: location });
  }

  async deleteServerTag(req: ComputeRequest<'deleteServerTag'>): Promise<ComputeResponse<'deleteServerTag'>> {
    const g = await this.guest(req.context, req.path.server_id);
    const tags = this.tagsOf(g);
    if (!tags.includes(req.path.id)) throw Fault.notFound(`Tag ${req.path.id} could not be found.`);
    await this.setTags(req.context, g, tags.filter((t) => t !== req.path.id));
  }

  // ---- addresses and interfaces (network components) ------------------------------

  async listServerIps(req: ComputeRequest<'listServerIps'>): Promise<ComputeResponse<'listServerIps'>> {
    const a = this.addresses(await this.guest(req.context, req.path.server_id));
    return out({ addresses: Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.map((x) => ({ version: x.version, addr: x.addr }))])) });
  }

  async showServerIp(req: ComputeRequest<'showServerIp'>): Promise<ComputeResponse<'showServerIp'>> {
    const a = this.addresses(await this.guest(req.context, req.path.server_id))[req.path.id];
    if (!a) throw Fault.notFound('Network not found');
    return out({ [req.path.id]: a.map((x) => ({ version: x.version, addr: x.addr })) });
  }

  private interfaceView(ctx: Ctx, nc: NonNullable<SlGuest['networkComponents']>[number]): Json {
    return {
      ...(atLeast(ctx.microversion, '2.70') ? { tag: null } : {}),
      port_id: slUuid('port', nc.id), net_id: nc.networkVlanId ? slUuid('vlan', nc.networkVlanId) : '', mac_addr: nc.macAddress ?? '',
      port_state: nc.status === 'ACTIVE' ? 'ACTIVE' : 'DOWN',
      fixed_ips: nc.primaryIpAddress && nc.primarySubnet ? [{ ip_address: nc.primaryIpAddress, subnet_id: slUuid('subnet', nc.primarySubnet.id) }] : [],
    };
  }

  async listServerInterface(req: ComputeRequest<'listServerInterface'>): Promise<ComputeResponse<'listServerInterface'>> {
    const g = await this.guest(req.context, req.path.server_id);
    return out({ interfaceAttachments: (g.networkComponents ?? []).map((nc) => this.interfaceView(req.context, nc)) });
  }

  async showServerInterface(req: ComputeRequest<'showServerInterface'>): Promise<ComputeResponse<'showServerInterface'>> {
    const g = await this.guest(req.context, req.path.server_id);
    const nc = (g.networkComponents ?? []).find((n) => slUuid('port', n.id) === req.path.id);
    if (!nc) throw Fault.notFound(`Port ${req.path.id} is not attached`);
    return out({ interfaceAttachment: this.interfaceView(req.context, nc) });
  }

  // ---- security groups of a server (SoftLayer bindings of its network components) ----

  private securityGroups(ctx: Ctx): Promise<SlSecurityGroup[]> {
    return this.cloud.listAll<SlSecurityGroup>(ctx, 'SoftLayer_Network_SecurityGroup', 'getAllObjects', { mask: GROUP_MASK });
  }

  /** A group by name or id, as Nova takes it; a missing one is a 404 (or nothing when `required` is false). */
  private oneGroup(groups: SlSecurityGroup[], ref: string, required = true): SlSecurityGroup | undefined {
    const byId = groups.find((g) => slUuid('secgroup', g.id) === ref);
    if (byId) return byId;
    const named = groups.filter((g) => g.name === ref);
    if (named.length > 1) throw Fault.conflict(`Multiple security groups found matching '${ref}'. Use an ID to be more specific.`);
    if (!named[0] && required) throw Fault.notFound(`Security group ${ref} not found.`);
    return named[0];
  }

  private novaGroupView(ctx: Ctx, g: SlSecurityGroup): Json {
    const id = slUuid('secgroup', g.id);
    return {
      id, name: g.name ?? '', description: g.description ?? '', tenant_id: ctx.auth?.projectId ?? '',
      rules: (g.rules ?? []).filter((r) => r.direction === 'ingress').map((r) => ({
        id: slUuid('sgrule', r.id), parent_group_id: id, ip_protocol: r.protocol ?? null,
        from_port: r.portRangeMin ?? null, to_port: r.portRangeMax ?? null,
        ip_range: r.remoteIp ? { cidr: r.remoteIp } : {}, group: r.remoteGroupId ? { tenant_id: ctx.auth?.projectId ?? '' } : {},
      })),
    };
  }

  async listServerSecurityGroups(req: ComputeRequest<'listServerSecurityGroups'>): Promise<ComputeResponse<'listServerSecurityGroups'>> {
    const ctx = req.context;
    const g = await this.guest(ctx, req.path.server_id);
    const bound = new Set((g.networkComponents ?? []).flatMap((nc) => (nc.securityGroupBindings ?? []).map((b) => b.securityGroupId)));
    const groups = (await this.securityGroups(ctx)).filter((x) => bound.has(x.id));
    return out({ security_groups: groups.map((x) => this.novaGroupView(ctx, x)) });
  }

  /** addSecurityGroup binds the group to every interface of the guest (attachNetworkComponents). */
  async addSecurityGroupServer(req: ComputeRequest<'addSecurityGroupServer'>): Promise<ComputeResponse<'addSecurityGroupServer'>> {
    const ctx = req.context;
    const name = String((req.body as unknown as { addSecurityGroup: { name: string } }).addSecurityGroup.name ?? '');
    const g = await this.guest(ctx, req.path.id);
    const group = this.oneGroup(await this.securityGroups(ctx), name)!;
    const missing = (g.networkComponents ?? []).filter((nc) => !(nc.securityGroupBindings ?? []).some((b) => b.securityGroupId === group.id)).map((nc) => nc.id);
    if (!missing.length) throw Fault.badRequest(`Security group ${name} is already associated with the instance ${req.path.id}`);
    await this.cloud.call(ctx, 'SoftLayer_Network_SecurityGroup', 'attachNetworkComponents', { id: group.id, params: [missing] });
  }

  async removeSecurityGroupServer(req: ComputeRequest<'removeSecurityGroupServer'>): Promise<ComputeResponse<'removeSecurityGroupServer'>> {
    const ctx = req.context;
    const name = String((req.body as unknown as { removeSecurityGroup: { name: string } }).removeSecurityGroup.name ?? '');
    const g = await this.guest(ctx, req.path.id);
    const group = this.oneGroup(await this.securityGroups(ctx), name)!;
    const bound = (g.networkComponents ?? []).filter((nc) => (nc.securityGroupBindings ?? []).some((b) => b.securityGroupId === group.id)).map((nc) => nc.id);
    if (!bound.length) throw Fault.notFound(`Security group ${name} not associated with the instance ${req.path.id}`);
    await this.cloud.call(ctx, 'SoftLayer_Network_SecurityGroup', 'detachNetworkComponents', { id: group.id, params: [bound] });
  }

  // ---- volume attachments: a guest authorized on an iSCSI LUN -----------------------

  /** SoftLayer authorizes a host on a LUN; the guest logs in over iSCSI, so there is no device name to report. */
  private attachmentView(ctx: Ctx, g: SlGuest, v: SlStorage): Json {
    const volumeId = slUuid('volume', v.id);
    const a: Json = { device: null, serverId: slUuid('guest', g.id), volumeId };
    if (!atLeast(ctx.microversion, '2.89')) a.id = volumeId;
    if (atLeast(ctx.microversion, '2.70')) a.tag = null;
    if (atLeast(ctx.microversion, '2.79')) a.delete_on_termination = false;
    if (atLeast(ctx.microversion, '2.89')) {
      const att = `${slUuid('guest', g.id).slice(0, 24)}${v.id.toString(16).padStart(12, '0')}`;
      Object.assign(a, { attachment_id: att, bdm_uuid: att });
    }
    return a;
  }

  async listServerVolumeAttachments(req: ComputeRequest<'listServerVolumeAttachments'>): Promise<ComputeResponse<'listServerVolumeAttachments'>> {
    const ctx = req.context;
    const g = await this.guest(ctx, req.path.server_id);
    const vols = (await listStorage(this.cloud, ctx, g.id)).filter((v) => (v.allowedVirtualGuests ?? []).some((x) => x.id === g.id));
    const { items } = paginate(vols, req.query as { limit?: string; marker?: string }, (v) => slUuid('volume', v.id));
    return out({ volumeAttachments: items.map((v) => this.attachmentView(ctx, g, v)) });
  }

  async showServerVolumeAttachment(req: ComputeRequest<'showServerVolumeAttachment'>): Promise<ComputeResponse<'showServerVolumeAttachment'>> {
    const ctx = req.context;
    const g = await this.guest(ctx, req.path.server_id);
    const v = await getStorage(this.cloud, ctx, req.path.id).catch(() => undefined);
    if (!v || !(v.allowedVirtualGuests ?? []).some((x) => x.id === g.id)) throw Fault.notFound(`Instance ${req.path.server_id} is not attached to volume ${req.path.id}.`);
    return out({ volumeAttachment: this.attachmentView(ctx, g, v) });
  }

  /** Attach = SoftLayer_Network_Storage::allowAccessFromVirtualGuest. */
  async createServerVolumeAttachment(req: ComputeRequest<'createServerVolumeAttachment'>): Promise<ComputeResponse<'createServerVolumeAttachment'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { volumeAttachment: { volumeId: string; device?: string | null } }).volumeAttachment;
    const g = await this.guest(ctx, req.path.server_id);
    const v = await getStorage(this.cloud, ctx, b.volumeId);
    if ((v.allowedVirtualGuests ?? []).some((x) => x.id === g.id)) throw Fault.conflict(`Volume ${b.volumeId} is already attached to instance ${req.path.server_id}.`);
    if (v.serviceResource?.datacenter?.name && g.datacenter?.name && v.serviceResource.datacenter.name !== g.datacenter.name) {
      throw Fault.badRequest(`Volume ${b.volumeId} is in ${v.serviceResource.datacenter.name}, instance ${req.path.server_id} in ${g.datacenter.name}: SoftLayer attaches within a datacenter.`);
    }
    await this.cloud.call(ctx, 'SoftLayer_Network_Storage', 'allowAccessFromVirtualGuest', { id: v.id, params: [{ id: g.id }] });
    const view = this.attachmentView({ ...ctx, microversion: atLeast(ctx.microversion, '2.89') ? '2.88' : ctx.microversion }, g, v);
    return out({ volumeAttachment: view });
  }

  /** Detach = SoftLayer_Network_Storage::removeAccessFromVirtualGuest. */
  async deleteServerVolumeAttachment(req: ComputeRequest<'deleteServerVolumeAttachment'>): Promise<ComputeResponse<'deleteServerVolumeAttachment'>> {
    const ctx = req.context;
    const g = await this.guest(ctx, req.path.server_id);
    const v = await getStorage(this.cloud, ctx, req.path.id).catch(() => undefined);
    if (!v || !(v.allowedVirtualGuests ?? []).some((x) => x.id === g.id)) throw Fault.notFound(`Instance ${req.path.server_id} is not attached to volume ${req.path.id}.`);
    await this.cloud.call(ctx, 'SoftLayer_Network_Storage', 'removeAccessFromVirtualGuest', { id: v.id, params: [{ id: g.id }] });
  }

  // ---- Nova's volume proxy (/v2.1/os-volumes) over the same LUNs ----------------------

  private novaVolumeView(v: SlStorage): Json {
    const id = slUuid('volume', v.id);
    const hosts = v.allowedVirtualGuests ?? [];
    return {
      id, status: hosts.length ? 'in-use' : 'available', size: v.capacityGb, availabilityZone: v.serviceResource?.datacenter?.name ?? '',
      createdAt: (isoZ(v.createDate) ?? '1970-01-01T00:00:00Z').replace(/Z$/, '.000000'), displayName: v.username, displayDescription: v.notes ?? null,
      volumeType: v.storageType?.keyName === 'PERFORMANCE_BLOCK_STORAGE' ? 'performance' : 'endurance', snapshotId: null, metadata: {},
      attachments: hosts.length ? hosts.map((g) => ({ id, volumeId: id, serverId: slUuid('guest', g.id), device: null })) : [{}],
    };
  }

  async listVolumes(req: ComputeRequest<'listVolumes'>): Promise<ComputeResponse<'listVolumes'>> {
    const vols = await listStorage(this.cloud, req.context);
    const { items } = paginate(vols, req.query as { limit?: string; marker?: string }, (v) => slUuid('volume', v.id));
    return out({ volumes: items.map((v) => this.novaVolumeView(v)) });
  }

  async listVolumesDetail(req: ComputeRequest<'listVolumesDetail'>): Promise<ComputeResponse<'listVolumesDetail'>> {
    const vols = await listStorage(this.cloud, req.context);
    const { items } = paginate(vols, req.query as { limit?: string; marker?: string }, (v) => slUuid('volume', v.id));
    return out({ volumes: items.map((v) => this.novaVolumeView(v)) });
  }

  async showVolume(req: ComputeRequest<'showVolume'>): Promise<ComputeResponse<'showVolume'>> {
    return out({ volume: this.novaVolumeView(await getStorage(this.cloud, req.context, req.path.id)) });
  }

  // ---- flavors ---------------------------------------------------------------------

  /**
   * The configured flavors whose cores, memory and disk getCreateObjectOptions
   * offers, then SoftLayer's own presets from the same answer (`B1_2X4X25`:
   * cores X memory GB X disk GB), which order by flavorKeyName.
   */
  private async flavors(ctx: Ctx): Promise<OfferedFlavor[]> {
    const opts = await this.cloud.call<{
      processors?: { template: { startCpus: number } }[];
      memory?: { template: { maxMemory: number } }[];
      blockDevices?: { template: { blockDevices?: { device: string; diskImage?: { capacity: number } }[] } }[];
      flavors?: { flavor?: { keyName?: string } }[];
    }>(ctx, 'SoftLayer_Virtual_Guest', 'getCreateObjectOptions');
    const cpus = new Set((opts.processors ?? []).map((p) => p.template.startCpus));
    const mems = new Set((opts.memory ?? []).map((m) => m.template.maxMemory));
    const disks = new Set((opts.blockDevices ?? []).flatMap((b) => (b.template.blockDevices ?? []).filter((d) => d.device === '0').map((d) => d.diskImage?.capacity)));
    const configured: OfferedFlavor[] = this.cloud.config.flavors.filter((f) => cpus.has(f.vcpus) && mems.has(f.ramMb) && disks.has(f.diskGb));
    const presets: OfferedFlavor[] = [];
    for (const f of opts.flavors ?? []) {
      const key = f.flavor?.keyName ?? '';
      const m = /^[A-Z]+\d*_(\d+)X(\d+)X(\d+)$/.exec(key);
      if (m && !configured.some((c) => c.name === key)) presets.push({ name: key, vcpus: Number(m[1]), ramMb: Number(m[2]) * 1024, diskGb: Number(m[3]), preset: true });
    }
    return [...configured, ...presets];
  }

  private flavorView(ctx: Ctx, f: SoftLayerFlavor, detail: boolean): Json {
    const v: Json = { id: flavorId(f), name: f.name, links: this.links(ctx, 'flavors', flavorId(f)) };
    if (atLeast(ctx.microversion, '2.55')) v.description = `${f.vcpus} cores, ${f.ramMb} MiB, ${f.diskGb} GB SAN disk`;
    if (!detail) return v;
    Object.assign(v, {
      vcpus: f.vcpus, ram: f.ramMb, disk: f.diskGb, swap: atLeast(ctx.microversion, '2.75') ? 0 : '', 'OS-FLV-EXT-DATA:ephemeral': 0, 'OS-FLV-DISABLED:disabled': false,
      rxtx_factor: 1.0, 'os-flavor-access:is_public': true,
    });
    if (atLeast(ctx.microversion, '2.61')) v.extra_specs = {};
    return v;
  }

  private async flavorPage(ctx: Ctx, q: Json, detail: boolean) {
    let list = await this.flavors(ctx);
    if (q.minRam !== undefined) list = list.filter((f) => f.ramMb >= Number(q.minRam));
    if (q.minDisk !== undefined) list = list.filter((f) => f.diskGb >= Number(q.minDisk));
    const { items, more } = paginate(list, q as { limit?: string; marker?: string }, flavorId);
    return { flavors: items.map((f) => this.flavorView(ctx, f, detail)), ...(more ? { flavors_links: [nextLink(ctx.url, q, flavorId(items[items.length - 1]!))] } : {}) };
  }

  async listFlavors(req: ComputeRequest<'listFlavors'>): Promise<ComputeResponse<'listFlavors'>> {
    return out(await this.flavorPage(req.context, req.query as Json, false));
  }

  async listFlavorsDetail(req: ComputeRequest<'listFlavorsDetail'>): Promise<ComputeResponse<'listFlavorsDetail'>> {
    return out(await this.flavorPage(req.context, req.query as Json, true));
  }

  async showFlavor(req: ComputeRequest<'showFlavor'>): Promise<ComputeResponse<'showFlavor'>> {
    // A guest whose size matches no offered flavor shows `custom-<cores>x<MiB>x<GB>`: that flavor can be shown, not ordered.
    const custom = /^custom-(\d{1,3})x(\d{3,7})x(\d{1,5})$/.exec(req.path.id);
    if (custom) {
      this.cloud.cred(req.context);
      return out({ flavor: this.flavorView(req.context, { name: req.path.id, vcpus: Number(custom[1]), ramMb: Number(custom[2]), diskGb: Number(custom[3]) }, true) });
    }
    const f = (await this.flavors(req.context)).find((x) => flavorId(x) === req.path.id);
    if (!f) throw Fault.notFound(`Flavor ${req.path.id} could not be found.`);
    return out({ flavor: this.flavorView(req.context, f, true) });
  }

  /** SoftLayer sizes have no extra specs: the list is truly empty. */
  async listFlavorExtraSpecs(req: ComputeRequest<'listFlavorExtraSpecs'>): Promise<ComputeResponse<'listFlavorExtraSpecs'>> {
    if (!(await this.flavors(req.context)).some((x) => flavorId(x) === req.path.flavor_id)) throw Fault.notFound(`Flavor ${req.path.flavor_id} could not be found.`);
    return out({ extra_specs: {} });
  }

  async showFlavorExtraSpec(req: ComputeRequest<'showFlavorExtraSpec'>): Promise<ComputeResponse<'showFlavorExtraSpec'>> {
    if (!(await this.flavors(req.context)).some((x) => flavorId(x) === req.path.flavor_id)) throw Fault.notFound(`Flavor ${req.path.flavor_id} could not be found.`);
    throw Fault.notFound(`Flavor ${req.path.flavor_id} has no extra specs with key ${req.path.id}.`);
  }

  // ---- key pairs (SoftLayer_Security_Ssh_Key; the label is the name) ---------------

  private async keys(ctx: Ctx): Promise<SlSshKey[]> {
    return this.cloud.listAll(ctx, 'SoftLayer_Account', 'getSshKeys', { mask: 'mask[id,label,key,fingerprint,createDate]' });
  }

  private async keyByName(ctx: Ctx, name: string) {
    return (await this.keys(ctx)).find((k) => k.label === name);
  }

  /** What Nova's key pair views need of a SoftLayer_Security_Ssh_Key. */
  private keypairFacts(ctx: Ctx, k: SlSshKey): KeypairFacts {
    return { name: k.label, publicKey: k.key, fingerprint: k.fingerprint, type: 'ssh', userId: ctx.auth?.userId ?? '', createdAt: isoZ(k.createDate)?.replace(/Z$/, '.000000') ?? null, id: k.id };
  }

  async listKeypairs(req: ComputeRequest<'listKeypairs'>): Promise<ComputeResponse<'listKeypairs'>> {
    const ctx = req.context;
    return out(keypairList(ctx, (await this.keys(ctx)).map((k) => this.keypairFacts(ctx, k)), req.query as Json));
  }

  async showKeypair(req: ComputeRequest<'showKeypair'>): Promise<ComputeResponse<'showKeypair'>> {
    const k = await this.keyByName(req.context, req.path.id);
    if (!k) throw keypairNotFound(req.path.id, req.context.auth?.userId ?? '');
    return out({ keypair: keypairView(req.context.microversion, this.keypairFacts(req.context, k), true) });
  }

  async createKeypair(req: ComputeRequest<'createKeypair'>): Promise<ComputeResponse<'createKeypair'> | Reply<ComputeResponse<'createKeypair'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { keypair: { name: string; public_key?: string; type?: string } }).keypair;
    const name = keypairName(ctx.microversion, b.name);
    if (b.type === 'x509') throw Fault.badRequest('Keypair data is invalid: SoftLayer keeps SSH keys only, not x509 certificates.');
    if (await this.keyByName(ctx, name)) throw Fault.conflict(`Key pair '${name}' already exists.`);
    let publicKey = b.public_key?.trim();
    let privateKey: string | undefined;
    if (!publicKey) {
      requirePublicKeyFrom292(ctx.microversion, publicKey);
      ({ publicKey, privateKey } = generateSshKeypair(name));
    }
    const k = await this.cloud.call<SlSshKey>(ctx, 'SoftLayer_Security_Ssh_Key', 'createObject', { params: [{ label: name, key: publicKey }] });
    const v = keypairView(ctx.microversion, this.keypairFacts(ctx, k), false);
    v.user_id = ctx.auth?.userId ?? '';
    if (privateKey) v.private_key = privateKey;
    return new Reply(out<ComputeResponse<'createKeypair'>>({ keypair: v }), atLeast(ctx.microversion, '2.2') ? 201 : 200);
  }

  async deleteKeypair(req: ComputeRequest<'deleteKeypair'>): Promise<ComputeResponse<'deleteKeypair'> | Reply<ComputeResponse<'deleteKeypair'>>> {
    const k = await this.keyByName(req.context, req.path.id);
    if (!k) throw keypairNotFound(req.path.id, req.context.auth?.userId ?? '');
    await this.cloud.call(req.context, 'SoftLayer_Security_Ssh_Key', 'deleteObject', { id: k.id });
    return new Reply(undefined, atLeast(req.context.microversion, '2.2') ? 204 : 202);
  }

  // ---- availability zones (datacenters) ------------------------------------------

  async listAvailabilityZone(req: ComputeRequest<'listAvailabilityZone'>): Promise<ComputeResponse<'listAvailabilityZone'>> {
    const dcs = await this.cloud.datacenters(req.context);
    return out({ availabilityZoneInfo: dcs.map((d) => ({ zoneName: d.name, zoneState: { available: true }, hosts: null })) });
  }

  async listAvailabilityZoneDetail(req: ComputeRequest<'listAvailabilityZoneDetail'>): Promise<ComputeResponse<'listAvailabilityZoneDetail'>> {
    const dcs = await this.cloud.datacenters(req.context);
    return out({ availabilityZoneInfo: dcs.map((d) => ({ zoneName: d.name, zoneState: { available: true }, hosts: {} })) });
  }

  // ---- limits and quotas: SoftLayer has no quota sets; -1 is "not limited here" ---------

  private async usage(ctx: Ctx) {
    const [guests, keys] = await Promise.all([this.guests(ctx), this.keys(ctx)]);
    return {
      instances: guests.length,
      cores: guests.reduce((n, g) => n + g.maxCpu, 0),
      ram: guests.reduce((n, g) => n + g.maxMemory, 0),
      key_pairs: keys.length,
    };
  }

  async listLimits(req: ComputeRequest<'listLimits'>): Promise<ComputeResponse<'listLimits'>> {
    const u = await this.usage(req.context);
    const absolute: Json = {
      maxTotalInstances: -1, maxTotalCores: -1, maxTotalRAMSize: -1, maxTotalKeypairs: -1, maxServerMeta: 0, maxServerGroups: 0, maxServerGroupMembers: 0,
      totalInstancesUsed: u.instances, totalCoresUsed: u.cores, totalRAMUsed: u.ram, totalServerGroupsUsed: 0,
    };
    if (!atLeast(req.context.microversion, '2.57')) Object.assign(absolute, { maxPersonality: 0, maxPersonalitySize: 0 });
    if (!atLeast(req.context.microversion, '2.39')) absolute.maxImageMeta = 0;
    if (!atLeast(req.context.microversion, '2.36')) {
      Object.assign(absolute, { maxSecurityGroups: -1, maxSecurityGroupRules: -1, maxTotalFloatingIps: 0, totalSecurityGroupsUsed: 0, totalFloatingIpsUsed: 0 });
    }
    return out({ limits: { rate: [], absolute } });
  }

  private quotaSet(mv: string | null, id: string, detail?: Awaited<ReturnType<SoftLayerCompute['usage']>>): Json {
    const q = (limit: number, inUse: number) => (detail ? { limit, in_use: inUse, reserved: 0 } : limit);
    const v: Json = {
      id, instances: q(-1, detail?.instances ?? 0), cores: q(-1, detail?.cores ?? 0), ram: q(-1, detail?.ram ?? 0),
      key_pairs: q(-1, detail?.key_pairs ?? 0), metadata_items: q(0, 0), server_groups: q(0, 0), server_group_members: q(0, 0),
    };
    if (!atLeast(mv, '2.57')) Object.assign(v, { injected_files: q(0, 0), injected_file_content_bytes: q(0, 0), injected_file_path_bytes: q(0, 0) });
    if (!atLeast(mv, '2.36')) Object.assign(v, { fixed_ips: q(-1, 0), floating_ips: q(0, 0), security_groups: q(-1, 0), security_group_rules: q(-1, 0) });
    return v;
  }

  async showQuotaSet(req: ComputeRequest<'showQuotaSet'>): Promise<ComputeResponse<'showQuotaSet'>> {
    this.cloud.cred(req.context);
    return out({ quota_set: this.quotaSet(req.context.microversion, req.path.id) });
  }

  async listQuotaSetDefaults(req: ComputeRequest<'listQuotaSetDefaults'>): Promise<ComputeResponse<'listQuotaSetDefaults'>> {
    this.cloud.cred(req.context);
    return out({ quota_set: this.quotaSet(req.context.microversion, req.path.id) });
  }

  async listQuotaSetsDetail(req: ComputeRequest<'listQuotaSetsDetail'>): Promise<ComputeResponse<'listQuotaSetsDetail'>> {
    return out({ quota_set: this.quotaSet(req.context.microversion, req.path.id, await this.usage(req.context)) });
  }

  // ---- Nova's image proxy (/v2.1/images) over templates -------------------------------

  private novaImageView(ctx: Ctx, t: SlTemplate, detail: boolean): Json {
    const glance = ctx.endpoint.replace(/\/compute$/, '/image');
    const v: Json = {
      id: t.globalIdentifier, name: t.name,
      links: [...this.links(ctx, 'images', t.globalIdentifier), { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${glance}/images/${t.globalIdentifier}` }],
    };
    if (!detail) return v;
    const status = templateStatus(t) === 'active' ? 'ACTIVE' : 'SAVING';
    const created = isoZ(t.createDate) ?? '1970-01-01T00:00:00Z';
    return {
      ...v, status, progress: status === 'ACTIVE' ? 100 : 50, minDisk: 0, minRam: 0, created, updated: created,
      metadata: {}, 'OS-EXT-IMG-SIZE:size': Number(t.blockDevicesDiskSpaceTotal ?? 0),
    };
  }

  /** An OS reference code as Nova's proxy shows an image (name = the code, as in Glance). */
  private novaOsImageView(ctx: Ctx, os: SlOsOption, detail: boolean): Json {
    const id = osImageUuid(os.code);
    const glance = ctx.endpoint.replace(/\/compute$/, '/image');
    const v: Json = { id, name: os.code, links: [...this.links(ctx, 'images', id), { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${glance}/images/${id}` }] };
    if (!detail) return v;
    const epoch = '1970-01-01T00:00:00Z';
    return { ...v, status: 'ACTIVE', progress: 100, minDisk: 0, minRam: 0, created: epoch, updated: epoch, metadata: { softlayer_os_code: os.code }, 'OS-EXT-IMG-SIZE:size': 0 };
  }

  /** Templates first, then the OS reference codes. */
  private async imagePage(ctx: Ctx, q: Json, detail: boolean) {
    const [templates, oses] = await Promise.all([this.cloud.templates(ctx), this.cloud.osOptions(ctx)]);
    let list = [
      ...templates.map((t) => ({ id: t.globalIdentifier, name: t.name, view: () => this.novaImageView(ctx, t, detail) })),
      ...oses.map((o) => ({ id: osImageUuid(o.code), name: o.code, view: () => this.novaOsImageView(ctx, o, detail) })),
    ];
    if (typeof q.name === 'string') list = list.filter((t) => t.name === q.name);
    const { items, more } = paginate(list, q as { limit?: string; marker?: string }, (t) => t.id);
    return { images: items.map((t) => t.view()), ...(more ? { images_links: [nextLink(ctx.url, q, items[items.length - 1]!.id)] } : {}) };
  }

  async listImages(req: ComputeRequest<'listImages'>): Promise<ComputeResponse<'listImages'>> {
    return out(await this.imagePage(req.context, req.query as Json, false));
  }

  async listImagesDetail(req: ComputeRequest<'listImagesDetail'>): Promise<ComputeResponse<'listImagesDetail'>> {
    return out(await this.imagePage(req.context, req.query as Json, true));
  }

  async showImage(req: ComputeRequest<'showImage'>): Promise<ComputeResponse<'showImage'>> {
    if (isOsImageUuid(req.path.id)) return out({ image: this.novaOsImageView(req.context, await this.cloud.osOption(req.context, req.path.id), true) });
    return out({ image: this.novaImageView(req.context, await this.cloud.template(req.context, req.path.id), true) });
  }

  async deleteImage(req: ComputeRequest<'deleteImage'>): Promise<ComputeResponse<'deleteImage'>> {
    if (isOsImageUuid(req.path.id)) {
      const os = await this.cloud.osOption(req.context, req.path.id);
      throw Fault.forbidden(`${os.code} is an operating system SoftLayer installs: it cannot be deleted.`);
    }
    const t = await this.cloud.template(req.context, req.path.id);
    if (t.publicFlag) throw Fault.forbidden('Public SoftLayer images cannot be deleted.');
    await this.cloud.call(req.context, 'SoftLayer_Virtual_Guest_Block_Device_Template_Group', 'deleteObject', { id: t.id });
  }
}

