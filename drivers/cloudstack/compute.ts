/**
 * Nova over CloudStack: virtual machines are servers, service offerings are
 * flavors, SSH key pairs are key pairs, zones are availability zones,
 * resource limits are limits; Nova's image proxy lists templates, and volume
 * attachments are attachVolume/detachVolume.
 *
 * CloudStack ids are UUIDs and are the OpenStack ids unchanged. Server
 * actions are CloudStack async jobs: a server shows the transitional state
 * while its job runs (read lazily from the VM's `jobid`, see cloud.ts), and
 * ERROR with the job's error text when a deploy failed.
 */
import { createHash } from 'node:crypto';
import type { ComputeDriver, ComputeRequest, ComputeResponse } from '../../generated/index.js';
import { Reply, type RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { atLeast } from '../../src/microversion.js';
import { nextLink, paginate } from '../../src/paging.js';
import type { CsJob } from './client.js';
import { CloudStackCloud, isUuid, isoZ, jobCommand, type CsTemplate } from './cloud.js';
import { attachmentOf, volumeStatus, type CsVolume } from './volume.js';
import { subnetIdOf } from './network.js';
import { keypairList, keypairName, keypairNotFound, keypairView, requirePublicKeyFrom292, type KeypairFacts } from '../../src/nova-keypairs.js';

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

/** A CloudStack virtual machine, as listVirtualMachines answers it. */
export interface CsVm {
  id: string; name: string; displayname?: string; account?: string; domainid?: string; state: string;
  zoneid: string; zonename: string; templateid?: string; templatename?: string; serviceofferingid: string; serviceofferingname?: string;
  cpunumber: number; memory: number; created: string; keypair?: string; keypairs?: string;
  nic?: { id: string; networkid: string; networkname?: string; ipaddress?: string; ip6address?: string; macaddress?: string; isdefault?: boolean }[];
  securitygroup?: { id: string; name: string }[];
  tags?: { key: string; value: string }[];
  affinitygroup?: { id: string; name: string; type?: string }[];
  jobid?: string; jobstatus?: number;
}

/** A CloudStack affinity group, as listAffinityGroups answers it. */
interface CsAffinityGroup { id: string; name: string; type: string; description?: string; virtualmachineIds?: string[] }

/** Nova server group policies ↔ CloudStack affinity group types (host-level; no soft variants). */
const POLICY_TYPE: Record<string, string> = { 'anti-affinity': 'host anti-affinity', affinity: 'host affinity' };

interface CsOffering { id: string; name: string; displaytext?: string; cpunumber: number; memory: number; rootdisksize?: number; created?: string; iscustomized?: boolean }
interface CsKeyPair { id?: string; name: string; fingerprint: string; publickey?: string; privatekey?: string; account?: string }
interface CsPublicIp { id: string; ipaddress: string; isstaticnat?: boolean; virtualmachineid?: string }

/** Nova's power_state numbers (nova/compute/power_state.py). */
const POWER = { NOSTATE: 0, RUNNING: 1, SHUTDOWN: 4, CRASHED: 6 } as const;

interface ServerState { status: string; vm: string; power: number; task: string | null }

/** CloudStack VM states → Nova status, vm_state, power_state (no job in flight). */
const VM_STATE: Record<string, ServerState> = {
  Running: { status: 'ACTIVE', vm: 'active', power: POWER.RUNNING, task: null },
  Stopped: { status: 'SHUTOFF', vm: 'stopped', power: POWER.SHUTDOWN, task: null },
  Shutdowned: { status: 'SHUTOFF', vm: 'stopped', power: POWER.SHUTDOWN, task: null },
  Starting: { status: 'SHUTOFF', vm: 'stopped', power: POWER.SHUTDOWN, task: 'powering-on' },
  Stopping: { status: 'ACTIVE', vm: 'active', power: POWER.RUNNING, task: 'powering-off' },
  Migrating: { status: 'MIGRATING', vm: 'active', power: POWER.RUNNING, task: 'migrating' },
  Error: { status: 'ERROR', vm: 'error', power: POWER.NOSTATE, task: null },
  Unknown: { status: 'UNKNOWN', vm: 'error', power: POWER.NOSTATE, task: null },
};

/** The job in flight (by CloudStack command class) → what Nova shows meanwhile. */
const JOB_STATE: Record<string, ServerState> = {
  DeployVMCmd: { status: 'BUILD', vm: 'building', power: POWER.NOSTATE, task: 'spawning' },
  StartVMCmd: { status: 'SHUTOFF', vm: 'stopped', power: POWER.SHUTDOWN, task: 'powering-on' },
  StopVMCmd: { status: 'ACTIVE', vm: 'active', power: POWER.RUNNING, task: 'powering-off' },
  RebootVMCmd: { status: 'REBOOT', vm: 'active', power: POWER.RUNNING, task: 'reboot_started' },
  RestoreVMCmd: { status: 'REBUILD', vm: 'active', power: POWER.RUNNING, task: 'rebuilding' },
  DestroyVMCmd: { status: 'ACTIVE', vm: 'active', power: POWER.RUNNING, task: 'deleting' },
};

export function serverState(vm: CsVm, job: CsJob | undefined): ServerState {
  const byJob = job ? JOB_STATE[jobCommand(job)] : undefined;
  if (byJob) return byJob;
  // A VM Starting with no job known is still being deployed (its deploy job id was not on it).
  return VM_STATE[vm.state] ?? VM_STATE.Unknown!;
}

/** A VM and what its pending job (if any) says. */
interface ReadVm { vm: CsVm; job?: CsJob; fault?: CsJob }

/** `tags[0].key=…&tags[0].value=…` parameters (values left out for deleteTags when `values` is false). */
function tagParams(m: Record<string, string>, values = true): Record<string, string> {
  const out: Record<string, string> = {};
  Object.entries(m).forEach(([k, v], i) => { out[`tags[${i}].key`] = k; if (values) out[`tags[${i}].value`] = v; });
  return out;
}

/** Nova server metadata are the VM's CloudStack resource tags (key → value). */
function metadataOf(vm: CsVm): Record<string, string> {
  return Object.fromEntries((vm.tags ?? []).map((t) => [t.key, t.value]));
}

const HOSTNAME = /^[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$|^[A-Za-z]$/;

/** Nova's key pair detail has an integer id; CloudStack's is a UUID (or none): a stable number from it. */
function keypairNumber(k: CsKeyPair): number {
  return parseInt(createHash('sha1').update(k.id ?? k.name).digest('hex').slice(0, 7), 16);
}

export class CloudStackCompute implements ComputeDriver {
  constructor(private readonly cloud: CloudStackCloud) {}

  // ---- helpers -------------------------------------------------------------------

  private links(ctx: Ctx, collection: string, id: string) {
    return [
      { rel: 'self', href: `${ctx.endpoint}/v2.1/${collection}/${id}` },
      { rel: 'bookmark', href: `${ctx.endpoint}/${collection}/${id}` },
    ];
  }

  private async vms(ctx: Ctx, params: Record<string, string> = {}): Promise<CsVm[]> {
    // No listall: an admin's key would list every account's VMs, and a project shows its own account's only.
    const list = await this.cloud.list<CsVm>(ctx, 'listVirtualMachines', 'virtualmachine', params);
    // Destroyed VMs wait for expunge in CloudStack; Nova shows a deleted server as gone (404), which openstacksdk's wait_for_delete polls for.
    // CloudStack lists in creation order (its internal ids), stable across pages; dates have whole seconds only, so they would not order.
    return list.filter((v) => v.state !== 'Destroyed' && v.state !== 'Expunging');
  }

  /** A VM by server id with its job state, or Nova's 404. */
  private async read(ctx: Ctx, id: string): Promise<ReadVm> {
    if (!isUuid(id)) throw Fault.notFound(`Instance ${id} could not be found.`);
    const [vm] = await this.vms(ctx, { id }).catch((err: Fault) => { throw err.status === 400 ? Fault.notFound(`Instance ${id} could not be found.`) : err; });
    if (!vm) throw Fault.notFound(`Instance ${id} could not be found.`);
    return this.withJob(ctx, vm);
  }

  private async withJob(ctx: Ctx, vm: CsVm): Promise<ReadVm> {
    const job = await this.cloud.pendingJob(ctx, vm);
    if (vm.jobid && !job) {
      // The job finished between the two reads: read the VM again for its new state.
      const [again] = await this.vms(ctx, { id: vm.id });
      if (!again) throw Fault.notFound(`Instance ${vm.id} could not be found.`);
      vm = again;
    }
    const fault = vm.state === 'Error' ? await this.cloud.lastFailure(ctx, vm.id) : undefined;
    return { vm, ...(job ? { job } : {}), ...(fault ? { fault } : {}) };
  }

  private async floatingIps(ctx: Ctx): Promise<CsPublicIp[]> {
    return this.cloud.list<CsPublicIp>(ctx, 'listPublicIpAddresses', 'publicipaddress', {});
  }

  private addresses(vm: CsVm, ips: CsPublicIp[]): Record<string, Json[]> {
    const res: Record<string, Json[]> = {};
    for (const nic of vm.nic ?? []) {
      const net = nic.networkname ?? nic.networkid;
      const list = (res[net] ??= []);
      if (nic.ipaddress) list.push({ version: 4, addr: nic.ipaddress, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': nic.macaddress ?? null });
      if (nic.ip6address) list.push({ version: 6, addr: nic.ip6address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': nic.macaddress ?? null });
      if (nic.isdefault !== false) {
        for (const ip of ips.filter((x) => x.isstaticnat && x.virtualmachineid === vm.id)) {
          list.push({ version: 4, addr: ip.ipaddress, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': nic.macaddress ?? null });
        }
      }
    }
    return res;
  }

  private view(ctx: Ctx, r: ReadVm, ips: CsPublicIp[], offerings: CsOffering[], volumes: CsVolume[] | null, inList = false): Json {
    const { vm } = r;
    const mv = ctx.microversion;
    const st = serverState(vm, r.job);
    const created = isoZ(vm.created) ?? '1970-01-01T00:00:00Z';
    const off = offerings.find((o) => o.id === vm.serviceofferingid);
    const v: Json = {
      id: vm.id,
      name: vm.displayname || vm.name,
      status: st.status,
      tenant_id: ctx.auth?.projectId ?? '',
      user_id: ctx.auth?.userId ?? '',
      metadata: metadataOf(vm),
      hostId: createHash('sha224').update(`${ctx.auth?.projectId ?? ''}${vm.zoneid}`).digest('hex'),
      image: vm.templateid ? { id: vm.templateid, links: [{ rel: 'bookmark', href: `${ctx.endpoint}/images/${vm.templateid}` }] } : '',
      flavor: atLeast(mv, '2.47')
        ? { vcpus: vm.cpunumber, ram: vm.memory, disk: off?.rootdisksize ?? 0, ephemeral: 0, swap: 0, original_name: off?.name ?? vm.serviceofferingname ?? vm.serviceofferingid, extra_specs: {} }
        : { id: vm.serviceofferingid, links: [{ rel: 'bookmark', href: `${ctx.endpoint}/flavors/${vm.serviceofferingid}` }] },
      created,
      updated: created,
      addresses: this.addresses(vm, ips),
      accessIPv4: '',
      accessIPv6: '',
      links: this.links(ctx, 'servers', vm.id),
      'OS-DCF:diskConfig': 'MANUAL',
      key_name: vm.keypair ?? vm.keypairs ?? null,
      config_drive: '',
      'OS-EXT-AZ:availability_zone': vm.zonename,
      'OS-EXT-STS:power_state': st.power,
      'OS-EXT-STS:task_state': st.task,
      'OS-EXT-STS:vm_state': st.vm,
      'OS-SRV-USG:launched_at': st.status === 'BUILD' || st.status === 'ERROR' ? null : created.replace(/Z$/, '.000000'),
      'OS-SRV-USG:terminated_at': null,
      'os-extended-volumes:volumes_attached': (volumes ?? []).filter((x) => x.virtualmachineid === vm.id && x.type !== 'ROOT')
        .map((x) => (atLeast(mv, '2.3') ? { id: x.id, delete_on_termination: false } : { id: x.id })),
      security_groups: (vm.securitygroup ?? []).map((g) => ({ name: g.name })),
    };
    if (!v.security_groups || (v.security_groups as Json[]).length === 0) delete v.security_groups;
    if (['ACTIVE', 'BUILD', 'REBUILD'].includes(st.status)) v.progress = st.status === 'ACTIVE' ? 100 : 0;
    if (st.status === 'ERROR' && r.fault) {
      v.fault = { code: 500, created: isoZ(r.fault.created) ?? created, message: r.fault.jobresult?.errortext ?? 'The CloudStack job failed.' };
    }
    if (ctx.auth?.isAdmin) {
      v['OS-EXT-SRV-ATTR:host'] = vm.zonename;
      v['OS-EXT-SRV-ATTR:hypervisor_hostname'] = null;
      v['OS-EXT-SRV-ATTR:instance_name'] = vm.name;
    }
    if (atLeast(mv, '2.9')) v.locked = false;
    if (atLeast(mv, '2.73')) v.locked_reason = null;
    if (atLeast(mv, '2.19')) v.description = null;
    if (atLeast(mv, '2.26')) v.tags = [];
    if (atLeast(mv, '2.63')) v.trusted_image_certificates = null;
    if (atLeast(mv, '2.71') && !inList) v.server_groups = (vm.affinitygroup ?? []).map((g) => g.id);
    if (atLeast(mv, '2.96')) v.pinned_availability_zone = null;
    if (atLeast(mv, '2.100')) v.scheduler_hints = {};
    return v;
  }

  private offerings(ctx: Ctx): Promise<CsOffering[]> {
    return this.cloud.list<CsOffering>(ctx, 'listServiceOfferings', 'serviceoffering', {});
  }

  private async page(ctx: Ctx, q: Json) {
    const params: Record<string, string> = {};
    if (typeof q.availability_zone === 'string') {
      const z = (await this.cloud.zones(ctx)).find((x) => x.name === q.availability_zone);
      if (!z) return { items: [] as CsVm[], extra: {} };
      params.zoneid = z.id;
    }
    let list = await this.vms(ctx, params);
    if (typeof q.name === 'string' && q.name) {
      let re: RegExp;
      try { re = new RegExp(q.name); } catch { throw Fault.badRequest(`Invalid regular expression in name: ${q.name}`); }
      list = list.filter((vm) => re.test(vm.displayname || vm.name));
    }
    if (typeof q.status === 'string') {
      const want = q.status.toUpperCase();
      list = list.filter((vm) => serverState(vm, undefined).status === want || (vm.jobid !== undefined && want === 'BUILD' && vm.state === 'Starting'));
    }
    if (typeof q.ip === 'string') {
      const re = new RegExp(q.ip.replace(/\./g, '\\.'));
      list = list.filter((vm) => (vm.nic ?? []).some((n) => n.ipaddress && re.test(n.ipaddress)));
    }
    const { items, more } = paginate(list, q as { limit?: string; marker?: string }, (vm) => vm.id);
    const extra = more ? { servers_links: [nextLink(ctx.url, q, items[items.length - 1]!.id)] } : {};
    return { items, extra };
  }

  /** Starts a VM job after Nova's state rule (409 when a job is in flight or the state forbids it). */
  private async act(ctx: Ctx, id: string, action: string, allowed: string[], command: string, params: Record<string, string> = {}): Promise<ReadVm> {
    const r = await this.read(ctx, id);
    const st = serverState(r.vm, r.job);
    if (st.task !== null || !allowed.includes(st.status)) {
      throw Fault.conflict(`Cannot '${action}' instance ${id} while it is in vm_state ${st.vm}${st.task ? ` and task_state ${st.task}` : ''}`);
    }
    await this.cloud.start(ctx, command, { ...(command === 'restoreVirtualMachine' ? { virtualmachineid: r.vm.id } : { id: r.vm.id }), ...params });
    return r;
  }

  // ---- servers -------------------------------------------------------------------

  async listServers(req: ComputeRequest<'listServers'>): Promise<ComputeResponse<'listServers'>> {
    const ctx = req.context;
    const { items, extra } = await this.page(ctx, req.query as Json);
    return out({ servers: items.map((vm) => ({ id: vm.id, name: vm.displayname || vm.name, links: this.links(ctx, 'servers', vm.id) })), ...extra });
  }

  async listServersDetail(req: ComputeRequest<'listServersDetail'>): Promise<ComputeResponse<'listServersDetail'>> {
    const ctx = req.context;
    const { items, extra } = await this.page(ctx, req.query as Json);
    const [ips, offerings] = await Promise.all([this.floatingIps(ctx), this.offerings(ctx)]);
    // One queryAsyncJobResult per VM with a job in flight (few at a time), none for the others.
    const read = await Promise.all(items.map((vm) => this.withJob(ctx, vm)));
    return out({ servers: read.map((r) => this.view(ctx, r, ips, offerings, null, true)), ...extra });
  }

  async showServer(req: ComputeRequest<'showServer'>): Promise<ComputeResponse<'showServer'>> {
    const ctx = req.context;
    const r = await this.read(ctx, req.path.id);
    const [ips, offerings, volumes] = await Promise.all([
      this.floatingIps(ctx), this.offerings(ctx),
      this.cloud.list<CsVolume>(ctx, 'listVolumes', 'volume', { virtualmachineid: r.vm.id }),
    ]);
    return out({ server: this.view(ctx, r, ips, offerings, volumes) });
  }

  async createServer(req: ComputeRequest<'createServer'>): Promise<ComputeResponse<'createServer'> | Reply<ComputeResponse<'createServer'>>> {
    const ctx = req.context;
    const s = (req.body as unknown as { server: Json }).server;
    const name = String(s.name ?? '').trim();
    if (!name) throw Fault.badRequest('Server name is required.');
    const flavorRef = String(s.flavorRef ?? '').replace(/^.*\/flavors\//, '');
    const offering = (await this.offerings(ctx)).find((o) => o.id === flavorRef);
    if (!offering) throw Fault.badRequest(`Flavor ${flavorRef} could not be found.`);
    const imageRef = String(s.imageRef ?? '').replace(/^.*\/images\//, '');
    if (!imageRef) throw Fault.badRequest('Booting from volume is not supported by the CloudStack backend: give an imageRef.');
    const template = await this.cloud.templateOrIso(ctx, imageRef).catch((err: Fault) => { throw err.status === 404 ? Fault.badRequest(`Image ${imageRef} could not be found.`) : err; });
    // CloudStack boots an ISO only onto a new data disk of a chosen disk offering, which a flavor does not carry.
    if (template.iso) throw Fault.badRequest(`Image ${imageRef} is a CloudStack ISO: booting from ISOs is not served, use a template.`);
    const az = typeof s.availability_zone === 'string' && s.availability_zone ? s.availability_zone.split(':')[0]! : undefined;
    const zone = await this.cloud.zone(ctx, az);
    const params: Record<string, string> = {
      zoneid: zone.id, serviceofferingid: offering.id, templateid: template.id, displayname: name,
    };
    // CloudStack names are host names; an OpenStack name that is not one stays the display name only.
    if (HOSTNAME.test(name)) params.name = name;
    if (typeof s.key_name === 'string' && s.key_name) {
      if (!(await this.keyPairs(ctx, s.key_name)).length) throw Fault.badRequest('Invalid key_name provided.');
      params.keypair = s.key_name;
    }
    if (typeof s.user_data === 'string' && s.user_data) params.userdata = s.user_data; // both sides want base64
    if (Array.isArray(s.networks) && s.networks.length > 0) {
      const nets = s.networks as Json[];
      const ids = nets.map((n) => n.uuid).filter((u): u is string => typeof u === 'string');
      if (ids.length !== nets.length) throw Fault.badRequest('The CloudStack backend attaches servers to networks by uuid only (no ports or fixed IPs).');
      params.networkids = ids.join(',');
    }
    const groups = Array.isArray(s.security_groups) ? (s.security_groups as Json[]).map((g) => String(g.name ?? '')).filter(Boolean) : [];
    if (groups.length) params.securitygroupnames = groups.join(',');
    const hints = (req.body as unknown as { 'os:scheduler_hints'?: Json; 'OS-SCH-HNT:scheduler_hints'?: Json });
    const group = (hints['os:scheduler_hints'] ?? hints['OS-SCH-HNT:scheduler_hints'])?.group;
    if (typeof group === 'string') {
      if (!(await this.affinityGroups(ctx, group)).length) throw Fault.badRequest(`Server group ${group} could not be found.`);
      params.affinitygroupids = group;
    }
    const metadata = s.metadata && typeof s.metadata === 'object' ? s.metadata as Record<string, string> : {};
    const { id } = await this.cloud.start(ctx, 'deployVirtualMachine', params);
    if (!id) throw new Fault('backendError', 'CloudStack deployVirtualMachine answered no virtual machine id.');
    // The tags job runs beside the deploy; nobody waits for it.
    if (Object.keys(metadata).length) await this.cloud.start(ctx, 'createTags', { resourcetype: 'UserVm', resourceids: id, ...tagParams(metadata) });
    const body: Json = { id, links: this.links(ctx, 'servers', id), 'OS-DCF:diskConfig': 'MANUAL', security_groups: (groups.length ? groups : ['default']).map((n) => ({ name: n })) };
    return new Reply(out<ComputeResponse<'createServer'>>({ server: body }), 202, { Location: `${ctx.endpoint}/v2.1/servers/${id}` });
  }

  /** Delete = destroyVirtualMachine with expunge: Nova's delete does not leave a recoverable server. */
  async deleteServer(req: ComputeRequest<'deleteServer'>): Promise<ComputeResponse<'deleteServer'>> {
    const r = await this.read(req.context, req.path.id);
    // CloudStack runs one job at a time on a VM: a delete waits until the running one is done (409, try again).
    if (r.job) throw Fault.conflict(`Cannot 'delete' instance ${req.path.id} while CloudStack job ${jobCommand(r.job)} runs on it; retry when it is done.`);
    await this.cloud.start(req.context, 'destroyVirtualMachine', { id: r.vm.id, expunge: true });
  }

  async rebootServer(req: ComputeRequest<'rebootServer'>): Promise<ComputeResponse<'rebootServer'>> {
    const type = String((req.body as unknown as { reboot: { type: string } }).reboot.type).toUpperCase();
    if (type !== 'SOFT' && type !== 'HARD') throw Fault.badRequest(`Argument 'type' for reboot must be a string with value 'SOFT' or 'HARD'`);
    // CloudStack has one reboot; a hard one may also start a stopped VM in Nova, CloudStack reboots running VMs only.
    await this.act(req.context, req.path.id, 'reboot', ['ACTIVE'], 'rebootVirtualMachine');
  }

  async stopServer(req: ComputeRequest<'stopServer'>): Promise<ComputeResponse<'stopServer'>> {
    await this.act(req.context, req.path.id, 'stop', ['ACTIVE', 'ERROR'], 'stopVirtualMachine');
  }

  async startServer(req: ComputeRequest<'startServer'>): Promise<ComputeResponse<'startServer'>> {
    await this.act(req.context, req.path.id, 'start', ['SHUTOFF'], 'startVirtualMachine');
  }

  /** Rebuild = restoreVirtualMachine (a fresh root disk from the image, or the VM's own template). */
  async rebuildServer(req: ComputeRequest<'rebuildServer'>): Promise<ComputeResponse<'rebuildServer'> | Reply<ComputeResponse<'rebuildServer'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { rebuild: Json }).rebuild;
    const imageRef = String(b.imageRef ?? '').replace(/^.*\/images\//, '');
    const image = await this.cloud.template(ctx, imageRef).catch((err: Fault) => { throw err.status === 404 ? Fault.badRequest(`Image ${imageRef} could not be found.`) : err; });
    await this.act(ctx, req.path.id, 'rebuild', ['ACTIVE', 'SHUTOFF', 'ERROR'], 'restoreVirtualMachine', { templateid: image.id });
    const r = await this.read(ctx, req.path.id);
    const [ips, offerings] = await Promise.all([this.floatingIps(ctx), this.offerings(ctx)]);
    return new Reply(out<ComputeResponse<'rebuildServer'>>({ server: this.view(ctx, r, ips, offerings, null) }), 202);
  }

  /**
   * createImage = createTemplate from the VM's ROOT volume, which CloudStack
   * does for a stopped VM only (409 otherwise, as Nova answers a state it
   * cannot act in). The template id is known at once; the image is saving
   * until CloudStack's job is done.
   */
  async createImageServer(req: ComputeRequest<'createImageServer'>): Promise<ComputeResponse<'createImageServer'> | Reply<ComputeResponse<'createImageServer'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { createImage: { name: string; metadata?: Record<string, string> } }).createImage;
    const name = b.name.trim();
    if (!name) throw Fault.badRequest('Image name is required.');
    const r = await this.read(ctx, req.path.id);
    const st = serverState(r.vm, r.job);
    if (st.task !== null || st.status !== 'SHUTOFF') {
      throw Fault.conflict(`Cannot 'createImage' instance ${req.path.id} while it is in vm_state ${st.vm}: CloudStack makes templates from a stopped server's root disk, stop it first.`);
    }
    const [root] = (await this.cloud.list<CsVolume>(ctx, 'listVolumes', 'volume', { virtualmachineid: r.vm.id, type: 'ROOT' })).filter((v) => v.type === 'ROOT');
    if (!root) throw Fault.conflict(`Instance ${req.path.id} has no root volume in CloudStack.`);
    const source = r.vm.templateid ? await this.cloud.templates(ctx, r.vm.templateid).catch(() => []) : [];
    const osTypes = await this.cloud.list<{ id: string; description: string }>(ctx, 'listOsTypes', 'ostype', {});
    const os = osTypes.find((o) => o.description === source[0]?.ostypename) ?? osTypes.find((o) => o.description === 'Other Linux (64-bit)') ?? osTypes[0];
    if (!os) throw new Fault('backendError', 'CloudStack lists no OS types.');
    const { id } = await this.cloud.start(ctx, 'createTemplate', { name, displaytext: name, volumeid: root.id, ostypeid: os.id });
    if (!id) throw new Fault('backendError', 'CloudStack createTemplate answered no template id.');
    if (atLeast(ctx.microversion, '2.45')) return new Reply(out<ComputeResponse<'createImageServer'>>({ image_id: id }), 202);
    return new Reply(out<ComputeResponse<'createImageServer'>>(undefined), 202, { Location: `${ctx.endpoint.replace(/\/compute$/, '/image')}/v2/images/${id}` });
  }

  /** Renames a server: updateVirtualMachine displayname (CloudStack keeps the host name). */
  async updateServer(req: ComputeRequest<'updateServer'>): Promise<ComputeResponse<'updateServer'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { server: { name?: string; description?: string | null } }).server;
    const r = await this.read(ctx, req.path.id);
    if (b.description !== undefined && b.description !== null && atLeast(ctx.microversion, '2.19')) throw Fault.badRequest('CloudStack VMs have no description.');
    if (typeof b.name === 'string') await this.cloud.call(ctx, 'updateVirtualMachine', { id: r.vm.id, displayname: b.name.trim() });
    const again = await this.read(ctx, req.path.id);
    const [ips, offerings] = await Promise.all([this.floatingIps(ctx), this.offerings(ctx)]);
    return out({ server: this.view(ctx, again, ips, offerings, null) });
  }

  // ---- metadata (resource tags; createTags/deleteTags are jobs, waited for here) -----------

  /**
   * Makes the VM's tags equal `next`: deleteTags for keys gone or changed,
   * then createTags for keys new or changed (CloudStack does not edit a tag
   * in place). Nova answers the metadata after the change, so this waits for
   * the jobs (bounded, see CloudStackCloud.waitJob).
   */
  private async setMetadata(ctx: Ctx, vm: CsVm, next: Record<string, string>): Promise<Record<string, string>> {
    const now = metadataOf(vm);
    for (const [k, v] of Object.entries(next)) {
      if (typeof v !== 'string' || k.length > 255 || v.length > 255) throw Fault.badRequest(`Invalid metadata item ${k}.`);
    }
    const drop = Object.keys(now).filter((k) => !(k in next) || now[k] !== next[k]);
    const add = Object.fromEntries(Object.entries(next).filter(([k, v]) => now[k] !== v));
    if (drop.length) {
      const { jobid } = await this.cloud.start(ctx, 'deleteTags', { resourcetype: 'UserVm', resourceids: vm.id, ...tagParams(Object.fromEntries(drop.map((k) => [k, now[k]!])), false) });
      await this.cloud.waitJob(ctx, jobid);
    }
    if (Object.keys(add).length) {
      const { jobid } = await this.cloud.start(ctx, 'createTags', { resourcetype: 'UserVm', resourceids: vm.id, ...tagParams(add) });
      await this.cloud.waitJob(ctx, jobid);
    }
    return next;
  }

  async listServerMetadata(req: ComputeRequest<'listServerMetadata'>): Promise<ComputeResponse<'listServerMetadata'>> {
    return out({ metadata: metadataOf((await this.read(req.context, req.path.server_id)).vm) });
  }

  async createServerMetadata(req: ComputeRequest<'createServerMetadata'>): Promise<ComputeResponse<'createServerMetadata'>> {
    const add = (req.body as unknown as { metadata: Record<string, string> }).metadata;
    const { vm } = await this.read(req.context, req.path.server_id);
    return out({ metadata: await this.setMetadata(req.context, vm, { ...metadataOf(vm), ...add }) });
  }

  async replaceServerMetadata(req: ComputeRequest<'replaceServerMetadata'>): Promise<ComputeResponse<'replaceServerMetadata'>> {
    const all = (req.body as unknown as { metadata: Record<string, string> }).metadata;
    const { vm } = await this.read(req.context, req.path.server_id);
    return out({ metadata: await this.setMetadata(req.context, vm, { ...all }) });
  }

  async showServerMetadata(req: ComputeRequest<'showServerMetadata'>): Promise<ComputeResponse<'showServerMetadata'>> {
    const m = metadataOf((await this.read(req.context, req.path.server_id)).vm);
    if (m[req.path.id] === undefined) throw Fault.notFound('Metadata item was not found');
    return out({ meta: { [req.path.id]: m[req.path.id] } });
  }

  async updateServerMetadata(req: ComputeRequest<'updateServerMetadata'>): Promise<ComputeResponse<'updateServerMetadata'>> {
    const meta = (req.body as unknown as { meta: Record<string, string> }).meta;
    if (!(req.path.id in meta)) throw Fault.badRequest('Request body and URI mismatch');
    if (Object.keys(meta).length > 1) throw Fault.badRequest('Request body contains too many items');
    const { vm } = await this.read(req.context, req.path.server_id);
    await this.setMetadata(req.context, vm, { ...metadataOf(vm), ...meta });
    return out({ meta });
  }

  async deleteServerMetadata(req: ComputeRequest<'deleteServerMetadata'>): Promise<ComputeResponse<'deleteServerMetadata'>> {
    const { vm } = await this.read(req.context, req.path.server_id);
    const m = metadataOf(vm);
    if (m[req.path.id] === undefined) throw Fault.notFound('Metadata item was not found');
    delete m[req.path.id];
    await this.setMetadata(req.context, vm, m);
  }

  // ---- server groups (affinity groups; create/delete are jobs, waited for) ------------------

  private affinityGroups(ctx: Ctx, id?: string): Promise<CsAffinityGroup[]> {
    if (id !== undefined && !isUuid(id)) return Promise.resolve([]);
    return this.cloud.list<CsAffinityGroup>(ctx, 'listAffinityGroups', 'affinitygroup', id ? { id } : {})
      .catch((err: Fault) => { if (id && err.status === 400) return []; throw err; });
  }

  private serverGroupView(ctx: Ctx, g: CsAffinityGroup): Json {
    const policy = Object.entries(POLICY_TYPE).find(([, type]) => type === g.type)?.[0] ?? g.type;
    const v: Json = { id: g.id, name: g.name, members: g.virtualmachineIds ?? [] };
    if (atLeast(ctx.microversion, '2.64')) Object.assign(v, { policy, rules: {} });
    else Object.assign(v, { policies: [policy], metadata: {} });
    if (atLeast(ctx.microversion, '2.13')) Object.assign(v, { project_id: ctx.auth?.projectId ?? '', user_id: ctx.auth?.userId ?? '' });
    return v;
  }

  async listServerGroups(req: ComputeRequest<'listServerGroups'>): Promise<ComputeResponse<'listServerGroups'>> {
    const q = req.query as Json;
    const all = await this.affinityGroups(req.context);
    const { items } = paginate(all, { ...(typeof q.limit === 'string' ? { limit: q.limit } : {}) }, (g) => g.id);
    return out({ server_groups: items.slice(Number(q.offset ?? 0)).map((g) => this.serverGroupView(req.context, g)) });
  }

  async showServerGroup(req: ComputeRequest<'showServerGroup'>): Promise<ComputeResponse<'showServerGroup'>> {
    const [g] = await this.affinityGroups(req.context, req.path.id);
    if (!g) throw Fault.notFound(`Server group ${req.path.id} could not be found.`);
    return out({ server_group: this.serverGroupView(req.context, g) });
  }

  /** createAffinityGroup (host affinity or host anti-affinity); CloudStack has no soft policies or rules. */
  async createServerGroup(req: ComputeRequest<'createServerGroup'>): Promise<ComputeResponse<'createServerGroup'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { server_group: { name: string; policies?: string[]; policy?: string; rules?: Record<string, unknown> } }).server_group;
    const policy = atLeast(ctx.microversion, '2.64') ? b.policy : b.policies?.[0];
    if ((b.policies?.length ?? 1) > 1) throw Fault.badRequest('Invalid input for field/attribute policies: only one policy is allowed.');
    const type = policy ? POLICY_TYPE[policy] : undefined;
    if (!type) throw Fault.badRequest(`Invalid input for field/attribute policy. Value: ${String(policy)}. CloudStack affinity groups are affinity or anti-affinity (no soft policies).`);
    if (b.rules && Object.keys(b.rules).length) throw Fault.badRequest('CloudStack affinity groups take no rules (max_server_per_host).');
    const { id, jobid } = await this.cloud.start(ctx, 'createAffinityGroup', { name: b.name, type });
    await this.cloud.waitJob(ctx, jobid);
    const [g] = id ? await this.affinityGroups(ctx, id) : [];
    if (!g) throw new Fault('backendError', 'CloudStack made an affinity group but does not list it.');
    return out({ server_group: this.serverGroupView(ctx, g) });
  }

  async deleteServerGroup(req: ComputeRequest<'deleteServerGroup'>): Promise<ComputeResponse<'deleteServerGroup'>> {
    const [g] = await this.affinityGroups(req.context, req.path.id);
    if (!g) throw Fault.notFound(`Server group ${req.path.id} could not be found.`);
    // Nova deletes a group with members; CloudStack refuses (431 → 400): the caller hears why.
    const { jobid } = await this.cloud.start(req.context, 'deleteAffinityGroup', { id: g.id });
    await this.cloud.waitJob(req.context, jobid);
  }

  /**
   * os-server-password is getVMPassword: both are the generated password
   * encrypted with the server's SSH key, base64. A server without one shows
   * "" as Nova does (CloudStack answers 431 "No password … found").
   */
  async listServerServerPassword(req: ComputeRequest<'listServerServerPassword'>): Promise<ComputeResponse<'listServerServerPassword'>> {
    const { vm } = await this.read(req.context, req.path.server_id);
    try {
      const r = await this.cloud.call<{ password?: { encryptedpassword?: string } }>(req.context, 'getVMPassword', { id: vm.id });
      return out({ password: r.password?.encryptedpassword ?? '' });
    } catch (err) {
      if ((err as Fault).status === 400) return out({ password: '' });
      throw err;
    }
  }

  // ---- consoles: createConsoleEndpoint (CloudStack's noVNC console proxy) ----------------

  private async consoleUrl(ctx: Ctx, id: string): Promise<string> {
    const { vm, job } = await this.read(ctx, id);
    const st = serverState(vm, job);
    if (st.status !== 'ACTIVE') throw Fault.conflict(`Cannot 'get_vnc_console' instance ${id} while it is in vm_state ${st.vm}`);
    const r = await this.cloud.call<{ consoleendpoint?: { success?: boolean | string; url?: string; details?: string } }>(ctx, 'createConsoleEndpoint', { virtualmachineid: vm.id });
    const url = r.consoleendpoint?.url;
    if (!url || String(r.consoleendpoint?.success) === 'false') throw new Fault('backendError', `CloudStack gave no console for ${id}: ${r.consoleendpoint?.details ?? 'no url'}`);
    return url;
  }

  /** os-getVNCConsole (novnc only: CloudStack's console proxy is noVNC). */
  async getVncConsoleServer(req: ComputeRequest<'getVncConsoleServer'>): Promise<ComputeResponse<'getVncConsoleServer'>> {
    const type = String((req.body as unknown as { 'os-getVNCConsole': { type: string } })['os-getVNCConsole'].type);
    if (type !== 'novnc') throw Fault.badRequest(`Invalid console type ${type}: CloudStack serves noVNC consoles only.`);
    return out({ console: { type, url: await this.consoleUrl(req.context, req.path.id) } });
  }

  async createServerRemoteConsole(req: ComputeRequest<'createServerRemoteConsole'>): Promise<ComputeResponse<'createServerRemoteConsole'>> {
    const rc = (req.body as unknown as { remote_console: { protocol: string; type: string } }).remote_console;
    if (rc.protocol !== 'vnc' || rc.type !== 'novnc') throw Fault.badRequest(`Unsupported console protocol ${rc.protocol}/${rc.type}: CloudStack serves vnc/novnc only.`);
    return out({ remote_console: { protocol: 'vnc', type: 'novnc', url: await this.consoleUrl(req.context, req.path.server_id) } });
  }

  // ---- interfaces (the VM's NICs; attach/detach not mapped) ------------------------------

  private interfaceView(ctx: Ctx, vm: CsVm, nic: NonNullable<CsVm['nic']>[number]): Json {
    return {
      ...(atLeast(ctx.microversion, '2.70') ? { tag: null } : {}),
      port_id: nic.id, net_id: nic.networkid, mac_addr: nic.macaddress ?? '', port_state: vm.state === 'Running' ? 'ACTIVE' : 'DOWN',
      fixed_ips: nic.ipaddress ? [{ ip_address: nic.ipaddress, subnet_id: subnetIdOf(nic.networkid) }] : [],
    };
  }

  async listServerInterface(req: ComputeRequest<'listServerInterface'>): Promise<ComputeResponse<'listServerInterface'>> {
    const { vm } = await this.read(req.context, req.path.server_id);
    return out({ interfaceAttachments: (vm.nic ?? []).map((n) => this.interfaceView(req.context, vm, n)) });
  }

  async showServerInterface(req: ComputeRequest<'showServerInterface'>): Promise<ComputeResponse<'showServerInterface'>> {
    const { vm } = await this.read(req.context, req.path.server_id);
    const nic = (vm.nic ?? []).find((n) => n.id === req.path.id);
    if (!nic) throw Fault.notFound(`Port ${req.path.id} is not attached`);
    return out({ interfaceAttachment: this.interfaceView(req.context, vm, nic) });
  }

  // ---- addresses ---------------------------------------------------------------------

  async listServerIps(req: ComputeRequest<'listServerIps'>): Promise<ComputeResponse<'listServerIps'>> {
    const r = await this.read(req.context, req.path.server_id);
    const a = this.addresses(r.vm, await this.floatingIps(req.context));
    return out({ addresses: Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.map((x) => ({ version: x.version, addr: x.addr }))])) });
  }

  async showServerIp(req: ComputeRequest<'showServerIp'>): Promise<ComputeResponse<'showServerIp'>> {
    const r = await this.read(req.context, req.path.server_id);
    const a = this.addresses(r.vm, await this.floatingIps(req.context))[req.path.id];
    if (!a) throw Fault.notFound('Network not found');
    return out({ [req.path.id]: a.map((x) => ({ version: x.version, addr: x.addr })) });
  }

  async listServerSecurityGroups(req: ComputeRequest<'listServerSecurityGroups'>): Promise<ComputeResponse<'listServerSecurityGroups'>> {
    const ctx = req.context;
    const r = await this.read(ctx, req.path.server_id);
    return out({
      security_groups: (r.vm.securitygroup ?? []).map((g) => ({ id: g.id, name: g.name, description: '', tenant_id: ctx.auth?.projectId ?? '', rules: [] })),
    });
  }

  /**
   * add/removeSecurityGroup: updateVirtualMachine securitygroupids, which
   * CloudStack accepts for a stopped VM only (409 otherwise, with the reason).
   */
  private async changeGroups(ctx: Ctx, id: string, name: string, add: boolean): Promise<void> {
    const { vm, job } = await this.read(ctx, id);
    const groups = await this.cloud.list<{ id: string; name: string }>(ctx, 'listSecurityGroups', 'securitygroup', {});
    const named = groups.filter((g) => g.name === name || g.id === name);
    if (named.length > 1) throw Fault.conflict(`Multiple security groups found matching '${name}'. Use an ID to be more specific.`);
    const group = named[0];
    if (!group) throw Fault.notFound(`Security group ${name} not found.`);
    const current = (vm.securitygroup ?? []).map((g) => g.id);
    if (add && current.includes(group.id)) throw Fault.badRequest(`Security group ${name} is already associated with the instance ${id}`);
    if (!add && !current.includes(group.id)) throw Fault.notFound(`Security group ${name} not associated with the instance ${id}`);
    if (vm.state !== 'Stopped' || job) throw Fault.conflict(`Cannot change the security groups of instance ${id} while it is ${vm.state}: CloudStack changes them on a stopped server only.`);
    const next = add ? [...current, group.id] : current.filter((g) => g !== group.id);
    if (!next.length) throw Fault.badRequest(`Instance ${id} would have no security group: CloudStack keeps at least one.`);
    await this.cloud.call(ctx, 'updateVirtualMachine', { id: vm.id, securitygroupids: next.join(',') });
  }

  async addSecurityGroupServer(req: ComputeRequest<'addSecurityGroupServer'>): Promise<ComputeResponse<'addSecurityGroupServer'>> {
    await this.changeGroups(req.context, req.path.id, String((req.body as unknown as { addSecurityGroup: { name: string } }).addSecurityGroup.name ?? ''), true);
  }

  async removeSecurityGroupServer(req: ComputeRequest<'removeSecurityGroupServer'>): Promise<ComputeResponse<'removeSecurityGroupServer'>> {
    await this.changeGroups(req.context, req.path.id, String((req.body as unknown as { removeSecurityGroup: { name: string } }).removeSecurityGroup.name ?? ''), false);
  }

  // ---- volume attachments (attachVolume / detachVolume, async) -------------------------

  private attachmentView(ctx: Ctx, v: CsVolume, serverId: string): Json {
    const a = attachmentOf(v, serverId);
    if (atLeast(ctx.microversion, '2.89')) {
      delete a.id;
      Object.assign(a, { attachment_id: v.id, bdm_uuid: v.id });
    }
    if (atLeast(ctx.microversion, '2.70')) a.tag = null;
    if (atLeast(ctx.microversion, '2.79')) a.delete_on_termination = false;
    return a;
  }

  async listServerVolumeAttachments(req: ComputeRequest<'listServerVolumeAttachments'>): Promise<ComputeResponse<'listServerVolumeAttachments'>> {
    const ctx = req.context;
    const r = await this.read(ctx, req.path.server_id);
    const vols = (await this.cloud.list<CsVolume>(ctx, 'listVolumes', 'volume', { virtualmachineid: r.vm.id })).filter((v) => v.type !== 'ROOT');
    const { items } = paginate(vols, req.query as { limit?: string; marker?: string }, (v) => v.id);
    return out({ volumeAttachments: items.map((v) => this.attachmentView(ctx, v, r.vm.id)) });
  }

  private async volume(ctx: Ctx, id: string): Promise<CsVolume | undefined> {
    if (!isUuid(id)) return undefined;
    const [v] = await this.cloud.list<CsVolume>(ctx, 'listVolumes', 'volume', { id }).catch((err: Fault) => { if (err.status === 400) return []; throw err; });
    return v;
  }

  async showServerVolumeAttachment(req: ComputeRequest<'showServerVolumeAttachment'>): Promise<ComputeResponse<'showServerVolumeAttachment'>> {
    const ctx = req.context;
    const r = await this.read(ctx, req.path.server_id);
    const v = await this.volume(ctx, req.path.id);
    if (!v || v.virtualmachineid !== r.vm.id) throw Fault.notFound(`Instance ${req.path.server_id} is not attached to volume ${req.path.id}.`);
    return out({ volumeAttachment: this.attachmentView(ctx, v, r.vm.id) });
  }

  /** attachVolume is an async job: the volume shows `attaching` until it is done. */
  async createServerVolumeAttachment(req: ComputeRequest<'createServerVolumeAttachment'>): Promise<ComputeResponse<'createServerVolumeAttachment'>> {
    const ctx = req.context;
    const b = (req.body as unknown as { volumeAttachment: { volumeId: string } }).volumeAttachment;
    const r = await this.read(ctx, req.path.server_id);
    const v = await this.volume(ctx, b.volumeId);
    if (!v) throw Fault.notFound(`Volume ${b.volumeId} could not be found.`);
    if (v.virtualmachineid) throw Fault.badRequest(`Invalid volume: volume ${b.volumeId} is already attached.`);
    if (await this.cloud.pendingJob(ctx, v)) throw Fault.conflict(`Volume ${b.volumeId} has a CloudStack job in flight.`);
    if (v.zoneid && v.zoneid !== r.vm.zoneid) throw Fault.badRequest(`Volume ${b.volumeId} is in zone ${v.zonename ?? v.zoneid}, instance ${r.vm.id} in ${r.vm.zonename}: CloudStack attaches within a zone.`);
    await this.cloud.start(ctx, 'attachVolume', { id: v.id, virtualmachineid: r.vm.id });
    const view = this.attachmentView({ ...ctx, microversion: atLeast(ctx.microversion, '2.89') ? '2.88' : ctx.microversion }, v, r.vm.id);
    return out({ volumeAttachment: view });
  }

  async deleteServerVolumeAttachment(req: ComputeRequest<'deleteServerVolumeAttachment'>): Promise<ComputeResponse<'deleteServerVolumeAttachment'>> {
    const ctx = req.context;
    const r = await this.read(ctx, req.path.server_id);
    const v = await this.volume(ctx, req.path.id);
    if (!v || v.virtualmachineid !== r.vm.id) throw Fault.notFound(`Instance ${req.path.server_id} is not attached to volume ${req.path.id}.`);
    if (v.type === 'ROOT') throw Fault.badRequest(`Volume ${req.path.id} is the root disk of instance ${req.path.server_id}: it cannot be detached.`);
    await this.cloud.start(ctx, 'detachVolume', { id: v.id });
  }

  // ---- Nova's volume proxy (/v2.1/os-volumes, up to 2.35) over the same data volumes ----------

  private async novaVolumeView(ctx: Ctx, v: CsVolume): Promise<Json> {
    const job = await this.cloud.pendingJob(ctx, v);
    return {
      id: v.id, status: volumeStatus(v, job), size: Math.round(v.size / 1024 ** 3), availabilityZone: v.zonename ?? '',
      createdAt: (isoZ(v.created) ?? '1970-01-01T00:00:00Z').replace(/Z$/, '.000000'), displayName: v.name, displayDescription: null,
      volumeType: v.diskofferingname ?? '__DEFAULT__', snapshotId: v.snapshotid ?? null, metadata: {},
      attachments: v.virtualmachineid ? [{ id: v.id, volumeId: v.id, serverId: v.virtualmachineid, device: attachmentOf(v, v.virtualmachineid).device }] : [{}],
    };
  }

  private async dataVolumes(ctx: Ctx): Promise<CsVolume[]> {
    return (await this.cloud.list<CsVolume>(ctx, 'listVolumes', 'volume', { type: 'DATADISK' })).filter((v) => v.type !== 'ROOT');
  }

  async listVolumes(req: ComputeRequest<'listVolumes'>): Promise<ComputeResponse<'listVolumes'>> {
    const { items } = paginate(await this.dataVolumes(req.context), req.query as { limit?: string; marker?: string }, (v) => v.id);
    return out({ volumes: await Promise.all(items.map((v) => this.novaVolumeView(req.context, v))) });
  }

  async listVolumesDetail(req: ComputeRequest<'listVolumesDetail'>): Promise<ComputeResponse<'listVolumesDetail'>> {
    const { items } = paginate(await this.dataVolumes(req.context), req.query as { limit?: string; marker?: string }, (v) => v.id);
    return out({ volumes: await Promise.all(items.map((v) => this.novaVolumeView(req.context, v))) });
  }

  async showVolume(req: ComputeRequest<'showVolume'>): Promise<ComputeResponse<'showVolume'>> {
    const v = await this.volume(req.context, req.path.id);
    if (!v || v.type === 'ROOT') throw Fault.notFound(`Volume ${req.path.id} could not be found.`);
    return out({ volume: await this.novaVolumeView(req.context, v) });
  }

  // ---- flavors (service offerings) ---------------------------------------------------

  private flavorView(ctx: Ctx, o: CsOffering, detail: boolean): Json {
    const v: Json = { id: o.id, name: o.name, links: this.links(ctx, 'flavors', o.id) };
    if (atLeast(ctx.microversion, '2.55')) v.description = o.displaytext ?? null;
    if (!detail) return v;
    Object.assign(v, {
      vcpus: o.cpunumber, ram: o.memory, disk: o.rootdisksize ?? 0, swap: atLeast(ctx.microversion, '2.75') ? 0 : '', 'OS-FLV-EXT-DATA:ephemeral': 0, 'OS-FLV-DISABLED:disabled': false,
      rxtx_factor: 1.0, 'os-flavor-access:is_public': true,
    });
    if (atLeast(ctx.microversion, '2.61')) v.extra_specs = {};
    return v;
  }

  /** Offerings with a fixed size; custom-size offerings need cpu/memory per deploy, which Nova flavors cannot carry. */
  private async flavors(ctx: Ctx): Promise<CsOffering[]> {
    return (await this.offerings(ctx)).filter((o) => !o.iscustomized && o.cpunumber > 0 && o.memory > 0)
      .sort((a, b) => a.memory - b.memory || a.cpunumber - b.cpunumber || a.id.localeCompare(b.id));
  }

  private async flavorPage(ctx: Ctx, q: Json, detail: boolean) {
    let list = await this.flavors(ctx);
    if (q.minRam !== undefined) list = list.filter((f) => f.memory >= Number(q.minRam));
    if (q.minDisk !== undefined) list = list.filter((f) => (f.rootdisksize ?? 0) >= Number(q.minDisk));
    const { items, more } = paginate(list, q as { limit?: string; marker?: string }, (f) => f.id);
    return { flavors: items.map((f) => this.flavorView(ctx, f, detail)), ...(more ? { flavors_links: [nextLink(ctx.url, q, items[items.length - 1]!.id)] } : {}) };
  }

  async listFlavors(req: ComputeRequest<'listFlavors'>): Promise<ComputeResponse<'listFlavors'>> {
    return out(await this.flavorPage(req.context, req.query as Json, false));
  }

  async listFlavorsDetail(req: ComputeRequest<'listFlavorsDetail'>): Promise<ComputeResponse<'listFlavorsDetail'>> {
    return out(await this.flavorPage(req.context, req.query as Json, true));
  }

  async showFlavor(req: ComputeRequest<'showFlavor'>): Promise<ComputeResponse<'showFlavor'>> {
    const f = (await this.offerings(req.context)).find((x) => x.id === req.path.id);
    if (!f) throw Fault.notFound(`Flavor ${req.path.id} could not be found.`);
    return out({ flavor: this.flavorView(req.context, f, true) });
  }

  async showFlavorExtraSpec(req: ComputeRequest<'showFlavorExtraSpec'>): Promise<ComputeResponse<'showFlavorExtraSpec'>> {
    if (!(await this.offerings(req.context)).some((x) => x.id === req.path.flavor_id)) throw Fault.notFound(`Flavor ${req.path.flavor_id} could not be found.`);
    throw Fault.notFound(`Flavor ${req.path.flavor_id} has no extra specs with key ${req.path.id}.`);
  }

  async listFlavorExtraSpecs(req: ComputeRequest<'listFlavorExtraSpecs'>): Promise<ComputeResponse<'listFlavorExtraSpecs'>> {
    if (!(await this.offerings(req.context)).some((x) => x.id === req.path.flavor_id)) throw Fault.notFound(`Flavor ${req.path.flavor_id} could not be found.`);
    return out({ extra_specs: {} });
  }

  // ---- key pairs (SSH key pairs; the name is the key) ----------------------------------

  private keyPairs(ctx: Ctx, name?: string): Promise<CsKeyPair[]> {
    return this.cloud.list<CsKeyPair>(ctx, 'listSSHKeyPairs', 'sshkeypair', name ? { name } : {}).then((l) => (name ? l.filter((k) => k.name === name) : l));
  }

  /** What Nova's key pair views need of a CloudStack SSH key pair (CloudStack keeps no creation time). */
  private keypairFacts(ctx: Ctx, k: CsKeyPair): KeypairFacts {
    return { name: k.name, publicKey: k.publickey ?? '', fingerprint: k.fingerprint, type: 'ssh', userId: ctx.auth?.userId ?? '', createdAt: '1970-01-01T00:00:00.000000', id: keypairNumber(k) };
  }

  async listKeypairs(req: ComputeRequest<'listKeypairs'>): Promise<ComputeResponse<'listKeypairs'>> {
    const ctx = req.context;
    return out(keypairList(ctx, (await this.keyPairs(ctx)).map((k) => this.keypairFacts(ctx, k)), req.query as Json));
  }

  async showKeypair(req: ComputeRequest<'showKeypair'>): Promise<ComputeResponse<'showKeypair'>> {
    const [k] = await this.keyPairs(req.context, req.path.id);
    if (!k) throw keypairNotFound(req.path.id, req.context.auth?.userId ?? '');
    return out({ keypair: keypairView(req.context.microversion, this.keypairFacts(req.context, k), true) });
  }

  /** With a public key: registerSSHKeyPair; without: createSSHKeyPair, which answers the private key once. */
  async createKeypair(req: ComputeRequest<'createKeypair'>): Promise<ComputeResponse<'createKeypair'> | Reply<ComputeResponse<'createKeypair'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { keypair: { name: string; public_key?: string; type?: string } }).keypair;
    const name = keypairName(ctx.microversion, b.name);
    if (b.type === 'x509') throw Fault.badRequest('Keypair data is invalid: CloudStack keeps SSH keys only, not x509 certificates.');
    if ((await this.keyPairs(ctx, name)).length) throw Fault.conflict(`Key pair '${name}' already exists.`);
    const publicKey = b.public_key?.trim();
    let k: CsKeyPair;
    if (publicKey) {
      k = (await this.cloud.call<{ keypair: CsKeyPair }>(ctx, 'registerSSHKeyPair', { name, publickey: publicKey })).keypair;
      k.publickey ??= publicKey;
    } else {
      requirePublicKeyFrom292(ctx.microversion, publicKey);
      k = (await this.cloud.call<{ keypair: CsKeyPair }>(ctx, 'createSSHKeyPair', { name })).keypair;
      if (!k.publickey) k.publickey = (await this.keyPairs(ctx, name))[0]?.publickey ?? '';
    }
    const v = keypairView(ctx.microversion, this.keypairFacts(ctx, k), false);
    v.user_id = ctx.auth?.userId ?? '';
    if (k.privatekey) v.private_key = k.privatekey;
    return new Reply(out<ComputeResponse<'createKeypair'>>({ keypair: v }), atLeast(ctx.microversion, '2.2') ? 201 : 200);
  }

  async deleteKeypair(req: ComputeRequest<'deleteKeypair'>): Promise<ComputeResponse<'deleteKeypair'> | Reply<ComputeResponse<'deleteKeypair'>>> {
    const [k] = await this.keyPairs(req.context, req.path.id);
    if (!k) throw keypairNotFound(req.path.id, req.context.auth?.userId ?? '');
    await this.cloud.call(req.context, 'deleteSSHKeyPair', { name: k.name });
    return new Reply(undefined, atLeast(req.context.microversion, '2.2') ? 204 : 202);
  }

  // ---- availability zones --------------------------------------------------------------

  async listAvailabilityZone(req: ComputeRequest<'listAvailabilityZone'>): Promise<ComputeResponse<'listAvailabilityZone'>> {
    const zones = await this.cloud.zones(req.context);
    return out({ availabilityZoneInfo: zones.map((z) => ({ zoneName: z.name, zoneState: { available: true }, hosts: null })) });
  }

  async listAvailabilityZoneDetail(req: ComputeRequest<'listAvailabilityZoneDetail'>): Promise<ComputeResponse<'listAvailabilityZoneDetail'>> {
    const zones = await this.cloud.zones(req.context);
    return out({ availabilityZoneInfo: zones.map((z) => ({ zoneName: z.name, zoneState: { available: true }, hosts: {} })) });
  }

  // ---- limits (listResourceLimits: 0 instances, 8 cores, 9 memory MiB; -1 is unlimited as in Nova) ----

  /** Limits from listResourceLimits; what is used from the account's resource counts (listAccounts vmtotal, cputotal, memorytotal). */
  private async usage(ctx: Ctx) {
    const cred = this.cloud.cred(ctx);
    const [limits, accounts, keys] = await Promise.all([
      this.cloud.list<{ resourcetype: string; max: number }>(ctx, 'listResourceLimits', 'resourcelimit', {}),
      this.cloud.list<{ name: string; vmtotal?: number; cputotal?: number; memorytotal?: number }>(ctx, 'listAccounts', 'account', cred.account ? { name: cred.account, ...(cred.domainId ? { domainid: cred.domainId } : {}) } : {}),
      this.keyPairs(ctx),
    ]);
    const max = (type: string) => Number(limits.find((l) => String(l.resourcetype) === type)?.max ?? -1);
    const account = accounts.find((a) => a.name === cred.account) ?? accounts[0];
    return {
      maxInstances: max('0'), maxCores: max('8'), maxRam: max('9'),
      instances: Number(account?.vmtotal ?? 0), cores: Number(account?.cputotal ?? 0), ram: Number(account?.memorytotal ?? 0), keyPairs: keys.length,
    };
  }

  async listLimits(req: ComputeRequest<'listLimits'>): Promise<ComputeResponse<'listLimits'>> {
    const u = await this.usage(req.context);
    const absolute: Json = {
      maxTotalInstances: u.maxInstances, maxTotalCores: u.maxCores, maxTotalRAMSize: u.maxRam, maxTotalKeypairs: -1, maxServerMeta: 0, maxServerGroups: 0, maxServerGroupMembers: 0,
      totalInstancesUsed: u.instances, totalCoresUsed: u.cores, totalRAMUsed: u.ram, totalServerGroupsUsed: 0,
    };
    if (!atLeast(req.context.microversion, '2.57')) Object.assign(absolute, { maxPersonality: 0, maxPersonalitySize: 0 });
    if (!atLeast(req.context.microversion, '2.39')) absolute.maxImageMeta = 0;
    if (!atLeast(req.context.microversion, '2.36')) {
      Object.assign(absolute, { maxSecurityGroups: -1, maxSecurityGroupRules: -1, maxTotalFloatingIps: -1, totalSecurityGroupsUsed: 0, totalFloatingIpsUsed: 0 });
    }
    return out({ limits: { rate: [], absolute } });
  }

  /** Quota sets are CloudStack's resource limits, read-only (updateResourceLimit is a domain admin's). */
  private quotaSet(mv: string | null, id: string, u: Awaited<ReturnType<CloudStackCompute['usage']>>, detail: boolean): Json {
    const q = (limit: number, inUse: number) => (detail ? { limit, in_use: inUse, reserved: 0 } : limit);
    const v: Json = {
      id, instances: q(u.maxInstances, u.instances), cores: q(u.maxCores, u.cores), ram: q(u.maxRam, u.ram),
      key_pairs: q(-1, u.keyPairs), metadata_items: q(-1, 0), server_groups: q(0, 0), server_group_members: q(0, 0),
    };
    if (!atLeast(mv, '2.57')) Object.assign(v, { injected_files: q(0, 0), injected_file_content_bytes: q(0, 0), injected_file_path_bytes: q(0, 0) });
    if (!atLeast(mv, '2.36')) Object.assign(v, { fixed_ips: q(-1, 0), floating_ips: q(-1, 0), security_groups: q(-1, 0), security_group_rules: q(-1, 0) });
    return v;
  }

  async showQuotaSet(req: ComputeRequest<'showQuotaSet'>): Promise<ComputeResponse<'showQuotaSet'>> {
    return out({ quota_set: this.quotaSet(req.context.microversion, req.path.id, await this.usage(req.context), false) });
  }

  async listQuotaSetDefaults(req: ComputeRequest<'listQuotaSetDefaults'>): Promise<ComputeResponse<'listQuotaSetDefaults'>> {
    return out({ quota_set: this.quotaSet(req.context.microversion, req.path.id, await this.usage(req.context), false) });
  }

  async listQuotaSetsDetail(req: ComputeRequest<'listQuotaSetsDetail'>): Promise<ComputeResponse<'listQuotaSetsDetail'>> {
    return out({ quota_set: this.quotaSet(req.context.microversion, req.path.id, await this.usage(req.context), true) });
  }

  // ---- Nova's image proxy (/v2.1/images) over templates ---------------------------------

  private novaImageView(ctx: Ctx, t: CsTemplate, detail: boolean): Json {
    const glance = ctx.endpoint.replace(/\/compute$/, '/image');
    const v: Json = {
      id: t.id, name: t.name,
      links: [...this.links(ctx, 'images', t.id), { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${glance}/images/${t.id}` }],
    };
    if (!detail) return v;
    const status = t.isready === false ? 'SAVING' : 'ACTIVE';
    const created = isoZ(t.created) ?? '1970-01-01T00:00:00Z';
    return { ...v, status, progress: status === 'ACTIVE' ? 100 : 50, minDisk: 0, minRam: 0, created, updated: created, metadata: {}, 'OS-EXT-IMG-SIZE:size': Number(t.size ?? 0) };
  }

  private async imagePage(ctx: Ctx, q: Json, detail: boolean) {
    let list = await this.cloud.templates(ctx);
    if (typeof q.name === 'string') list = list.filter((t) => t.name === q.name);
    const { items, more } = paginate(list, q as { limit?: string; marker?: string }, (t) => t.id);
    return { images: items.map((t) => this.novaImageView(ctx, t, detail)), ...(more ? { images_links: [nextLink(ctx.url, q, items[items.length - 1]!.id)] } : {}) };
  }

  async listImages(req: ComputeRequest<'listImages'>): Promise<ComputeResponse<'listImages'>> {
    return out(await this.imagePage(req.context, req.query as Json, false));
  }

  async listImagesDetail(req: ComputeRequest<'listImagesDetail'>): Promise<ComputeResponse<'listImagesDetail'>> {
    return out(await this.imagePage(req.context, req.query as Json, true));
  }

  async showImage(req: ComputeRequest<'showImage'>): Promise<ComputeResponse<'showImage'>> {
    return out({ image: this.novaImageView(req.context, await this.cloud.template(req.context, req.path.id), true) });
  }

  async deleteImage(req: ComputeRequest<'deleteImage'>): Promise<ComputeResponse<'deleteImage'>> {
    const t = await this.cloud.template(req.context, req.path.id);
    const cred = this.cloud.cred(req.context);
    if (t.account !== cred.account) throw Fault.forbidden(`You are not permitted to delete image ${req.path.id}: it is not your account's template.`);
    await this.cloud.start(req.context, 'deleteTemplate', { id: t.id });
  }
}
