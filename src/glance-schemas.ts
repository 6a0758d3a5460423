/**
 * Glance's /v2/schemas/* documents, which glanceclient and Horizon read to
 * know an image's fields. The base properties are Glance's; each backend says
 * which container and disk formats it has and adds its own properties.
 */

const UUID_PATTERN = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';
const NULLABLE_STRING = { type: ['null', 'string'] };

/** A schema document as Glance serves it. */
export type SchemaDocument = {
  name: string;
  properties: Record<string, unknown>;
  additionalProperties?: boolean | Record<string, unknown>;
  links?: { rel: string; href: string }[];
};

export interface ImageSchemaOptions {
  containerFormats: readonly string[];
  diskFormats: readonly string[];
  /** Whether images have locations (the sandbox's stores them; the backends' clouds do not). */
  locations?: boolean;
  /** Backend properties beside Glance's (e.g. the URL CloudStack registers from). */
  extra?: Record<string, object>;
}

export function imageSchema(opts: ImageSchemaOptions): SchemaDocument {
  const properties: Record<string, object> = {
    id: { type: 'string', pattern: UUID_PATTERN },
    name: { ...NULLABLE_STRING, maxLength: 255 },
    status: { type: 'string', readOnly: true, enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'] },
    visibility: { type: 'string', enum: ['community', 'public', 'private', 'shared'] },
    protected: { type: 'boolean' },
    os_hidden: { type: 'boolean' },
    checksum: { ...NULLABLE_STRING, readOnly: true, maxLength: 32 },
    os_hash_algo: { ...NULLABLE_STRING, readOnly: true, maxLength: 64 },
    os_hash_value: { ...NULLABLE_STRING, readOnly: true, maxLength: 128 },
    owner: { ...NULLABLE_STRING, maxLength: 255 },
    size: { type: ['null', 'integer'], readOnly: true },
    virtual_size: { type: ['null', 'integer'], readOnly: true },
    container_format: { ...NULLABLE_STRING, enum: [null, ...opts.containerFormats] },
    disk_format: { ...NULLABLE_STRING, enum: [null, ...opts.diskFormats] },
    created_at: { type: 'string', readOnly: true },
    updated_at: { type: 'string', readOnly: true },
    tags: { type: 'array', items: { type: 'string', maxLength: 255 } },
    direct_url: { type: 'string', readOnly: true },
    min_ram: { type: 'integer' },
    min_disk: { type: 'integer' },
    self: { type: 'string', readOnly: true },
    file: { type: 'string', readOnly: true },
    stores: { type: 'string', readOnly: true },
    schema: { type: 'string', readOnly: true },
    ...opts.extra,
  };
  if (opts.locations) {
    properties.locations = {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          url: { type: 'string', maxLength: 255 },
          metadata: { type: 'object' },
          // Checked against the image's own checksum and hash when it is no longer queued.
          validation_data: {
            type: 'object', writeOnly: true, additionalProperties: false,
            properties: { checksum: { type: 'string', minLength: 32, maxLength: 32 }, os_hash_algo: { type: 'string', maxLength: 64 }, os_hash_value: { type: 'string', maxLength: 128 } },
            required: ['os_hash_algo', 'os_hash_value'],
          },
        },
        required: ['url', 'metadata'],
      },
    };
  }
  return {
    name: 'image',
    properties,
    additionalProperties: { type: 'string' },
    links: [{ rel: 'self', href: '{self}' }, { rel: 'enclosure', href: '{file}' }, { rel: 'describedby', href: '{schema}' }],
  };
}

export function memberSchema(): SchemaDocument {
  return {
    name: 'member',
    properties: {
      member_id: { type: 'string' },
      image_id: { type: 'string', pattern: UUID_PATTERN },
      created_at: { type: 'string' },
      updated_at: { type: 'string' },
      status: { type: 'string', enum: ['pending', 'accepted', 'rejected'] },
      schema: { readOnly: true, type: 'string' },
    },
    additionalProperties: false,
  };
}

/** A collection of `item`s with Glance's paging links. */
export function collectionSchema(name: string, item: object): SchemaDocument {
  return {
    name,
    properties: { [name]: { type: 'array', items: item }, first: { type: 'string' }, next: { type: 'string' }, schema: { type: 'string' } },
    links: [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }, { rel: 'describedby', href: '{schema}' }],
  };
}
