/**
 * Glance over SoftLayer image templates (SoftLayer_Virtual_Guest_Block_Device_Template_Group):
 * the account's private and shared templates and SoftLayer's public ones; and,
 * beside them, the operating systems createObject installs by reference code
 * (getCreateObjectOptions' operatingSystems) as public, read-only images.
 * Show, rename (JSON patch of /name and /description), delete, and members as
 * SoftLayer's sharing with other accounts (permitSharingAccess). Uploads,
 * downloads, imports, tags and metadefs have no SoftLayer counterpart here: 501.
 */
import type { ImageDriver, ImageRequest, ImageResponse } from '../../generated/index.js';
import { Reply, type RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { SoftLayerCloud, isOsImageUuid, isoZ, osImageUuid, osProperties, type SlOsOption, type SlTemplate } from './cloud.js';
import { collectionSchema, imageSchema, memberSchema } from '../../src/glance-schemas.js';
import { backendImageView } from '../../src/glance-images.js';
import { glanceImageListing } from '../../src/paging.js';

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

/** Glance status of a template: a capture still running is `saving`. */
export function templateStatus(t: SlTemplate): 'active' | 'saving' {
  const key = t.status?.keyName ?? 'ACTIVE';
  return key === 'ACTIVE' && !t.transaction ? 'active' : 'saving';
}

const EPOCH = '1970-01-01T00:00:00Z';

/** Members are SoftLayer accounts: `12345` or the account's project name `softlayer-12345`. */
function memberAccount(member: string): number {
  const m = /^(?:softlayer-)?(\d{1,12})$/.exec(member);
  if (!m) throw Fault.notFound(`Member ${member} is not a SoftLayer account id.`);
  return Number(m[1]);
}

export class SoftLayerImage implements ImageDriver {
  constructor(private readonly cloud: SoftLayerCloud) {}

  private view(ctx: Ctx, t: SlTemplate): Json {
    const created = isoZ(t.createDate) ?? EPOCH;
    const visibility = t.publicFlag ? 'public' : t.accountId !== undefined && t.accountId !== null && ctx.auth && !this.own(ctx, t) ? 'shared' : 'private';
    const size = Number(t.blockDevicesDiskSpaceTotal ?? 0);
    const v: Json = {
      ...backendImageView({
        id: t.globalIdentifier, name: t.name, status: templateStatus(t), visibility, protected: Boolean(t.publicFlag),
        owner: t.accountId === null || t.accountId === undefined ? null : String(t.accountId),
        disk_format: 'vhd', container_format: 'bare', size: size || null, created_at: created,
      }),
      softlayer_template_id: String(t.id),
    };
    if (t.note) v.description = t.note;
    if (t.operatingSystemReferenceCode) {
      const { os_distro: distro } = osProperties(t.operatingSystemReferenceCode);
      if (distro) v.os_distro = distro;
    }
    v.softlayer_image_type = 'template';
    if (t.datacenters?.length) v.softlayer_datacenters = t.datacenters.map((d) => d.name).join(',');
    return v;
  }

  /**
   * An operating system SoftLayer installs by reference code, as a public image
   * SoftLayer owns. Its name is the code itself (what createObject and
   * `slcli vs create --os` take, and unique); the item's description is the
   * description.
   */
  private osView(os: SlOsOption): Json {
    const id = osImageUuid(os.code);
    return {
      ...backendImageView({
        id, name: os.code, status: 'active', visibility: 'public', protected: true, owner: null,
        disk_format: null, container_format: null, size: null, created_at: EPOCH,
      }),
      description: os.description, ...osProperties(os.code), softlayer_image_type: 'os_reference_code', softlayer_os_code: os.code,
    };
  }

  /** A template or an OS image by id (404 when neither). */
  private async one(ctx: Ctx, imageId: string): Promise<{ t?: SlTemplate; os?: SlOsOption }> {
    return isOsImageUuid(imageId) ? { os: await this.cloud.osOption(ctx, imageId) } : { t: await this.cloud.template(ctx, imageId) };
  }

  /** A template of the caller's own account (the token's credential names the account). */
  private own(ctx: Ctx, t: SlTemplate): boolean {
    const account = this.cloud.cred(ctx).accountId;
    return account !== undefined ? t.accountId === account : ctx.auth?.projectName === `softlayer-${t.accountId}`;
  }

  async listImages(req: ImageRequest<'listImages'>): Promise<ImageResponse<'listImages'>> {
    const ctx = req.context;
    const q = req.query as Json;
    const [templates, oses] = await Promise.all([this.cloud.templates(ctx), this.cloud.osOptions(ctx)]);
    const list = [...templates.map((t) => this.view(ctx, t)), ...oses.map((o) => this.osView(o))];
    return out(glanceImageListing(list, q, ['name', 'visibility', 'status', 'owner', 'id', 'disk_format', 'container_format', 'os_distro', 'os_version', 'softlayer_image_type']));
  }

  async showImage(req: ImageRequest<'showImage'>): Promise<ImageResponse<'showImage'>> {
    const { t, os } = await this.one(req.context, req.path.image_id);
    return out(t ? this.view(req.context, t) : this.osView(os!));
  }

  async deleteImage(req: ImageRequest<'deleteImage'>): Promise<ImageResponse<'deleteImage'>> {
    const { t, os } = await this.one(req.context, req.path.image_id);
    if (!t) throw Fault.forbidden(`You are not permitted to delete image ${req.path.image_id}: ${os!.code} is an operating system SoftLayer installs, not an image of this account.`);
    if (t.publicFlag) throw Fault.forbidden('Image is protected: SoftLayer public images cannot be deleted.');
    if (!this.own(req.context, t)) throw Fault.forbidden(`You are not permitted to delete image ${req.path.image_id}: it belongs to another account.`);
    await this.cloud.call(req.context, 'SoftLayer_Virtual_Guest_Block_Device_Template_Group', 'deleteObject', { id: t.id });
  }

  /** JSON patch: SoftLayer templates have a name and a note; the rest is read-only here. */
  async updateImage(req: ImageRequest<'updateImage'>): Promise<ImageResponse<'updateImage'>> {
    const ctx = req.context;
    const { t } = await this.one(ctx, req.path.image_id);
    if (!t || t.publicFlag || !this.own(ctx, t)) throw Fault.forbidden(`You are not permitted to modify image ${req.path.image_id}.`);
    const ops = req.body as unknown as { op: string; path: string; value?: unknown }[];
    if (!Array.isArray(ops)) throw Fault.badRequest('Request body must be a JSON array of operation objects.');
    const edit: Json = {};
    for (const o of ops) {
      const key = o.path.replace(/^\//, '');
      if (o.op !== 'replace' && o.op !== 'add' && !(o.op === 'remove' && key === 'description')) {
        throw Fault.forbidden(`Attribute '${key}' cannot be changed with '${o.op}': SoftLayer templates keep only a name and a description.`);
      }
      if (key === 'name') {
        if (typeof o.value !== 'string' || !o.value.trim()) throw Fault.badRequest("Provided object does not match schema 'image': name must be a non-empty string");
        edit.name = o.value;
      } else if (key === 'description') edit.note = o.op === 'remove' ? '' : String(o.value ?? '');
      else throw Fault.forbidden(`Attribute '${key}' is read-only on the SoftLayer backend.`);
    }
    if (Object.keys(edit).length) await this.cloud.call(ctx, 'SoftLayer_Virtual_Guest_Block_Device_Template_Group', 'editObject', { id: t.id, params: [edit] });
    return out(this.view(ctx, await this.cloud.template(ctx, req.path.image_id)));
  }

  // ---- members: SoftLayer's sharing of a template with other accounts ----------

  private memberView(t: SlTemplate, accountId: number, createDate?: string): Json {
    const at = isoZ(createDate ?? t.createDate) ?? EPOCH;
    // SoftLayer shares without asking the other account: the share is accepted at once.
    return { image_id: t.globalIdentifier, member_id: String(accountId), status: 'accepted', created_at: at, updated_at: at, schema: '/v2/schemas/member' };
  }

  private async ownTemplate(ctx: Ctx, imageId: string): Promise<SlTemplate> {
    const { t } = await this.one(ctx, imageId);
    if (!t || t.publicFlag) throw Fault.forbidden('Public images do not have members.');
    if (!this.own(ctx, t)) throw Fault.forbidden(`Only the owner of image ${imageId} can manage its members.`);
    return t;
  }

  private async shares(ctx: Ctx, t: SlTemplate): Promise<{ accountId: number; createDate?: string }[]> {
    return this.cloud.listAll(ctx, 'SoftLayer_Virtual_Guest_Block_Device_Template_Group', 'getAccountReferences', { id: t.id, mask: 'mask[accountId,createDate]' });
  }

  async listImageMembers(req: ImageRequest<'listImageMembers'>): Promise<ImageResponse<'listImageMembers'>> {
    const t = await this.ownTemplate(req.context, req.path.image_id);
    const refs = await this.shares(req.context, t);
    return out({ members: refs.map((r) => this.memberView(t, r.accountId, r.createDate)), schema: '/v2/schemas/members' });
  }

  async showImageMember(req: ImageRequest<'showImageMember'>): Promise<ImageResponse<'showImageMember'>> {
    const t = await this.ownTemplate(req.context, req.path.image_id);
    const account = memberAccount(req.path.member_id);
    const ref = (await this.shares(req.context, t)).find((r) => r.accountId === account);
    if (!ref) throw Fault.notFound(`Member ${req.path.member_id} not found for image ${req.path.image_id}.`);
    return out(this.memberView(t, account, ref.createDate));
  }

  async createImageMember(req: ImageRequest<'createImageMember'>): Promise<ImageResponse<'createImageMember'>> {
    const t = await this.ownTemplate(req.context, req.path.image_id);
    const member = String((req.body as unknown as { member: unknown }).member ?? '');
    let account: number;
    try { account = memberAccount(member); } catch { throw Fault.badRequest(`Member ${member} is not a SoftLayer account id.`); }
    if ((await this.shares(req.context, t)).some((r) => r.accountId === account)) throw Fault.conflict(`Member ${member} already exists for image ${req.path.image_id}.`);
    await this.cloud.call(req.context, 'SoftLayer_Virtual_Guest_Block_Device_Template_Group', 'permitSharingAccess', { id: t.id, params: [account] });
    return out(this.memberView(t, account));
  }

  async deleteImageMember(req: ImageRequest<'deleteImageMember'>): Promise<ImageResponse<'deleteImageMember'> | Reply<ImageResponse<'deleteImageMember'>>> {
    const t = await this.ownTemplate(req.context, req.path.image_id);
    const account = memberAccount(req.path.member_id);
    if (!(await this.shares(req.context, t)).some((r) => r.accountId === account)) throw Fault.notFound(`Member ${req.path.member_id} not found for image ${req.path.image_id}.`);
    await this.cloud.call(req.context, 'SoftLayer_Virtual_Guest_Block_Device_Template_Group', 'denySharingAccess', { id: t.id, params: [account] });
    return new Reply(undefined, 204);
  }

  // ---- schemas: what this backend's images and members look like ----------------

  async listSchemaImage(): Promise<ImageResponse<'listSchemaImage'>> {
    return out(softLayerImageSchema());
  }

  async listSchemaImages(): Promise<ImageResponse<'listSchemaImages'>> {
    return out(collectionSchema('images', softLayerImageSchema()));
  }

  async listSchemaMember(): Promise<ImageResponse<'listSchemaMember'>> {
    return out(memberSchema());
  }

  async listSchemaMembers(): Promise<ImageResponse<'listSchemaMembers'>> {
    return out(collectionSchema('members', memberSchema()));
  }
}

/** SoftLayer templates: bare VHDs (OS images carry no format). */
const softLayerImageSchema = () => imageSchema({ containerFormats: ['bare'], diskFormats: ['vhd'], extra: { description: { type: 'string' } } });
