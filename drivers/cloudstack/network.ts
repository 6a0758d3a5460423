/**
 * Neutron over CloudStack networking: guest networks are networks, each with
 * the one subnet CloudStack gives it (its CIDR); ports are the VMs' NICs;
 * each zone's public IP space is an external network `public-<zone>`, and
 * public IP addresses are floating IPs (associateIpAddress), associated with
 * a port by static NAT (enableStaticNat / disableStaticNat). Security groups
 * and their ingress/egress rules are CloudStack's own. Networks, subnets and
 * ports are read-only here: CloudStack makes guest networks from network
 * offerings, which Neutron's create cannot name (501).
 */
import { createHash } from 'node:crypto';
import type { NetworkDriver, NetworkRequest, NetworkResponse } from '../../generated/index.js';
import type { RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { CloudStackCloud, isUuid, isoZ, type CsZone } from './cloud.js';
import type { CsVm } from './compute.js';
import { neutronListing } from '../../src/paging.js';
import { ipv4Allocation } from '../../src/subnets.js';

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

interface CsNetwork { id: string; name: string; displaytext?: string; zoneid: string; zonename?: string; cidr?: string; gateway?: string; netmask?: string; state?: string; type?: string }
interface CsRule { ruleid: string; protocol: string; startport?: number; endport?: number; icmptype?: number; icmpcode?: number; cidr?: string; securitygroupname?: string; account?: string }
interface CsSecurityGroup { id: string; name: string; description?: string; ingressrule?: CsRule[]; egressrule?: CsRule[] }
interface CsPublicIp {
  id: string; ipaddress: string; zoneid: string; zonename?: string; state: string; isstaticnat?: boolean; issourcenat?: boolean;
  virtualmachineid?: string; vmipaddress?: string; associatednetworkid?: string; allocated?: string;
}

const EPOCH = '1970-01-01T00:00:00Z';

/** A stable UUID for something CloudStack has no object for (a network's subnet, a zone's public network). */
function derivedId(kind: string, id: string): string {
  const h = createHash('sha1').update(`${kind}:${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The id of the one subnet of a guest network. */
export function subnetIdOf(networkId: string): string {
  return derivedId('subnet', networkId);
}

export class CloudStackNetwork implements NetworkDriver {
  constructor(private readonly cloud: CloudStackCloud) {}

  private project(ctx: Ctx): string {
    return ctx.auth?.projectId ?? '';
  }

  private notFound(what: string, id: string): never {
    throw Fault.notFound(`${what} ${id} could not be found.`, { type: `${what}NotFound` });
  }

  // ---- networks and subnets (guest networks; zones' public networks) -----------------

  private guestNetworks(ctx: Ctx): Promise<CsNetwork[]> {
    return this.cloud.list<CsNetwork>(ctx, 'listNetworks', 'network', {});
  }

  private netBase(ctx: Ctx, id: string, name: string, zone: string | undefined, external: boolean, subnets: string[]): Json {
    return {
      id, name, status: 'ACTIVE', admin_state_up: true, shared: external, subnets,
      tenant_id: external ? '' : this.project(ctx), project_id: external ? '' : this.project(ctx), 'router:external': external,
      mtu: 1500, port_security_enabled: !external, availability_zones: zone ? [zone] : [], availability_zone_hints: [],
      description: '', tags: [], created_at: EPOCH, updated_at: EPOCH, revision_number: 0, is_default: external, l2_adjacency: true,
    };
  }

  private guestView(ctx: Ctx, n: CsNetwork): Json {
    return this.netBase(ctx, n.id, n.name, n.zonename, false, n.cidr ? [derivedId('subnet', n.id)] : []);
  }

  private publicView(ctx: Ctx, z: CsZone): Json {
    return this.netBase(ctx, derivedId('public', z.id), `public-${z.name}`, z.name, true, []);
  }

  private async allNetworks(ctx: Ctx): Promise<Json[]> {
    const [nets, zones] = await Promise.all([this.guestNetworks(ctx), this.cloud.zones(ctx)]);
    return [...nets.map((n) => this.guestView(ctx, n)), ...zones.map((z) => this.publicView(ctx, z))];
  }

  async listNetworks(req: NetworkRequest<'listNetworks'>): Promise<NetworkResponse<'listNetworks'>> {
    return out(neutronListing(await this.allNetworks(req.context), req.query as Json, 'networks', req.context.url));
  }

  async showNetwork(req: NetworkRequest<'showNetwork'>): Promise<NetworkResponse<'showNetwork'>> {
    const n = (await this.allNetworks(req.context)).find((x) => x.id === req.path.network_id);
    if (!n) this.notFound('Network', req.path.network_id);
    return out({ network: n });
  }

  private subnetView(ctx: Ctx, n: CsNetwork): Json {
    const [net, bits] = (n.cidr ?? '0.0.0.0/32').split('/');
    const { gateway_ip: gateway, allocation_pools } = ipv4Allocation(net!, Number(bits), n.gateway);
    return {
      id: derivedId('subnet', n.id), name: n.cidr ?? '', network_id: n.id, cidr: n.cidr ?? '', ip_version: 4, gateway_ip: gateway,
      allocation_pools,
      enable_dhcp: true, dns_nameservers: [], host_routes: [], ipv6_ra_mode: null, ipv6_address_mode: null,
      subnetpool_id: null, segment_id: null, service_types: [], description: '', tags: [],
      tenant_id: this.project(ctx), project_id: this.project(ctx), created_at: EPOCH, updated_at: EPOCH, revision_number: 0,
    };
  }

  async listSubnets(req: NetworkRequest<'listSubnets'>): Promise<NetworkResponse<'listSubnets'>> {
    const ctx = req.context;
    const subnets = (await this.guestNetworks(ctx)).filter((n) => n.cidr).map((n) => this.subnetView(ctx, n));
    return out(neutronListing(subnets, req.query as Json, 'subnets', ctx.url));
  }

  async showSubnet(req: NetworkRequest<'showSubnet'>): Promise<NetworkResponse<'showSubnet'>> {
    const n = (await this.guestNetworks(req.context)).find((x) => x.cidr && derivedId('subnet', x.id) === req.path.subnet_id);
    if (!n) this.notFound('Subnet', req.path.subnet_id);
    return out({ subnet: this.subnetView(req.context, n) });
  }

  // ---- ports (the VMs' NICs) -------------------------------------------------------

  private async ports(ctx: Ctx): Promise<Json[]> {
    const vms = await this.cloud.list<CsVm>(ctx, 'listVirtualMachines', 'virtualmachine', {});
    return vms.filter((vm) => vm.state !== 'Destroyed' && vm.state !== 'Expunging').flatMap((vm) => (vm.nic ?? []).map((nic) => ({
      id: nic.id, name: '', network_id: nic.networkid, mac_address: nic.macaddress ?? '', admin_state_up: true,
      status: vm.state === 'Running' ? 'ACTIVE' : 'DOWN',
      fixed_ips: nic.ipaddress ? [{ subnet_id: derivedId('subnet', nic.networkid), ip_address: nic.ipaddress }] : [],
      device_id: vm.id, device_owner: `compute:${vm.zonename}`,
      tenant_id: this.project(ctx), project_id: this.project(ctx), security_groups: (vm.securitygroup ?? []).map((g) => g.id),
      allowed_address_pairs: [], extra_dhcp_opts: [], 'binding:vnic_type': 'normal', port_security_enabled: true, description: '', tags: [],
      created_at: isoZ(vm.created) ?? EPOCH, updated_at: isoZ(vm.created) ?? EPOCH, revision_number: 0,
    })));
  }

  async listPorts(req: NetworkRequest<'listPorts'>): Promise<NetworkResponse<'listPorts'>> {
    return out(neutronListing(await this.ports(req.context), req.query as Json, 'ports', req.context.url));
  }

  async showPort(req: NetworkRequest<'showPort'>): Promise<NetworkResponse<'showPort'>> {
    const p = (await this.ports(req.context)).find((x) => x.id === req.path.port_id);
    if (!p) this.notFound('Port', req.path.port_id);
    return out({ port: p });
  }

  async listAvailabilityZones(req: NetworkRequest<'listAvailabilityZones'>): Promise<NetworkResponse<'listAvailabilityZones'>> {
    const zones = await this.cloud.zones(req.context);
    return out(neutronListing(zones.map((z) => ({ name: z.name, resource: 'network', state: 'available' })), req.query as Json, 'availability_zones', req.context.url));
  }

  // ---- security groups (CloudStack's, with ingress and egress rules) -------------------

  private groups(ctx: Ctx, id?: string): Promise<CsSecurityGroup[]> {
    if (id !== undefined && !isUuid(id)) return Promise.resolve([]);
    return this.cloud.list<CsSecurityGroup>(ctx, 'listSecurityGroups', 'securitygroup', id ? { id } : {})
      .catch((err: Fault) => { if (id && err.status === 400) return []; throw err; });
  }

  private async group(ctx: Ctx, id: string): Promise<CsSecurityGroup> {
    const [g] = await this.groups(ctx, id);
    if (!g) this.notFound('SecurityGroup', id);
    return g;
  }

  private ruleView(ctx: Ctx, groups: CsSecurityGroup[], g: CsSecurityGroup, r: CsRule, direction: 'ingress' | 'egress'): Json {
    const protocol = r.protocol === 'all' ? null : r.protocol;
    const ports = protocol === 'icmp'
      ? { port_range_min: r.icmptype === -1 ? null : r.icmptype ?? null, port_range_max: r.icmpcode === -1 ? null : r.icmpcode ?? null }
      : { port_range_min: r.startport ?? null, port_range_max: r.endport ?? null };
    const remoteGroup = r.securitygroupname ? groups.find((x) => x.name === r.securitygroupname)?.id ?? null : null;
    return {
      id: r.ruleid, security_group_id: g.id, direction, ethertype: r.cidr?.includes(':') ? 'IPv6' : 'IPv4', protocol, ...ports,
      remote_ip_prefix: remoteGroup ? null : r.cidr ?? null, remote_group_id: remoteGroup, normalized_cidr: remoteGroup ? null : r.cidr ?? null,
      description: '', tenant_id: this.project(ctx), project_id: this.project(ctx), created_at: EPOCH, updated_at: EPOCH, revision_number: 0,
      belongs_to_default_sg: g.name === 'default',
    };
  }

  private rules(ctx: Ctx, groups: CsSecurityGroup[], g: CsSecurityGroup): Json[] {
    return [
      ...(g.ingressrule ?? []).map((r) => this.ruleView(ctx, groups, g, r, 'ingress')),
      ...(g.egressrule ?? []).map((r) => this.ruleView(ctx, groups, g, r, 'egress')),
    ];
  }

  private groupView(ctx: Ctx, groups: CsSecurityGroup[], g: CsSecurityGroup): Json {
    return {
      id: g.id, name: g.name, description: g.description ?? '', stateful: true, shared: false,
      tenant_id: this.project(ctx), project_id: this.project(ctx), tags: [], revision_number: 0, created_at: EPOCH, updated_at: EPOCH,
      security_group_rules: this.rules(ctx, groups, g),
    };
  }

  async listSecurityGroups(req: NetworkRequest<'listSecurityGroups'>): Promise<NetworkResponse<'listSecurityGroups'>> {
    const ctx = req.context;
    const groups = await this.groups(ctx);
    return out(neutronListing(groups.map((g) => this.groupView(ctx, groups, g)), req.query as Json, 'security_groups', ctx.url));
  }

  async showSecurityGroup(req: NetworkRequest<'showSecurityGroup'>): Promise<NetworkResponse<'showSecurityGroup'>> {
    const ctx = req.context;
    const groups = await this.groups(ctx);
    const g = groups.find((x) => x.id === req.path.id);
    if (!g) this.notFound('SecurityGroup', req.path.id);
    return out({ security_group: this.groupView(ctx, groups, g) });
  }

  async createSecurityGroup(req: NetworkRequest<'createSecurityGroup'>): Promise<NetworkResponse<'createSecurityGroup'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { security_group?: Json }).security_group ?? {});
    if (b.stateful === false) throw Fault.badRequest('CloudStack security groups are stateful.');
    const name = String(b.name ?? '');
    if (name === 'default') throw Fault.conflict('Default security group already exists.', { type: 'SecurityGroupDefaultAlreadyExists' });
    const { securitygroup } = await this.cloud.call<{ securitygroup: CsSecurityGroup }>(ctx, 'createSecurityGroup', { name, description: String(b.description ?? '') });
    return out({ security_group: this.groupView(ctx, [securitygroup], securitygroup) });
  }

  async deleteSecurityGroup(req: NetworkRequest<'deleteSecurityGroup'>): Promise<NetworkResponse<'deleteSecurityGroup'>> {
    const g = await this.group(req.context, req.path.id);
    if (g.name === 'default') throw Fault.conflict('Removing default security group not allowed.', { type: 'SecurityGroupCannotRemoveDefault' });
    await this.cloud.call(req.context, 'deleteSecurityGroup', { id: g.id }).catch((err: Fault) => {
      throw err.status === 409 ? Fault.conflict(`Security Group ${req.path.id} in use.`, { type: 'SecurityGroupInUse' }) : err;
    });
  }

  async listSecurityGroupRules(req: NetworkRequest<'listSecurityGroupRules'>): Promise<NetworkResponse<'listSecurityGroupRules'>> {
    const ctx = req.context;
    const groups = await this.groups(ctx);
    return out(neutronListing(groups.flatMap((g) => this.rules(ctx, groups, g)), req.query as Json, 'security_group_rules', ctx.url));
  }

  private async findRule(ctx: Ctx, id: string): Promise<{ rule: Json; groups: CsSecurityGroup[] }> {
    const groups = await this.groups(ctx);
    const rule = groups.flatMap((g) => this.rules(ctx, groups, g)).find((r) => r.id === id);
    if (!rule) this.notFound('SecurityGroupRule', id);
    return { rule, groups };
  }

  async showSecurityGroupRule(req: NetworkRequest<'showSecurityGroupRule'>): Promise<NetworkResponse<'showSecurityGroupRule'>> {
    return out({ security_group_rule: (await this.findRule(req.context, req.path.id)).rule });
  }

  /**
   * authorizeSecurityGroupIngress/Egress is an async job, and Neutron answers
   * the rule with its id: this request waits for that job (bounded), then
   * finds the rule in the job's result.
   */
  async createSecurityGroupRule(req: NetworkRequest<'createSecurityGroupRule'>): Promise<NetworkResponse<'createSecurityGroupRule'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { security_group_rule?: Json }).security_group_rule ?? {});
    const groups = await this.groups(ctx);
    const g = groups.find((x) => x.id === b.security_group_id);
    if (!g) this.notFound('SecurityGroup', String(b.security_group_id ?? ''));
    const direction = b.direction === 'egress' ? 'egress' : 'ingress';
    if (b.ethertype === 'IPv6' && typeof b.remote_ip_prefix !== 'string') throw Fault.badRequest('The CloudStack backend needs a remote_ip_prefix for IPv6 rules.');
    const protocol = b.protocol === undefined || b.protocol === null || b.protocol === 'any' ? 'all' : String(b.protocol).toLowerCase();
    if (!['tcp', 'udp', 'icmp', 'all'].includes(protocol)) throw Fault.badRequest(`Security group rule protocol ${protocol} not supported: CloudStack takes tcp, udp, icmp or all.`);
    const params: Record<string, string | number> = { securitygroupid: g.id, protocol };
    const min = b.port_range_min === undefined || b.port_range_min === null ? undefined : Number(b.port_range_min);
    const max = b.port_range_max === undefined || b.port_range_max === null ? undefined : Number(b.port_range_max);
    if (protocol === 'tcp' || protocol === 'udp') {
      params.startport = min ?? 1;
      params.endport = max ?? min ?? 65535;
    } else if (protocol === 'icmp') {
      params.icmptype = min ?? -1;
      params.icmpcode = max ?? -1;
    }
    if (typeof b.remote_group_id === 'string') {
      const remote = groups.find((x) => x.id === b.remote_group_id);
      if (!remote) this.notFound('SecurityGroup', b.remote_group_id);
      params['usersecuritygrouplist[0].group'] = remote.name;
      params['usersecuritygrouplist[0].account'] = this.cloud.cred(ctx).account ?? '';
    } else {
      params.cidrlist = typeof b.remote_ip_prefix === 'string' ? b.remote_ip_prefix : b.ethertype === 'IPv6' ? '::/0' : '0.0.0.0/0';
    }
    const { jobid } = await this.cloud.start(ctx, direction === 'ingress' ? 'authorizeSecurityGroupIngress' : 'authorizeSecurityGroupEgress', params);
    const job = await this.cloud.waitJob(ctx, jobid);
    const result = (job.jobresult?.securitygroup ?? {}) as CsSecurityGroup;
    const added = (direction === 'ingress' ? result.ingressrule : result.egressrule) ?? [];
    const after = await this.groups(ctx);
    const ga = after.find((x) => x.id === g.id) ?? g;
    const rule = added[0] ? this.rules(ctx, after, ga).find((r) => r.id === added[0]!.ruleid) : undefined;
    if (!rule) throw new Fault('backendError', `CloudStack authorized a rule for security group ${g.id} but does not show it.`);
    return out({ security_group_rule: rule });
  }

  async deleteSecurityGroupRule(req: NetworkRequest<'deleteSecurityGroupRule'>): Promise<NetworkResponse<'deleteSecurityGroupRule'>> {
    const { rule } = await this.findRule(req.context, req.path.id);
    // The revoke job finishes on its own; the rule leaves the group when it does.
    await this.cloud.start(req.context, rule.direction === 'egress' ? 'revokeSecurityGroupEgress' : 'revokeSecurityGroupIngress', { id: String(rule.id) });
  }

  // ---- floating IPs (public IP addresses, static NAT) ---------------------------------

  private async floatingView(ctx: Ctx, ip: CsPublicIp, zones?: CsZone[], ports?: Json[]): Promise<Json> {
    const zone = (zones ?? await this.cloud.zones(ctx)).find((z) => z.id === ip.zoneid);
    const port = ip.isstaticnat && ip.virtualmachineid ? (ports ?? await this.ports(ctx)).find((p) => p.device_id === ip.virtualmachineid) : undefined;
    const created = isoZ(ip.allocated) ?? EPOCH;
    return {
      id: ip.id, floating_ip_address: ip.ipaddress, floating_network_id: zone ? derivedId('public', zone.id) : '',
      router_id: null, port_id: port ? port.id : null, fixed_ip_address: port ? (ip.vmipaddress ?? (port.fixed_ips as Json[])[0]?.ip_address ?? null) : null,
      status: ip.state === 'Allocated' ? (port ? 'ACTIVE' : 'DOWN') : ip.state === 'Allocating' ? 'DOWN' : 'ERROR',
      tenant_id: this.project(ctx), project_id: this.project(ctx), description: '', tags: [],
      port_forwardings: [], qos_policy_id: null, created_at: created, updated_at: created, revision_number: 0,
    };
  }

  private async publicIps(ctx: Ctx): Promise<CsPublicIp[]> {
    // Source NAT addresses belong to the network's virtual router, not to the user as floating IPs.
    return (await this.cloud.list<CsPublicIp>(ctx, 'listPublicIpAddresses', 'publicipaddress', {})).filter((ip) => !ip.issourcenat && ip.state !== 'Releasing');
  }

  private async publicIp(ctx: Ctx, id: string): Promise<CsPublicIp> {
    const ip = isUuid(id) ? (await this.publicIps(ctx)).find((x) => x.id === id) : undefined;
    if (!ip) this.notFound('FloatingIP', id);
    return ip;
  }

  async listFloatingips(req: NetworkRequest<'listFloatingips'>): Promise<NetworkResponse<'listFloatingips'>> {
    const ctx = req.context;
    const [ips, zones, ports] = await Promise.all([this.publicIps(ctx), this.cloud.zones(ctx), this.ports(ctx)]);
    return out(neutronListing(await Promise.all(ips.map((ip) => this.floatingView(ctx, ip, zones, ports))), req.query as Json, 'floatingips', ctx.url));
  }

  async showFloatingip(req: NetworkRequest<'showFloatingip'>): Promise<NetworkResponse<'showFloatingip'>> {
    return out({ floatingip: await this.floatingView(req.context, await this.publicIp(req.context, req.path.id)) });
  }

  /** associateIpAddress is an async job and Neutron answers the address: this request waits for it (bounded). */
  async createFloatingip(req: NetworkRequest<'createFloatingip'>): Promise<NetworkResponse<'createFloatingip'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { floatingip?: Json }).floatingip ?? {});
    const zones = await this.cloud.zones(ctx);
    const zone = zones.find((z) => derivedId('public', z.id) === b.floating_network_id);
    if (!zone) this.notFound('Network', String(b.floating_network_id ?? ''));
    if (b.floating_ip_address !== undefined) throw Fault.badRequest('CloudStack picks the public address: floating_ip_address cannot be chosen.');
    const guest = (await this.guestNetworks(ctx)).find((n) => n.zoneid === zone.id);
    const { jobid } = await this.cloud.start(ctx, 'associateIpAddress', guest ? { networkid: guest.id } : { zoneid: zone.id });
    const job = await this.cloud.waitJob(ctx, jobid);
    const made = job.jobresult?.ipaddress as CsPublicIp | undefined;
    if (!made?.id) throw new Fault('backendError', 'CloudStack associateIpAddress answered no address.');
    if (typeof b.port_id === 'string') await this.associate(ctx, made, b.port_id);
    return out({ floatingip: await this.floatingView(ctx, await this.publicIp(ctx, made.id), zones) });
  }

  private async associate(ctx: Ctx, ip: CsPublicIp, portId: string): Promise<void> {
    const port = (await this.ports(ctx)).find((p) => p.id === portId);
    if (!port) this.notFound('Port', portId);
    await this.cloud.call(ctx, 'enableStaticNat', { ipaddressid: ip.id, virtualmachineid: String(port.device_id), networkid: String(port.network_id) });
  }

  /** port_id set: enableStaticNat (synchronous); port_id null: disableStaticNat (a job, finished by CloudStack). */
  async updateFloatingip(req: NetworkRequest<'updateFloatingip'>): Promise<NetworkResponse<'updateFloatingip'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { floatingip?: Json }).floatingip ?? {});
    const ip = await this.publicIp(ctx, req.path.id);
    if ('port_id' in b) {
      if (ip.isstaticnat) {
        const { jobid } = await this.cloud.start(ctx, 'disableStaticNat', { ipaddressid: ip.id });
        if (typeof b.port_id === 'string') await this.cloud.waitJob(ctx, jobid); // re-pointing needs the old NAT gone first
      }
      if (typeof b.port_id === 'string') await this.associate(ctx, ip, b.port_id);
    }
    return out({ floatingip: await this.floatingView(ctx, await this.publicIp(ctx, ip.id)) });
  }

  async deleteFloatingip(req: NetworkRequest<'deleteFloatingip'>): Promise<NetworkResponse<'deleteFloatingip'>> {
    const ip = await this.publicIp(req.context, req.path.id);
    await this.cloud.start(req.context, 'disassociateIpAddress', { id: ip.id });
  }
}
