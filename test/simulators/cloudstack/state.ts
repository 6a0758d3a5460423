/**
 * The CloudStack simulator's world: users with key pairs, zones, offerings,
 * templates, virtual machines, SSH key pairs, volumes, networks, security
 * groups, public IPs and async jobs. Async commands answer a job id at once;
 * the job finishes `jobMs` later (when a later request looks), applying its
 * effect, or fails when a failure knob says so.
 */
import { createHash, randomUUID } from 'node:crypto';

export class CsError extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}

export interface SimUser {
  id: string; username: string; apiKey: string; secretKey: string;
  account: string; accountId: string; domainId: string; domain: string;
}

export type Obj = Record<string, unknown>;

export interface SimVm extends Obj {
  id: string; name: string; displayname: string; account: string; domainid: string; state: string;
  zoneid: string; zonename: string; templateid: string; templatename: string;
  serviceofferingid: string; serviceofferingname: string; cpunumber: number; memory: number; created: string;
  keypair?: string; nic: Obj[]; securitygroup: Obj[]; jobid?: string; jobstatus?: number;
}

export interface SimJob {
  jobid: string; cmd: string; userid: string; accountid: string; account: string;
  jobinstancetype: string; jobinstanceid: string | null; created: string;
  jobstatus: number; jobresultcode: number; jobresult?: Obj; doneAt: number;
  /** Applies the job's effect when it finishes; its answer is the job result. */
  finish: () => Obj;
  /** Undoes the transitional state when the job fails. */
  fail: (message: string) => void;
}

export interface FailureKnob { count: number; message: string; only?: RegExp }

/** CloudStack's dates: `2026-11-23T16:20:00+0000`. */
export function csDate(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export const CMD = {
  deployVirtualMachine: 'org.apache.cloudstack.api.command.user.vm.DeployVMCmd',
  destroyVirtualMachine: 'org.apache.cloudstack.api.command.user.vm.DestroyVMCmd',
  startVirtualMachine: 'org.apache.cloudstack.api.command.user.vm.StartVMCmd',
  stopVirtualMachine: 'org.apache.cloudstack.api.command.user.vm.StopVMCmd',
  rebootVirtualMachine: 'org.apache.cloudstack.api.command.user.vm.RebootVMCmd',
  restoreVirtualMachine: 'org.apache.cloudstack.api.command.user.vm.RestoreVMCmd',
  attachVolume: 'org.apache.cloudstack.api.command.user.volume.AttachVolumeCmd',
  resizeVolume: 'org.apache.cloudstack.api.command.user.volume.ResizeVolumeCmd',
  detachVolume: 'org.apache.cloudstack.api.command.user.volume.DetachVolumeCmd',
  createVolume: 'org.apache.cloudstack.api.command.user.volume.CreateVolumeCmd',
  createSnapshot: 'org.apache.cloudstack.api.command.user.snapshot.CreateSnapshotCmd',
  deleteSnapshot: 'org.apache.cloudstack.api.command.user.snapshot.DeleteSnapshotCmd',
  deleteTemplate: 'org.apache.cloudstack.api.command.user.template.DeleteTemplateCmd',
  createTemplate: 'org.apache.cloudstack.api.command.user.template.CreateTemplateCmd',
  deleteIso: 'org.apache.cloudstack.api.command.user.iso.DeleteIsoCmd',
  createTags: 'org.apache.cloudstack.api.command.user.tag.CreateTagsCmd',
  createAffinityGroup: 'org.apache.cloudstack.api.command.user.affinitygroup.CreateAffinityGroupCmd',
  deleteAffinityGroup: 'org.apache.cloudstack.api.command.user.affinitygroup.DeleteAffinityGroupCmd',
  deleteTags: 'org.apache.cloudstack.api.command.user.tag.DeleteTagsCmd',
  authorizeSecurityGroupIngress: 'org.apache.cloudstack.api.command.user.securitygroup.AuthorizeSecurityGroupIngressCmd',
  authorizeSecurityGroupEgress: 'org.apache.cloudstack.api.command.user.securitygroup.AuthorizeSecurityGroupEgressCmd',
  revokeSecurityGroupIngress: 'org.apache.cloudstack.api.command.user.securitygroup.RevokeSecurityGroupIngressCmd',
  revokeSecurityGroupEgress: 'org.apache.cloudstack.api.command.user.securitygroup.RevokeSecurityGroupEgressCmd',
  associateIpAddress: 'org.apache.cloudstack.api.command.user.address.AssociateIPAddrCmd',
  disassociateIpAddress: 'org.apache.cloudstack.api.command.user.address.DisassociateIPAddrCmd',
  disableStaticNat: 'org.apache.cloudstack.api.command.user.nat.DisableStaticNatCmd',
} as const;

export class SimState {
  readonly users = new Map<string, SimUser>(); // by API key
  readonly zones: Obj[];
  readonly serviceOfferings: Obj[];
  readonly diskOfferings: Obj[];
  readonly osTypes: Obj[] = ['Other Linux (64-bit)', 'Ubuntu 22.04 LTS', 'Debian GNU/Linux 12 (64-bit)'].map((description) => ({ id: randomUUID(), description, oscategoryid: '1' }));
  readonly templates = new Map<string, Obj>();
  readonly isos = new Map<string, Obj>();
  readonly vms = new Map<string, SimVm>();
  readonly sshKeyPairs = new Map<string, Obj>(); // `${account}/${name}`
  readonly volumes = new Map<string, Obj>();
  readonly snapshots = new Map<string, Obj>();
  readonly networks = new Map<string, Obj>();
  readonly securityGroups = new Map<string, Obj>();
  readonly publicIps = new Map<string, Obj>();
  readonly affinityGroups = new Map<string, Obj>();
  readonly jobs = new Map<string, SimJob>();
  /** Fail the next matching async jobs (`only` matches the command name). */
  readonly jobFailures: FailureKnob = { count: 0, message: '' };
  private ipCounter = 10;
  /**
   * While true no job finishes: a test can look at a state in flight (Stopping,
   * attaching) however slow the machine is, then let the jobs end.
   */
  holdJobs = false;

  constructor(readonly jobMs: number) {
    const zone = (name: string) => ({ id: randomUUID(), name, networktype: 'Advanced', allocationstate: 'Enabled', securitygroupsenabled: true, localstorageenabled: false });
    this.zones = [zone('zone-ams'), zone('zone-fra')];
    const so = (name: string, cpunumber: number, memory: number) => ({
      id: randomUUID(), name, displaytext: `${cpunumber} vCPU, ${memory} MiB`, cpunumber, cpuspeed: 2000, memory, created: csDate(), storagetype: 'shared', offerha: false, limitcpuuse: false, iscustomized: false,
    });
    this.serviceOfferings = [so('Small Instance', 1, 1024), so('Medium Instance', 2, 4096), so('Large Instance', 4, 8192)];
    const dof = (name: string, disksize: number, iscustomized: boolean) => ({ id: randomUUID(), name, displaytext: name, disksize, iscustomized, created: csDate(), storagetype: 'shared' });
    this.diskOfferings = [dof('Custom', 0, true), dof('Small', 5, false), dof('Medium', 20, false)];
    for (const [name, os] of [['Ubuntu 22.04', 'Ubuntu 22.04 LTS'], ['Debian 12', 'Debian GNU/Linux 12 (64-bit)']] as const) {
      const id = randomUUID();
      this.templates.set(id, {
        id, name, displaytext: name, ispublic: true, isfeatured: true, isready: true, status: 'Download Complete', ostypename: os, format: 'QCOW2', hypervisor: 'KVM',
        zoneid: this.zones[0]!.id, zonename: this.zones[0]!.name, account: 'system', domainid: 'ROOT', size: 10 * 1024 ** 3, created: csDate(), templatetype: 'USER', passwordenabled: false, crossZones: true,
      });
    }
    this.seedIsos();
  }

  /** CloudStack's ISOs: bootable installation media, listed beside templates. */
  private seedIsos(): void {
    const id = randomUUID();
    this.isos.set(id, {
      id, name: 'netinst-12', displaytext: 'Debian 12 netinst', ispublic: true, isfeatured: true, isready: true, bootable: true, status: 'Successfully Installed',
      ostypename: 'Debian GNU/Linux 12 (64-bit)', zoneid: this.zones[0]!.id, zonename: this.zones[0]!.name, account: 'system', domainid: 'ROOT', size: 650 * 1024 ** 2, created: csDate(),
    });
  }

  addUser(apiKey: string, secretKey: string, account: string): SimUser {
    const user: SimUser = { id: randomUUID(), username: `${account}-user`, apiKey, secretKey, account, accountId: randomUUID(), domainId: randomUUID(), domain: 'ROOT' };
    for (const u of this.users.values()) if (u.account === account) Object.assign(user, { accountId: u.accountId, domainId: u.domainId });
    this.users.set(apiKey, user);
    // Each account has one isolated guest network per zone, as CloudStack makes at first deploy, and a default security group.
    if (![...this.networks.values()].some((n) => n.account === account)) {
      for (const zone of this.zones) {
        const id = randomUUID();
        const n = this.networks.size;
        this.networks.set(id, {
          id, name: `${account}-${String(zone.name)}`, displaytext: `${account} guest network`, zoneid: zone.id, zonename: zone.name,
          cidr: `10.1.${n}.0/24`, gateway: `10.1.${n}.1`, netmask: '255.255.255.0', state: 'Implemented', type: 'Isolated', account, domainid: user.domainId,
          isdefault: true, canusefordeploy: true, traffictype: 'Guest',
        });
      }
      const sg = randomUUID();
      this.securityGroups.set(sg, { id: sg, name: 'default', description: 'Default Security Group', account, domainid: user.domainId, ingressrule: [], egressrule: [] });
    }
    return user;
  }

  zone(id: unknown): Obj {
    const z = this.zones.find((x) => x.id === id);
    if (!z) throw new CsError(431, `Unable to execute API command due to invalid value. Invalid parameter zoneid value=${String(id)} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`);
    return z;
  }

  /** An entity of the user's account, or CloudStack's 431 for an id that names none. */
  owned<T extends Obj>(map: Map<string, T>, id: unknown, user: SimUser, field: string): T {
    const o = typeof id === 'string' ? map.get(id) : undefined;
    if (!o || (o.account !== user.account && o.account !== 'system')) {
      throw new CsError(431, `Unable to execute API command due to invalid value. Invalid parameter ${field} value=${String(id)} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`);
    }
    return o;
  }

  /** A fresh address: `a.b` → a.b.x.y; `a.b.c` (a /24) → a.b.c.y. */
  nextIp(prefix: string): string {
    this.ipCounter++;
    const host = (this.ipCounter % 250) + 2;
    return prefix.split('.').length === 3 ? `${prefix}.${host}` : `${prefix}.${Math.floor(this.ipCounter / 250)}.${host}`;
  }

  /** Starts an async job; the caller sets the transitional state first. */
  startJob(user: SimUser, command: keyof typeof CMD, instanceType: string, instanceId: string | null, finish: () => Obj, fail: (message: string) => void = () => {}): SimJob {
    const job: SimJob = {
      jobid: randomUUID(), cmd: CMD[command], userid: user.id, accountid: user.accountId, account: user.account,
      jobinstancetype: instanceType, jobinstanceid: instanceId, created: csDate(), jobstatus: 0, jobresultcode: 0, doneAt: Date.now() + this.jobMs, finish, fail,
    };
    const knob = this.jobFailures;
    if (knob.count > 0 && (!knob.only || knob.only.test(command))) {
      knob.count--;
      job.finish = () => { throw new CsError(530, knob.message); };
    }
    this.jobs.set(job.jobid, job);
    this.markPending(job);
    return job;
  }

  private markPending(job: SimJob): void {
    const target = job.jobinstanceid ? (job.jobinstancetype === 'VirtualMachine' ? this.vms : job.jobinstancetype === 'Volume' ? this.volumes : undefined)?.get(job.jobinstanceid) : undefined;
    if (target) Object.assign(target, { jobid: job.jobid, jobstatus: 0 });
  }

  /** Finishes every job whose time has come (CloudStack works while nobody asks; we catch up on each request). */
  tick(now = Date.now()): void {
    if (this.holdJobs) return;
    for (const job of this.jobs.values()) {
      if (job.jobstatus !== 0 || job.doneAt > now) continue;
      const target = job.jobinstanceid ? (this.vms.get(job.jobinstanceid) ?? this.volumes.get(job.jobinstanceid)) : undefined;
      if (target && target.jobid === job.jobid) { delete target.jobid; delete target.jobstatus; }
      try {
        job.jobresult = job.finish();
        job.jobstatus = 1;
        job.jobresultcode = 0;
      } catch (err) {
        const code = err instanceof CsError ? err.code : 530;
        const text = (err as Error).message;
        job.fail(text);
        job.jobstatus = 2;
        job.jobresultcode = code;
        job.jobresult = { errorcode: code, errortext: text };
      }
    }
  }

  jobView(job: SimJob): Obj {
    const v: Obj = {
      accountid: job.accountid, account: job.account, userid: job.userid, cmd: job.cmd, jobstatus: job.jobstatus, jobprocstatus: 0, jobresultcode: job.jobresultcode,
      jobinstancetype: job.jobinstancetype, created: job.created, jobid: job.jobid,
    };
    if (job.jobinstanceid) v.jobinstanceid = job.jobinstanceid;
    if (job.jobstatus !== 0) { v.jobresulttype = 'object'; v.jobresult = job.jobresult; }
    return v;
  }

  /** A public key's MD5 fingerprint, colon-separated, as CloudStack shows it. */
  static fingerprint(publicKey: string): string {
    const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
    return createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
  }
}
