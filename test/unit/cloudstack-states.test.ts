/**
 * How CloudStack states and jobs in flight read as OpenStack states: the
 * tables behind server and volume status (drivers/cloudstack/compute.ts,
 * volume.ts), as `given`/`want` rows.
 */
import { expect } from 'chai';
import { serverState, type CsVm } from '../../drivers/cloudstack/compute.js';
import { volumeStatus, type CsVolume } from '../../drivers/cloudstack/volume.js';
import type { CsJob } from '../../drivers/cloudstack/client.js';

const vm = (state: string): CsVm => ({ id: 'v', name: 'v', state, zoneid: 'z', zonename: 'z', serviceofferingid: 'o', cpunumber: 1, memory: 512, created: '2026-01-01T00:00:00+0000' });
const job = (cmd: string): CsJob => ({ jobid: 'j', jobstatus: 0, cmd: `org.apache.cloudstack.api.command.user.vm.${cmd}` });

describe('cloudstack: server state from VM state and job', () => {
  const rows: [string, { state: string; job?: string }, [string, string | null, string]][] = [
    ['a deploy in flight is BUILD/spawning', { state: 'Starting', job: 'DeployVMCmd' }, ['BUILD', 'spawning', 'building']],
    ['running is ACTIVE', { state: 'Running' }, ['ACTIVE', null, 'active']],
    ['a stop in flight is ACTIVE/powering-off', { state: 'Stopping', job: 'StopVMCmd' }, ['ACTIVE', 'powering-off', 'active']],
    ['stopped is SHUTOFF', { state: 'Stopped' }, ['SHUTOFF', null, 'stopped']],
    ['a start in flight is SHUTOFF/powering-on', { state: 'Starting', job: 'StartVMCmd' }, ['SHUTOFF', 'powering-on', 'stopped']],
    ['a reboot in flight is REBOOT', { state: 'Running', job: 'RebootVMCmd' }, ['REBOOT', 'reboot_started', 'active']],
    ['a restore in flight is REBUILD', { state: 'Running', job: 'RestoreVMCmd' }, ['REBUILD', 'rebuilding', 'active']],
    ['Error is ERROR', { state: 'Error' }, ['ERROR', null, 'error']],
    ['a state CloudStack adds later is UNKNOWN', { state: 'Hibernating' }, ['UNKNOWN', null, 'error']],
  ];
  for (const [name, given, want] of rows) {
    it(name, () => {
      const st = serverState(vm(given.state), given.job ? job(given.job) : undefined);
      expect([st.status, st.task, st.vm]).to.deep.equal(want);
    });
  }
});

describe('cloudstack: volume status from volume and job', () => {
  const vol = (over: Partial<CsVolume>): CsVolume => ({ id: 'v', name: 'v', type: 'DATADISK', size: 1, state: 'Ready', ...over });
  const rows: [string, CsVolume, string | undefined, string][] = [
    ['allocated, not attached: available', vol({ state: 'Allocated' }), undefined, 'available'],
    ['attached: in-use', vol({ virtualmachineid: 'vm' }), undefined, 'in-use'],
    ['an attach in flight: attaching', vol({}), 'AttachVolumeCmd', 'attaching'],
    ['a detach in flight: detaching', vol({ virtualmachineid: 'vm' }), 'DetachVolumeCmd', 'detaching'],
    ['a resize in flight: extending', vol({}), 'ResizeVolumeCmd', 'extending'],
    ['being made: creating', vol({ state: 'Creating' }), undefined, 'creating'],
  ];
  for (const [name, given, cmd, want] of rows) {
    it(name, () => {
      expect(volumeStatus(given, cmd ? { jobid: 'j', jobstatus: 0, cmd: `org.apache.cloudstack.api.command.user.volume.${cmd}` } : undefined)).to.equal(want);
    });
  }
});
