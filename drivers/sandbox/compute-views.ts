/**
 * The sandbox Nova's records and views: how servers, flavors, key pairs,
 * server groups and instance actions are kept in the store and shown at the
 * negotiated microversion (nova/api/openstack/compute/views/*).
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import type { RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { atLeast } from '../../src/microversion.js';
import type { FlavorRecord } from './flavors.js';
import type { Resource, SandboxStore } from './store.js';
import { isoNoZone, isoZ } from './store.js';
import type { ServerAddress } from './cloud.js';
import type { KeypairFacts } from '../../src/nova-keypairs.js';

type Ctx = RequestContext;

/** The hypervisor every sandbox server runs on. */
export const HOST = 'sandbox-compute';

// ---- records ---------------------------------------------------------------

export type VmState = 'building' | 'active' | 'stopped' | 'paused' | 'suspended' | 'resized' | 'error';

export interface AttachedVolume {
  id: string;
  device: string;
  delete_on_termination: boolean;
  tag: string | null;
  attachment_id: string;
}

export interface ServerRecord extends Resource {
  name: string;
  project_id: string;
  user_id: string;
  description: string | null;
  vm_state: VmState;
  task_state: string | null;
  power_state: number;
  /** Epoch ms when BUILD ends; the state changes on the first read after it (no timers). */
  build_until: number;
  /** Epoch ms when a timed task (a snapshot's image_snapshot) ends, read lazily like build_until. */
  task_until?: number;
  launched_at: string | null;
  flavor: FlavorRecord;
  /** The flavor before a resize, until it is confirmed or reverted. */
  old_flavor: FlavorRecord | null;
  image_id: string | null;
  key_name: string | null;
  key_data: string | null;
  metadata: Record<string, string>;
  tags: string[];
  locked: boolean;
  locked_reason: string | null;
  /** Who locked it: an owner's lock may be lifted by the owner, an admin's only by an admin. */
  locked_by: 'owner' | 'admin' | null;
  user_data: string | null;
  config_drive: string;
  availability_zone: string;
  access_ipv4: string;
  access_ipv6: string;
  instance_name: string;
  reservation_id: string;
  launch_index: number;
  hostname: string;
  security_groups: string[];
  /** True when the server has Neutron ports (networks other than "none"). */
  networked: boolean;
  volumes: AttachedVolume[];
  server_group: string | null;
  admin_pass: string;
  progress: number;
  /** OS-DCF:diskConfig as asked for (AUTO or MANUAL). */
  disk_config?: string;
  /** Kept after delete (2.21+ shows a deleted server's instance actions). */
  deleted?: boolean;
  /** Console lines that the server has "printed" (boot log, reboots). */
  console: string[];
}

export interface KeypairRecord extends Resource {
  name: string;
  user_id: string;
  type: 'ssh' | 'x509';
  public_key: string;
  fingerprint: string;
}

export interface ServerGroupRecord extends Resource {
  name: string;
  project_id: string;
  user_id: string;
  policy: string;
  rules: Record<string, unknown>;
  members: string[];
  metadata: Record<string, string>;
}

export interface InstanceActionEvent {
  event: string;
  start_time: string;
  finish_time: string;
  result: string;
}

export interface InstanceActionRecord extends Resource {
  server_id: string;
  request_id: string;
  action: string;
  user_id: string;
  message: string | null;
  start_time: string;
  events: InstanceActionEvent[];
}

export interface QuotaRecord extends Resource {
  limits: Record<string, number>;
}

/** Nova's default quotas (nova.conf [quota]). */
export const DEFAULT_QUOTAS: Record<string, number> = {
  instances: 10, cores: 20, ram: 51200, key_pairs: 100, metadata_items: 128,
  injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_bytes: 255,
  server_groups: 10, server_group_members: 10,
  // Network quotas, shown before 2.36 (proxied to Neutron in real Nova).
  fixed_ips: -1, floating_ips: 10, security_groups: 10, security_group_rules: 20,
};

/** The quota keys shown at a microversion (2.36 drops the network ones, 2.57 the injected files). */
export function quotaKeys(mv: string | null): string[] {
  let keys = Object.keys(DEFAULT_QUOTAS);
  if (atLeast(mv, '2.36')) keys = keys.filter((k) => !['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'].includes(k));
  if (atLeast(mv, '2.57')) keys = keys.filter((k) => !k.startsWith('injected_'));
  return keys;
}

/** The keys of a quota class at a microversion (os-quota-class-sets: server groups only from 2.50, which drops the network ones). */
export function quotaClassKeys(mv: string | null): string[] {
  let keys = Object.keys(DEFAULT_QUOTAS);
  keys = atLeast(mv, '2.50')
    ? keys.filter((k) => !['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'].includes(k))
    : keys.filter((k) => !['server_groups', 'server_group_members'].includes(k));
  if (atLeast(mv, '2.57')) keys = keys.filter((k) => !k.startsWith('injected_'));
  return keys;
}

/** The `default` quota class: Nova's defaults as an admin has changed them (os-quota-class-sets). */
export function quotaDefaults(store: SandboxStore): Record<string, number> {
  return { ...DEFAULT_QUOTAS, ...store.get<QuotaRecord>('quota_class', 'default')?.limits };
}

export function quotaLimits(store: SandboxStore, projectId: string): Record<string, number> {
  return { ...quotaDefaults(store), ...store.get<QuotaRecord>('quota', projectId)?.limits };
}

// ---- state -----------------------------------------------------------------

/** Whether settle would change the server now. */
export function needsSettle(s: ServerRecord, now = Date.now()): boolean {
  return (s.vm_state === 'building' && now >= s.build_until) || (s.task_until !== undefined && now >= s.task_until);
}

/** BUILD ends lazily: the first read after build_until makes the server ACTIVE. */
export function settle(store: SandboxStore, s: ServerRecord): ServerRecord {
  if (s.vm_state === 'building' && Date.now() >= s.build_until) {
    s.vm_state = 'active';
    s.task_state = null;
    s.power_state = 1;
    s.progress = 0;
    s.launched_at = isoNoZone(s.build_until);
    s.console.push(...bootLog(s));
    s.updated_at = isoZ(s.build_until);
    store.put('server', s, false);
  } else if (s.task_until !== undefined && Date.now() >= s.task_until) {
    s.task_state = null;
    delete s.task_until;
    store.put('server', s, false);
  }
  return s;
}

/** Nova's status from vm_state and task_state (nova/api/openstack/common.py _STATE_MAP). */
export function serverStatus(s: ServerRecord): string {
  switch (s.vm_state) {
    case 'building': return 'BUILD';
    case 'stopped': return s.task_state === 'resize_prep' ? 'RESIZE' : 'SHUTOFF';
    case 'paused': return 'PAUSED';
    case 'suspended': return 'SUSPENDED';
    case 'resized': return s.task_state === 'resize_reverting' ? 'REVERT_RESIZE' : 'VERIFY_RESIZE';
    case 'error': return 'ERROR';
    case 'active':
      switch (s.task_state) {
        case 'rebooting': return 'REBOOT';
        case 'rebooting_hard': return 'HARD_REBOOT';
        case 'rebuilding': return 'REBUILD';
        case 'resize_prep': case 'resize_migrating': case 'resize_finish': return 'RESIZE';
        case 'updating_password': return 'PASSWORD';
        default: return 'ACTIVE';
      }
  }
}

/** The vm_states a status filter stands for. */
export function matchesStatus(s: ServerRecord, status: string): boolean {
  return serverStatus(s) === status.toUpperCase();
}

/** Synthetic console lines of a boot, like a cloud image's serial console. */
export function bootLog(s: ServerRecord): string[] {
  const t = () => `[    ${(Math.random() * 10).toFixed(6)}]`;
  return [
    `${t()} Linux version 6.1.0-sandbox (stackgate@sandbox) #1 SMP`,
    `${t()} Command line: BOOT_IMAGE=/boot/vmlinuz root=LABEL=cloudimg-rootfs ro console=ttyS0`,
    `${t()} Memory: ${s.flavor.ram * 1024}K available`,
    `${t()} smpboot: Allowing ${s.flavor.vcpus} CPUs`,
    `cloud-init[${100 + s.launch_index}]: Cloud-init v. 23.4 running 'init' at ${new Date(s.build_until).toUTCString()}.`,
    `cloud-init[${100 + s.launch_index}]: ci-info: hostname: ${s.hostname}`,
    `${s.hostname} login: `,
  ];
}

// ---- views -----------------------------------------------------------------

export function links(ctx: Ctx, collection: string, id: string) {
  return [
    { rel: 'self', href: `${ctx.endpoint}/v2.1/${collection}/${id}` },
    { rel: 'bookmark', href: `${ctx.endpoint}/${collection}/${id}` },
  ];
}

/** A flavor as Nova shows it at the negotiated microversion. */
export function flavorView(ctx: Ctx, f: FlavorRecord) {
  const mv = ctx.microversion;
  const base = {
    id: f.id,
    name: f.name,
    ram: f.ram,
    disk: f.disk,
    vcpus: f.vcpus,
    // Before 2.75 an unset swap is shown as "" (Nova's flavor view builder).
    swap: atLeast(mv, '2.75') || f.swap !== 0 ? f.swap : ('' as const),
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': f.disabled,
    rxtx_factor: f.rxtxFactor,
    'os-flavor-access:is_public': f.isPublic,
    links: links(ctx, 'flavors', f.id),
  };
  if (atLeast(mv, '2.102')) {
    // 2.102 drops the disabled flag and rxtx_factor from flavor views (as the spec's FlavorShowResponse_2102).
    const { 'OS-FLV-DISABLED:disabled': _d, rxtx_factor: _r, ...rest } = base;
    void _d; void _r;
    return { ...rest, description: f.description, extra_specs: { ...f.extraSpecs } };
  }
  if (atLeast(mv, '2.61')) return { ...base, description: f.description, extra_specs: { ...f.extraSpecs } };
  if (atLeast(mv, '2.55')) return { ...base, description: f.description };
  return base;
}

/** IPv6 in its canonical compressed form, as Nova (netaddr) stores it; '' and IPv4 unchanged. */
export function normalizeIPv6(addr: string): string {
  if (!addr.includes(':')) return addr;
  try {
    return new URL(`http://[${addr}]/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    throw Fault.badRequest(`Invalid input for field/attribute accessIPv6. Value: ${addr}.`);
  }
}

/** hostId by project: a list shows one per server, the same for all of a project's. Bounded: projects come and go. */
const HOST_IDS = new Map<string, string>();

/** Nova's hostId: sha224 of project id and host, so one project sees its servers' co-location only. */
export function hostId(projectId: string): string {
  let id = HOST_IDS.get(projectId);
  if (id === undefined) {
    id = createHash('sha224').update(projectId + HOST).digest('hex');
    if (HOST_IDS.size >= 10_000) HOST_IDS.clear();
    HOST_IDS.set(projectId, id);
  }
  return id;
}

export interface ViewInput {
  ctx: Ctx;
  isAdmin: boolean;
  addresses: Record<string, ServerAddress[]>;
  /** In GET /servers/detail (no server_groups there: 2.71 added them to show, update and rebuild only). */
  inList?: boolean;
}

/** A server in the detailed form of GET /servers/{id} and /servers/detail. */
export function serverView(s: ServerRecord, { ctx, isAdmin, addresses, inList }: ViewInput): Record<string, unknown> {
  const mv = ctx.microversion;
  const status = serverStatus(s);
  const v: Record<string, unknown> = {
    id: s.id,
    name: s.name,
    status,
    tenant_id: s.project_id,
    user_id: s.user_id,
    metadata: { ...s.metadata },
    hostId: hostId(s.project_id),
    image: s.image_id ? { id: s.image_id, links: [{ rel: 'bookmark', href: `${ctx.endpoint}/images/${s.image_id}` }] } : '',
    flavor: atLeast(mv, '2.47')
      ? {
          vcpus: s.flavor.vcpus, ram: s.flavor.ram, disk: s.flavor.disk, ephemeral: s.flavor.ephemeral,
          swap: s.flavor.swap, original_name: s.flavor.name, extra_specs: { ...s.flavor.extraSpecs },
        }
      : { id: s.flavor.id, links: [{ rel: 'bookmark', href: `${ctx.endpoint}/flavors/${s.flavor.id}` }] },
    created: s.created_at,
    updated: s.updated_at,
    addresses,
    accessIPv4: s.access_ipv4,
    accessIPv6: s.access_ipv6,
    links: links(ctx, 'servers', s.id),
    'OS-DCF:diskConfig': s.disk_config ?? 'MANUAL',
    key_name: s.key_name,
    config_drive: s.config_drive,
    'OS-EXT-AZ:availability_zone': s.availability_zone,
    'OS-EXT-STS:power_state': s.power_state,
    'OS-EXT-STS:task_state': s.task_state,
    'OS-EXT-STS:vm_state': s.vm_state,
    'OS-SRV-USG:launched_at': s.launched_at,
    'OS-SRV-USG:terminated_at': null,
    'os-extended-volumes:volumes_attached': s.volumes.map((a) => (atLeast(mv, '2.3') ? { id: a.id, delete_on_termination: a.delete_on_termination } : { id: a.id })),
  };
  if (['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING'].includes(status)) v.progress = s.progress;
  // Nova reads them from the server's Neutron ports: none without ports.
  if (s.networked && s.security_groups.length) v.security_groups = s.security_groups.map((name) => ({ name }));
  if (isAdmin) {
    v['OS-EXT-SRV-ATTR:host'] = HOST;
    v['OS-EXT-SRV-ATTR:hypervisor_hostname'] = HOST;
    v['OS-EXT-SRV-ATTR:instance_name'] = s.instance_name;
    if (atLeast(mv, '2.3')) {
      Object.assign(v, {
        'OS-EXT-SRV-ATTR:reservation_id': s.reservation_id,
        'OS-EXT-SRV-ATTR:launch_index': s.launch_index,
        'OS-EXT-SRV-ATTR:kernel_id': '',
        'OS-EXT-SRV-ATTR:ramdisk_id': '',
        'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
        'OS-EXT-SRV-ATTR:user_data': s.user_data,
      });
    }
  }
  if ((isAdmin && atLeast(mv, '2.3')) || atLeast(mv, '2.90')) v['OS-EXT-SRV-ATTR:hostname'] = s.hostname;
  if (atLeast(mv, '2.9')) v.locked = s.locked;
  if (atLeast(mv, '2.73')) v.locked_reason = s.locked_reason;
  if (atLeast(mv, '2.19')) v.description = s.description;
  if (atLeast(mv, '2.26')) v.tags = [...s.tags];
  if (atLeast(mv, '2.63')) v.trusted_image_certificates = null;
  if (atLeast(mv, '2.71') && !inList) v.server_groups = s.server_group ? [s.server_group] : [];
  if (atLeast(mv, '2.96')) v.pinned_availability_zone = null;
  if (atLeast(mv, '2.100')) v.scheduler_hints = s.server_group ? { group: s.server_group } : {};
  if (s.vm_state === 'error') v.fault = { code: 500, created: s.updated_at, message: 'Build failed' };
  return v;
}

// ---- key pairs ---------------------------------------------------------------

/** Colon-separated lower-case hex, as Nova writes fingerprints. */
function colonHex(digest: Buffer): string {
  return [...digest].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// DER, just enough for a self-signed certificate.
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a! + b!];
  for (const v of rest) {
    const enc = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) enc.unshift((x & 0x7f) | 0x80);
    bytes.push(...enc);
  }
  return der(0x06, Buffer.from(bytes));
}
function utcTime(ms: number): Buffer {
  return der(0x17, Buffer.from(new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
}

/** An RSA 2048 key and a self-signed certificate for it (Nova's x509 key pairs: the certificate is the public key). */
export function generateX509Keypair(commonName: string): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const name = seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName)))));
  const serial = randomBytes(8);
  serial[0] = serial[0]! & 0x7f;
  const now = Date.now();
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), der(0x02, serial), sha256WithRsa, name,
    seq(utcTime(now), utcTime(now + 10 * 365 * 86_400_000)), name, publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = cert.toString('base64').match(/.{1,64}/g)!.join('\n');
  return {
    publicKey: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

const SSH_TYPES = /^(ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** MD5 of the decoded key blob (nova.crypto.generate_fingerprint); 400 when it is not an OpenSSH public key. */
export function sshFingerprint(publicKey: string): string {
  const invalid = () => Fault.badRequest('Keypair data is invalid: failed to generate fingerprint');
  const parts = publicKey.trim().split(/\s+/);
  if (parts.length < 2 || !SSH_TYPES.test(parts[0]!) || !/^[A-Za-z0-9+/]+={0,2}$/.test(parts[1]!)) throw invalid();
  const blob = Buffer.from(parts[1]!, 'base64');
  if (blob.length < 4) throw invalid();
  const n = blob.readUInt32BE(0);
  if (n + 4 > blob.length || blob.subarray(4, 4 + n).toString() !== parts[0]) throw invalid();
  if (parts[0] === 'ssh-rsa') {
    // The blob must hold e and n, like paramiko's parse.
    let off = 4 + n;
    for (let i = 0; i < 2; i++) {
      if (off + 4 > blob.length) throw invalid();
      off += 4 + blob.readUInt32BE(off);
      if (off > blob.length) throw invalid();
    }
  }
  return colonHex(createHash('md5').update(blob).digest());
}

/** SHA-1 of the DER certificate (nova.crypto.generate_x509_fingerprint). */
export function x509Fingerprint(pem: string): string {
  try {
    const cert = new X509Certificate(pem);
    createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
    return colonHex(createHash('sha1').update(cert.raw).digest());
  } catch {
    throw Fault.badRequest('Keypair data is invalid: failed to generate fingerprint');
  }
}

/** What Nova's key pair views need of a sandbox key pair. */
export function keypairFacts(k: KeypairRecord): KeypairFacts {
  return { name: k.name, publicKey: k.public_key, fingerprint: k.fingerprint, type: k.type, userId: k.user_id, createdAt: isoNoZone(Date.parse(k.created_at)), id: keypairSerial(k) };
}

/** Nova's key pairs have an integer id; ours is derived from the creation time. */
function keypairSerial(k: KeypairRecord): number {
  return Number.parseInt(createHash('sha1').update(k.id).digest('hex').slice(0, 8), 16) % 1_000_000;
}

// ---- server groups, instance actions ---------------------------------------

export function serverGroupView(ctx: Ctx, g: ServerGroupRecord): Record<string, unknown> {
  const mv = ctx.microversion;
  const v: Record<string, unknown> = { id: g.id, name: g.name, members: [...g.members] };
  if (atLeast(mv, '2.64')) {
    Object.assign(v, { policy: g.policy, rules: { ...g.rules } });
  } else {
    Object.assign(v, { policies: [g.policy], metadata: { ...g.metadata } });
  }
  if (atLeast(mv, '2.13')) Object.assign(v, { project_id: g.project_id, user_id: g.user_id });
  return v;
}

export function instanceActionView(ctx: Ctx, a: InstanceActionRecord, withEvents: boolean, isAdmin: boolean): Record<string, unknown> {
  const mv = ctx.microversion;
  const v: Record<string, unknown> = {
    action: a.action, instance_uuid: a.server_id, message: a.message, project_id: a.project_id,
    request_id: a.request_id, start_time: a.start_time, user_id: a.user_id,
  };
  if (atLeast(mv, '2.58')) v.updated_at = a.updated_at;
  if (withEvents && (isAdmin || atLeast(mv, '2.51'))) {
    v.events = a.events.map((e) => {
      const ev: Record<string, unknown> = { event: e.event, start_time: e.start_time, finish_time: e.finish_time, result: e.result };
      if (isAdmin) ev.traceback = null;
      if (atLeast(mv, '2.62')) {
        ev.hostId = hostId(a.project_id ?? '');
        if (isAdmin) ev.host = HOST;
      }
      if (atLeast(mv, '2.84') && isAdmin) ev.details = null;
      return ev;
    });
  }
  return v;
}
