/**
 * What the CloudStack drivers share: the signed client, the config, the
 * caller's key pair (from the token), zones and templates, and the reading of
 * async jobs.
 *
 * Async jobs are read lazily, never waited on: CloudStack marks an entity
 * with a job in flight (`jobid`, `jobstatus` 0 on the VM or volume), so a
 * read asks queryAsyncJobResult for that one job and shows the transitional
 * state its command implies; a failed deploy leaves the VM in `Error` and its
 * message in the account's jobs (listAsyncJobs). No job id is kept by the
 * gateway, so any number of gateway processes see the same state.
 */
import type { RequestContext } from '../../generated/common.js';
import type { CloudStackConfig } from '../../src/config.js';
import { Fault, isFault } from '../../src/faults.js';
import { JOB, isCloudStackCredential, type CloudStackClient, type CloudStackCredential, type CsJob, type Params } from './client.js';

export interface CsZone { id: string; name: string; allocationstate?: string }
export interface CsTemplate {
  id: string; name: string; displaytext?: string; ispublic?: boolean; isfeatured?: boolean; isready?: boolean; status?: string;
  format?: string; hypervisor?: string; zoneid?: string; zonename?: string; account?: string; domainid?: string; size?: number;
  created?: string; ostypename?: string; templatetype?: string; url?: string;
}

/** A job's command, by the last segment of CloudStack's class name (`…vm.StopVMCmd` → `StopVMCmd`). */
export function jobCommand(job: Pick<CsJob, 'cmd'>): string {
  return (job.cmd ?? '').split('.').pop() ?? '';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** CloudStack ids are UUIDs: anything else names nothing (404 without asking). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** CloudStack dates (`2026-11-23T16:20:00+0000`) as OpenStack writes them (UTC, Z). */
export function isoZ(date: string | null | undefined): string | null {
  if (!date) return null;
  const ms = Date.parse(date.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class CloudStackCloud {
  constructor(readonly client: CloudStackClient, readonly config: CloudStackConfig) {}

  /** The CloudStack key pair sealed in the caller's token. */
  cred(ctx: RequestContext): CloudStackCredential {
    const c = ctx.auth?.backendCredential;
    if (!isCloudStackCredential(c)) {
      throw Fault.forbidden('This token carries no CloudStack credential: authenticate with a CloudStack API key (user name) and secret key (password).');
    }
    return c;
  }

  call<T = Record<string, unknown>>(ctx: RequestContext, command: string, params: Params = {}): Promise<T> {
    return this.client.call<T>(this.cred(ctx), command, params);
  }

  list<T>(ctx: RequestContext, command: string, key: string, params: Params = {}): Promise<T[]> {
    return this.client.list<T>(this.cred(ctx), command, key, params);
  }

  /** Starts an async command; its job id (the caller shows the transitional state, CloudStack does the rest). */
  async start(ctx: RequestContext, command: string, params: Params): Promise<{ id?: string; jobid: string }> {
    const r = await this.call<{ id?: string; jobid?: string }>(ctx, command, params);
    if (!r.jobid) throw new Fault('backendError', `CloudStack ${command} answered no job id.`);
    return { ...(r.id ? { id: r.id } : {}), jobid: r.jobid };
  }

  /** The job in flight on an entity (its `jobid`), or undefined when none is pending any more. */
  async pendingJob(ctx: RequestContext, entity: { jobid?: string; jobstatus?: number }): Promise<CsJob | undefined> {
    if (!entity.jobid) return undefined;
    let job: CsJob;
    try {
      job = await this.client.job(this.cred(ctx), entity.jobid);
    } catch (err) {
      // A job CloudStack has already purged (431): nothing is pending any more; the entity's own state speaks.
      if (isFault(err) && err.status === 400) return undefined;
      throw err;
    }
    return job.jobstatus === JOB.PENDING ? job : undefined;
  }

  /**
   * Waits for one job, for the few answers that need what the job makes
   * (a security group rule's id, a floating IP's address): polls every
   * `pollMs`, at most `timeoutMs` (the client's), then a 504. Only this
   * request waits; the gateway keeps serving others meanwhile.
   */
  async waitJob(ctx: RequestContext, jobid: string, pollMs = 250): Promise<CsJob> {
    const deadline = Date.now() + this.config.timeoutMs;
    for (;;) {
      const job = await this.client.job(this.cred(ctx), jobid);
      if (job.jobstatus === JOB.SUCCEEDED) return job;
      if (job.jobstatus === JOB.FAILED) {
        const text = job.jobresult?.errortext ?? 'the CloudStack job failed';
        const code = job.jobresult?.errorcode ?? job.jobresultcode ?? 530;
        throw code === 431 ? Fault.badRequest(text) : code === 536 || code === 537 ? Fault.conflict(text) : new Fault('backendError', `CloudStack job ${jobCommand(job)} failed: ${text}`);
      }
      if (Date.now() + pollMs > deadline) throw new Fault('backendTimeout', `CloudStack job ${jobCommand(job)} did not finish in time.`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** The newest failed job on an entity, for the fault a server in ERROR shows. */
  async lastFailure(ctx: RequestContext, instanceId: string): Promise<CsJob | undefined> {
    const jobs = await this.list<CsJob>(ctx, 'listAsyncJobs', 'asyncjobs', {});
    return jobs.filter((j) => j.jobinstanceid === instanceId && j.jobstatus === JOB.FAILED).sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '')).pop();
  }

  async zones(ctx: RequestContext): Promise<CsZone[]> {
    return (await this.list<CsZone>(ctx, 'listZones', 'zone', { available: true })).filter((z) => z.allocationstate !== 'Disabled');
  }

  /** The zone a name or id names; the configured or first zone when none is asked for. */
  async zone(ctx: RequestContext, ref?: string): Promise<CsZone> {
    const zones = await this.zones(ctx);
    const want = ref || this.config.zone;
    const z = want ? zones.find((x) => x.name === want || x.id === want) : zones[0];
    if (!z) throw Fault.badRequest(want ? `Availability zone ${want} does not exist.` : 'CloudStack offers no zone.');
    return z;
  }

  /** Templates a user can deploy from: their own and public ones (templatefilter=executable). */
  templates(ctx: RequestContext, id?: string): Promise<CsTemplate[]> {
    return this.list<CsTemplate>(ctx, 'listTemplates', 'template', { templatefilter: 'executable', ...(id ? { id } : {}) });
  }

  /** ISOs a user can see: their own and public ones (isofilter=executable). */
  isos(ctx: RequestContext, id?: string): Promise<CsTemplate[]> {
    return this.list<CsTemplate>(ctx, 'listIsos', 'iso', { isofilter: 'executable', ...(id ? { id } : {}) })
      .then((l) => l.map((i) => ({ ...i, format: 'ISO' })));
  }

  /** A template or an ISO by image id; 404 when neither. */
  async templateOrIso(ctx: RequestContext, id: string): Promise<CsTemplate & { iso: boolean }> {
    if (!isUuid(id)) throw Fault.notFound(`Image ${id} could not be found.`);
    const orNone = (err: Fault): CsTemplate[] => { if (err.status === 400) return []; throw err; };
    const [t] = await this.templates(ctx, id).catch(orNone);
    if (t) return { ...t, iso: false };
    const [iso] = await this.isos(ctx, id).catch(orNone);
    if (iso) return { ...iso, iso: true };
    throw Fault.notFound(`Image ${id} could not be found.`);
  }

  async template(ctx: RequestContext, id: string): Promise<CsTemplate> {
    if (!isUuid(id)) throw Fault.notFound(`Image ${id} could not be found.`);
    const [t] = await this.templates(ctx, id).catch((err: Fault) => { throw err.status === 400 ? Fault.notFound(`Image ${id} could not be found.`) : err; });
    if (!t) throw Fault.notFound(`Image ${id} could not be found.`);
    return t;
  }
}
