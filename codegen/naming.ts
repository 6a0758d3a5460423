/**
 * Stable operation ids and driver method names, derived from paths.
 *
 * Upstream operationIds read `servers/id/action:post`; we derive
 * `compute.servers.action.reboot` and `rebootServer` mechanically, so a new
 * upstream path gets a readable name without a hand list. Collisions are a
 * codegen error, resolved by a `rename` entry in specs/patches/<service>.yaml.
 */

/** Version prefixes that are not part of a resource name. */
const VERSION_SEGMENT = /^v\d+(\.\d+)?$/;

/** Words that do not change between singular and plural. */
const UNCOUNTABLE = new Set([
  'metadata', 'info', 'status', 'access', 'usage', 'detail', 'capabilities', 'topology',
  'diagnostics', 'statistics', 'uptime', 'inherited_to_projects', 'ca', 'model', 'sync_instances',
  'cache', 'data', 'dns', 'default', 'import', 'stage', 'file', 'auth', 'websso', 'saml2', 'ecp', 'oauth2',
  'defaults', 'quotas', 'availability', 'search', 'reboot', 'shutdown', 'startup', 'summary', 'tokens',
]);

const IRREGULAR: Record<string, string> = {
  policies: 'policy', aliases: 'alias', addresses: 'address', statuses: 'status',
  indices: 'index', matrices: 'matrix', ips: 'ip', quota_sets: 'quota_set', class_sets: 'class_set',
};

/** Singular of one snake_case word or compound (`extra_specs` → `extra_spec`). */
export function singular(word: string): string {
  if (UNCOUNTABLE.has(word)) return word;
  if (IRREGULAR[word]) return IRREGULAR[word]!;
  const parts = word.split('_');
  const last = parts.pop()!;
  let s = last;
  if (UNCOUNTABLE.has(last)) s = last;
  else if (IRREGULAR[last]) s = IRREGULAR[last]!;
  else if (/[^aeiou]ies$/.test(last)) s = last.slice(0, -3) + 'y';
  else if (/(ss|sh|ch|x|z)es$/.test(last)) s = last.slice(0, -2);
  else if (/[^s]s$/.test(last) && !/(us|is)$/.test(last)) s = last.slice(0, -1);
  return [...parts, s].join('_');
}

/** `os-volume_attachments` → `volume_attachments`; `OS-FEDERATION` → `federation`. */
export function normalizeSegment(seg: string): string {
  return seg
    .replace(/^os-/i, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.:]/g, '_')
    .replace(/[^A-Za-z0-9_]/g, '')
    .toLowerCase();
}

export function isParam(seg: string): boolean {
  return seg.startsWith('{') && seg.endsWith('}');
}

export function camel(snake: string, upperFirst = false): string {
  const s = snake.split('_').filter(Boolean).map((w, i) =>
    i === 0 && !upperFirst ? w : w[0]!.toUpperCase() + w.slice(1)).join('');
  return s;
}

export interface DerivedName {
  /** `servers.show`, without the service prefix. */
  id: string;
  /** `showServer`. */
  method: string;
}

const VERB_BY_METHOD = {
  item: { get: 'show', put: 'update', patch: 'update', delete: 'delete', post: 'create', head: 'check' },
  collection: { get: 'list', put: 'replace', patch: 'update', delete: 'delete_all', post: 'create', head: 'check_list' },
} as const;

/**
 * Derives the id and method name of a plain operation from its path.
 * `GET /v2.1/servers/{id}` → servers.show / showServer;
 * `GET /v2.1/flavors/{flavor_id}/os-extra_specs` → flavors.extra_specs.list / listFlavorExtraSpecs.
 */
export function deriveName(path: string, method: string, opts: { hasPatchTwin?: boolean } = {}): DerivedName {
  const segs = path.split('/').filter((s) => s !== '' && !VERSION_SEGMENT.test(s));
  const literals = segs.filter((s) => !isParam(s)).map(normalizeSegment).filter(Boolean);
  if (literals.length === 0) {
    // Version documents: `/` lists the versions, `/v3` or `/v2.1/` shows the current one.
    const root = path.split('/').every((s) => s === '');
    if (root) return method === 'head' ? { id: 'versions.check_list', method: 'checkVersions' } : { id: 'versions.list', method: 'listVersions' };
    return method === 'head' ? { id: 'version.check', method: 'checkCurrentVersion' } : { id: 'version.show', method: 'showCurrentVersion' };
  }
  const endsWithParam = segs.length > 0 && isParam(segs[segs.length - 1]!);
  const kind = endsWithParam ? 'item' : 'collection';
  // Keystone's PUT on an item that also has PATCH creates it with a chosen id.
  const verb = kind === 'item' && method === 'put' && opts.hasPatchTwin
    ? 'put'
    : VERB_BY_METHOD[kind][method as keyof (typeof VERB_BY_METHOD)['item']] ?? method;
  const id = [...literals, verb].join('.');
  // Method name: verb + resource words, each singular except a listed collection.
  const plural = kind === 'collection' && (verb === 'list' || verb === 'check_list' || verb === 'delete_all' || verb === 'replace');
  // `servers/detail` lists servers in detail: listServersDetail.
  const detail = plural && literals[literals.length - 1] === 'detail' ? literals.length - 2 : -1;
  const words = literals.map((w, i) => {
    const isLast = i === literals.length - 1;
    if ((isLast && plural) || i === detail) return w;
    return singular(w);
  });
  const verbWord = verb === 'check_list' ? 'check' : verb === 'delete_all' ? 'deleteAll' : verb;
  const methodName = camel(verbWord) + words.map((w) => camel(w, true)).join('');
  return { id, method: methodName };
}

/** `os-getVNCConsole` → `get_vnc_console`; `createImage` → `create_image`. */
export function normalizeAction(action: string): string {
  return action
    .replace(/^os-/i, '')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.]/g, '_')
    .toLowerCase();
}

/**
 * Name of one `POST …/action` body: `servers/{id}/action` + `reboot` →
 * servers.action.reboot / rebootServer.
 */
export function deriveActionName(path: string, action: string): DerivedName {
  const segs = path.split('/').filter((s) => s !== '' && !VERSION_SEGMENT.test(s));
  const literals = segs.filter((s) => !isParam(s)).map(normalizeSegment).filter(Boolean);
  const resourceWords = literals.slice(0, -1); // drop the trailing `action`
  // `groups/{id}/action` acts on one item; `groups/action` on the collection.
  const onItem = segs.length >= 2 && isParam(segs[segs.length - 2]!);
  const a = normalizeAction(action);
  const id = [...resourceWords, onItem ? 'action' : 'collection_action', a].join('.');
  const methodName = camel(a) + resourceWords.map((w, i) =>
    camel(onItem || i < resourceWords.length - 1 ? singular(w) : w, true)).join('');
  return { id, method: methodName };
}
