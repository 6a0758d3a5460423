/**
 * The simulated SoftLayer account data: users and their accounts, guests with
 * their provisioning transactions, SSH keys, image templates, VLANs, subnets,
 * block storage. Shapes follow the SoftLayer data types (SoftLayer_Virtual_Guest,
 * SoftLayer_Security_Ssh_Key, …); what SoftLayer computes (powerState,
 * activeTransaction, fullyQualifiedDomainName) is computed here.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { View } from './mask.js';

/** A SoftLayer API error: `{"error": message, "code": code}` with an HTTP status. */
export class SoftLayerFault extends Error {
  constructor(readonly code: string, message: string, readonly status = 500) {
    super(message);
  }
  static notFound(id: number | string): SoftLayerFault {
    return new SoftLayerFault('SoftLayer_Exception_ObjectNotFound', `Unable to find object with id of '${id}'.`, 404);
  }
  static public(message: string): SoftLayerFault {
    return new SoftLayerFault('SoftLayer_Exception_Public', message, 500);
  }
}

export interface SimUser { id: number; username: string; apiKey: string; accountId: number; email: string }
export interface Datacenter { id: number; name: string; longName: string; index: number }

export type PowerKey = 'RUNNING' | 'HALTED' | 'PAUSED';
const POWER_NAME: Record<PowerKey, string> = { RUNNING: 'Running', HALTED: 'Halted', PAUSED: 'Paused' };

export interface Transaction {
  id: number;
  name: string;
  friendlyName: string;
  createDate: string;
  endsAt: number;
  done: () => void;
}

export interface Guest {
  id: number; globalIdentifier: string; accountId: number; hostname: string; domain: string;
  startCpus: number; maxMemory: number; diskGb: number; hourlyBillingFlag: boolean; localDiskFlag: boolean;
  privateNetworkOnlyFlag: boolean; datacenterId: number; createDate: string; modifyDate: string; provisionDate: string | null;
  primaryIpAddress: string | null; primaryBackendIpAddress: string; publicVlanId: number | null; privateVlanId: number;
  power: PowerKey; osCode: string | null; templateGroupId: number | null; sshKeyIds: number[]; userData: string | null;
  tags: string[]; notes: string | null; txn: Transaction | null; lastTxn: Transaction | null; billingItemId: number; username: string;
}

export interface SshKey { id: number; accountId: number; label: string; key: string; fingerprint: string; notes: string | null; createDate: string; modifyDate: string | null }

export interface TemplateGroup {
  id: number; globalIdentifier: string; accountId: number | null; name: string; note: string | null; publicFlag: boolean;
  createDate: string; datacenterIds: number[]; diskGb: number; osCode: string; txn: Transaction | null; sharedAccountIds: number[];
}

export interface Vlan { id: number; accountId: number; vlanNumber: number; name: string | null; networkSpace: 'PUBLIC' | 'PRIVATE'; datacenterId: number; routerId: number; tags: string[] }

export interface Subnet {
  id: number; accountId: number; vlanId: number; networkIdentifier: string; cidr: number; netmask: string; gateway: string;
  broadcastAddress: string; addressSpace: 'PUBLIC' | 'PRIVATE'; nextHost: number;
}

export interface Storage {
  id: number; accountId: number; username: string; capacityGb: number; datacenterId: number; notes: string | null;
  createDate: string; storageTier: string; iops: string | null; allowedGuestIds: number[]; targetIp: string;
}

export interface OsOption { code: string; description: string }

export interface SecurityGroupRule {
  id: number; direction: 'ingress' | 'egress'; ethertype: 'IPv4' | 'IPv6'; protocol: string | null;
  portRangeMin: number | null; portRangeMax: number | null; remoteIp: string | null; remoteGroupId: number | null; createDate: string;
}
export interface SecurityGroup { id: number; accountId: number; name: string; description: string | null; createDate: string; modifyDate: string | null; rules: SecurityGroupRule[] }

/** SoftLayer answers dates in its local time with an offset; the simulator answers UTC. */
export function slDate(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** SoftLayer shows SSH key fingerprints as colon-separated MD5 of the key body. */
export function md5Fingerprint(key: string): string {
  const body = key.trim().split(/\s+/)[1];
  if (!body || !/^[A-Za-z0-9+/=]+$/.test(body)) throw SoftLayerFault.public('Invalid SSH key.');
  return createHash('md5').update(Buffer.from(body, 'base64')).digest('hex').match(/../g)!.join(':');
}

export const DATACENTERS: readonly Omit<Datacenter, 'index'>[] = [
  { id: 1441195, name: 'dal10', longName: 'Dallas 10' },
  { id: 2017603, name: 'wdc07', longName: 'Washington 7' },
  { id: 449506, name: 'fra02', longName: 'Frankfurt 2' },
];

export const OPERATING_SYSTEMS: readonly OsOption[] = [
  { code: 'UBUNTU_22_64', description: 'Ubuntu Linux 22.04 LTS Jammy Jellyfish (64 bit)' },
  { code: 'DEBIAN_11_64', description: 'Debian GNU/Linux 11.x Bullseye/Stable - Minimal Install (64 bit)' },
  { code: 'CENTOS_7_64', description: 'CentOS 7.x - Minimal Install (64 bit)' },
];

export interface Timing {
  /** Time a new guest spends in its provisioning transaction. */
  provisionMs: number;
  /** Time of power and reboot transactions. */
  transactionMs: number;
  /** Time a cancelled guest lingers with its reclaim transaction. */
  cancelMs: number;
}

export class SimState {
  private nextId = 1000;
  readonly users = new Map<string, SimUser>();
  readonly datacenters: Datacenter[] = DATACENTERS.map((d, index) => ({ ...d, index }));
  readonly guests = new Map<number, Guest>();
  readonly sshKeys = new Map<number, SshKey>();
  readonly templates = new Map<number, TemplateGroup>();
  readonly vlans = new Map<number, Vlan>();
  readonly subnets = new Map<number, Subnet>();
  readonly storage = new Map<number, Storage>();
  readonly securityGroups = new Map<number, SecurityGroup>();
  /** Security groups bound to each network component (id: guest id × 10 + port). */
  readonly bindings = new Map<number, Set<number>>();
  private readonly accounts = new Set<number>();

  constructor(readonly timing: Timing) {
    // Public images (accountId null, publicFlag) every account sees.
    for (const os of OPERATING_SYSTEMS) {
      const id = this.id();
      this.templates.set(id, {
        id, globalIdentifier: randomUUID(), accountId: null, name: `${os.code.toLowerCase().replace(/_/g, '-')}-public`, note: os.description,
        publicFlag: true, createDate: slDate(), datacenterIds: this.datacenters.map((d) => d.id), diskGb: 25, osCode: os.code, txn: null, sharedAccountIds: [],
      });
    }
  }

  id(): number { return this.nextId++; }

  datacenter(id: number): Datacenter {
    return this.datacenters.find((d) => d.id === id)!;
  }
  datacenterByName(name: string): Datacenter | undefined {
    return this.datacenters.find((d) => d.name === name);
  }

  /** Adds an API user; the first user of an account gets the account's VLANs, subnets and a volume. */
  addUser(username: string, apiKey: string, accountId: number): SimUser {
    const user: SimUser = { id: this.id(), username, apiKey, accountId, email: `${username.toLowerCase()}@example.test` };
    this.users.set(username, user);
    if (!this.accounts.has(accountId)) {
      this.accounts.add(accountId);
      for (const dc of this.datacenters) {
        for (const space of ['PUBLIC', 'PRIVATE'] as const) {
          const vlanId = this.id();
          this.vlans.set(vlanId, { id: vlanId, accountId, vlanNumber: 800 + vlanId % 200, name: null, networkSpace: space, datacenterId: dc.id, routerId: (space === 'PUBLIC' ? 10 : 20) + dc.index, tags: [] });
          const subnetId = this.id();
          const base = space === 'PUBLIC' ? `169.${60 + dc.index}.${accountId % 250}` : `10.${100 + dc.index}.${accountId % 250}`;
          this.subnets.set(subnetId, {
            id: subnetId, accountId, vlanId, networkIdentifier: `${base}.0`, cidr: 26, netmask: '255.255.255.192',
            gateway: `${base}.1`, broadcastAddress: `${base}.63`, addressSpace: space, nextHost: 2,
          });
        }
      }
      const storageId = this.id();
      this.storage.set(storageId, {
        id: storageId, accountId, username: `SL0${accountId}_1`, capacityGb: 20, datacenterId: this.datacenters[0]!.id, notes: 'data volume',
        createDate: slDate(), storageTier: 'READHEAVY_TIER', iops: null, allowedGuestIds: [], targetIp: '10.2.0.10',
      });
    }
    return user;
  }

  /** Runs the transactions whose time has come. */
  tick(now = Date.now()): void {
    for (const g of [...this.guests.values()]) {
      if (g.txn && g.txn.endsAt <= now) {
        const t = g.txn;
        g.txn = null;
        g.lastTxn = t;
        t.done();
      }
    }
    for (const t of this.templates.values()) {
      if (t.txn && t.txn.endsAt <= now) { const x = t.txn; t.txn = null; x.done(); }
    }
  }

  transaction(name: string, friendlyName: string, ms: number, done: () => void): Transaction {
    return { id: this.id(), name, friendlyName, createDate: slDate(), endsAt: Date.now() + ms, done };
  }

  /** Next free address of a VLAN's primary subnet. */
  allocateIp(vlanId: number): string {
    const subnet = [...this.subnets.values()].find((s) => s.vlanId === vlanId)!;
    const ip = subnet.networkIdentifier.replace(/\.0$/, `.${subnet.nextHost}`);
    subnet.nextHost++;
    return ip;
  }

  vlanFor(accountId: number, datacenterId: number, space: 'PUBLIC' | 'PRIVATE'): Vlan {
    return [...this.vlans.values()].find((v) => v.accountId === accountId && v.datacenterId === datacenterId && v.networkSpace === space)!;
  }

  // ---- views: local properties as values, relational ones as functions ----

  datacenterView(d: Datacenter): View {
    return { id: d.id, name: d.name, longName: d.longName, statusId: 2 };
  }

  txnView(t: Transaction | null): (() => View | undefined) {
    return () => (t ? {
      id: t.id, createDate: t.createDate, elapsedSeconds: Math.max(0, Math.round((Date.now() - Date.parse(t.createDate)) / 1000)),
      transactionStatus: () => ({ name: t.name, friendlyName: t.friendlyName }),
      transactionGroup: () => ({ name: t.friendlyName }),
    } : undefined);
  }

  guestView(g: Guest): View {
    const dc = this.datacenter(g.datacenterId);
    const template = g.templateGroupId ? this.templates.get(g.templateGroupId) : undefined;
    const osCode = g.osCode ?? template?.osCode ?? null;
    const os = OPERATING_SYSTEMS.find((o) => o.code === osCode);
    const component = (port: 0 | 1): View => {
      const vlanId = port === 1 ? g.publicVlanId : g.privateVlanId;
      const vlan = vlanId ? this.vlans.get(vlanId) : undefined;
      const subnet = vlan ? [...this.subnets.values()].find((s) => s.vlanId === vlan.id) : undefined;
      return {
        id: g.id * 10 + port, guestId: g.id, name: 'eth', port, speed: 100, maxSpeed: 100, status: 'ACTIVE',
        macAddress: `06:${(g.id >> 16 & 255).toString(16).padStart(2, '0')}:${(g.id >> 8 & 255).toString(16).padStart(2, '0')}:${(g.id & 255).toString(16).padStart(2, '0')}:00:0${port}`,
        primaryIpAddress: port === 1 ? g.primaryIpAddress : g.primaryBackendIpAddress,
        networkVlanId: vlan?.id ?? null,
        networkVlan: () => (vlan ? this.vlanView(vlan) : null),
        primarySubnet: () => (subnet ? this.subnetView(subnet) : null),
        securityGroupBindings: () => [...(this.bindings.get(g.id * 10 + port) ?? [])].map((sgId) => ({
          networkComponentId: g.id * 10 + port, securityGroupId: sgId,
          securityGroup: () => { const sg = this.securityGroups.get(sgId); return sg ? this.securityGroupView(sg) : null; },
        })),
      };
    };
    const components = (): View[] => (g.publicVlanId ? [component(0), component(1)] : [component(0)]);
    return {
      id: g.id, globalIdentifier: g.globalIdentifier, accountId: g.accountId, hostname: g.hostname, domain: g.domain,
      fullyQualifiedDomainName: `${g.hostname}.${g.domain}`, maxCpu: g.startCpus, maxCpuUnits: 'CORE', startCpus: g.startCpus,
      maxMemory: g.maxMemory, hourlyBillingFlag: g.hourlyBillingFlag, localDiskFlag: g.localDiskFlag,
      privateNetworkOnlyFlag: g.privateNetworkOnlyFlag, dedicatedAccountHostOnlyFlag: false, transientGuestFlag: false,
      createDate: g.createDate, modifyDate: g.modifyDate, provisionDate: g.provisionDate, statusId: 1001, uuid: g.globalIdentifier,
      ...(g.primaryIpAddress ? { primaryIpAddress: g.primaryIpAddress } : {}),
      primaryBackendIpAddress: g.primaryBackendIpAddress,
      ...(g.notes ? { notes: g.notes } : {}),
      datacenter: () => this.datacenterView(dc),
      location: () => this.datacenterView(dc),
      powerState: () => ({ keyName: g.power, name: POWER_NAME[g.power] }),
      lastKnownPowerState: () => ({ keyName: g.power, name: POWER_NAME[g.power] }),
      status: () => ({ keyName: 'ACTIVE', name: 'Active' }),
      deviceStatus: () => ({ id: 8, name: g.power === 'RUNNING' ? 'Running' : 'Stopped' }),
      activeTransaction: this.txnView(g.txn),
      activeTransactions: () => (g.txn ? [this.txnView(g.txn)()!] : []),
      lastTransaction: this.txnView(g.lastTxn),
      networkComponents: components,
      primaryNetworkComponent: () => (g.publicVlanId ? component(1) : undefined),
      primaryBackendNetworkComponent: () => component(0),
      networkVlans: () => [g.privateVlanId, g.publicVlanId].filter((v): v is number => v !== null).map((v) => this.vlanView(this.vlans.get(v)!)),
      tagReferences: () => g.tags.map((t, i) => ({ id: g.id * 100 + i, tagId: 5000 + i, tag: () => ({ id: 5000 + i, name: t }) })),
      sshKeys: () => g.sshKeyIds.map((id) => this.sshKeys.get(id)).filter((k): k is SshKey => Boolean(k)).map((k) => this.sshKeyView(k)),
      userData: () => (g.userData !== null ? [{ value: g.userData }] : []),
      operatingSystemReferenceCode: () => osCode ?? undefined,
      operatingSystem: () => (os ? {
        hardwareId: null,
        softwareLicense: () => ({ softwareDescription: () => ({ manufacturer: os.code.split('_')[0], name: os.description, version: os.code.split('_')[1] ?? '', referenceCode: os.code }) }),
        passwords: () => [{ username: 'root', password: `pw-${g.globalIdentifier.slice(0, 8)}` }],
      } : undefined),
      softwareComponents: () => [],
      bandwidthAllotmentDetail: () => ({ id: g.id * 10 + 2, allocationId: g.id, allocation: () => ({ id: g.id, amount: '250' }) }),
      billingCycleBandwidthUsage: () => [
        { amountIn: '0.0', amountOut: '0.0', type: () => ({ alias: 'PUBLIC_SERVER_BW' }) },
        { amountIn: '0.0', amountOut: '0.0', type: () => ({ alias: 'PRIVATE_SERVER_BW' }) },
      ],
      reverseDomainRecords: () => [],
      blockDeviceTemplateGroup: () => (template ? this.templateView(template) : undefined),
      blockDevices: () => [{ id: g.id * 10, device: '0', mountType: 'Disk', bootableFlag: 1, diskImage: () => ({ id: g.id * 10 + 1, capacity: g.diskGb, units: 'GB', localDiskFlag: g.localDiskFlag, description: `${g.hostname}-disk0` }) }],
      billingItem: () => ({
        id: g.billingItemId, recurringFee: '0', hourlyRecurringFee: '0.05', nextInvoiceTotalRecurringAmount: 0,
        orderItem: () => ({ id: g.billingItemId + 1, order: () => ({ id: g.billingItemId + 2, userRecord: () => ({ username: g.username }) }) }),
      }),
    };
  }

  sshKeyView(k: SshKey): View {
    return { id: k.id, label: k.label, key: k.key, fingerprint: k.fingerprint, notes: k.notes, createDate: k.createDate, modifyDate: k.modifyDate };
  }

  templateView(t: TemplateGroup): View {
    return {
      id: t.id, globalIdentifier: t.globalIdentifier, accountId: t.accountId, name: t.name, note: t.note, publicFlag: t.publicFlag ? 1 : 0,
      parentId: null, flexImageFlag: true, createDate: t.createDate, statusId: t.txn ? 2 : 1,
      imageType: () => ({ keyName: 'SYSTEM', name: 'System' }),
      status: () => (t.txn ? { keyName: 'CREATE_PENDING', name: 'Creating' } : { keyName: 'ACTIVE', name: 'Active' }),
      transaction: this.txnView(t.txn),
      datacenters: () => t.datacenterIds.map((id) => this.datacenterView(this.datacenter(id))),
      blockDevicesDiskSpaceTotal: () => t.diskGb * 1024 ** 3,
      operatingSystemReferenceCode: () => t.osCode,
      children: () => t.datacenterIds.map((id, i) => ({
        id: t.id * 10 + i, parentId: t.id, name: t.name, blockDevicesDiskSpaceTotal: t.diskGb * 1024 ** 3,
        datacenter: () => this.datacenterView(this.datacenter(id)),
      })),
      firstChild: () => ({ id: t.id * 10, parentId: t.id, name: t.name }),
      accountReferences: () => t.sharedAccountIds.map((a) => ({ accountId: a, createDate: t.createDate })),
      tagReferences: () => [],
    };
  }

  vlanView(v: Vlan): View {
    const dc = this.datacenter(v.datacenterId);
    const subnets = [...this.subnets.values()].filter((s) => s.vlanId === v.id);
    const guests = [...this.guests.values()].filter((g) => g.privateVlanId === v.id || g.publicVlanId === v.id);
    const routerName = `${v.networkSpace === 'PUBLIC' ? 'fcr' : 'bcr'}01a.${dc.name}`;
    return {
      id: v.id, vlanNumber: v.vlanNumber, name: v.name, networkSpace: v.networkSpace, accountId: v.accountId,
      fullyQualifiedName: `${routerName}.${v.vlanNumber}`,
      primaryRouter: () => ({ id: v.routerId, hostname: routerName, fullyQualifiedDomainName: `${routerName}.softlayer.com`, datacenter: () => this.datacenterView(dc) }),
      datacenter: () => this.datacenterView(dc),
      subnets: () => subnets.map((s) => this.subnetView(s)),
      primarySubnet: () => (subnets[0] ? this.subnetView(subnets[0]) : undefined),
      virtualGuests: () => guests.map((g) => this.guestView(g)),
      hardware: () => [],
      firewallInterfaces: () => [],
      tagReferences: () => v.tags.map((t, i) => ({ id: v.id * 100 + i, tag: () => ({ id: 6000 + i, name: t }) })),
      hardwareCount: () => 0,
      virtualGuestCount: () => guests.length,
      subnetCount: () => subnets.length,
      totalPrimaryIpAddressCount: () => subnets.reduce((n, s) => n + 2 ** (32 - s.cidr), 0),
    };
  }

  subnetView(s: Subnet): View {
    const vlan = this.vlans.get(s.vlanId)!;
    const guests = [...this.guests.values()].filter((g) => g.privateVlanId === vlan.id || g.publicVlanId === vlan.id);
    return {
      id: s.id, networkIdentifier: s.networkIdentifier, cidr: s.cidr, netmask: s.netmask, gateway: s.gateway,
      broadcastAddress: s.broadcastAddress, networkVlanId: s.vlanId, subnetType: 'PRIMARY', addressSpace: s.addressSpace, version: 4,
      totalIpAddresses: String(2 ** (32 - s.cidr)), usableIpAddressCount: String(2 ** (32 - s.cidr) - 3), isCustomerOwned: false,
      networkVlan: () => this.vlanView(vlan),
      datacenter: () => this.datacenterView(this.datacenter(vlan.datacenterId)),
      virtualGuests: () => guests.map((g) => this.guestView(g)),
      hardware: () => [],
      ipAddresses: () => [],
    };
  }

  securityGroupView(g: SecurityGroup): View {
    const rule = (r: SecurityGroupRule): View => ({
      id: r.id, securityGroupId: g.id, direction: r.direction, ethertype: r.ethertype, protocol: r.protocol,
      portRangeMin: r.portRangeMin, portRangeMax: r.portRangeMax, remoteIp: r.remoteIp, remoteGroupId: r.remoteGroupId, createDate: r.createDate,
    });
    return {
      id: g.id, name: g.name, description: g.description, createDate: g.createDate, modifyDate: g.modifyDate,
      rules: () => g.rules.map(rule),
      networkComponentBindings: () => [...this.bindings].filter(([, groups]) => groups.has(g.id)).map(([componentId]) => ({
        networkComponentId: componentId, securityGroupId: g.id,
        networkComponent: () => ({ id: componentId, port: componentId % 10, guestId: Math.floor(componentId / 10) }),
      })),
    };
  }

  storageView(s: Storage): View {
    return {
      id: s.id, username: s.username, capacityGb: s.capacityGb, notes: s.notes, createDate: s.createDate, accountId: s.accountId,
      nasType: 'ISCSI', serviceResourceBackendIpAddress: s.targetIp, lunId: String(s.id % 256), iops: s.iops,
      storageType: () => ({ keyName: 'ENDURANCE_BLOCK_STORAGE', description: 'Endurance Block Storage' }),
      storageTierLevel: () => s.storageTier,
      serviceResource: () => ({ datacenter: () => this.datacenterView(this.datacenter(s.datacenterId)) }),
      allowedVirtualGuests: () => s.allowedGuestIds.map((id) => this.guests.get(id)).filter((g): g is Guest => Boolean(g)).map((g) => this.guestView(g)),
      activeTransactionCount: () => 0,
    };
  }
}
