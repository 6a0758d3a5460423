/**
 * The SoftLayer services and methods the simulator answers, by
 * `SoftLayer_Service::method`. Each handler gets the caller's account, the
 * init parameter (`id`) and the `parameters` array; lists come back as
 * `{ list }` so the server can filter, page and mask them.
 */
import { randomUUID } from 'node:crypto';
import type { View } from './mask.js';
import {
  DATACENTERS, OPERATING_SYSTEMS, SimState, SoftLayerFault, md5Fingerprint, slDate,
  type Guest, type SecurityGroup, type SecurityGroupRule, type SimUser, type SshKey, type TemplateGroup,
} from './state.js';

export interface Call {
  user: SimUser;
  id: number | null;
  params: unknown[];
}

export type Answer = { list: View[] } | { one: View } | { raw: unknown };
export type Handler = (s: SimState, c: Call) => Answer;

type Json = Record<string, unknown>;

function need<T>(v: T | undefined, id: number | null): T {
  if (v === undefined) throw SoftLayerFault.notFound(id ?? '');
  return v;
}

function own<T extends { accountId: number | null }>(s: Map<number, T>, c: Call): T {
  if (c.id === null) throw SoftLayerFault.public('This method requires an initialization parameter (the object id).');
  const o = s.get(c.id);
  if (!o || (o.accountId !== null && o.accountId !== c.user.accountId)) throw SoftLayerFault.notFound(c.id);
  return o;
}

function obj(v: unknown, what: string): Json {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw SoftLayerFault.public(`Invalid value provided for '${what}'.`);
  return v as Json;
}

function guestOf(s: SimState, c: Call): Guest {
  return own(s.guests, c);
}

/** Power and reboot actions need a guest without a running transaction. */
function idle(g: Guest): Guest {
  if (g.txn) throw SoftLayerFault.public(`Cannot perform this action: virtual guest ${g.id} has an active transaction (${g.txn.friendlyName}).`);
  return g;
}

/** Validates a SoftLayer_Virtual_Guest template as createObject does, and makes the guest. */
function createGuest(s: SimState, user: SimUser, template: Json): Guest {
  const t = obj(template, 'template');
  const flavorKey = (t.supplementalCreateObjectOptions as Json | undefined)?.flavorKeyName;
  let preset: { cpus: number; memory: number; disk: number } | undefined;
  if (typeof flavorKey === 'string') {
    preset = presetSize(flavorKey);
    if (!preset) throw SoftLayerFault.public(`Invalid value provided for 'flavorKeyName': ${flavorKey} is not an available flavor.`);
    // Cores and memory given with a flavor are checked against it (getCreateObjectOptions' flavors).
    if ((t.startCpus !== undefined && t.startCpus !== null && Number(t.startCpus) !== preset.cpus) || (t.maxMemory !== undefined && t.maxMemory !== null && Number(t.maxMemory) !== preset.memory)) {
      throw SoftLayerFault.public(`'startCpus' and 'maxMemory' do not match flavor ${flavorKey}.`);
    }
    t.startCpus = preset.cpus;
    t.maxMemory = preset.memory;
  }
  for (const k of ['hostname', 'domain', 'startCpus', 'maxMemory'] as const) {
    if (t[k] === undefined || t[k] === null || t[k] === '') throw new SoftLayerFault('SoftLayer_Exception_MissingCreationProperty', `Property '${k}' must be set to create an instance of 'SoftLayer_Virtual_Guest'.`);
  }
  if (typeof t.hourlyBillingFlag !== 'boolean') throw new SoftLayerFault('SoftLayer_Exception_MissingCreationProperty', "Property 'hourlyBillingFlag' must be set to create an instance of 'SoftLayer_Virtual_Guest'.");
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(String(t.hostname))) throw SoftLayerFault.public(`The hostname '${String(t.hostname)}' is invalid: letters, digits and hyphens, at most 63.`);
  const dcName = (t.datacenter as Json | undefined)?.name;
  const dc = typeof dcName === 'string' ? s.datacenterByName(dcName) : undefined;
  if (!dc) throw SoftLayerFault.public(`Location '${String(dcName)}' is not a valid location for a virtual guest.`);
  const cpus = Number(t.startCpus);
  const mem = Number(t.maxMemory);
  if (![1, 2, 4, 8, 16].includes(cpus)) throw SoftLayerFault.public(`Invalid value provided for 'startCpus': ${cpus} is not an available processor option.`);
  if (![1024, 2048, 4096, 8192, 16384, 32768].includes(mem)) throw SoftLayerFault.public(`Invalid value provided for 'maxMemory': ${mem} is not an available memory option.`);
  const osCode = typeof t.operatingSystemReferenceCode === 'string' ? t.operatingSystemReferenceCode : null;
  const imageGuid = (t.blockDeviceTemplateGroup as Json | undefined)?.globalIdentifier;
  if (Boolean(osCode) === Boolean(imageGuid)) throw SoftLayerFault.public("Exactly one of 'operatingSystemReferenceCode' and 'blockDeviceTemplateGroup' must be given.");
  let template_: TemplateGroup | undefined;
  if (imageGuid) {
    template_ = [...s.templates.values()].find((x) => x.globalIdentifier === imageGuid && (x.publicFlag || x.accountId === user.accountId || x.sharedAccountIds.includes(user.accountId)));
    if (!template_) throw SoftLayerFault.public(`Image template '${String(imageGuid)}' was not found.`);
  } else if (!OPERATING_SYSTEMS.some((o) => o.code === osCode)) {
    throw SoftLayerFault.public(`Invalid value provided for 'operatingSystemReferenceCode': ${osCode}.`);
  }
  const sshKeyIds = Array.isArray(t.sshKeys) ? t.sshKeys.map((k) => Number((k as Json).id)) : [];
  for (const id of sshKeyIds) {
    const k = s.sshKeys.get(id);
    if (!k || k.accountId !== user.accountId) throw SoftLayerFault.public(`SSH key ${id} was not found.`);
  }
  const disk = preset?.disk ?? Number(((t.blockDevices as Json[] | undefined)?.[0]?.diskImage as Json | undefined)?.capacity ?? 25);
  const privateOnly = t.privateNetworkOnlyFlag === true;
  const pubVlanReq = ((t.primaryNetworkComponent as Json | undefined)?.networkVlan as Json | undefined)?.id;
  const privVlanReq = ((t.primaryBackendNetworkComponent as Json | undefined)?.networkVlan as Json | undefined)?.id;
  const pickVlan = (req: unknown, space: 'PUBLIC' | 'PRIVATE') => {
    if (req === undefined) return s.vlanFor(user.accountId, dc.id, space);
    const v = s.vlans.get(Number(req));
    if (!v || v.accountId !== user.accountId || v.networkSpace !== space || v.datacenterId !== dc.id) throw SoftLayerFault.public(`VLAN ${String(req)} cannot be used for this guest.`);
    return v;
  };
  const privVlan = pickVlan(privVlanReq, 'PRIVATE');
  const pubVlan = privateOnly ? null : pickVlan(pubVlanReq, 'PUBLIC');
  const now = slDate();
  const id = s.id();
  const userData = Array.isArray(t.userData) && t.userData[0] ? String((t.userData[0] as Json).value ?? '') : null;
  const g: Guest = {
    id, globalIdentifier: randomUUID(), accountId: user.accountId, hostname: String(t.hostname), domain: String(t.domain),
    startCpus: cpus, maxMemory: mem, diskGb: disk, hourlyBillingFlag: t.hourlyBillingFlag, localDiskFlag: t.localDiskFlag !== false,
    privateNetworkOnlyFlag: privateOnly, datacenterId: dc.id, createDate: now, modifyDate: now, provisionDate: null,
    primaryIpAddress: pubVlan ? s.allocateIp(pubVlan.id) : null, primaryBackendIpAddress: s.allocateIp(privVlan.id),
    publicVlanId: pubVlan?.id ?? null, privateVlanId: privVlan.id, power: 'HALTED', osCode, templateGroupId: template_?.id ?? null,
    sshKeyIds, userData, tags: [], notes: typeof t.notes === 'string' ? t.notes : null, txn: null, lastTxn: null,
    billingItemId: s.id() * 10, username: user.username,
  };
  g.txn = s.transaction('PROVISION_CLOUD_INSTANCE', 'Provisioning Cloud Instance', s.timing.provisionMs, () => {
    g.power = 'RUNNING';
    g.provisionDate = slDate();
  });
  s.guests.set(id, g);
  // Security groups given on the primary components at order time are bound at once.
  for (const [key, port] of [['primaryBackendNetworkComponent', 0], ['primaryNetworkComponent', 1]] as const) {
    const bindings = (t[key] as Json | undefined)?.securityGroupBindings;
    if (!Array.isArray(bindings) || (port === 1 && !g.publicVlanId)) continue;
    for (const b of bindings) {
      const sgId = Number(((b as Json).securityGroup as Json | undefined)?.id);
      const sg = s.securityGroups.get(sgId);
      if (!sg || sg.accountId !== user.accountId) { s.guests.delete(id); throw SoftLayerFault.public(`Security group ${sgId} was not found.`); }
      s.bindings.set(id * 10 + port, new Set([...(s.bindings.get(id * 10 + port) ?? []), sgId]));
    }
  }
  return g;
}

/** Public virtual server presets (B1 balanced, C1 compute, M1 memory): cores X memory GB X disk GB. */
export const PRESETS = ['B1_1X2X25', 'B1_2X4X25', 'B1_4X8X100', 'C1_2X2X25', 'M1_2X16X25'] as const;

function presetSize(keyName: string): { cpus: number; memory: number; disk: number } | undefined {
  if (!(PRESETS as readonly string[]).includes(keyName)) return undefined;
  const m = /^[A-Z]+\d*_(\d+)X(\d+)X(\d+)$/.exec(keyName)!;
  return { cpus: Number(m[1]), memory: Number(m[2]) * 1024, disk: Number(m[3]) };
}

function powerAction(fn: (g: Guest, s: SimState) => void): Handler {
  return (s, c) => {
    const g = idle(guestOf(s, c));
    fn(g, s);
    g.modifyDate = slDate();
    return { raw: true };
  };
}

function reboot(name: string): Handler {
  return powerAction((g, s) => {
    g.txn = s.transaction(name, 'Rebooting Cloud Instance', s.timing.transactionMs, () => { g.power = 'RUNNING'; });
  });
}

/** Makes a private image template from a guest (createArchiveTransaction, captureImage). */
function capture(s: SimState, g: Guest, name: string, note: string | null): TemplateGroup {
  if (!name) throw new SoftLayerFault('SoftLayer_Exception_MissingCreationProperty', 'An image name is required.');
  const id = s.id();
  const t: TemplateGroup = {
    id, globalIdentifier: randomUUID(), accountId: g.accountId, name, note, publicFlag: false, createDate: slDate(),
    datacenterIds: [g.datacenterId], diskGb: g.diskGb, osCode: g.osCode ?? s.templates.get(g.templateGroupId ?? -1)?.osCode ?? 'UBUNTU_22_64',
    txn: null, sharedAccountIds: [],
  };
  t.txn = s.transaction('CLOUD_IMAGE_CAPTURE', 'Capturing Image', s.timing.transactionMs, () => {});
  g.txn = s.transaction('CLOUD_IMAGE_CAPTURE', 'Capturing Image', s.timing.transactionMs, () => {});
  s.templates.set(id, t);
  return t;
}

function orderTemplate(s: SimState, user: SimUser, template: Json): Json {
  const t = obj(template, 'template');
  // Validate by building (and discarding) a guest: the same rules as createObject.
  const probe = createGuest(s, user, t);
  s.guests.delete(probe.id);
  const os = OPERATING_SYSTEMS.find((o) => o.code === (probe.osCode ?? s.templates.get(probe.templateGroupId ?? -1)?.osCode));
  const price = (id: number, description: string, hourly: string) => ({ id, hourlyRecurringFee: hourly, recurringFee: '0', item: { description } });
  return {
    complexType: 'SoftLayer_Container_Product_Order_Virtual_Guest', packageId: 835, location: String(probe.datacenterId), quantity: 1,
    useHourlyPricing: probe.hourlyBillingFlag, imageTemplateId: probe.templateGroupId,
    prices: [
      price(1640, `${probe.startCpus} x 2.0 GHz or higher Cores`, String(0.025 * probe.startCpus)),
      price(1644, `${probe.maxMemory / 1024} GB`, String(0.012 * probe.maxMemory / 1024)),
      price(2202, `${probe.diskGb} GB (SAN)`, '0'),
      price(45466, os?.description ?? 'Image template', '0'),
      price(272, '100 Mbps Public & Private Network Uplinks', '0'),
    ],
    sshKeys: [{ sshKeyIds: probe.sshKeyIds }],
    // The template itself rides along, as SoftLayer keeps hostname/domain here.
    virtualGuests: [{ ...t }],
  };
}

const listOf = (views: View[]): Answer => ({ list: views });

/** Authorizing a guest on a LUN (SoftLayer_Network_Storage::allowAccessFromVirtualGuest) and taking it back. */
function storageAccess(allow: boolean): Handler {
  return (s, c) => {
    const vol = own(s.storage, c);
    const guestId = Number(obj(c.params[0], 'virtualGuestObject').id);
    const g = s.guests.get(guestId);
    if (!g || g.accountId !== c.user.accountId) throw SoftLayerFault.notFound(guestId);
    if (g.datacenterId !== vol.datacenterId) throw SoftLayerFault.public(`Virtual guest ${guestId} is not in the datacenter of volume ${vol.id}.`);
    const has = vol.allowedGuestIds.includes(guestId);
    if (allow && has) throw SoftLayerFault.public(`Virtual guest ${guestId} already has access to volume ${vol.id}.`);
    if (!allow && !has) throw SoftLayerFault.public(`Virtual guest ${guestId} has no access to volume ${vol.id}.`);
    vol.allowedGuestIds = allow ? [...vol.allowedGuestIds, guestId] : vol.allowedGuestIds.filter((x) => x !== guestId);
    return { raw: true };
  };
}

/** Validates one rule as SoftLayer_Network_SecurityGroup::addRules takes it. */
function securityRule(s: SimState, group: SecurityGroup, r: Json): SecurityGroupRule {
  const direction = r.direction;
  if (direction !== 'ingress' && direction !== 'egress') throw SoftLayerFault.public("A rule's direction must be 'ingress' or 'egress'.");
  const ethertype = r.ethertype ?? 'IPv4';
  if (ethertype !== 'IPv4' && ethertype !== 'IPv6') throw SoftLayerFault.public("A rule's ethertype must be 'IPv4' or 'IPv6'.");
  const protocol = r.protocol === undefined || r.protocol === null || r.protocol === '' ? null : String(r.protocol);
  if (protocol !== null && !['tcp', 'udp', 'icmp'].includes(protocol)) throw SoftLayerFault.public(`Protocol '${protocol}' is not one of tcp, udp, icmp.`);
  const port = (v: unknown) => (v === undefined || v === null || v === '' ? null : Number(v));
  const min = port(r.portRangeMin);
  const max = port(r.portRangeMax);
  if ((min !== null || max !== null) && (protocol === null || (protocol !== 'icmp' && (min === null || max === null || min > max)))) {
    throw SoftLayerFault.public('A port range needs a protocol and portRangeMin <= portRangeMax.');
  }
  const remoteGroupId = port(r.remoteGroupId);
  if (remoteGroupId !== null && !s.securityGroups.has(remoteGroupId)) throw SoftLayerFault.public(`Remote security group ${remoteGroupId} was not found.`);
  const remoteIp = typeof r.remoteIp === 'string' && r.remoteIp ? r.remoteIp : null;
  if (remoteIp && remoteGroupId !== null) throw SoftLayerFault.public('A rule takes a remote IP or a remote group, not both.');
  return { id: s.id(), direction, ethertype, protocol, portRangeMin: min, portRangeMax: max, remoteIp, remoteGroupId, createDate: slDate() };
}

/** Binds (or unbinds) network components, by id, to a security group. */
function bindComponents(s: SimState, c: Call, attach: boolean): Answer {
  const g = own(s.securityGroups, c);
  const ids = Array.isArray(c.params[0]) ? (c.params[0] as unknown[]).map(Number) : [];
  for (const id of ids) {
    const guest = s.guests.get(Math.floor(id / 10));
    const port = id % 10;
    if (!guest || guest.accountId !== c.user.accountId || (port === 1 && !guest.publicVlanId) || port > 1) throw SoftLayerFault.notFound(id);
  }
  for (const id of ids) {
    const set = s.bindings.get(id) ?? new Set<number>();
    if (attach) set.add(g.id); else set.delete(g.id);
    s.bindings.set(id, set);
  }
  return { raw: { requestId: `${attach ? 'interfaceAdd' : 'interfaceRemove'}-${g.id}` } };
}

const SECURITY_GROUP: Record<string, Handler> = {
  getAllObjects: (s, c) => listOf([...s.securityGroups.values()].filter((g) => g.accountId === c.user.accountId).map((g) => s.securityGroupView(g))),
  getObject: (s, c) => ({ one: s.securityGroupView(own(s.securityGroups, c)) }),
  createObject: (s, c) => {
    const t = obj(c.params[0], 'templateObject');
    const id = s.id();
    const g: SecurityGroup = { id, accountId: c.user.accountId, name: typeof t.name === 'string' ? t.name : '', description: typeof t.description === 'string' ? t.description : null, createDate: slDate(), modifyDate: null, rules: [] };
    s.securityGroups.set(id, g);
    return { one: s.securityGroupView(g) };
  },
  editObject: (s, c) => {
    const g = own(s.securityGroups, c);
    const t = obj(c.params[0], 'templateObject');
    if (typeof t.name === 'string') g.name = t.name;
    if (typeof t.description === 'string') g.description = t.description;
    g.modifyDate = slDate();
    return { raw: true };
  },
  deleteObject: (s, c) => {
    const g = own(s.securityGroups, c);
    if ([...s.bindings.values()].some((set) => set.has(g.id))) throw SoftLayerFault.public(`Security group ${g.id} is attached to network components.`);
    if ([...s.securityGroups.values()].some((o) => o.id !== g.id && o.rules.some((r) => r.remoteGroupId === g.id))) {
      throw SoftLayerFault.public(`Security group ${g.id} is the remote group of another group's rule.`);
    }
    s.securityGroups.delete(g.id);
    return { raw: true };
  },
  // SoftLayer applies rule changes asynchronously and answers a request id; the simulator applies them at once.
  addRules: (s, c) => {
    const g = own(s.securityGroups, c);
    if (!Array.isArray(c.params[0])) throw SoftLayerFault.public('addRules takes a list of rules.');
    const rules = (c.params[0] as unknown[]).map((r) => securityRule(s, g, obj(r, 'ruleTemplates')));
    g.rules.push(...rules);
    return { raw: { requestId: `addRules-${rules[0]?.id ?? 0}`, rules: JSON.stringify(rules.map((r) => ({ ...r, securityGroupId: g.id }))) } };
  },
  attachNetworkComponents: (s, c) => bindComponents(s, c, true),
  detachNetworkComponents: (s, c) => bindComponents(s, c, false),
  removeRules: (s, c) => {
    const g = own(s.securityGroups, c);
    const ids = Array.isArray(c.params[0]) ? (c.params[0] as unknown[]).map(Number) : [];
    for (const id of ids) if (!g.rules.some((r) => r.id === id)) throw SoftLayerFault.notFound(id);
    g.rules = g.rules.filter((r) => !ids.includes(r.id));
    return { raw: { requestId: `removeRules-${ids[0] ?? 0}` } };
  },
};

const STORAGE: Record<string, Handler> = {
  getObject: (s, c) => ({ one: s.storageView(own(s.storage, c)) }),
  editObject: (s, c) => {
    const v = own(s.storage, c);
    const t = obj(c.params[0], 'templateObject');
    for (const k of Object.keys(t)) if (k !== 'notes') throw SoftLayerFault.public(`Property '${k}' of a storage volume cannot be edited.`);
    if (typeof t.notes === 'string') v.notes = t.notes;
    return { raw: true };
  },
  allowAccessFromVirtualGuest: storageAccess(true),
  removeAccessFromVirtualGuest: storageAccess(false),
};

export const SERVICES: Record<string, Record<string, Handler>> = {
  SoftLayer_Account: {
    getObject: (_s, c) => ({ one: { id: c.user.accountId, companyName: `Simulated account ${c.user.accountId}`, email: c.user.email, statusId: 1001, brandId: 2 } }),
    getCurrentUser: (_s, c) => ({ one: { id: c.user.id, username: c.user.username, accountId: c.user.accountId, email: c.user.email, firstName: 'Sim', lastName: 'User', statusId: 1001 } }),
    getVirtualGuests: (s, c) => listOf([...s.guests.values()].filter((g) => g.accountId === c.user.accountId).map((g) => s.guestView(g))),
    getHourlyVirtualGuests: (s, c) => listOf([...s.guests.values()].filter((g) => g.accountId === c.user.accountId && g.hourlyBillingFlag).map((g) => s.guestView(g))),
    getMonthlyVirtualGuests: (s, c) => listOf([...s.guests.values()].filter((g) => g.accountId === c.user.accountId && !g.hourlyBillingFlag).map((g) => s.guestView(g))),
    getSshKeys: (s, c) => listOf([...s.sshKeys.values()].filter((k) => k.accountId === c.user.accountId).map((k) => s.sshKeyView(k))),
    getPrivateBlockDeviceTemplateGroups: (s, c) => listOf([...s.templates.values()].filter((t) => t.accountId === c.user.accountId).map((t) => s.templateView(t))),
    getBlockDeviceTemplateGroups: (s, c) => listOf([...s.templates.values()].filter((t) => t.accountId === c.user.accountId || t.sharedAccountIds.includes(c.user.accountId)).map((t) => s.templateView(t))),
    getNetworkVlans: (s, c) => listOf([...s.vlans.values()].filter((v) => v.accountId === c.user.accountId).map((v) => s.vlanView(v))),
    getSubnets: (s, c) => listOf([...s.subnets.values()].filter((v) => v.accountId === c.user.accountId).map((v) => s.subnetView(v))),
    getIscsiNetworkStorage: (s, c) => listOf([...s.storage.values()].filter((v) => v.accountId === c.user.accountId).map((v) => s.storageView(v))),
    getNetworkStorage: (s, c) => listOf([...s.storage.values()].filter((v) => v.accountId === c.user.accountId).map((v) => s.storageView(v))),
  },
  SoftLayer_Virtual_Guest: {
    getObject: (s, c) => ({ one: s.guestView(guestOf(s, c)) }),
    createObject: (s, c) => ({ one: s.guestView(createGuest(s, c.user, obj(c.params[0], 'template'))) }),
    deleteObject: (s, c) => {
      const g = guestOf(s, c);
      if (g.txn?.name === 'CLOUD_INSTANCE_RECLAIM') throw SoftLayerFault.public(`Virtual guest ${g.id} is already being cancelled.`);
      if (g.txn) g.txn = null;
      g.power = 'HALTED';
      g.txn = s.transaction('CLOUD_INSTANCE_RECLAIM', 'Reclaim Wait', s.timing.cancelMs, () => { s.guests.delete(g.id); });
      return { raw: true };
    },
    editObject: (s, c) => {
      const g = guestOf(s, c);
      const t = obj(c.params[0], 'templateObject');
      if (t.hostname !== undefined) {
        if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(String(t.hostname))) throw SoftLayerFault.public(`The hostname '${String(t.hostname)}' is invalid.`);
        g.hostname = String(t.hostname);
      }
      if (t.domain !== undefined) g.domain = String(t.domain);
      if (t.notes !== undefined) g.notes = t.notes === null ? null : String(t.notes);
      g.modifyDate = slDate();
      return { raw: true };
    },
    powerOn: powerAction((g) => { g.power = 'RUNNING'; }),
    powerOff: powerAction((g) => { g.power = 'HALTED'; }),
    powerOffSoft: powerAction((g) => { g.power = 'HALTED'; }),
    pause: powerAction((g) => {
      if (g.power !== 'RUNNING') throw SoftLayerFault.public(`Virtual guest ${g.id} is not running.`);
      g.power = 'PAUSED';
    }),
    resume: powerAction((g) => {
      if (g.power !== 'PAUSED') throw SoftLayerFault.public(`Virtual guest ${g.id} is not paused.`);
      g.power = 'RUNNING';
    }),
    rebootSoft: reboot('CLOUD_INSTANCE_REBOOT_SOFT'),
    rebootHard: reboot('CLOUD_INSTANCE_REBOOT_HARD'),
    rebootDefault: reboot('CLOUD_INSTANCE_REBOOT_SOFT'),
    reloadOperatingSystem: (s, c) => {
      const g = idle(guestOf(s, c));
      if (c.params[0] !== 'FORCE') throw SoftLayerFault.public("An OS reload needs the token 'FORCE' as its first parameter.");
      const cfg = (c.params[1] ?? {}) as Json;
      if (cfg.imageTemplateId !== undefined) {
        const t = s.templates.get(Number(cfg.imageTemplateId));
        if (!t || (!t.publicFlag && t.accountId !== c.user.accountId)) throw SoftLayerFault.public(`Image template ${String(cfg.imageTemplateId)} was not found.`);
        g.templateGroupId = t.id;
        g.osCode = null;
      } else if (typeof cfg.operatingSystemReferenceCode === 'string') {
        g.osCode = cfg.operatingSystemReferenceCode;
        g.templateGroupId = null;
      }
      if (Array.isArray(cfg.sshKeyIds)) g.sshKeyIds = cfg.sshKeyIds.map(Number);
      g.power = 'HALTED';
      g.txn = s.transaction('CLOUD_INSTANCE_OS_RELOAD', 'OS Reload', s.timing.provisionMs, () => { g.power = 'RUNNING'; });
      return { raw: 'true' };
    },
    createArchiveTransaction: (s, c) => {
      const g = idle(guestOf(s, c));
      const t = capture(s, g, String(c.params[0] ?? ''), typeof c.params[2] === 'string' ? c.params[2] : null);
      return { one: { id: t.txn!.id, createDate: t.txn!.createDate, guestId: g.id, transactionStatus: () => ({ name: 'CLOUD_IMAGE_CAPTURE', friendlyName: 'Capturing Image' }) } };
    },
    // slcli's `vs capture`: the answer is the new template (slcli prints its globalIdentifier).
    createArchiveTemplate: (s, c) => {
      const g = idle(guestOf(s, c));
      const t = capture(s, g, String(c.params[0] ?? ''), typeof c.params[2] === 'string' ? c.params[2] : null);
      return { one: s.templateView(t) };
    },
    captureImage: (s, c) => {
      const g = idle(guestOf(s, c));
      const tpl = obj(c.params[0], 'captureTemplate');
      const t = capture(s, g, String(tpl.name ?? ''), typeof tpl.summary === 'string' ? tpl.summary : typeof tpl.description === 'string' ? tpl.description : null);
      return { one: s.templateView(t) };
    },
    setTags: (s, c) => {
      const g = guestOf(s, c);
      g.tags = String(c.params[0] ?? '').split(',').map((t) => t.trim()).filter(Boolean);
      return { raw: true };
    },
    getCreateObjectOptions: (s) => ({
      raw: {
        processors: [1, 2, 4, 8, 16].map((n) => ({ template: { startCpus: n }, itemPrice: { hourlyRecurringFee: String(0.025 * n), item: { description: `${n} x 2.0 GHz or higher Cores` } } })),
        memory: [1024, 2048, 4096, 8192, 16384, 32768].map((m) => ({ template: { maxMemory: m }, itemPrice: { hourlyRecurringFee: String(0.012 * m / 1024), item: { description: `${m / 1024} GB` } } })),
        blockDevices: [25, 100].map((gb) => ({ template: { blockDevices: [{ device: '0', diskImage: { capacity: gb } }], localDiskFlag: false }, itemPrice: { item: { description: `${gb} GB (SAN)` } } })),
        operatingSystems: OPERATING_SYSTEMS.map((o) => ({ template: { operatingSystemReferenceCode: o.code }, itemPrice: { item: { description: o.description } } })),
        datacenters: s.datacenters.map((d) => ({ template: { datacenter: { name: d.name } } })),
        networkComponents: [100, 1000].map((n) => ({ template: { networkComponents: [{ maxSpeed: n }] } })),
        flavors: PRESETS.map((k) => ({ flavor: { keyName: k, name: k.replace(/_/, '-') }, template: { supplementalCreateObjectOptions: { flavorKeyName: k } } })),
      },
    }),
    generateOrderTemplate: (s, c) => ({ raw: orderTemplate(s, c.user, obj(c.params[0], 'templateObject')) }),
  },
  SoftLayer_Product_Order: {
    verifyOrder: (s, c) => {
      const order = obj(c.params[0], 'orderData');
      return { raw: { ...order, orderId: null, orderDate: slDate() } };
    },
    placeOrder: (s, c) => {
      const order = obj(c.params[0], 'orderData');
      if (order.complexType !== 'SoftLayer_Container_Product_Order_Virtual_Guest' || !Array.isArray(order.virtualGuests)) {
        throw SoftLayerFault.public('The simulator orders virtual guests only (SoftLayer_Container_Product_Order_Virtual_Guest).');
      }
      const guests = order.virtualGuests.map((t) => createGuest(s, c.user, obj(t, 'virtualGuests')));
      const orderId = s.id();
      return {
        raw: {
          orderId, orderDate: slDate(), placedOrder: { id: orderId, status: 'APPROVED', userRecordId: c.user.id },
          orderDetails: { ...order, virtualGuests: guests.map((g) => ({ id: g.id, globalIdentifier: g.globalIdentifier, hostname: g.hostname, domain: g.domain, fullyQualifiedDomainName: `${g.hostname}.${g.domain}` })) },
        },
      };
    },
  },
  SoftLayer_Network_Pod: {
    getAllObjects: (s) => listOf(s.datacenters.map((d) => ({
      name: `${d.name}.pod01`, datacenterName: d.name, datacenterLongName: d.longName, datacenterId: d.id,
      frontendRouterId: 10 + d.index, backendRouterId: 20 + d.index, frontendRouterName: `fcr01a.${d.name}`, backendRouterName: `bcr01a.${d.name}`,
      capabilities: ['SUPPORTS_SECURITY_GROUP'],
    }))),
  },
  SoftLayer_Security_Ssh_Key: {
    getObject: (s, c) => ({ one: s.sshKeyView(own(s.sshKeys, c)) }),
    createObject: (s, c) => {
      const t = obj(c.params[0], 'templateObject');
      if (typeof t.key !== 'string' || !t.key.trim()) throw new SoftLayerFault('SoftLayer_Exception_MissingCreationProperty', "Property 'key' must be set to create an instance of 'SoftLayer_Security_Ssh_Key'.");
      const key = t.key.trim();
      const fingerprint = md5Fingerprint(key);
      if ([...s.sshKeys.values()].some((k) => k.accountId === c.user.accountId && k.fingerprint === fingerprint)) {
        throw new SoftLayerFault('SoftLayer_Exception_Public', 'This SSH key already exists on the account.');
      }
      const id = s.id();
      const k: SshKey = { id, accountId: c.user.accountId, label: typeof t.label === 'string' ? t.label : '', key, fingerprint, notes: typeof t.notes === 'string' ? t.notes : null, createDate: slDate(), modifyDate: null };
      s.sshKeys.set(id, k);
      return { one: s.sshKeyView(k) };
    },
    editObject: (s, c) => {
      const k = own(s.sshKeys, c);
      const t = obj(c.params[0], 'templateObject');
      if (typeof t.label === 'string') k.label = t.label;
      if (typeof t.notes === 'string') k.notes = t.notes;
      k.modifyDate = slDate();
      return { raw: true };
    },
    deleteObject: (s, c) => { s.sshKeys.delete(own(s.sshKeys, c).id); return { raw: true }; },
  },
  SoftLayer_Virtual_Guest_Block_Device_Template_Group: {
    getObject: (s, c) => {
      const t = own(s.templates, c);
      if (t.accountId !== null && t.accountId !== c.user.accountId && !t.sharedAccountIds.includes(c.user.accountId)) throw SoftLayerFault.notFound(c.id!);
      return { one: s.templateView(t) };
    },
    getPublicImages: (s) => listOf([...s.templates.values()].filter((t) => t.publicFlag).map((t) => s.templateView(t))),
    deleteObject: (s, c) => {
      const t = own(s.templates, c);
      if (t.publicFlag) throw SoftLayerFault.public('Public images cannot be deleted.');
      s.templates.delete(t.id);
      return { one: { id: s.id(), createDate: slDate(), transactionStatus: () => ({ name: 'CLOUD_IMAGE_DELETE', friendlyName: 'Deleting image' }) } };
    },
    editObject: (s, c) => {
      const t = own(s.templates, c);
      if (t.publicFlag) throw SoftLayerFault.public('Public images cannot be edited.');
      const e = obj(c.params[0], 'templateObject');
      if (typeof e.name === 'string') t.name = e.name;
      if (typeof e.note === 'string') t.note = e.note;
      return { raw: true };
    },
    permitSharingAccess: (s, c) => {
      const t = own(s.templates, c);
      const a = Number(c.params[0]);
      if (!Number.isInteger(a)) throw SoftLayerFault.public('An account id is required.');
      if (!t.sharedAccountIds.includes(a)) t.sharedAccountIds.push(a);
      return { raw: true };
    },
    denySharingAccess: (s, c) => {
      const t = own(s.templates, c);
      t.sharedAccountIds = t.sharedAccountIds.filter((x) => x !== Number(c.params[0]));
      return { raw: true };
    },
    getAccountReferences: (s, c) => {
      const t = own(s.templates, c);
      return listOf(t.sharedAccountIds.map((a) => ({ accountId: a, createDate: t.createDate })));
    },
  },
  SoftLayer_Network_Vlan: {
    getObject: (s, c) => ({ one: s.vlanView(own(s.vlans, c)) }),
  },
  SoftLayer_Network_Subnet: {
    getObject: (s, c) => ({ one: s.subnetView(own(s.subnets, c)) }),
  },
  SoftLayer_Network_SecurityGroup: SECURITY_GROUP,
  SoftLayer_Network_Storage: STORAGE,
  SoftLayer_Network_Storage_Iscsi: STORAGE,
  SoftLayer_Location_Datacenter: {
    getDatacenters: (s) => listOf(s.datacenters.map((d) => s.datacenterView(d))),
  },
  SoftLayer_Location: {
    getDatacenters: (s) => listOf(s.datacenters.map((d) => s.datacenterView(d))),
  },
};

/**
 * Services are named with or without the `SoftLayer_` prefix (slcli writes
 * `Account`). Every relational property has its getter, as in SoftLayer:
 * `Virtual_Guest::getBlockDevices` is getObject's `blockDevices`.
 */
export function findHandler(service: string, method: string): Handler | undefined {
  const name = service.startsWith('SoftLayer_') ? service : `SoftLayer_${service}`;
  const own = SERVICES[name]?.[method];
  if (own) return own;
  const getObject = SERVICES[name]?.getObject;
  const m = /^get([A-Z]\w*)$/.exec(method);
  if (!getObject || !m) return undefined;
  const key = m[1]!.replace(/^./, (ch) => ch.toLowerCase());
  return (s, c) => {
    const one = getObject(s, c);
    const v = 'one' in one ? one.one[key] : undefined;
    if (typeof v !== 'function') throw new SoftLayerFault('SoftLayer_Exception_Public', `Function ("${method}") is not a valid method for this service.`, 404);
    const related = (v as () => unknown)();
    if (Array.isArray(related)) return { list: related as View[] };
    if (related && typeof related === 'object') return { one: related as View };
    return { raw: related ?? null };
  };
}

export { need, DATACENTERS };
