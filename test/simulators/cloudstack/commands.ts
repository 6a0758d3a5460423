/**
 * The CloudStack commands the simulator answers, keyed by command name (as
 * CloudStack, case-insensitively). A handler gets the caller and the
 * parameters (names lower-cased) and answers the object that goes inside
 * `<command>response`: a list (`{ list, key }`, paged by the server), an
 * async job's `{ id, jobid }`, or a plain object.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { CsError, SimState, csDate, type Obj, type SimUser, type SimVm } from './state.js';

export type Answer = { list: Obj[]; key: string } | { one: Obj };
export type Handler = (s: SimState, user: SimUser, p: Record<string, string>) => Answer;

function required(p: Record<string, string>, ...names: string[]): void {
  for (const n of names) if (!p[n]) throw new CsError(431, `Unable to execute API command due to missing parameter ${n}`);
}

function mine<T extends Obj>(items: Iterable<T>, user: SimUser): T[] {
  return [...items].filter((o) => o.account === user.account);
}

function byId<T extends Obj>(items: T[], p: Record<string, string>): T[] {
  return p.id ? items.filter((o) => o.id === p.id) : items;
}

function keyword<T extends Obj>(items: T[], p: Record<string, string>): T[] {
  const k = p.keyword ?? p.name;
  return k ? items.filter((o) => String(o.name ?? '').toLowerCase().includes(k.toLowerCase())) : items;
}

/** `{ id, jobid }`, as every async command answers at once. */
function jobAnswer(id: string | null, jobid: string): Answer {
  return { one: id ? { id, jobid } : { jobid } };
}

function vmState(s: SimState, vm: SimVm, allowed: string[], what: string): void {
  s.tick();
  if (vm.jobid || !allowed.includes(vm.state)) throw new CsError(431, `Unable to ${what} vm ${vm.name}: it is in state ${vm.state}${vm.jobid ? ' with a job pending' : ''}.`);
}

function sshPublicKey(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const str = (b: Buffer) => { const l = Buffer.alloc(4); l.writeUInt32BE(b.length); return Buffer.concat([l, b]); };
  const mpint = (b64: string) => { let b = Buffer.from(b64, 'base64url'); if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]); return str(b); };
  const blob = Buffer.concat([str(Buffer.from('ssh-rsa')), mpint(jwk.e), mpint(jwk.n)]);
  return { publicKey: `ssh-rsa ${blob.toString('base64')}`, privateKey: privateKey.export({ format: 'pem', type: 'pkcs1' }).toString() };
}

function volumeOf(s: SimState, vm: SimVm): void {
  const id = randomUUID();
  s.volumes.set(id, {
    id, name: `ROOT-${vm.name}`, type: 'ROOT', size: 10 * 1024 ** 3, state: 'Ready', zoneid: vm.zoneid, zonename: vm.zonename,
    virtualmachineid: vm.id, vmname: vm.name, vmstate: vm.state, deviceid: 0, created: csDate(), account: vm.account, domainid: vm.domainid, attached: csDate(),
  });
}

export const COMMANDS: Record<string, Handler> = {
  // ---- accounts ----
  listusers: (_s, u) => ({ list: [{ id: u.id, username: u.username, account: u.account, accountid: u.accountId, domainid: u.domainId, domain: u.domain, apikey: u.apiKey, state: 'enabled', accounttype: 0, roletype: 'User' }], key: 'user' }),
  listaccounts: (s, u) => {
    // Resource counts as CloudStack keeps them per account (destroyed VMs no longer count).
    const vms = mine(s.vms.values(), u).filter((v) => v.state !== 'Destroyed' && v.state !== 'Error');
    const vols = mine(s.volumes.values(), u);
    return {
      list: [{
        id: u.accountId, name: u.account, domainid: u.domainId, domain: u.domain, state: 'enabled', accounttype: 0, roletype: 'User',
        vmtotal: vms.length, cputotal: vms.reduce((n, v) => n + v.cpunumber, 0), memorytotal: vms.reduce((n, v) => n + v.memory, 0),
        volumetotal: vols.length, snapshottotal: mine(s.snapshots.values(), u).length,
        primarystoragetotal: Math.round(vols.reduce((n, v) => n + (v.size as number), 0) / 1024 ** 3),
      }],
      key: 'account',
    };
  },

  // ---- zones, offerings ----
  listzones: (s, _u, p) => ({ list: byId(keyword(s.zones, p), p), key: 'zone' }),
  listserviceofferings: (s, _u, p) => ({ list: byId(keyword(s.serviceOfferings, p), p), key: 'serviceoffering' }),
  listdiskofferings: (s, _u, p) => ({ list: byId(keyword(s.diskOfferings, p), p), key: 'diskoffering' }),

  // ---- templates ----
  listtemplates: (s, u, p) => {
    required(p, 'templatefilter');
    let list = [...s.templates.values()];
    const f = p.templatefilter;
    if (f === 'self') list = list.filter((t) => t.account === u.account);
    else if (f === 'featured') list = list.filter((t) => t.isfeatured);
    else if (f === 'community') list = list.filter((t) => t.ispublic && !t.isfeatured);
    else list = list.filter((t) => t.account === u.account || t.ispublic);
    return { list: byId(keyword(list, p), p), key: 'template' };
  },
  listostypes: (s, _u, p) => ({ list: byId(s.osTypes, p).filter((o) => !p.description || o.description === p.description), key: 'ostype' }),
  registertemplate: (s, u, p) => {
    required(p, 'name', 'displaytext', 'url', 'format', 'hypervisor', 'zoneid', 'ostypeid');
    const os = s.osTypes.find((o) => o.id === p.ostypeid);
    if (!os) throw new CsError(431, `Unable to execute API command registertemplate due to invalid value. Invalid parameter ostypeid value=${p.ostypeid} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`);
    if (!/^https?:\/\//.test(p.url!)) throw new CsError(431, `Please specify a valid URL. URL:${p.url} is an invalid for the following reason: Unsupported scheme for url`);
    const z = p.zoneid === '-1' ? s.zones[0]! : s.zone(p.zoneid);
    const id = randomUUID();
    const t: Obj = {
      id, name: p.name, displaytext: p.displaytext, ispublic: p.ispublic === 'true', isfeatured: false, isready: false, status: 'Downloading', format: p.format!.toUpperCase(), hypervisor: p.hypervisor,
      zoneid: z.id, zonename: z.name, account: u.account, domainid: u.domainId, created: csDate(), templatetype: 'USER', passwordenabled: p.passwordenabled === 'true', ostypeid: os.id, ostypename: os.description, url: p.url,
    };
    s.templates.set(id, t);
    // The download happens in the background: ready after the job time.
    setTimeout(() => Object.assign(t, { isready: true, status: 'Download Complete', size: 2 * 1024 ** 3 }), s.jobMs).unref();
    return { list: [t], key: 'template' };
  },
  createtemplate: (s, u, p) => {
    required(p, 'name', 'displaytext', 'ostypeid');
    if (!p.volumeid && !p.snapshotid) throw new CsError(431, 'Failed to create private template record, need to specify snapshotId or volumeId');
    const os = s.osTypes.find((o) => o.id === p.ostypeid);
    if (!os) throw new CsError(431, `Invalid parameter ostypeid value=${p.ostypeid}`);
    const vol = p.volumeid ? s.owned(s.volumes, p.volumeid, u, 'volumeid') : undefined;
    const vm = vol?.virtualmachineid ? s.vms.get(vol.virtualmachineid as string) : undefined;
    if (vol && vm && vm.state !== 'Stopped') throw new CsError(431, `VolumeId: ${String(vol.id)} is not in Stopped state; please stop the VM ${vm.name} first`);
    const id = randomUUID();
    const t: Obj = {
      id, name: p.name, displaytext: p.displaytext, ispublic: p.ispublic === 'true', isfeatured: false, isready: false, status: 'Creating', format: 'QCOW2', hypervisor: 'KVM',
      zoneid: vol?.zoneid ?? s.zones[0]!.id, zonename: vol?.zonename ?? s.zones[0]!.name, account: u.account, domainid: u.domainId, created: csDate(), templatetype: 'USER',
      ostypeid: os.id, ostypename: os.description, passwordenabled: false, sourcevolumeid: vol?.id,
    };
    s.templates.set(id, t);
    const job = s.startJob(u, 'createTemplate', 'Template', id, () => {
      Object.assign(t, { isready: true, status: 'Download Complete', size: vol?.size ?? 0 });
      return { template: t };
    }, () => { s.templates.delete(id); });
    return jobAnswer(id, job.jobid);
  },
  updatetemplate: (s, u, p) => ({ one: { template: updateImage(s.owned(s.templates, p.id, u, 'id'), u, p) } }),
  updateiso: (s, u, p) => ({ one: { iso: updateImage(s.owned(s.isos, p.id, u, 'id'), u, p) } }),
  deletetemplate: (s, u, p) => {
    const t = s.owned(s.templates, p.id, u, 'id');
    if (t.account !== u.account) throw new CsError(531, `Account ${u.account} does not have permission to delete template ${t.id}`);
    const job = s.startJob(u, 'deleteTemplate', 'Template', t.id as string, () => { s.templates.delete(t.id as string); return { success: true }; });
    return jobAnswer(null, job.jobid);
  },

  listisos: (s, u, p) => {
    const list = [...s.isos.values()].filter((i) => (p.isofilter === 'self' ? i.account === u.account : i.account === u.account || i.ispublic));
    return { list: byId(keyword(list, p), p), key: 'iso' };
  },
  registeriso: (s, u, p) => {
    required(p, 'name', 'displaytext', 'url', 'zoneid');
    if (!/^https?:\/\//.test(p.url!)) throw new CsError(431, `Please specify a valid URL. URL:${p.url} is an invalid for the following reason: Unsupported scheme for url`);
    const z = s.zone(p.zoneid);
    const os = p.ostypeid ? s.osTypes.find((o) => o.id === p.ostypeid) : undefined;
    const id = randomUUID();
    const iso: Obj = {
      id, name: p.name, displaytext: p.displaytext, ispublic: p.ispublic === 'true', isfeatured: false, isready: false, bootable: p.bootable !== 'false', status: 'Downloading',
      ostypename: os?.description, zoneid: z.id, zonename: z.name, account: u.account, domainid: u.domainId, created: csDate(), url: p.url,
    };
    s.isos.set(id, iso);
    setTimeout(() => Object.assign(iso, { isready: true, status: 'Successfully Installed', size: 300 * 1024 ** 2 }), s.jobMs).unref();
    return { list: [iso], key: 'iso' };
  },
  deleteiso: (s, u, p) => {
    const iso = s.owned(s.isos, p.id, u, 'id');
    if (iso.account !== u.account) throw new CsError(531, `Account ${u.account} does not have permission to delete ISO ${String(iso.id)}`);
    const job = s.startJob(u, 'deleteIso', 'Iso', iso.id as string, () => { s.isos.delete(iso.id as string); return { success: true }; });
    return jobAnswer(null, job.jobid);
  },

  // ---- affinity groups ----
  listaffinitygrouptypes: () => ({ list: [{ type: 'host anti-affinity' }, { type: 'host affinity' }], key: 'affinityGroupType' }),
  listaffinitygroups: (s, u, p) => {
    const list = mine(s.affinityGroups.values(), u).map((g) => ({
      ...g, virtualmachineIds: mine(s.vms.values(), u).filter((v) => v.state !== 'Destroyed' && (v.affinitygroup as Obj[] | undefined)?.some((a) => a.id === g.id)).map((v) => v.id),
    }));
    return { list: byId(keyword(list, p), p), key: 'affinitygroup' };
  },
  createaffinitygroup: (s, u, p) => {
    required(p, 'name', 'type');
    if (!['host anti-affinity', 'host affinity'].includes(p.type!)) throw new CsError(431, `Unable to create affinity group, invalid affinity group type ${p.type}`);
    if (mine(s.affinityGroups.values(), u).some((g) => g.name === p.name)) throw new CsError(431, `Unable to create affinity group, a group with name ${p.name} already exists.`);
    const id = randomUUID();
    const g: Obj = { id, name: p.name, type: p.type, description: p.description ?? '', account: u.account, domainid: u.domainId };
    const job = s.startJob(u, 'createAffinityGroup', 'AffinityGroup', id, () => { s.affinityGroups.set(id, g); return { affinitygroup: g }; });
    return jobAnswer(id, job.jobid);
  },
  deleteaffinitygroup: (s, u, p) => {
    const g = s.owned(s.affinityGroups, p.id, u, 'id');
    if (mine(s.vms.values(), u).some((v) => v.state !== 'Destroyed' && (v.affinitygroup as Obj[] | undefined)?.some((a) => a.id === g.id))) {
      throw new CsError(431, 'Cannot delete affinity group, as there are VMs in this group.');
    }
    const job = s.startJob(u, 'deleteAffinityGroup', 'AffinityGroup', g.id as string, () => { s.affinityGroups.delete(g.id as string); return { success: true }; });
    return jobAnswer(null, job.jobid);
  },

  // ---- resource tags (on VMs) ----
  listtags: (s, u, p) => {
    const vms = mine(s.vms.values(), u).filter((v) => !p.resourceid || v.id === p.resourceid);
    const tags = vms.flatMap((v) => (v.tags as Obj[] | undefined) ?? []).filter((t) => !p.key || t.key === p.key);
    return { list: tags, key: 'tag' };
  },
  createtags: (s, u, p) => {
    required(p, 'resourceids', 'resourcetype');
    if (p.resourcetype !== 'UserVm') throw new CsError(431, `The simulator tags UserVm resources only, not ${p.resourcetype}`);
    const vm = s.owned(s.vms, p.resourceids, u, 'resourceids');
    const pairs = Object.keys(p).map((k) => /^tags\[(\d+)\]\.key$/.exec(k)).filter((m): m is RegExpExecArray => Boolean(m)).map((m) => [p[m[0]]!, p[`tags[${m[1]}].value`] ?? ''] as const);
    if (!pairs.length) throw new CsError(431, 'Unable to execute API command createtags due to missing parameter tags');
    const existing = ((vm.tags as Obj[] | undefined) ?? []);
    for (const [key] of pairs) if (existing.some((t) => t.key === key)) throw new CsError(431, `tag ${key} already on UserVm ${vm.id}`);
    const job = s.startJob(u, 'createTags', 'UserVm', null, () => {
      vm.tags = [...existing, ...pairs.map(([key, value]) => ({ key, value, resourcetype: 'UserVm', resourceid: vm.id, account: u.account, domainid: u.domainId }))];
      return { success: true };
    });
    return jobAnswer(null, job.jobid);
  },
  deletetags: (s, u, p) => {
    required(p, 'resourceids', 'resourcetype');
    const vm = s.owned(s.vms, p.resourceids, u, 'resourceids');
    const keys = Object.keys(p).filter((k) => /^tags\[\d+\]\.key$/.test(k)).map((k) => p[k]!);
    const job = s.startJob(u, 'deleteTags', 'UserVm', null, () => {
      vm.tags = ((vm.tags as Obj[] | undefined) ?? []).filter((t) => keys.length && !keys.includes(t.key as string));
      return { success: true };
    });
    return jobAnswer(null, job.jobid);
  },

  // ---- virtual machines ----
  listvirtualmachines: (s, u, p) => {
    s.tick();
    let list = mine(s.vms.values(), u).filter((v) => v.state !== 'Destroyed' && v.state !== 'Expunging');
    if (p.state) list = list.filter((v) => v.state.toLowerCase() === p.state!.toLowerCase());
    if (p.zoneid) list = list.filter((v) => v.zoneid === p.zoneid);
    return { list: byId(keyword(list, p), p), key: 'virtualmachine' };
  },
  deployvirtualmachine: (s, u, p) => {
    required(p, 'serviceofferingid', 'templateid', 'zoneid');
    const z = s.zone(p.zoneid);
    const so = s.serviceOfferings.find((o) => o.id === p.serviceofferingid);
    if (!so) throw new CsError(431, `Unable to execute API command deployvirtualmachine due to invalid value. Invalid parameter serviceofferingid value=${p.serviceofferingid} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`);
    const t = s.owned(s.templates, p.templateid, u, 'templateid');
    if (!t.isready) throw new CsError(431, `Template ${t.id} has not been completely downloaded to zone ${String(z.id)}`);
    if (p.keypair && !s.sshKeyPairs.has(`${u.account}/${p.keypair}`)) throw new CsError(431, `A key pair with name '${p.keypair}' was not found.`);
    const name = p.name ?? `VM-${randomUUID()}`;
    if (!/^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(name)) throw new CsError(431, `Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or end with "-" and can't start with digit`);
    if (mine(s.vms.values(), u).some((v) => v.name === name && v.state !== 'Destroyed')) throw new CsError(431, `The vm with hostName ${name} already exists in the network domain`);
    const net = p.networkids ? s.owned(s.networks, p.networkids.split(',')[0], u, 'networkids') : [...s.networks.values()].find((n) => n.account === u.account && n.zoneid === z.id);
    const sgNames = (p.securitygroupnames ?? '').split(',').filter(Boolean);
    const groups = sgNames.map((n) => mine(s.securityGroups.values(), u).find((g) => g.name === n) ?? (() => { throw new CsError(431, `Unable to find group by name ${n}`); })());
    const affinity = (p.affinitygroupids ?? '').split(',').filter(Boolean).map((id) => s.owned(s.affinityGroups, id, u, 'affinitygroupids'));
    const id = randomUUID();
    const vm: SimVm = {
      id, name, displayname: p.displayname ?? name, account: u.account, domainid: u.domainId, domain: u.domain, state: 'Starting',
      zoneid: z.id as string, zonename: z.name as string, templateid: t.id as string, templatename: t.name as string, templatedisplaytext: t.displaytext,
      serviceofferingid: so.id as string, serviceofferingname: so.name as string, cpunumber: so.cpunumber as number, cpuspeed: so.cpuspeed, memory: so.memory as number,
      created: csDate(), hypervisor: 'KVM', passwordenabled: false, haenable: false,
      nic: net ? [{ id: randomUUID(), networkid: net.id, networkname: net.name, ipaddress: s.nextIp(String(net.gateway).split('.').slice(0, 3).join('.')), netmask: net.netmask, gateway: net.gateway, macaddress: `02:00:${randomUUID().slice(0, 8).match(/../g)!.join(':')}`, isdefault: true, type: 'Isolated' }] : [],
      securitygroup: groups.map((g) => ({ id: g.id, name: g.name })),
      affinitygroup: affinity.map((g) => ({ id: g.id, name: g.name, type: g.type })),
      ...(p.keypair ? { keypair: p.keypair } : {}),
      ...(p.userdata ? { userdata: p.userdata } : {}),
    };
    s.vms.set(id, vm);
    const job = s.startJob(u, 'deployVirtualMachine', 'VirtualMachine', id, () => {
      vm.state = 'Running';
      volumeOf(s, vm);
      return { virtualmachine: vm };
    }, () => { vm.state = 'Error'; });
    return jobAnswer(id, job.jobid);
  },
  destroyvirtualmachine: (s, u, p) => {
    const vm = s.owned(s.vms, p.id, u, 'id');
    s.tick();
    if (vm.jobid && vm.state === 'Starting') throw new CsError(431, `Unable to destroy vm ${vm.name}: a job is pending on it.`);
    vm.state = 'Destroyed'; // Gone from lists at once (CloudStack lists destroyed VMs to admins only).
    const job = s.startJob(u, 'destroyVirtualMachine', 'VirtualMachine', vm.id, () => {
      s.vms.delete(vm.id);
      for (const v of s.volumes.values()) {
        if (v.virtualmachineid !== vm.id) continue;
        if (v.type === 'ROOT') s.volumes.delete(v.id as string);
        else { delete v.virtualmachineid; delete v.vmname; delete v.deviceid; }
      }
      for (const ip of s.publicIps.values()) if (ip.virtualmachineid === vm.id) { ip.isstaticnat = false; delete ip.virtualmachineid; delete ip.virtualmachinename; }
      return { virtualmachine: { ...vm, state: 'Expunging' } };
    });
    return jobAnswer(vm.id, job.jobid);
  },
  stopvirtualmachine: (s, u, p) => {
    const vm = s.owned(s.vms, p.id, u, 'id');
    vmState(s, vm, ['Running'], 'stop');
    vm.state = 'Stopping';
    const job = s.startJob(u, 'stopVirtualMachine', 'VirtualMachine', vm.id, () => { vm.state = 'Stopped'; return { virtualmachine: vm }; }, () => { vm.state = 'Running'; });
    return jobAnswer(vm.id, job.jobid);
  },
  startvirtualmachine: (s, u, p) => {
    const vm = s.owned(s.vms, p.id, u, 'id');
    vmState(s, vm, ['Stopped'], 'start');
    vm.state = 'Starting';
    const job = s.startJob(u, 'startVirtualMachine', 'VirtualMachine', vm.id, () => { vm.state = 'Running'; return { virtualmachine: vm }; }, () => { vm.state = 'Stopped'; });
    return jobAnswer(vm.id, job.jobid);
  },
  rebootvirtualmachine: (s, u, p) => {
    const vm = s.owned(s.vms, p.id, u, 'id');
    vmState(s, vm, ['Running'], 'reboot');
    const job = s.startJob(u, 'rebootVirtualMachine', 'VirtualMachine', vm.id, () => ({ virtualmachine: vm }));
    return jobAnswer(vm.id, job.jobid);
  },
  createconsoleendpoint: (s, u, p) => {
    required(p, 'virtualmachineid');
    const vm = s.owned(s.vms, p.virtualmachineid, u, 'virtualmachineid');
    if (vm.state !== 'Running') throw new CsError(431, `VM ${vm.name} must be running to create a console endpoint`);
    const token = randomUUID();
    return { one: { consoleendpoint: { success: true, url: `https://console.cloud.example/resource/noVNC/vnc.html?port=8080&token=${token}`, websocket: { token, host: 'console.cloud.example', port: '8080', path: 'websockify' } } } };
  },
  getvmpassword: (s, u, p) => {
    const vm = s.owned(s.vms, p.id, u, 'id');
    if (typeof vm.encryptedpassword !== 'string') throw new CsError(431, `No password for VM with id '${vm.id}' found. See management server logs for details`);
    return { one: { password: { encryptedpassword: vm.encryptedpassword } } };
  },
  updatevirtualmachine: (s, u, p) => {
    const vm = s.owned(s.vms, p.id, u, 'id');
    if (p.securitygroupids !== undefined) {
      if (vm.state !== 'Stopped') throw new CsError(431, `Virtual machine ${vm.name} must be stopped to change its security groups`);
      vm.securitygroup = p.securitygroupids.split(',').filter(Boolean).map((id) => s.owned(s.securityGroups, id, u, 'securitygroupids')).map((g) => ({ id: g.id, name: g.name }));
    }
    if (p.displayname !== undefined) vm.displayname = p.displayname;
    return { one: { virtualmachine: vm } };
  },
  restorevirtualmachine: (s, u, p) => {
    required(p, 'virtualmachineid');
    const vm = s.owned(s.vms, p.virtualmachineid, u, 'virtualmachineid');
    vmState(s, vm, ['Running', 'Stopped'], 'restore');
    const t = p.templateid ? s.owned(s.templates, p.templateid, u, 'templateid') : s.templates.get(vm.templateid);
    const job = s.startJob(u, 'restoreVirtualMachine', 'VirtualMachine', vm.id, () => {
      if (t) Object.assign(vm, { templateid: t.id, templatename: t.name, templatedisplaytext: t.displaytext });
      return { virtualmachine: vm };
    });
    return jobAnswer(vm.id, job.jobid);
  },

  // ---- SSH key pairs ----
  listsshkeypairs: (s, u, p) => ({ list: keyword(mine(s.sshKeyPairs.values(), u), p).filter((k) => !p.name || k.name === p.name), key: 'sshkeypair' }),
  createsshkeypair: (s, u, p) => {
    required(p, 'name');
    if (s.sshKeyPairs.has(`${u.account}/${p.name}`)) throw new CsError(431, `A key pair with name '${p.name}' already exists.`);
    const { publicKey, privateKey } = sshPublicKey();
    const k = { id: randomUUID(), name: p.name, fingerprint: SimState.fingerprint(publicKey), account: u.account, domainid: u.domainId, domain: u.domain, publickey: publicKey };
    s.sshKeyPairs.set(`${u.account}/${p.name}`, k);
    return { one: { keypair: { ...k, privatekey: privateKey } } };
  },
  registersshkeypair: (s, u, p) => {
    required(p, 'name', 'publickey');
    if (s.sshKeyPairs.has(`${u.account}/${p.name}`)) throw new CsError(431, `A key pair with name '${p.name}' already exists.`);
    if (!/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+) [A-Za-z0-9+/=]+/.test(p.publickey!.trim())) throw new CsError(431, 'Public key is invalid');
    const k = { id: randomUUID(), name: p.name, fingerprint: SimState.fingerprint(p.publickey!), account: u.account, domainid: u.domainId, domain: u.domain, publickey: p.publickey!.trim() };
    s.sshKeyPairs.set(`${u.account}/${p.name}`, k);
    return { one: { keypair: k } };
  },
  deletesshkeypair: (s, u, p) => {
    required(p, 'name');
    if (!s.sshKeyPairs.delete(`${u.account}/${p.name}`)) throw new CsError(431, `A key pair with name '${p.name}' does not exist for account ${u.account} in specified domain id`);
    return { one: { success: 'true' } };
  },

  // ---- volumes ----
  listvolumes: (s, u, p) => {
    s.tick();
    let list = mine(s.volumes.values(), u);
    if (p.virtualmachineid) list = list.filter((v) => v.virtualmachineid === p.virtualmachineid);
    if (p.type) list = list.filter((v) => v.type === p.type);
    return { list: byId(keyword(list, p), p).map((v) => (v.virtualmachineid ? { ...v, vmstate: s.vms.get(v.virtualmachineid as string)?.state } : v)), key: 'volume' };
  },
  createvolume: (s, u, p) => {
    required(p, 'zoneid');
    const z = s.zone(p.zoneid);
    const off = p.diskofferingid ? s.diskOfferings.find((o) => o.id === p.diskofferingid) : undefined;
    if (!off && !p.snapshotid) throw new CsError(431, 'Either disk Offering Id or snapshot Id must be passed whilst creating volume');
    const snap = p.snapshotid ? s.owned(s.snapshots, p.snapshotid, u, 'snapshotid') : undefined;
    const source = snap ? s.volumes.get(snap.volumeid as string) : undefined;
    const gb = off?.iscustomized ? Number(p.size) : (off?.disksize as number | undefined) ?? Math.round(Number(snap?.virtualsize ?? 0) / 1024 ** 3);
    if (off?.iscustomized && !(gb > 0)) throw new CsError(431, 'This disk offering requires a custom size specified');
    const id = randomUUID();
    const v: Obj = {
      id, name: p.name ?? `vol-${id.slice(0, 8)}`, type: 'DATADISK', size: gb * 1024 ** 3, state: 'Allocated', zoneid: z.id, zonename: z.name,
      diskofferingid: off?.id ?? source?.diskofferingid, diskofferingname: off?.name ?? source?.diskofferingname, created: csDate(), account: u.account, domainid: u.domainId, ...(snap ? { snapshotid: snap.id } : {}),
    };
    s.volumes.set(id, v);
    const job = s.startJob(u, 'createVolume', 'Volume', id, () => ({ volume: v }));
    return jobAnswer(id, job.jobid);
  },
  attachvolume: (s, u, p) => {
    const v = s.owned(s.volumes, p.id, u, 'id');
    const vm = s.owned(s.vms, p.virtualmachineid, u, 'virtualmachineid');
    s.tick();
    if (v.virtualmachineid) throw new CsError(431, `Volume ${v.name} is already attached to a VM.`);
    if (v.jobid) throw new CsError(431, `Volume ${v.name} has a job pending.`);
    if (!['Running', 'Stopped'].includes(vm.state)) throw new CsError(431, 'Please specify a VM that is either running or stopped.');
    if (v.zoneid !== vm.zoneid) throw new CsError(431, 'Please specify a VM that is in the same zone as the volume.');
    const used = new Set([...s.volumes.values()].filter((x) => x.virtualmachineid === vm.id).map((x) => x.deviceid));
    const deviceid = p.deviceid ? Number(p.deviceid) : [1, 2, 4, 5, 6, 7, 8, 9].find((d) => !used.has(d))!;
    const job = s.startJob(u, 'attachVolume', 'Volume', v.id as string, () => {
      Object.assign(v, { virtualmachineid: vm.id, vmname: vm.name, deviceid, state: 'Ready', attached: csDate() });
      return { volume: v };
    });
    return jobAnswer(null, job.jobid);
  },
  detachvolume: (s, u, p) => {
    const v = s.owned(s.volumes, p.id, u, 'id');
    s.tick();
    if (!v.virtualmachineid) throw new CsError(431, 'Please specify a volume that is attached to a VM.');
    if (v.type === 'ROOT') throw new CsError(431, 'Please specify a data volume.');
    const job = s.startJob(u, 'detachVolume', 'Volume', v.id as string, () => {
      delete v.virtualmachineid; delete v.vmname; delete v.deviceid; delete v.attached;
      return { volume: v };
    });
    return jobAnswer(null, job.jobid);
  },
  resizevolume: (s, u, p) => {
    const v = s.owned(s.volumes, p.id, u, 'id');
    s.tick();
    if (v.jobid) throw new CsError(431, `Volume ${String(v.name)} has a job pending.`);
    const current = s.diskOfferings.find((o) => o.id === v.diskofferingid);
    const next = p.diskofferingid ? s.diskOfferings.find((o) => o.id === p.diskofferingid) : current;
    if (p.diskofferingid && !next) throw new CsError(431, `Unable to execute API command resizevolume due to invalid value. Invalid parameter diskofferingid value=${p.diskofferingid}`);
    if (next && !next.iscustomized && next === current) throw new CsError(431, 'A new disk offering is required to resize a volume of a fixed-size disk offering');
    const gb = next && !next.iscustomized ? (next.disksize as number) : Number(p.size);
    if (!(gb > 0)) throw new CsError(431, 'Please specify a size for the custom disk offering');
    if (gb * 1024 ** 3 < (v.size as number) && p.shrinkok !== 'true') throw new CsError(431, `Going from existing size of ${v.size as number} to size of ${gb * 1024 ** 3} would shrink the volume. Need to sign off by supplying the shrinkok parameter with value of true.`);
    const job = s.startJob(u, 'resizeVolume', 'Volume', v.id as string, () => {
      Object.assign(v, { size: gb * 1024 ** 3, ...(next ? { diskofferingid: next.id, diskofferingname: next.name } : {}) });
      return { volume: v };
    });
    return jobAnswer(v.id as string, job.jobid);
  },
  deletevolume: (s, u, p) => {
    const v = s.owned(s.volumes, p.id, u, 'id');
    s.tick();
    if (v.virtualmachineid) throw new CsError(431, 'Please specify a volume that is not attached to any VM.');
    if (v.jobid) throw new CsError(536, `Volume ${v.name} is in use by a pending job.`);
    s.volumes.delete(v.id as string);
    return { one: { success: 'true' } };
  },
  listsnapshots: (s, u, p) => {
    s.tick();
    let list = mine(s.snapshots.values(), u);
    if (p.volumeid) list = list.filter((x) => x.volumeid === p.volumeid);
    return { list: byId(keyword(list, p), p), key: 'snapshot' };
  },
  createsnapshot: (s, u, p) => {
    const v = s.owned(s.volumes, p.volumeid, u, 'volumeid');
    const id = randomUUID();
    const snap: Obj = {
      id, name: p.name ?? `${String(v.name)}_${Date.now()}`, volumeid: v.id, volumename: v.name, volumetype: v.type, state: 'Creating', snapshottype: 'MANUAL', intervaltype: 'MANUAL',
      virtualsize: v.size, created: csDate(), zoneid: v.zoneid, account: u.account, domainid: u.domainId,
    };
    s.snapshots.set(id, snap);
    const job = s.startJob(u, 'createSnapshot', 'Snapshot', id, () => { snap.state = 'BackedUp'; return { snapshot: snap }; }, () => { s.snapshots.delete(id); });
    return jobAnswer(id, job.jobid);
  },
  deletesnapshot: (s, u, p) => {
    const snap = s.owned(s.snapshots, p.id, u, 'id');
    const job = s.startJob(u, 'deleteSnapshot', 'Snapshot', snap.id as string, () => { s.snapshots.delete(snap.id as string); return { success: true }; });
    return jobAnswer(null, job.jobid);
  },

  // ---- networks ----
  listnetworks: (s, u, p) => {
    let list = mine(s.networks.values(), u);
    if (p.zoneid) list = list.filter((n) => n.zoneid === p.zoneid);
    return { list: byId(keyword(list, p), p), key: 'network' };
  },

  // ---- security groups ----
  listsecuritygroups: (s, u, p) => {
    s.tick();
    let list = mine(s.securityGroups.values(), u);
    if (p.securitygroupname) list = list.filter((g) => g.name === p.securitygroupname);
    return { list: byId(list, p), key: 'securitygroup' };
  },
  createsecuritygroup: (s, u, p) => {
    required(p, 'name');
    if (mine(s.securityGroups.values(), u).some((g) => g.name === p.name)) throw new CsError(431, `Unable to create security group, a group with name ${p.name} already exists.`);
    const id = randomUUID();
    const g = { id, name: p.name, description: p.description ?? '', account: u.account, domainid: u.domainId, ingressrule: [], egressrule: [] };
    s.securityGroups.set(id, g);
    return { one: { securitygroup: g } };
  },
  deletesecuritygroup: (s, u, p) => {
    const g = p.id ? s.owned(s.securityGroups, p.id, u, 'id') : mine(s.securityGroups.values(), u).find((x) => x.name === p.name);
    if (!g) throw new CsError(431, `Unable to find network group ${p.name}`);
    if (g.name === 'default') throw new CsError(431, "The network group default is reserved");
    if (mine(s.vms.values(), u).some((vm) => vm.state !== 'Destroyed' && vm.securitygroup.some((x) => x.id === g.id))) throw new CsError(536, `Cannot delete group when it's in use by virtual machines`);
    s.securityGroups.delete(g.id as string);
    return { one: { success: 'true' } };
  },
  authorizesecuritygroupingress: (s, u, p) => authorize(s, u, p, 'ingress'),
  authorizesecuritygroupegress: (s, u, p) => authorize(s, u, p, 'egress'),
  revokesecuritygroupingress: (s, u, p) => revoke(s, u, p, 'ingress'),
  revokesecuritygroupegress: (s, u, p) => revoke(s, u, p, 'egress'),

  // ---- public IPs, static NAT ----
  listpublicipaddresses: (s, u, p) => {
    s.tick();
    let list = mine(s.publicIps.values(), u);
    if (p.ipaddress) list = list.filter((ip) => ip.ipaddress === p.ipaddress);
    return { list: byId(list, p), key: 'publicipaddress' };
  },
  associateipaddress: (s, u, p) => {
    const net = p.networkid ? s.owned(s.networks, p.networkid, u, 'networkid') : undefined;
    const z = net ? s.zone(net.zoneid) : s.zone(p.zoneid);
    const id = randomUUID();
    const ip: Obj = {
      id, ipaddress: s.nextIp('203.0'), zoneid: z.id, zonename: z.name, state: 'Allocating', issourcenat: false, isstaticnat: false, allocated: csDate(),
      associatednetworkid: net?.id, account: u.account, domainid: u.domainId, forvirtualnetwork: true, isportable: false,
    };
    s.publicIps.set(id, ip);
    const job = s.startJob(u, 'associateIpAddress', 'IpAddress', id, () => { ip.state = 'Allocated'; return { ipaddress: ip }; }, () => { s.publicIps.delete(id); });
    return jobAnswer(id, job.jobid);
  },
  disassociateipaddress: (s, u, p) => {
    const ip = s.owned(s.publicIps, p.id, u, 'id');
    ip.state = 'Releasing';
    const job = s.startJob(u, 'disassociateIpAddress', 'IpAddress', ip.id as string, () => { s.publicIps.delete(ip.id as string); return { success: true }; });
    return jobAnswer(null, job.jobid);
  },
  enablestaticnat: (s, u, p) => {
    const ip = s.owned(s.publicIps, p.ipaddressid, u, 'ipaddressid');
    const vm = s.owned(s.vms, p.virtualmachineid, u, 'virtualmachineid');
    s.tick();
    if (ip.state !== 'Allocated') throw new CsError(431, `Ip address ${String(ip.ipaddress)} is not in Allocated state`);
    if (ip.isstaticnat) throw new CsError(537, `Failed to enable static nat for the ip address id=${String(ip.id)} as ip is already associated with a vm`);
    Object.assign(ip, { isstaticnat: true, virtualmachineid: vm.id, virtualmachinename: vm.name, vmipaddress: vm.nic[0]?.ipaddress });
    return { one: { success: 'true' } };
  },
  disablestaticnat: (s, u, p) => {
    const ip = s.owned(s.publicIps, p.ipaddressid, u, 'ipaddressid');
    if (!ip.isstaticnat) throw new CsError(431, `Specified IP address id is not associated with any vm Id`);
    const job = s.startJob(u, 'disableStaticNat', 'IpAddress', ip.id as string, () => {
      ip.isstaticnat = false; delete ip.virtualmachineid; delete ip.virtualmachinename; delete ip.vmipaddress;
      return { success: true };
    });
    return jobAnswer(null, job.jobid);
  },

  // ---- limits ----
  listresourcelimits: (_s, u) => ({
    list: [['0', 20], ['1', 40], ['2', 20], ['3', 50], ['4', 10], ['7', 20], ['8', 40], ['9', 81920], ['10', 200]].map(([resourcetype, max]) => ({ account: u.account, domainid: u.domainId, resourcetype, max })),
    key: 'resourcelimit',
  }),

  // ---- async jobs ----
  queryasyncjobresult: (s, u, p) => {
    required(p, 'jobid');
    s.tick();
    const job = s.jobs.get(p.jobid!);
    if (!job || job.accountid !== u.accountId) throw new CsError(431, `Unable to execute API command queryasyncjobresult due to invalid value. Invalid parameter jobid value=${p.jobid} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.`);
    return { one: s.jobView(job) };
  },
  listasyncjobs: (s, u) => {
    s.tick();
    return { list: [...s.jobs.values()].filter((j) => j.accountid === u.accountId).map((j) => s.jobView(j)), key: 'asyncjobs' };
  },
};

function updateImage(t: Obj, u: SimUser, p: Record<string, string>): Obj {
  if (t.account !== u.account) throw new CsError(531, `Account ${u.account} does not have permission to update ${String(t.id)}`);
  if (p.name !== undefined) t.name = p.name;
  if (p.displaytext !== undefined) t.displaytext = p.displaytext;
  return t;
}

function ruleOwner(s: SimState, u: SimUser, p: Record<string, string>): Obj {
  if (p.securitygroupid) return s.owned(s.securityGroups, p.securitygroupid, u, 'securitygroupid');
  const g = mine(s.securityGroups.values(), u).find((x) => x.name === p.securitygroupname);
  if (!g) throw new CsError(431, `Unable to find security group ${p.securitygroupname}`);
  return g;
}

function authorize(s: SimState, u: SimUser, p: Record<string, string>, direction: 'ingress' | 'egress'): Answer {
  const g = ruleOwner(s, u, p);
  const protocol = (p.protocol ?? 'all').toLowerCase();
  if (!['tcp', 'udp', 'icmp', 'all'].includes(protocol) && !/^\d+$/.test(protocol)) throw new CsError(431, `Invalid protocol ${protocol}`);
  const cidrs = (p.cidrlist ?? '').split(',').filter(Boolean);
  const groupRefs = Object.keys(p).filter((k) => /^usersecuritygrouplist\[\d+\]\.group$/.test(k)).map((k) => p[k]!);
  const sources = cidrs.length || groupRefs.length ? [...cidrs.map((c) => ({ cidr: c })), ...groupRefs.map((n) => ({ securitygroupname: n, account: u.account }))] : [{ cidr: '0.0.0.0/0' }];
  const rules = sources.map((src) => ({
    ruleid: randomUUID(), protocol,
    ...(protocol === 'icmp' ? { icmptype: Number(p.icmptype ?? -1), icmpcode: Number(p.icmpcode ?? -1) } : protocol === 'tcp' || protocol === 'udp' ? { startport: Number(p.startport), endport: Number(p.endport ?? p.startport) } : {}),
    ...src,
  }));
  const key = `${direction}rule`;
  const job = s.startJob(u, direction === 'ingress' ? 'authorizeSecurityGroupIngress' : 'authorizeSecurityGroupEgress', 'SecurityGroup', g.id as string, () => {
    (g[key] as Obj[]).push(...rules);
    return { securitygroup: { ...g, [key]: rules } };
  });
  return jobAnswer(null, job.jobid);
}

function revoke(s: SimState, u: SimUser, p: Record<string, string>, direction: 'ingress' | 'egress'): Answer {
  const key = `${direction}rule`;
  const g = mine(s.securityGroups.values(), u).find((x) => (x[key] as Obj[]).some((r) => r.ruleid === p.id));
  if (!g) throw new CsError(431, `Unable to find ${direction} rule ${p.id}`);
  const job = s.startJob(u, direction === 'ingress' ? 'revokeSecurityGroupIngress' : 'revokeSecurityGroupEgress', 'SecurityGroup', g.id as string, () => {
    g[key] = (g[key] as Obj[]).filter((r) => r.ruleid !== p.id);
    return { success: true };
  });
  return jobAnswer(null, job.jobid);
}
