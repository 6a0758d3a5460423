/**
 * Glance over CloudStack templates and ISOs: the account's own and the public
 * ones (listTemplates templatefilter=executable, listIsos isofilter=executable;
 * an ISO is disk_format `iso`). List, show, delete (deleteTemplate/deleteIso,
 * async jobs CloudStack finishes on its own) and create, which is
 * registerTemplate (registerIso for disk_format iso) from the URL in the image
 * property `cloudstack_url`: CloudStack registers a template from a URL at creation,
 * which Glance's create-then-upload or create-then-import cannot express, so
 * uploads, downloads and imports stay 501. A template still downloading is
 * `saving`.
 */
import type { ImageDriver, ImageRequest, ImageResponse } from '../../generated/index.js';
import { Reply, type RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { CloudStackCloud, isoZ, type CsTemplate } from './cloud.js';
import { glanceImageListing } from '../../src/paging.js';
import { collectionSchema, imageSchema } from '../../src/glance-schemas.js';
import { backendImageView } from '../../src/glance-images.js';

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

const EPOCH = '1970-01-01T00:00:00Z';

/** Glance disk formats CloudStack registers (its `format`). */
const REGISTER_FORMAT: Record<string, string> = { qcow2: 'QCOW2', raw: 'RAW', vhd: 'VHD', vhdx: 'VHDX', ova: 'OVA', vmdk: 'VMDK', iso: 'ISO' };

/** Glance's hypervisor_type values → CloudStack's hypervisor names. */
const HYPERVISOR: Record<string, string> = { kvm: 'KVM', qemu: 'KVM', xen: 'XenServer', vmware: 'VMware', hyperv: 'Hyperv', lxc: 'LXC' };

/** The image property that names the URL CloudStack downloads a new template from. */
export const URL_PROPERTY = 'cloudstack_url';

/** CloudStack template formats → Glance disk formats. */
const DISK_FORMAT: Record<string, string> = { QCOW2: 'qcow2', RAW: 'raw', VHD: 'vhd', VHDX: 'vhdx', OVA: 'ova', VMDK: 'vmdk', ISO: 'iso' };

export class CloudStackImage implements ImageDriver {
  constructor(private readonly cloud: CloudStackCloud) {}

  private own(ctx: Ctx, t: CsTemplate): boolean {
    const cred = this.cloud.cred(ctx);
    return t.account !== undefined && t.account === cred.account && (!cred.domainId || !t.domainid || t.domainid === cred.domainId);
  }

  private view(ctx: Ctx, t: CsTemplate): Json {
    const created = isoZ(t.created) ?? EPOCH;
    const own = this.own(ctx, t);
    const v: Json = backendImageView({
      id: t.id, name: t.name, status: t.isready === false ? 'saving' : 'active',
      visibility: t.ispublic ? 'public' : own ? 'private' : 'shared', protected: !own,
      owner: own ? (ctx.auth?.projectId ?? null) : null,
      disk_format: DISK_FORMAT[(t.format ?? '').toUpperCase()] ?? null,
      container_format: t.format?.toUpperCase() === 'OVA' ? 'ova' : 'bare',
      size: t.size ?? null, created_at: created,
    });
    if (t.displaytext && t.displaytext !== t.name) v.description = t.displaytext;
    if (t.ostypename) v.os_type_name = t.ostypename;
    if (t.hypervisor) v.hypervisor_type = t.hypervisor.toLowerCase();
    if (t.zonename) v.cloudstack_zone = t.zonename;
    return v;
  }

  async listImages(req: ImageRequest<'listImages'>): Promise<ImageResponse<'listImages'>> {
    const ctx = req.context;
    const q = req.query as Json;
    // One template is registered per zone: the same id may come once per zone.
    const seen = new Set<string>();
    const [templates, isos] = await Promise.all([this.cloud.templates(ctx), this.cloud.isos(ctx)]);
    const list = [...templates, ...isos].filter((t) => !seen.has(t.id) && seen.add(t.id)).map((t) => this.view(ctx, t));
    return out(glanceImageListing(list, q, ['name', 'visibility', 'status', 'owner', 'id', 'disk_format', 'container_format']));
  }

  /**
   * registerTemplate: `cloudstack_url` (http or https) is the template's
   * source; `os_type` names a CloudStack OS type (default "Other Linux
   * (64-bit)"), `hypervisor_type` the hypervisor (default KVM), `cloudstack_zone`
   * the zone (default: the configured or first one).
   */
  async createImage(req: ImageRequest<'createImage'>): Promise<ImageResponse<'createImage'> | Reply<ImageResponse<'createImage'>>> {
    const ctx = req.context;
    const b = (req.body ?? {}) as Json;
    const url = b[URL_PROPERTY];
    if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) {
      throw Fault.badRequest(`CloudStack registers images from a URL: give the property ${URL_PROPERTY}=http(s)://… (uploads and imports are not served).`);
    }
    if (b.visibility === 'public' && !ctx.auth?.isAdmin) throw Fault.forbidden('You are not authorized to complete publicize_image action.');
    const format = REGISTER_FORMAT[String(b.disk_format ?? 'qcow2')];
    if (!format) throw Fault.badRequest(`Disk format ${String(b.disk_format)} is not one CloudStack registers (${Object.keys(REGISTER_FORMAT).join(', ')}).`);
    const osTypes = await this.cloud.list<{ id: string; description: string }>(ctx, 'listOsTypes', 'ostype', {});
    const osName = typeof b.os_type === 'string' ? b.os_type : 'Other Linux (64-bit)';
    const os = osTypes.find((o) => o.description === osName);
    if (!os) throw Fault.badRequest(`CloudStack has no OS type "${osName}".`);
    const zone = await this.cloud.zone(ctx, typeof b.cloudstack_zone === 'string' ? b.cloudstack_zone : undefined);
    const name = typeof b.name === 'string' && b.name ? b.name : `image-${Date.now()}`;
    const displaytext = typeof b.description === 'string' && b.description ? b.description : name;
    if (format === 'ISO') {
      const { iso } = await this.cloud.call<{ iso?: CsTemplate[] }>(ctx, 'registerIso', {
        name, displaytext, url, ostypeid: os.id, zoneid: zone.id, bootable: true, ispublic: b.visibility === 'public',
      });
      const made = iso?.[0];
      if (!made) throw new Fault('backendError', 'CloudStack registerIso answered no ISO.');
      return new Reply(out<ImageResponse<'createImage'>>(this.view(ctx, { ...made, format: 'ISO' })), 201, { Location: `${ctx.endpoint}/v2/images/${made.id}` });
    }
    const hypervisor = HYPERVISOR[String(b.hypervisor_type ?? 'kvm').toLowerCase()];
    if (!hypervisor) throw Fault.badRequest(`Hypervisor type ${String(b.hypervisor_type)} is not one CloudStack names (${Object.keys(HYPERVISOR).join(', ')}).`);
    // registerTemplate answers like a list: { count, template: [ … ] }.
    const { template } = await this.cloud.call<{ template?: CsTemplate[] }>(ctx, 'registerTemplate', {
      name, displaytext, url, format, hypervisor,
      ostypeid: os.id, zoneid: zone.id, ispublic: b.visibility === 'public',
    });
    const t = template?.[0];
    if (!t) throw new Fault('backendError', 'CloudStack registerTemplate answered no template.');
    return new Reply(out<ImageResponse<'createImage'>>(this.view(ctx, t)), 201, { Location: `${ctx.endpoint}/v2/images/${t.id}` });
  }

  async showImage(req: ImageRequest<'showImage'>): Promise<ImageResponse<'showImage'>> {
    return out(this.view(req.context, await this.cloud.templateOrIso(req.context, req.path.image_id)));
  }

  /** JSON patch of /name and /description: updateTemplate (updateIso) name and displaytext; the rest is CloudStack's. */
  async updateImage(req: ImageRequest<'updateImage'>): Promise<ImageResponse<'updateImage'>> {
    const ctx = req.context;
    const t = await this.cloud.templateOrIso(ctx, req.path.image_id);
    if (!this.own(ctx, t)) throw Fault.forbidden(`You are not permitted to modify image ${req.path.image_id}.`);
    const ops = req.body as unknown as { op: string; path: string; value?: unknown }[];
    if (!Array.isArray(ops)) throw Fault.badRequest('Request body must be a JSON array of operation objects.');
    const edit: Record<string, string> = {};
    for (const o of ops) {
      const key = o.path.replace(/^\//, '');
      if (o.op !== 'replace' && o.op !== 'add' && !(o.op === 'remove' && key === 'description')) {
        throw Fault.forbidden(`Attribute '${key}' cannot be changed with '${o.op}': CloudStack templates keep a name and a display text.`);
      }
      if (key === 'name') {
        if (typeof o.value !== 'string' || !o.value.trim()) throw Fault.badRequest("Provided object does not match schema 'image': name must be a non-empty string");
        edit.name = o.value;
      } else if (key === 'description') {
        // CloudStack's display text is required: removing the description shows the name again.
        edit.displaytext = o.op === 'remove' || !String(o.value ?? '') ? (edit.name ?? t.name) : String(o.value);
      } else {
        throw Fault.forbidden(`Attribute '${key}' is read-only on the CloudStack backend.`);
      }
    }
    if (Object.keys(edit).length) await this.cloud.call(ctx, t.iso ? 'updateIso' : 'updateTemplate', { id: t.id, ...edit });
    return out(this.view(ctx, await this.cloud.templateOrIso(ctx, req.path.image_id)));
  }

  async deleteImage(req: ImageRequest<'deleteImage'>): Promise<ImageResponse<'deleteImage'> | Reply<ImageResponse<'deleteImage'>>> {
    const t = await this.cloud.templateOrIso(req.context, req.path.image_id);
    if (!this.own(req.context, t)) throw Fault.forbidden(`You are not permitted to delete image ${req.path.image_id}: it is not your account's ${t.iso ? 'ISO' : 'template'}.`);
    await this.cloud.start(req.context, t.iso ? 'deleteIso' : 'deleteTemplate', { id: t.id });
    return new Reply(undefined, 204);
  }

  // ---- schemas: what this backend's images look like (glanceclient and Horizon read them) ----

  async listSchemaImage(): Promise<ImageResponse<'listSchemaImage'>> {
    return out(cloudStackImageSchema());
  }

  async listSchemaImages(): Promise<ImageResponse<'listSchemaImages'>> {
    return out(collectionSchema('images', cloudStackImageSchema()));
  }
}

/** Glance's image schema, narrowed to what CloudStack templates and ISOs carry. */
const cloudStackImageSchema = () => imageSchema({
  containerFormats: ['bare', 'ova'], diskFormats: Object.keys(REGISTER_FORMAT),
  extra: { description: { type: 'string' }, [URL_PROPERTY]: { type: 'string', description: 'URL CloudStack registers the template (or ISO) from, at creation' } },
});
