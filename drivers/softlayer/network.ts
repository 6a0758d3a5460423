/**
 * Neutron over SoftLayer networking: networks are the account's VLANs (public
 * VLANs are external networks), subnets are their subnets, ports are the
 * guests' network components, all read-only; availability zones are the
 * datacenters. Security groups and their rules are SoftLayer's own
 * (SoftLayer_Network_SecurityGroup), read and written. Making VLANs and
 * subnets is a SoftLayer order, routers are another product: 501.
 */
import type { NetworkDriver, NetworkRequest, NetworkResponse } from '../../generated/index.js';
import type { RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { SoftLayerCloud, isoZ, slId, slUuid } from './cloud.js';
import { neutronListing } from '../../src/paging.js';
import { extensionList, extensionShow, type NeutronExtension } from '../../src/neutron-extensions.js';
import { ipv4Allocation } from '../../src/subnets.js';

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

interface SlSubnet {
  id: number; networkIdentifier: string; cidr: number; gateway?: string; broadcastAddress?: string; networkVlanId: number;
  version?: number; addressSpace?: string; subnetType?: string; datacenter?: { name: string };
}
interface SlVlan {
  id: number; vlanNumber: number; name?: string | null; networkSpace: string; accountId?: number;
  primaryRouter?: { hostname?: string; datacenter?: { name: string } }; subnets?: { id: number }[];
}
interface SlComponent {
  id: number; port: number; macAddress?: string; primaryIpAddress?: string; networkVlanId?: number | null; status?: string;
  primarySubnet?: { id: number } | null; securityGroupBindings?: { securityGroupId: number }[];
}
export interface SlRule {
  id: number; direction: string; ethertype?: string; protocol?: string | null; portRangeMin?: number | null; portRangeMax?: number | null;
  remoteIp?: string | null; remoteGroupId?: number | null; createDate?: string;
}
export interface SlSecurityGroup {
  id: number; name?: string; description?: string | null; createDate?: string; modifyDate?: string | null; rules?: SlRule[];
  networkComponentBindings?: { networkComponentId: number }[];
}
interface SlGuestPorts { id: number; hostname: string; createDate?: string; modifyDate?: string; datacenter?: { name: string }; networkComponents?: SlComponent[] }

const VLAN_MASK = 'mask[id,vlanNumber,name,networkSpace,accountId,primaryRouter[hostname,datacenter[name]],subnets[id]]';
const SUBNET_MASK = 'mask[id,networkIdentifier,cidr,gateway,broadcastAddress,networkVlanId,version,addressSpace,subnetType,datacenter[name]]';
const PORTS_MASK = 'mask[id,hostname,createDate,modifyDate,datacenter[name],networkComponents[id,port,macAddress,primaryIpAddress,networkVlanId,status,primarySubnet[id],securityGroupBindings[securityGroupId]]]';
const EPOCH = '1970-01-01T00:00:00Z';
export const GROUP_MASK = 'mask[id,name,description,createDate,modifyDate,rules[id,direction,ethertype,protocol,portRangeMin,portRangeMax,remoteIp,remoteGroupId,createDate],networkComponentBindings[networkComponentId]]';

type Body = Record<string, unknown>;

/** The Neutron extensions this backend serves. */
const SOFTLAYER_EXTENSIONS: NeutronExtension[] = [
  { alias: 'security-group', name: 'security-group', description: 'Security groups and rules: SoftLayer_Network_SecurityGroup.' },
  { alias: 'availability_zone', name: 'Availability Zone', description: 'Availability zones: SoftLayer datacenters.' },
  { alias: 'project-id', name: 'project_id field enabled', description: 'Resources carry project_id (the SoftLayer account\'s project).' },
];

export class SoftLayerNetwork implements NetworkDriver {
  constructor(private readonly cloud: SoftLayerCloud) {}

  private project(ctx: Ctx): string {
    return ctx.auth?.projectId ?? '';
  }

  private networkView(ctx: Ctx, v: SlVlan): Json {
    const dc = v.primaryRouter?.datacenter?.name;
    return {
      id: slUuid('vlan', v.id),
      name: v.name || `${v.networkSpace.toLowerCase()}-${dc ?? 'vlan'}-${v.vlanNumber}`,
      status: 'ACTIVE', admin_state_up: true, shared: false,
      subnets: (v.subnets ?? []).map((s) => slUuid('subnet', s.id)),
      tenant_id: this.project(ctx), project_id: this.project(ctx),
      'router:external': v.networkSpace === 'PUBLIC',
      mtu: 1500, port_security_enabled: false,
      'provider:network_type': 'vlan', 'provider:physical_network': v.primaryRouter?.hostname ?? null, 'provider:segmentation_id': v.vlanNumber,
      availability_zones: dc ? [dc] : [], availability_zone_hints: [],
      description: '', tags: [], created_at: EPOCH, updated_at: EPOCH, revision_number: 0,
      is_default: false, l2_adjacency: true,
    };
  }

  private subnetView(ctx: Ctx, s: SlSubnet): Json {
    // SoftLayer keeps the network, gateway and broadcast addresses; guests get the rest.
    const { gateway_ip: gateway, allocation_pools: pools } = ipv4Allocation(s.networkIdentifier, s.cidr, s.gateway);
    return {
      id: slUuid('subnet', s.id), name: `${s.networkIdentifier}/${s.cidr}`, network_id: slUuid('vlan', s.networkVlanId),
      cidr: `${s.networkIdentifier}/${s.cidr}`, ip_version: s.version ?? 4, gateway_ip: gateway, allocation_pools: pools,
      enable_dhcp: false, dns_nameservers: [], host_routes: [], ipv6_ra_mode: null, ipv6_address_mode: null,
      subnetpool_id: null, segment_id: null, service_types: [], description: s.subnetType ?? '', tags: [],
      tenant_id: this.project(ctx), project_id: this.project(ctx), created_at: EPOCH, updated_at: EPOCH, revision_number: 0,
    };
  }

  private portView(ctx: Ctx, g: SlGuestPorts, nc: SlComponent): Json {
    return {
      id: slUuid('port', nc.id), name: `eth${nc.port}`, network_id: nc.networkVlanId ? slUuid('vlan', nc.networkVlanId) : '',
      mac_address: nc.macAddress ?? '', admin_state_up: true, status: nc.status === 'ACTIVE' ? 'ACTIVE' : 'DOWN',
      fixed_ips: nc.primaryIpAddress && nc.primarySubnet ? [{ subnet_id: slUuid('subnet', nc.primarySubnet.id), ip_address: nc.primaryIpAddress }] : [],
      device_id: slUuid('guest', g.id), device_owner: `compute:${g.datacenter?.name ?? 'nova'}`,
      tenant_id: this.project(ctx), project_id: this.project(ctx), security_groups: (nc.securityGroupBindings ?? []).map((b) => slUuid('secgroup', b.securityGroupId)),
      allowed_address_pairs: [], extra_dhcp_opts: [],
      'binding:vnic_type': 'normal', port_security_enabled: false, description: '', tags: [],
      created_at: isoZ(g.createDate) ?? EPOCH, updated_at: isoZ(g.modifyDate ?? g.createDate) ?? EPOCH, revision_number: 0,
    };
  }

  private notFound(what: string, id: string): never {
    throw Fault.notFound(`${what} ${id} could not be found.`, { type: `${what}NotFound` });
  }

  async listNetworks(req: NetworkRequest<'listNetworks'>): Promise<NetworkResponse<'listNetworks'>> {
    const ctx = req.context;
    const vlans = await this.cloud.listAll<SlVlan>(ctx, 'SoftLayer_Account', 'getNetworkVlans', { mask: VLAN_MASK });
    return out(neutronListing(vlans.map((v) => this.networkView(ctx, v)), req.query as Json, 'networks', ctx.url));
  }

  async showNetwork(req: NetworkRequest<'showNetwork'>): Promise<NetworkResponse<'showNetwork'>> {
    const ctx = req.context;
    let n: number;
    try { n = slId('vlan', req.path.network_id, 'Network'); } catch { this.notFound('Network', req.path.network_id); }
    const v = await this.cloud.call<SlVlan>(ctx, 'SoftLayer_Network_Vlan', 'getObject', { id: n, mask: VLAN_MASK })
      .catch((err: Fault) => (err.status === 404 ? this.notFound('Network', req.path.network_id) : Promise.reject(err)));
    return out({ network: this.networkView(ctx, v) });
  }

  async listSubnets(req: NetworkRequest<'listSubnets'>): Promise<NetworkResponse<'listSubnets'>> {
    const ctx = req.context;
    const subnets = await this.cloud.listAll<SlSubnet>(ctx, 'SoftLayer_Account', 'getSubnets', { mask: SUBNET_MASK });
    return out(neutronListing(subnets.map((s) => this.subnetView(ctx, s)), req.query as Json, 'subnets', ctx.url));
  }

  async showSubnet(req: NetworkRequest<'showSubnet'>): Promise<NetworkResponse<'showSubnet'>> {
    const ctx = req.context;
    let n: number;
    try { n = slId('subnet', req.path.subnet_id, 'Subnet'); } catch { this.notFound('Subnet', req.path.subnet_id); }
    const s = await this.cloud.call<SlSubnet>(ctx, 'SoftLayer_Network_Subnet', 'getObject', { id: n, mask: SUBNET_MASK })
      .catch((err: Fault) => (err.status === 404 ? this.notFound('Subnet', req.path.subnet_id) : Promise.reject(err)));
    return out({ subnet: this.subnetView(ctx, s) });
  }

  private async ports(ctx: Ctx): Promise<Json[]> {
    const guests = await this.cloud.listAll<SlGuestPorts>(ctx, 'SoftLayer_Account', 'getVirtualGuests', { mask: PORTS_MASK });
    return guests.flatMap((g) => (g.networkComponents ?? []).map((nc) => this.portView(ctx, g, nc)));
  }

  async listPorts(req: NetworkRequest<'listPorts'>): Promise<NetworkResponse<'listPorts'>> {
    return out(neutronListing(await this.ports(req.context), req.query as Json, 'ports', req.context.url));
  }

  async showPort(req: NetworkRequest<'showPort'>): Promise<NetworkResponse<'showPort'>> {
    const port = (await this.ports(req.context)).find((p) => p.id === req.path.port_id);
    if (!port) this.notFound('Port', req.path.port_id);
    return out({ port });
  }

  /** A port's security groups are SoftLayer bindings of the network component (attach/detachNetworkComponents). */
  async updatePort(req: NetworkRequest<'updatePort'>): Promise<NetworkResponse<'updatePort'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { port?: Body }).port ?? {});
    const other = Object.keys(b).filter((k) => k !== 'security_groups');
    if (other.length) throw Fault.badRequest(`SoftLayer ports (network components) take only security_groups; not ${other.join(', ')}.`);
    const port = (await this.ports(ctx)).find((p) => p.id === req.path.port_id);
    if (!port) this.notFound('Port', req.path.port_id);
    const componentId = slId('port', String(port.id), 'Port');
    const want = Array.isArray(b.security_groups) ? b.security_groups.map(String) : [];
    const have = port.security_groups as string[];
    for (const id of want) if (!have.includes(id)) await this.cloud.call(ctx, 'SoftLayer_Network_SecurityGroup', 'attachNetworkComponents', { id: (await this.group(ctx, id)).id, params: [[componentId]] });
    for (const id of have) if (!want.includes(id)) await this.cloud.call(ctx, 'SoftLayer_Network_SecurityGroup', 'detachNetworkComponents', { id: slId('secgroup', id, 'Security group'), params: [[componentId]] });
    const after = (await this.ports(ctx)).find((p) => p.id === req.path.port_id)!;
    return out({ port: after });
  }

  async listAvailabilityZones(req: NetworkRequest<'listAvailabilityZones'>): Promise<NetworkResponse<'listAvailabilityZones'>> {
    const dcs = await this.cloud.datacenters(req.context);
    return out(neutronListing(dcs.map((d) => ({ name: d.name, resource: 'network', state: 'available' })), req.query as Json, 'availability_zones', req.context.url));
  }

  // ---- what this Neutron offers ---------------------------------------------------------

  async listExtensions(_req: NetworkRequest<'listExtensions'>): Promise<NetworkResponse<'listExtensions'>> {
    return out(extensionList(SOFTLAYER_EXTENSIONS));
  }

  async showExtension(req: NetworkRequest<'showExtension'>): Promise<NetworkResponse<'showExtension'>> {
    return out(extensionShow(SOFTLAYER_EXTENSIONS, req.path.id));
  }

  /**
   * SoftLayer has nothing Neutron would call a floating IP (portable IPs are
   * not mapped), so there are none: the list is empty and creating one is 501.
   * Clients that list floating IPs beside servers (Horizon) then just see none.
   */
  async listFloatingips(req: NetworkRequest<'listFloatingips'>): Promise<NetworkResponse<'listFloatingips'>> {
    this.project(req.context);
    return out({ floatingips: [] });
  }

  // ---- security groups (SoftLayer_Network_SecurityGroup) ------------------------------

  private ruleView(ctx: Ctx, groupId: number, r: SlRule): Json {
    const created = isoZ(r.createDate) ?? EPOCH;
    return {
      id: slUuid('sgrule', r.id), security_group_id: slUuid('secgroup', groupId), direction: r.direction, ethertype: r.ethertype ?? 'IPv4',
      protocol: r.protocol ?? null, port_range_min: r.portRangeMin ?? null, port_range_max: r.portRangeMax ?? null,
      remote_ip_prefix: r.remoteIp ?? null, remote_group_id: r.remoteGroupId ? slUuid('secgroup', r.remoteGroupId) : null,
      normalized_cidr: r.remoteIp ?? null, description: '', tenant_id: this.project(ctx), project_id: this.project(ctx),
      created_at: created, updated_at: created, revision_number: 0, belongs_to_default_sg: false,
    };
  }

  private groupView(ctx: Ctx, g: SlSecurityGroup): Json {
    return {
      id: slUuid('secgroup', g.id), name: g.name ?? '', description: g.description ?? '', stateful: true, shared: false,
      tenant_id: this.project(ctx), project_id: this.project(ctx), tags: [], revision_number: 0,
      created_at: isoZ(g.createDate) ?? EPOCH, updated_at: isoZ(g.modifyDate ?? g.createDate) ?? EPOCH,
      security_group_rules: (g.rules ?? []).map((r) => this.ruleView(ctx, g.id, r)),
    };
  }

  private async group(ctx: Ctx, id: string): Promise<SlSecurityGroup> {
    let n: number;
    try { n = slId('secgroup', id, 'Security group'); } catch { this.notFound('SecurityGroup', id); }
    return this.cloud.call<SlSecurityGroup>(ctx, 'SoftLayer_Network_SecurityGroup', 'getObject', { id: n, mask: GROUP_MASK })
      .catch((err: Fault) => (err.status === 404 ? this.notFound('SecurityGroup', id) : Promise.reject(err)));
  }

  private groups(ctx: Ctx): Promise<SlSecurityGroup[]> {
    return this.cloud.listAll<SlSecurityGroup>(ctx, 'SoftLayer_Network_SecurityGroup', 'getAllObjects', { mask: GROUP_MASK });
  }

  async listSecurityGroups(req: NetworkRequest<'listSecurityGroups'>): Promise<NetworkResponse<'listSecurityGroups'>> {
    const ctx = req.context;
    return out(neutronListing((await this.groups(ctx)).map((g) => this.groupView(ctx, g)), req.query as Json, 'security_groups', ctx.url));
  }

  async showSecurityGroup(req: NetworkRequest<'showSecurityGroup'>): Promise<NetworkResponse<'showSecurityGroup'>> {
    return out({ security_group: this.groupView(req.context, await this.group(req.context, req.path.id)) });
  }

  async createSecurityGroup(req: NetworkRequest<'createSecurityGroup'>): Promise<NetworkResponse<'createSecurityGroup'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { security_group?: Body }).security_group ?? {});
    if (b.stateful === false) throw Fault.badRequest('SoftLayer security groups are stateful.');
    const created = await this.cloud.call<SlSecurityGroup>(ctx, 'SoftLayer_Network_SecurityGroup', 'createObject', {
      params: [{ name: String(b.name ?? ''), description: String(b.description ?? '') }],
    });
    return out({ security_group: this.groupView(ctx, await this.group(ctx, slUuid('secgroup', created.id))) });
  }

  async updateSecurityGroup(req: NetworkRequest<'updateSecurityGroup'>): Promise<NetworkResponse<'updateSecurityGroup'>> {
    const ctx = req.context;
    const g = await this.group(ctx, req.path.id);
    const b = ((req.body as unknown as { security_group?: Body }).security_group ?? {});
    if (b.stateful === false) throw Fault.badRequest('SoftLayer security groups are stateful.');
    const edit: Body = {};
    if (typeof b.name === 'string') edit.name = b.name;
    if (typeof b.description === 'string') edit.description = b.description;
    if (Object.keys(edit).length) await this.cloud.call(ctx, 'SoftLayer_Network_SecurityGroup', 'editObject', { id: g.id, params: [edit] });
    return out({ security_group: this.groupView(ctx, await this.group(ctx, req.path.id)) });
  }

  async deleteSecurityGroup(req: NetworkRequest<'deleteSecurityGroup'>): Promise<NetworkResponse<'deleteSecurityGroup'>> {
    const g = await this.group(req.context, req.path.id);
    if (g.networkComponentBindings?.length) throw Fault.conflict(`Security Group ${req.path.id} in use.`, { type: 'SecurityGroupInUse' });
    await this.cloud.call(req.context, 'SoftLayer_Network_SecurityGroup', 'deleteObject', { id: g.id });
  }

  async listSecurityGroupRules(req: NetworkRequest<'listSecurityGroupRules'>): Promise<NetworkResponse<'listSecurityGroupRules'>> {
    const ctx = req.context;
    const rules = (await this.groups(ctx)).flatMap((g) => (g.rules ?? []).map((r) => this.ruleView(ctx, g.id, r)));
    return out(neutronListing(rules, req.query as Json, 'security_group_rules', ctx.url));
  }

  private async findRule(ctx: Ctx, id: string): Promise<{ group: SlSecurityGroup; rule: SlRule }> {
    let n: number;
    try { n = slId('sgrule', id, 'Security group rule'); } catch { this.notFound('SecurityGroupRule', id); }
    for (const group of await this.groups(ctx)) {
      const rule = (group.rules ?? []).find((r) => r.id === n);
      if (rule) return { group, rule };
    }
    this.notFound('SecurityGroupRule', id);
  }

  async showSecurityGroupRule(req: NetworkRequest<'showSecurityGroupRule'>): Promise<NetworkResponse<'showSecurityGroupRule'>> {
    const { group, rule } = await this.findRule(req.context, req.path.id);
    return out({ security_group_rule: this.ruleView(req.context, group.id, rule) });
  }

  /** addRules answers a request id, not the rule: the new rule is the one that was not there before. */
  async createSecurityGroupRule(req: NetworkRequest<'createSecurityGroupRule'>): Promise<NetworkResponse<'createSecurityGroupRule'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { security_group_rule?: Body }).security_group_rule ?? {});
    const g = await this.group(ctx, String(b.security_group_id ?? ''));
    const protocol = b.protocol === undefined || b.protocol === null ? null : String(b.protocol).toLowerCase();
    if (protocol !== null && !['tcp', 'udp', 'icmp'].includes(protocol)) throw Fault.badRequest(`Security group rule protocol ${protocol} not supported: SoftLayer takes tcp, udp or icmp.`);
    const rule: Body = { direction: b.direction, ethertype: b.ethertype ?? 'IPv4' };
    if (protocol) rule.protocol = protocol;
    if (b.port_range_min !== undefined && b.port_range_min !== null) rule.portRangeMin = Number(b.port_range_min);
    if (b.port_range_max !== undefined && b.port_range_max !== null) rule.portRangeMax = Number(b.port_range_max);
    if (typeof b.remote_ip_prefix === 'string') rule.remoteIp = b.remote_ip_prefix;
    if (typeof b.remote_group_id === 'string') rule.remoteGroupId = (await this.group(ctx, b.remote_group_id)).id;
    const sameAs = (r: SlRule) => r.direction === rule.direction && (r.ethertype ?? 'IPv4') === rule.ethertype && (r.protocol ?? null) === (protocol ?? null)
      && (r.portRangeMin ?? null) === (rule.portRangeMin ?? null) && (r.portRangeMax ?? null) === (rule.portRangeMax ?? null)
      && (r.remoteIp ?? null) === (rule.remoteIp ?? null) && (r.remoteGroupId ?? null) === (rule.remoteGroupId ?? null);
    if ((g.rules ?? []).some(sameAs)) throw Fault.conflict(`Security group rule already exists in group ${slUuid('secgroup', g.id)}.`, { type: 'SecurityGroupRuleExists' });
    const before = new Set((g.rules ?? []).map((r) => r.id));
    await this.cloud.call(ctx, 'SoftLayer_Network_SecurityGroup', 'addRules', { id: g.id, params: [[rule]] });
    const after = await this.group(ctx, slUuid('secgroup', g.id));
    const added = (after.rules ?? []).find((r) => !before.has(r.id) && sameAs(r));
    if (!added) throw new Fault('backendError', `SoftLayer accepted a rule for security group ${g.id} but does not show it yet.`);
    return out({ security_group_rule: this.ruleView(ctx, g.id, added) });
  }

  async deleteSecurityGroupRule(req: NetworkRequest<'deleteSecurityGroupRule'>): Promise<NetworkResponse<'deleteSecurityGroupRule'>> {
    const { group, rule } = await this.findRule(req.context, req.path.id);
    await this.cloud.call(req.context, 'SoftLayer_Network_SecurityGroup', 'removeRules', { id: group.id, params: [[rule.id]] });
  }
}
