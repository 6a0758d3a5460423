/**
 * The sandbox's metadata definitions catalog (Glance v2 metadefs): namespaces
 * with their objects, properties, tags and resource type associations, kept as
 * sandbox records; and the /v2/schemas/metadefs/* documents, built from the
 * response schemas of the image spec (generated/image/spec.json).
 *
 * Rules as Glance applies them: a namespace is visible to admins, to its owner,
 * and to everyone when public (or without owner); one that is not visible is a
 * 404. Writing the catalog is for admins (Glance's default `metadef_admin`
 * policy). A protected namespace refuses deletion of itself and of anything in
 * it (403). Names are unique: a namespace globally, an object, property or tag
 * within its namespace (409).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Reply, type AuthContext, type RequestContext } from '../../generated/common.js';
import type { ImageRequest, ImageResponse } from '../../generated/image/driver.js';
import { Fault } from '../../src/faults.js';
import type { SandboxCloud } from './cloud.js';
import { isoZ, type Resource } from './store.js';

const NAMESPACE_KIND = 'metadef_namespace';
const OBJECT_KIND = 'metadef_object';
const PROPERTY_KIND = 'metadef_property';
const TAG_KIND = 'metadef_tag';
const ASSOCIATION_KIND = 'metadef_resource_type_association';
const RESOURCE_TYPE_KIND = 'metadef_resource_type';

/**
 * The resource types the sandbox lists before any association made more.
 * Glance's list is whatever its operator loaded from metadef files; the
 * sandbox has none, so it names the resources whose metadata its own services
 * keep: image properties (Glance), volume metadata (Cinder), server metadata
 * and flavor extra specs (Nova). A list is needed at all because clients pick
 * one to associate (Tempest takes the first of the list). Associating any other
 * name creates that resource type, as in Glance.
 */
const SANDBOX_RESOURCE_TYPES = ['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Server', 'OS::Nova::Flavor'];

/** Glance's `limit_param_default` and `api_limit_max`. */
const LIMIT_DEFAULT = 25;
const LIMIT_MAX = 1000;

/** Keys a client may not send (Glance's RequestDeserializer._disallowed_properties). */
const READ_ONLY_NAMESPACE = ['self', 'schema', 'created_at', 'updated_at'];
const READ_ONLY_OBJECT = ['self', 'schema', 'created_at', 'updated_at'];
const READ_ONLY_TAG = ['created_at', 'updated_at'];

// ---- records ------------------------------------------------------------------

interface NamespaceRecord extends Resource {
  namespace: string;
  display_name?: string;
  description?: string;
  visibility: 'public' | 'private';
  protected: boolean;
  owner: string | null;
}

/** A property definition: its JSON-schema keywords (title, type, enum, …) as sent. */
type PropertyDefinition = Record<string, unknown>;

interface ObjectRecord extends Resource {
  namespace_id: string;
  description?: string;
  required?: string[];
  properties?: Record<string, PropertyDefinition>;
}

interface PropertyRecord extends Resource {
  namespace_id: string;
  definition: PropertyDefinition;
}

interface TagRecord extends Resource {
  namespace_id: string;
}

/** id `<namespace id>:<resource type name>`. */
interface AssociationRecord extends Resource {
  namespace_id: string;
  prefix?: string;
  properties_target?: string;
}

/** id = name; global. */
type ResourceTypeRecord = Resource;

type Body = Record<string, unknown>;

// ---- who is asking ----------------------------------------------------------------

interface Caller {
  project: string;
  admin: boolean;
}

function caller(cloud: SandboxCloud, ctx: RequestContext): Caller {
  return { project: cloud.project(ctx), admin: (ctx.auth as AuthContext).isAdmin };
}

function visible(ns: NamespaceRecord, who: Caller): boolean {
  return who.admin || ns.owner === null || ns.visibility === 'public' || ns.owner === who.project;
}

/** Glance's default policy for every catalog write is `metadef_admin` (role:admin). */
function mayWrite(who: Caller, rule: string): void {
  if (!who.admin) throw Fault.forbidden(`Policy doesn't allow ${rule} to be performed.`);
}

function bodyOf(body: unknown): Body {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) throw Fault.badRequest('Body expected in request.');
  return body as Body;
}

function checkReadOnly(body: Body, keys: readonly string[]): void {
  for (const key of keys) if (key in body) throw Fault.forbidden(`Attribute '${key}' is read-only.`);
}

function optionalString(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw Fault.badRequest(`Invalid value for '${key}': ${JSON.stringify(v)} is not of type 'string'`);
  return v;
}

function requiredName(body: Body, key: string, what: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v.trim() === '') throw Fault.badRequest(`A ${what} needs a non-empty '${key}'.`);
  if (v.length > 80) throw Fault.badRequest(`'${key}' is too long: at most 80 characters.`);
  return v;
}

// ---- links and views --------------------------------------------------------------

const enc = encodeURIComponent;
const nsHref = (name: string) => `/v2/metadefs/namespaces/${enc(name)}`;

function objectView(nsName: string, o: ObjectRecord) {
  return {
    name: o.name!,
    ...(o.description !== undefined ? { description: o.description } : {}),
    ...(o.required !== undefined ? { required: [...o.required] } : {}),
    properties: structuredClone(o.properties ?? {}),
    created_at: o.created_at,
    updated_at: o.updated_at,
    self: `${nsHref(nsName)}/objects/${enc(o.name!)}`,
    schema: '/v2/schemas/metadefs/object',
  };
}

function propertyView(p: PropertyRecord): PropertyDefinition {
  return { ...structuredClone(p.definition), name: p.name! };
}

function tagView(t: TagRecord) {
  return { name: t.name!, created_at: t.created_at, updated_at: t.updated_at };
}

function associationView(a: AssociationRecord) {
  return {
    name: a.name!,
    ...(a.prefix !== undefined ? { prefix: a.prefix } : {}),
    ...(a.properties_target !== undefined ? { properties_target: a.properties_target } : {}),
    created_at: a.created_at,
    updated_at: a.updated_at,
  };
}

// ---- the schema documents, from the spec's response schemas ---------------------------

type Json = Record<string, unknown>;

let specCache: Json | undefined;

/** generated/image/spec.json, found from drivers/sandbox/ or dist/drivers/sandbox/. */
function imageSpec(): Json {
  if (specCache) return specCache;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const path = join(resolve(here, up), 'generated', 'image', 'spec.json');
    if (existsSync(path)) {
      specCache = JSON.parse(readFileSync(path, 'utf8')) as Json;
      return specCache;
    }
  }
  throw new Error(`cannot find generated/image/spec.json above ${here}; run \`make regen\``);
}

/** A component schema of the image spec, `$ref`s resolved. */
function specSchema(name: string): Json {
  const spec = imageSpec();
  const schemas = (spec.components as Json).schemas as Record<string, Json>;
  const deref = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(deref);
    if (node === null || typeof node !== 'object') return node;
    const ref = (node as Json).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) return deref(schemas[ref.slice('#/components/schemas/'.length)]);
    return Object.fromEntries(Object.entries(node as Json).map(([k, v]) => [k, deref(v)]));
  };
  const found = schemas[name];
  if (!found) throw new Error(`image spec has no schema ${name}`);
  return deref(found) as Json;
}

/**
 * The spec's list response of a metadefs collection names both documents: the
 * collection is its member key (`namespaces`, …), the member is the `name` its
 * items carry (`namespace`, …). The member's document is the single-item
 * response schema; Glance's collection documents add the paging links, as its
 * image collection documents do.
 */
function collectionDocuments(listSchema: string, key: string, itemSchema: string): { item: Json; collection: Json } {
  const listProps = specSchema(listSchema).properties as Record<string, Json>;
  const member = listProps[key]!;
  const listed = (member.items ?? member.additionalProperties) as Json;
  const single = specSchema(itemSchema);
  const item: Json = {
    name: listed.name,
    properties: single.properties,
    ...(single.required ? { required: single.required } : {}),
    additionalProperties: single.additionalProperties ?? false,
  };
  const collection: Json = {
    name: key,
    properties: listProps,
    links: [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }, { rel: 'describedby', href: '{schema}' }],
  };
  return { item, collection };
}

/** Per collection: its list response schema and its single-item response schema. */
const SPEC_SCHEMAS = {
  namespaces: ['MetadefsNamespacesListResponse', 'MetadefsNamespaceShowResponse'],
  objects: ['MetadefsNamespacesObjectsListResponse', 'MetadefsNamespacesObjectShowResponse'],
  properties: ['MetadefsNamespacesPropertiesListResponse', 'MetadefsNamespacesPropertyShowResponse'],
  tags: ['MetadefsNamespacesTagsListResponse', 'MetadefsNamespacesTagShowResponse'],
  resource_type_associations: ['MetadefsNamespacesResource_TypesShowResponse', 'MetadefsNamespacesResource_TypesCreateResponse'],
} as const;

const documents = new Map<string, { item: Json; collection: Json }>();

function schemaDocuments(key: keyof typeof SPEC_SCHEMAS): { item: Json; collection: Json } {
  let docs = documents.get(key);
  if (!docs) {
    const [list, single] = SPEC_SCHEMAS[key];
    docs = collectionDocuments(list, key, single);
    documents.set(key, docs);
  }
  return structuredClone(docs);
}

// ---- the catalog ----------------------------------------------------------------------

type SchemaDoc = { name: string; properties: Record<string, unknown> } & Json;

export class ImageMetadefs {
  constructor(readonly cloud: SandboxCloud) {}

  private get store() {
    return this.cloud.store;
  }

  // ---- look-ups ----

  private byName(name: string): NamespaceRecord | undefined {
    return this.store.list<NamespaceRecord>(NAMESPACE_KIND, { where: (n) => n.namespace === name })[0];
  }

  private namespace(who: Caller, name: string): NamespaceRecord {
    const ns = this.byName(name);
    if (!ns || !visible(ns, who)) throw Fault.notFound(`Metadata definition namespace=${name} was not found.`);
    return ns;
  }

  /** A namespace the caller may write into (admin), and that may lose content when `deleting`. */
  private writable(who: Caller, name: string, rule: string, deleting = false): NamespaceRecord {
    const ns = this.namespace(who, name);
    mayWrite(who, rule);
    if (deleting && ns.protected) throw Fault.forbidden(`Metadata definition namespace ${ns.namespace} is protected and cannot be deleted.`);
    return ns;
  }

  private children<T extends Resource & { namespace_id: string }>(kind: string, nsId: string): T[] {
    return this.store.list<T>(kind, { where: (r) => r.namespace_id === nsId });
  }

  private child<T extends Resource & { namespace_id: string }>(kind: string, nsId: string, name: string): T | undefined {
    return this.store.list<T>(kind, { where: (r) => r.namespace_id === nsId && r.name === name })[0];
  }

  private deleteChildren(kind: string, nsId: string): void {
    for (const r of this.children(kind, nsId)) this.store.delete(kind, r.id);
  }

  /** The seeded resource types exist once anyone looks (stable created_at). */
  private resourceTypes(): ResourceTypeRecord[] {
    const now = isoZ();
    for (const name of SANDBOX_RESOURCE_TYPES) {
      if (!this.store.get(RESOURCE_TYPE_KIND, name)) this.store.insert<ResourceTypeRecord>(RESOURCE_TYPE_KIND, { id: name, name, project_id: null, created_at: now, updated_at: now });
    }
    return this.store.list<ResourceTypeRecord>(RESOURCE_TYPE_KIND);
  }

  // ---- adding content (shared by namespace create and the item calls) ----

  private addObject(ns: NamespaceRecord, body: Body): ObjectRecord {
    checkReadOnly(body, READ_ONLY_OBJECT);
    const name = requiredName(body, 'name', 'metadata definition object');
    if (this.child(OBJECT_KIND, ns.id, name)) throw Fault.conflict(`A metadata definition object with name=${name} already exists in namespace=${ns.namespace}.`);
    const now = isoZ();
    const description = optionalString(body, 'description');
    return this.store.insert<ObjectRecord>(OBJECT_KIND, {
      id: randomUUID(), project_id: ns.owner, name, namespace_id: ns.id, created_at: now, updated_at: now,
      ...(description !== undefined ? { description } : {}),
      ...(Array.isArray(body.required) ? { required: body.required as string[] } : {}),
      ...(body.properties && typeof body.properties === 'object' ? { properties: structuredClone(body.properties as Record<string, PropertyDefinition>) } : {}),
    });
  }

  private addProperty(ns: NamespaceRecord, name: string, definition: PropertyDefinition): PropertyRecord {
    if (name.trim() === '') throw Fault.badRequest('A metadata definition property needs a non-empty name.');
    if (name.length > 80) throw Fault.badRequest("'name' is too long: at most 80 characters.");
    if (this.child(PROPERTY_KIND, ns.id, name)) throw Fault.conflict(`A metadata definition property with name=${name} already exists in namespace=${ns.namespace}.`);
    const { name: _name, ...rest } = definition;
    const now = isoZ();
    return this.store.insert<PropertyRecord>(PROPERTY_KIND, { id: randomUUID(), project_id: ns.owner, name, namespace_id: ns.id, definition: structuredClone(rest), created_at: now, updated_at: now });
  }

  private addTag(ns: NamespaceRecord, name: string): TagRecord {
    if (name.trim() === '') throw Fault.badRequest('A metadata definition tag needs a non-empty name.');
    if (name.length > 80) throw Fault.badRequest(`Tag name '${name}' is too long: at most 80 characters.`);
    if (this.child(TAG_KIND, ns.id, name)) throw Fault.conflict(`A metadata tag with name=${name} already exists in namespace=${ns.namespace}.`);
    const now = isoZ();
    return this.store.insert<TagRecord>(TAG_KIND, { id: randomUUID(), project_id: ns.owner, name, namespace_id: ns.id, created_at: now, updated_at: now });
  }

  private addAssociation(ns: NamespaceRecord, body: Body): AssociationRecord {
    const name = requiredName(body, 'name', 'resource type association');
    const prefix = optionalString(body, 'prefix');
    const target = optionalString(body, 'properties_target');
    const now = isoZ();
    this.resourceTypes();
    // Glance creates a resource type the first time a namespace is associated with it.
    if (!this.store.get(RESOURCE_TYPE_KIND, name)) this.store.insert<ResourceTypeRecord>(RESOURCE_TYPE_KIND, { id: name, name, project_id: null, created_at: now, updated_at: now });
    const id = `${ns.id}:${name}`;
    if (this.store.get(ASSOCIATION_KIND, id)) {
      throw Fault.conflict(`The metadata definition resource-type association of resource-type=${name} to namespace=${ns.namespace}, already exists.`);
    }
    return this.store.insert<AssociationRecord>(ASSOCIATION_KIND, {
      id, project_id: ns.owner, name, namespace_id: ns.id, created_at: now, updated_at: now,
      ...(prefix !== undefined ? { prefix } : {}), ...(target !== undefined ? { properties_target: target } : {}),
    });
  }

  // ---- namespace views ----

  private namespaceBase(ns: NamespaceRecord) {
    return {
      namespace: ns.namespace,
      ...(ns.display_name !== undefined ? { display_name: ns.display_name } : {}),
      ...(ns.description !== undefined ? { description: ns.description } : {}),
      visibility: ns.visibility,
      protected: ns.protected,
      ...(ns.owner !== null ? { owner: ns.owner } : {}),
      created_at: ns.created_at,
      updated_at: ns.updated_at,
      self: nsHref(ns.namespace),
      schema: '/v2/schemas/metadefs/namespace',
    };
  }

  private associationsOf(ns: NamespaceRecord) {
    const list = this.children<AssociationRecord>(ASSOCIATION_KIND, ns.id).map(associationView);
    return list.length ? { resource_type_associations: list } : {};
  }

  /** The detail Glance shows: the namespace with everything in it (empty parts left out). */
  private namespaceDetail(ns: NamespaceRecord) {
    const objects = this.children<ObjectRecord>(OBJECT_KIND, ns.id).map((o) => objectView(ns.namespace, o));
    const properties = Object.fromEntries(this.children<PropertyRecord>(PROPERTY_KIND, ns.id).map((p) => [p.name!, propertyView(p)]));
    const tags = this.children<TagRecord>(TAG_KIND, ns.id).map((t) => ({ name: t.name! }));
    return {
      ...this.namespaceBase(ns),
      ...this.associationsOf(ns),
      ...(objects.length ? { objects } : {}),
      ...(Object.keys(properties).length ? { properties } : {}),
      ...(tags.length ? { tags } : {}),
    };
  }

  // ---- namespaces ----

  async createNamespace(req: ImageRequest<'createMetadefNamespace'>): Promise<Reply<ImageResponse<'createMetadefNamespace'>>> {
    const who = caller(this.cloud, req.context);
    mayWrite(who, 'add_metadef_namespace');
    const body = bodyOf(req.body);
    checkReadOnly(body, READ_ONLY_NAMESPACE);
    const name = requiredName(body, 'namespace', 'namespace');
    const owner = optionalString(body, 'owner') ?? who.project;
    const ns = this.store.tx(() => {
      if (this.byName(name)) throw Fault.conflict(`The metadata definition namespace=${name} already exists.`);
      const now = isoZ();
      const displayName = optionalString(body, 'display_name');
      const description = optionalString(body, 'description');
      const ns = this.store.insert<NamespaceRecord>(NAMESPACE_KIND, {
        id: randomUUID(), project_id: owner, name, namespace: name, created_at: now, updated_at: now,
        visibility: body.visibility === 'public' ? 'public' : 'private', protected: body.protected === true, owner,
        ...(displayName !== undefined ? { display_name: displayName } : {}),
        ...(description !== undefined ? { description } : {}),
      });
      // Everything the body names is created with the namespace, or nothing is.
      for (const a of (body.resource_type_associations as Body[] | undefined) ?? []) this.addAssociation(ns, a);
      for (const o of (body.objects as Body[] | undefined) ?? []) this.addObject(ns, o);
      for (const t of (body.tags as Body[] | undefined) ?? []) this.addTag(ns, requiredName(t, 'name', 'tag'));
      for (const [k, v] of Object.entries((body.properties as Record<string, PropertyDefinition> | undefined) ?? {})) this.addProperty(ns, k, v);
      return ns;
    });
    const view = this.namespaceDetail(ns) as ImageResponse<'createMetadefNamespace'>;
    return new Reply(view, 201, { Location: `${req.context.endpoint}${nsHref(name)}` });
  }

  async listNamespaces(req: ImageRequest<'listMetadefNamespaces'>): Promise<ImageResponse<'listMetadefNamespaces'>> {
    const who = caller(this.cloud, req.context);
    const q = req.query as { limit?: number; marker?: string; sort_key?: string; sort_dir?: 'asc' | 'desc'; visibility?: string; resource_types?: string };
    const limit = Math.min(q.limit ?? LIMIT_DEFAULT, LIMIT_MAX);
    const sortKey = (q.sort_key ?? 'created_at') as keyof NamespaceRecord;
    const desc = (q.sort_dir ?? 'desc') === 'desc';
    let withTypes: Set<string> | undefined;
    if (q.resource_types !== undefined) {
      const wanted = new Set(q.resource_types.split(',').map((s) => s.trim()));
      withTypes = new Set(this.store.list<AssociationRecord>(ASSOCIATION_KIND, { where: (a) => wanted.has(a.name!) }).map((a) => a.namespace_id));
    }
    const key = (ns: NamespaceRecord): unknown[] => [ns[sortKey] ?? '', ns.created_at, ns.id];
    const order = (a: NamespaceRecord, b: NamespaceRecord): number => {
      const ka = key(a);
      const kb = key(b);
      for (let i = 0; i < ka.length; i++) {
        const x = String(ka[i]);
        const y = String(kb[i]);
        if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
      }
      return 0;
    };
    let items = this.store.list<NamespaceRecord>(NAMESPACE_KIND, {
      where: (ns) => visible(ns, who) && (q.visibility === undefined || ns.visibility === q.visibility) && (withTypes === undefined || withTypes.has(ns.id)),
    }).sort(order);
    if (q.marker !== undefined) {
      const marker = this.namespace(who, q.marker);
      items = items.filter((ns) => order(ns, marker) > 0);
    }
    const page = items.slice(0, limit);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== 'marker') params.set(k, String(v));
    const query = params.toString();
    const body: ImageResponse<'listMetadefNamespaces'> = {
      namespaces: page.map((ns) => ({ ...this.namespaceBase(ns), ...this.associationsOf(ns) })) as ImageResponse<'listMetadefNamespaces'>['namespaces'],
      first: query ? `/v2/metadefs/namespaces?${query}` : '/v2/metadefs/namespaces',
      schema: '/v2/schemas/metadefs/namespaces',
    };
    if (page.length !== 0 && page.length === limit) {
      params.set('marker', page[page.length - 1]!.namespace);
      body.next = `/v2/metadefs/namespaces?${params.toString()}`;
    }
    return body;
  }

  async showNamespace(req: ImageRequest<'showMetadefNamespace'>): Promise<ImageResponse<'showMetadefNamespace'>> {
    const who = caller(this.cloud, req.context);
    return this.namespaceDetail(this.namespace(who, req.path.namespace_name)) as ImageResponse<'showMetadefNamespace'>;
  }

  /** Glance's update replaces the namespace's own fields; ones left out fall back to the create defaults. */
  async updateNamespace(req: ImageRequest<'updateMetadefNamespace'>): Promise<ImageResponse<'updateMetadefNamespace'>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    const ns = this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'modify_metadef_namespace');
      checkReadOnly(body, READ_ONLY_NAMESPACE);
      const name = requiredName(body, 'namespace', 'namespace');
      if (name !== ns.namespace && this.byName(name)) {
        throw Fault.conflict(`Invalid update. It would result in a duplicate metadata definition namespace with the same name of ${name}`);
      }
      const displayName = optionalString(body, 'display_name');
      const description = optionalString(body, 'description');
      const owner = optionalString(body, 'owner') ?? who.project;
      const next: NamespaceRecord = {
        id: ns.id, project_id: owner, name, namespace: name, created_at: ns.created_at, updated_at: ns.updated_at,
        visibility: body.visibility === 'public' ? 'public' : 'private', protected: body.protected === true, owner,
        ...(displayName !== undefined ? { display_name: displayName } : {}),
        ...(description !== undefined ? { description } : {}),
      };
      return this.store.put(NAMESPACE_KIND, next);
    });
    return this.namespaceDetail(ns) as ImageResponse<'updateMetadefNamespace'>;
  }

  async deleteNamespace(req: ImageRequest<'deleteMetadefNamespace'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'delete_metadef_namespace', true);
      for (const kind of [OBJECT_KIND, PROPERTY_KIND, TAG_KIND, ASSOCIATION_KIND]) this.deleteChildren(kind, ns.id);
      this.store.delete(NAMESPACE_KIND, ns.id);
    });
  }

  // ---- objects ----

  private object(ns: NamespaceRecord, name: string): ObjectRecord {
    const o = this.child<ObjectRecord>(OBJECT_KIND, ns.id, name);
    if (!o) throw Fault.notFound(`Metadata definition object not found for namespace=${ns.namespace} and object=${name}.`);
    return o;
  }

  async createObject(req: ImageRequest<'createMetadefNamespaceObject'>): Promise<Reply<ImageResponse<'createMetadefNamespaceObject'>>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    const { ns, o } = this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'add_metadef_object');
      return { ns, o: this.addObject(ns, body) };
    });
    const view = objectView(ns.namespace, o) as ImageResponse<'createMetadefNamespaceObject'>;
    return new Reply(view, 201, { Location: `${req.context.endpoint}${view.self}` });
  }

  async listObjects(req: ImageRequest<'listMetadefNamespaceObjects'>): Promise<ImageResponse<'listMetadefNamespaceObjects'>> {
    const ns = this.namespace(caller(this.cloud, req.context), req.path.namespace_name);
    return {
      objects: this.children<ObjectRecord>(OBJECT_KIND, ns.id).map((o) => objectView(ns.namespace, o)) as ImageResponse<'listMetadefNamespaceObjects'>['objects'],
      first: `${nsHref(ns.namespace)}/objects`,
      schema: '/v2/schemas/metadefs/objects',
    };
  }

  async showObject(req: ImageRequest<'showMetadefNamespaceObject'>): Promise<ImageResponse<'showMetadefNamespaceObject'>> {
    const ns = this.namespace(caller(this.cloud, req.context), req.path.namespace_name);
    return objectView(ns.namespace, this.object(ns, req.path.object_name)) as ImageResponse<'showMetadefNamespaceObject'>;
  }

  /** The object is replaced by the body (name included: a rename). */
  async updateObject(req: ImageRequest<'updateMetadefNamespaceObject'>): Promise<ImageResponse<'updateMetadefNamespaceObject'>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    const { ns, o } = this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'modify_metadef_object');
      const old = this.object(ns, req.path.object_name);
      checkReadOnly(body, READ_ONLY_OBJECT);
      const name = requiredName(body, 'name', 'metadata definition object');
      if (name !== old.name && this.child(OBJECT_KIND, ns.id, name)) {
        throw Fault.conflict(`A metadata definition object with name=${name} already exists in namespace=${ns.namespace}.`);
      }
      const description = optionalString(body, 'description');
      const next: ObjectRecord = {
        id: old.id, project_id: old.project_id, name, namespace_id: ns.id, created_at: old.created_at, updated_at: old.updated_at,
        ...(description !== undefined ? { description } : {}),
        ...(Array.isArray(body.required) ? { required: body.required as string[] } : {}),
        ...(body.properties && typeof body.properties === 'object' ? { properties: structuredClone(body.properties as Record<string, PropertyDefinition>) } : {}),
      };
      return { ns, o: this.store.put(OBJECT_KIND, next) };
    });
    return objectView(ns.namespace, o) as ImageResponse<'updateMetadefNamespaceObject'>;
  }

  async deleteObject(req: ImageRequest<'deleteMetadefNamespaceObject'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => {
      const ns = this.namespace(who, req.path.namespace_name);
      mayWrite(who, 'delete_metadef_object');
      const o = this.object(ns, req.path.object_name);
      if (ns.protected) throw Fault.forbidden(`Metadata definition object ${o.name} is protected and cannot be deleted.`);
      this.store.delete(OBJECT_KIND, o.id);
    });
  }

  async deleteAllObjects(req: ImageRequest<'deleteAllMetadefNamespaceObjects'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => this.deleteChildren(OBJECT_KIND, this.writable(who, req.path.namespace_name, 'delete_metadef_namespace', true).id));
  }

  // ---- properties ----

  private property(ns: NamespaceRecord, name: string): PropertyRecord {
    const p = this.child<PropertyRecord>(PROPERTY_KIND, ns.id, name);
    if (!p) throw Fault.notFound(`Metadata definition property not found for namespace=${ns.namespace} and property=${name}.`);
    return p;
  }

  async createProperty(req: ImageRequest<'createMetadefNamespaceProperty'>): Promise<ImageResponse<'createMetadefNamespaceProperty'>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    const p = this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'add_metadef_property');
      return this.addProperty(ns, requiredName(body, 'name', 'metadata definition property'), body);
    });
    return propertyView(p) as ImageResponse<'createMetadefNamespaceProperty'>;
  }

  async listProperties(req: ImageRequest<'listMetadefNamespaceProperties'>): Promise<ImageResponse<'listMetadefNamespaceProperties'>> {
    const ns = this.namespace(caller(this.cloud, req.context), req.path.namespace_name);
    const properties = Object.fromEntries(this.children<PropertyRecord>(PROPERTY_KIND, ns.id).map((p) => [p.name!, propertyView(p)]));
    return { properties } as ImageResponse<'listMetadefNamespaceProperties'>;
  }

  async showProperty(req: ImageRequest<'showMetadefNamespaceProperty'>): Promise<ImageResponse<'showMetadefNamespaceProperty'>> {
    const ns = this.namespace(caller(this.cloud, req.context), req.path.namespace_name);
    return propertyView(this.property(ns, req.path.property_name)) as ImageResponse<'showMetadefNamespaceProperty'>;
  }

  /** The definition is replaced by the body (name included: a rename). */
  async updateProperty(req: ImageRequest<'updateMetadefNamespaceProperty'>): Promise<ImageResponse<'updateMetadefNamespaceProperty'>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    const p = this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'modify_metadef_property');
      const old = this.property(ns, req.path.property_name);
      const name = requiredName(body, 'name', 'metadata definition property');
      if (name !== old.name && this.child(PROPERTY_KIND, ns.id, name)) {
        throw Fault.conflict(`A metadata definition property with name=${name} already exists in namespace=${ns.namespace}.`);
      }
      const { name: _name, ...definition } = body;
      return this.store.put<PropertyRecord>(PROPERTY_KIND, { ...old, name, definition: structuredClone(definition) });
    });
    return propertyView(p) as ImageResponse<'updateMetadefNamespaceProperty'>;
  }

  async deleteProperty(req: ImageRequest<'deleteMetadefNamespaceProperty'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => {
      const ns = this.namespace(who, req.path.namespace_name);
      mayWrite(who, 'remove_metadef_property');
      const p = this.property(ns, req.path.property_name);
      if (ns.protected) throw Fault.forbidden(`Metadata definition property ${p.name} is protected and cannot be deleted.`);
      this.store.delete(PROPERTY_KIND, p.id);
    });
  }

  async deleteAllProperties(req: ImageRequest<'deleteAllMetadefNamespaceProperties'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => this.deleteChildren(PROPERTY_KIND, this.writable(who, req.path.namespace_name, 'delete_metadef_namespace', true).id));
  }

  // ---- tags ----

  private tag(ns: NamespaceRecord, name: string): TagRecord {
    const t = this.child<TagRecord>(TAG_KIND, ns.id, name);
    if (!t) throw Fault.notFound(`Metadata tag not found for namespace=${ns.namespace} and tag=${name}.`);
    return t;
  }

  async createTag(req: ImageRequest<'createMetadefNamespaceTagByName'>): Promise<ImageResponse<'createMetadefNamespaceTagByName'>> {
    const who = caller(this.cloud, req.context);
    const t = this.store.tx(() => this.addTag(this.writable(who, req.path.namespace_name, 'add_metadef_tag'), req.path.tag_name));
    return tagView(t);
  }

  /**
   * Several tags at once. Without `X-Openstack-Append: true` they replace the
   * namespace's tags (Glance since Yoga); with it they are added. A name twice,
   * or one that exists when appending, is a 409 and nothing changes.
   */
  async createTags(req: ImageRequest<'createMetadefNamespaceTag'>): Promise<ImageResponse<'createMetadefNamespaceTag'>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    checkReadOnly(body, READ_ONLY_TAG);
    const append = ['true', '1', 'yes', 'y', 't', 'on'].includes((req.headers['x-openstack-append'] ?? '').trim().toLowerCase());
    const names = ((body.tags as Body[] | undefined) ?? []).map((t) => requiredName(t, 'name', 'tag'));
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw Fault.conflict(`Duplicate tag name in the request: ${twice}`);
    const tags = this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'add_metadef_tags');
      if (!append) {
        if (ns.protected && this.children(TAG_KIND, ns.id).length) {
          throw Fault.forbidden(`Metadata definition namespace ${ns.namespace} is protected and cannot be deleted.`);
        }
        this.deleteChildren(TAG_KIND, ns.id);
      }
      return names.map((n) => this.addTag(ns, n));
    });
    return { tags: tags.map(tagView) };
  }

  async listTags(req: ImageRequest<'listMetadefNamespaceTags'>): Promise<ImageResponse<'listMetadefNamespaceTags'>> {
    const ns = this.namespace(caller(this.cloud, req.context), req.path.namespace_name);
    return { tags: this.children<TagRecord>(TAG_KIND, ns.id).map(tagView) };
  }

  async showTag(req: ImageRequest<'showMetadefNamespaceTag'>): Promise<ImageResponse<'showMetadefNamespaceTag'>> {
    const ns = this.namespace(caller(this.cloud, req.context), req.path.namespace_name);
    return tagView(this.tag(ns, req.path.tag_name));
  }

  async updateTag(req: ImageRequest<'updateMetadefNamespaceTag'>): Promise<ImageResponse<'updateMetadefNamespaceTag'>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    const t = this.store.tx(() => {
      const ns = this.writable(who, req.path.namespace_name, 'modify_metadef_tag');
      const old = this.tag(ns, req.path.tag_name);
      checkReadOnly(body, READ_ONLY_TAG);
      const name = requiredName(body, 'name', 'tag');
      if (name !== old.name && this.child(TAG_KIND, ns.id, name)) throw Fault.conflict(`A metadata tag with name=${name} already exists in namespace=${ns.namespace}.`);
      return this.store.put<TagRecord>(TAG_KIND, { ...old, name });
    });
    return tagView(t);
  }

  async deleteTag(req: ImageRequest<'deleteMetadefNamespaceTag'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => {
      const ns = this.namespace(who, req.path.namespace_name);
      mayWrite(who, 'delete_metadef_tag');
      const t = this.tag(ns, req.path.tag_name);
      if (ns.protected) throw Fault.forbidden(`Metadata definition tag ${t.name} is protected and cannot be deleted.`);
      this.store.delete(TAG_KIND, t.id);
    });
  }

  async deleteAllTags(req: ImageRequest<'deleteAllMetadefNamespaceTags'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => this.deleteChildren(TAG_KIND, this.writable(who, req.path.namespace_name, 'delete_metadef_tags', true).id));
  }

  // ---- resource types ----

  async listResourceTypes(req: ImageRequest<'listMetadefResourceTypes'>): Promise<ImageResponse<'listMetadefResourceTypes'>> {
    caller(this.cloud, req.context);
    const types = this.store.tx(() => this.resourceTypes());
    return { resource_types: types.map((t) => ({ name: t.name!, created_at: t.created_at, updated_at: t.updated_at })) };
  }

  async createAssociation(req: ImageRequest<'createMetadefNamespaceResourceType'>): Promise<ImageResponse<'createMetadefNamespaceResourceType'>> {
    const who = caller(this.cloud, req.context);
    const body = bodyOf(req.body);
    checkReadOnly(body, ['created_at', 'updated_at']);
    const a = this.store.tx(() => this.addAssociation(this.writable(who, req.path.namespace_name, 'add_metadef_resource_type_association'), body));
    return associationView(a);
  }

  async listAssociations(req: ImageRequest<'listMetadefNamespaceResourceTypes'>): Promise<ImageResponse<'listMetadefNamespaceResourceTypes'>> {
    const ns = this.namespace(caller(this.cloud, req.context), req.path.namespace_name);
    return { resource_type_associations: this.children<AssociationRecord>(ASSOCIATION_KIND, ns.id).map(associationView) };
  }

  async deleteAssociation(req: ImageRequest<'deleteMetadefNamespaceResourceType'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    const name = req.path.resource_type;
    this.store.tx(() => {
      const ns = this.namespace(who, req.path.namespace_name);
      mayWrite(who, 'remove_metadef_resource_type_association');
      const a = this.store.get<AssociationRecord>(ASSOCIATION_KIND, `${ns.id}:${name}`);
      if (!a) {
        throw Fault.notFound(`The metadata definition resource-type association of resource-type=${name} to namespace=${ns.namespace}, was not found.`);
      }
      if (ns.protected) throw Fault.forbidden(`Metadata definition resource-type-association ${name} is protected and cannot be deleted.`);
      this.store.delete(ASSOCIATION_KIND, a.id);
    });
  }

  // ---- schemas ----

  schema(which: 'namespace' | 'object' | 'property' | 'tag' | 'resource_type'): SchemaDoc {
    const key = ({ namespace: 'namespaces', object: 'objects', property: 'properties', tag: 'tags', resource_type: 'resource_type_associations' } as const)[which];
    return schemaDocuments(key).item as SchemaDoc;
  }

  collectionSchema(which: 'namespaces' | 'objects' | 'properties' | 'tags' | 'resource_types'): SchemaDoc {
    const key = which === 'resource_types' ? 'resource_type_associations' : which;
    return schemaDocuments(key).collection as SchemaDoc;
  }
}
