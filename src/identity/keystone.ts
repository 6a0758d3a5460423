/**
 * Keystone v3 over the gateway's local identity backend: tokens, catalog,
 * domains, projects, users, groups, roles and assignments, regions, services,
 * endpoints, credentials, policies, application credentials.
 *
 * Entities are stored as JSON documents that keep any extra attributes a
 * client sends (Keystone does the same), so responses are built as plain
 * objects and cast to the generated response types; the contract tests check
 * every response against the spec at run time instead.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Reply } from '../../generated/common.js';
import type { IdentityDriver, IdentityRequest, IdentityResponse, RequestContext, IdentityMethodName } from '../../generated/index.js';
import { Fault } from '../faults.js';
import { catalogV3, endpointUrl, type Endpoint, type Region, type ServiceEntry } from './catalog.js';
import {
  DEFAULT_DOMAIN, IdentityService, Unauthorized, keystoneTime, newId,
  type AppCredential, type Domain, type Project, type Role, type Scope, type User, type ValidToken,
} from './service.js';
import type { Assignment, AssignmentType, Entity, Kind } from './store.js';
import { hashPassword, verifyPassword } from './passwords.js';

type Res<M extends IdentityMethodName> = IdentityResponse<M>;
type Req<M extends IdentityMethodName> = IdentityRequest<M>;
type Json = Record<string, unknown>;

/** The generated response types are stricter than Keystone's documents; see the file comment. */
const as = <M extends IdentityMethodName>(body: unknown) => body as Res<M>;

// ---- policy ----------------------------------------------------------------

function caller(ctx: RequestContext) {
  if (!ctx.auth) throw new Unauthorized();
  return ctx.auth;
}

/** Keystone's default policy for managing identity: the admin role. */
function requireAdmin(ctx: RequestContext, action: string): void {
  if (!caller(ctx).isAdmin) throw Fault.forbidden(`You are not authorized to perform the requested action: identity:${action}.`);
}

function requireSelfOrAdmin(ctx: RequestContext, userId: string, action: string): void {
  const a = caller(ctx);
  if (a.userId !== userId && !a.isAdmin) throw Fault.forbidden(`You are not authorized to perform the requested action: identity:${action}.`);
}

// ---- views -------------------------------------------------------------------

function selfLink(ctx: RequestContext, path: string) {
  return { self: `${ctx.endpoint}/v3/${path}` };
}

function listLinks(ctx: RequestContext) {
  return { self: ctx.url, previous: null, next: null };
}

/** Extra attributes a client stored, without the backend's own fields. */
function extra(e: Entity, hidden: string[] = []): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(e)) if (!hidden.includes(k) && k !== 'managed' && !k.endsWith('_hash')) out[k] = v;
  return out;
}

function domainView(ctx: RequestContext, d: Domain) {
  return { description: '', tags: [], options: {}, ...extra(d), links: selfLink(ctx, `domains/${d.id}`) };
}
function projectView(ctx: RequestContext, p: Project, tags: string[]) {
  return { description: '', options: {}, ...extra(p), tags, links: selfLink(ctx, `projects/${p.id}`) };
}
function userView(ctx: RequestContext, u: User) {
  return { options: {}, password_expires_at: null, ...extra(u, ['created_at']), links: selfLink(ctx, `users/${u.id}`) };
}
function groupView(ctx: RequestContext, g: Entity) {
  return { description: '', ...extra(g), links: selfLink(ctx, `groups/${g.id}`) };
}
function roleView(ctx: RequestContext, r: Role) {
  return { description: null, options: {}, ...extra(r), links: selfLink(ctx, `roles/${r.id}`) };
}
function regionView(ctx: RequestContext, r: Region) {
  return { description: '', parent_region_id: null, ...extra(r), links: selfLink(ctx, `regions/${r.id}`) };
}
function serviceView(ctx: RequestContext, s: ServiceEntry) {
  return { description: '', ...extra(s), links: selfLink(ctx, `services/${s.id}`) };
}
function endpointView(ctx: RequestContext, publicBase: string, e: Endpoint) {
  return { ...extra(e), url: endpointUrl(e.url, publicBase), region: e.region_id, links: selfLink(ctx, `endpoints/${e.id}`) };
}
function plainView(ctx: RequestContext, path: string) {
  return (e: Entity) => ({ ...extra(e), links: selfLink(ctx, `${path}/${e.id}`) });
}

/** `enabled=false`, `name=x`: Keystone's exact-match list filters on attributes. */
function filterBy<T extends Entity>(items: T[], query: Record<string, unknown>, keys: string[]): T[] {
  let out = items;
  for (const key of keys) {
    const raw = query[key];
    if (raw === undefined || raw === null || raw === '') continue;
    const want = String(raw);
    out = out.filter((e) => {
      const v = e[key];
      if (typeof v === 'boolean') return v === !['false', '0', 'f', 'no'].includes(want.toLowerCase());
      return String(v ?? '') === want;
    });
  }
  return out;
}

function bodyOf<T extends Json>(body: unknown, key: string): T {
  const b = (body as Json | undefined)?.[key];
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw Fault.badRequest(`Expecting to find ${key} in request body.`);
  return b as T;
}

function publicBaseOf(ctx: RequestContext): string {
  return ctx.endpoint.replace(/\/identity$/, '');
}

export class KeystoneIdentity implements IdentityDriver {
  constructor(private readonly id: IdentityService) {}

  private get store() { return this.id.store; }

  private need<T extends Entity>(kind: Kind, id: string, what: string = kind): T {
    const e = this.store.get<T>(kind, id);
    if (!e) throw Fault.notFound(`Could not find ${what}: ${id}.`);
    return e;
  }

  // ---- tokens ----------------------------------------------------------------

  /** The body Keystone answers for a token (POST, GET /v3/auth/tokens). */
  tokenBody(ctx: RequestContext, v: ValidToken, withCatalog: boolean) {
    const domainRef = (id: string) => ({ id, name: this.id.domain(id)?.name ?? id });
    const token: Json = {
      methods: v.claims.m,
      user: { domain: domainRef(v.user.domain_id), id: v.user.id, name: v.user.name, password_expires_at: v.user.password_expires_at ?? null },
      audit_ids: v.claims.a,
      expires_at: keystoneTime(v.claims.e),
      issued_at: keystoneTime(v.claims.i),
    };
    const s = v.scope;
    if (s && 'project' in s) {
      token.project = { domain: domainRef(s.project.domain_id), id: s.project.id, name: s.project.name };
      token.is_domain = false;
    }
    if (s && 'domain' in s) token.domain = { id: s.domain.id, name: s.domain.name };
    if (s && 'system' in s) token.system = { all: true };
    if (s) token.roles = v.roles.map((r) => ({ id: r.id, name: r.name }));
    if (v.appCredential) token.application_credential = { id: v.appCredential.id, name: v.appCredential.name, restricted: !v.appCredential.unrestricted };
    if (s && withCatalog) token.catalog = catalogV3(this.id, publicBaseOf(ctx));
    return { token };
  }

  private scopeFrom(scope: Json | undefined, user: User): Scope {
    if (!scope) {
      // Unscoped request: the user's default project, when they hold a role there.
      const pid = user.default_project_id;
      const project = pid ? this.id.project(pid) : undefined;
      if (project && project.enabled && this.id.rolesFor(user.id, { project }).length) return { project };
      return null;
    }
    if (scope.project) {
      const ref = scope.project as { id?: string; name?: string; domain?: { id?: string; name?: string } };
      let project: Project | undefined;
      if (ref.id) project = this.id.project(ref.id);
      else if (ref.name) {
        const d = this.id.resolveDomain(ref.domain);
        if (!d) throw new Unauthorized('Could not find the project\'s domain.');
        project = this.id.projectByName(d.id, ref.name);
      }
      if (!project) throw new Unauthorized(`Could not find project: ${ref.id ?? ref.name}.`);
      return { project };
    }
    if (scope.domain) {
      const domain = this.id.resolveDomain(scope.domain as { id?: string; name?: string });
      if (!domain) throw new Unauthorized('Could not find domain.');
      return { domain };
    }
    if (scope.system) return { system: true };
    if (scope['OS-TRUST:trust']) throw Fault.forbidden('Trusts are not supported by this deployment.');
    throw Fault.badRequest('Unknown scope.');
  }

  /** POST /v3/auth/tokens */
  async issueToken(req: Req<'issueToken'>) {
    const auth = bodyOf<Json>(req.body, 'auth');
    const identity = (auth.identity ?? {}) as Json;
    const methods = Array.isArray(identity.methods) ? identity.methods.map(String) : [];
    if (methods.length === 0) throw Fault.badRequest('Expecting to find identity.methods in the auth request.');
    let issued: { token: string; valid: ValidToken };
    if (methods.includes('application_credential')) {
      const ac = (identity.application_credential ?? {}) as { id?: string; name?: string; secret?: string; user?: { id?: string; name?: string; domain?: { id?: string; name?: string } } };
      let cred: AppCredential | undefined;
      if (ac.id) cred = this.store.get<AppCredential>('app_credential', ac.id);
      else if (ac.name && ac.user) {
        const d = this.id.resolveDomain(ac.user.domain ?? { id: DEFAULT_DOMAIN });
        const user = ac.user.id ? this.id.user(ac.user.id) : d && ac.user.name ? this.id.userByName(d.id, ac.user.name) : undefined;
        cred = user ? this.store.findUnique<AppCredential>('app_credential', `${user.id}/${ac.name}`) : undefined;
      }
      if (!cred || !ac.secret || !(await verifyPassword(ac.secret, cred.secret_hash))) throw new Unauthorized('Invalid application credential.');
      if (cred.expires_at && Date.parse(cred.expires_at) <= Date.now()) throw new Unauthorized('The application credential has expired.');
      const user = this.id.user(cred.user_id);
      const project = this.id.project(cred.project_id);
      if (!user || !project) throw new Unauthorized('Invalid application credential.');
      if (auth.scope) throw new Unauthorized('An application credential is already scoped; it cannot be rescoped.');
      issued = this.id.issue({ user, methods: ['application_credential'], scope: { project }, appCredential: cred });
    } else if (methods.includes('password')) {
      const pw = ((identity.password ?? {}) as Json).user as { id?: string; name?: string; password?: string; domain?: { id?: string; name?: string } } | undefined;
      if (!pw || (!pw.id && !pw.name) || typeof pw.password !== 'string') throw Fault.badRequest('Expecting to find a user (id, or name and domain) and a password.');
      if (pw.name && !pw.id && !pw.domain) throw Fault.badRequest('Expecting to find domain in user (a user name is unique within its domain).');
      const { user, backendCredential } = await this.id.checkPassword({ userId: pw.id, userName: pw.name, domain: pw.domain, password: pw.password });
      issued = this.id.issue({ user, methods: ['password'], scope: this.scopeFrom(auth.scope as Json | undefined, user), backendCredential });
    } else if (methods.includes('token')) {
      const tid = ((identity.token ?? {}) as Json).id;
      if (typeof tid !== 'string') throw Fault.badRequest('Expecting to find identity.token.id.');
      const old = this.id.validate(tid);
      if (old.appCredential && auth.scope) throw Fault.forbidden('A token from an application credential cannot be rescoped.');
      if (old.scope && auth.scope) {
        // Keystone allows rescoping an unscoped token only (a scoped one keeps its scope).
        const next = this.scopeFrom(auth.scope as Json, old.user);
        const same = JSON.stringify(next) === JSON.stringify(old.scope);
        if (!same) throw Fault.forbidden('A scoped token cannot be rescoped.');
      }
      const scope = auth.scope ? this.scopeFrom(auth.scope as Json, old.user) : old.scope;
      issued = this.id.issue({
        user: old.user, methods: [...new Set([...old.claims.m, 'token'])], scope, parentAuditIds: old.claims.a,
        expiresAt: old.claims.e, appCredential: old.appCredential, backendCredential: old.claims.b,
      });
    } else {
      throw new Unauthorized(`Unsupported auth method: ${methods.join(', ')}.`);
    }
    const nocatalog = (req.query as Json).nocatalog !== undefined;
    return new Reply(as<'issueToken'>(this.tokenBody(req.context, issued.valid, !nocatalog)), 201, { 'X-Subject-Token': issued.token });
  }

  private subject(req: { headers: Readonly<Record<string, string | undefined>>; context: RequestContext }): { token: string; valid: ValidToken } {
    const token = req.headers['x-subject-token'];
    if (!token) throw Fault.badRequest('X-Subject-Token is required.');
    let valid: ValidToken;
    try {
      valid = this.id.validate(token);
    } catch (err) {
      if (err instanceof Unauthorized) throw Fault.notFound('Could not find token.');
      throw err;
    }
    const me = caller(req.context);
    if (me.userId !== valid.user.id && !me.isAdmin && !me.roles.includes('service')) {
      throw Fault.forbidden('You are not authorized to perform the requested action: identity:validate_token.');
    }
    return { token, valid };
  }

  /** GET (and HEAD) /v3/auth/tokens */
  async validateToken(req: Req<'validateToken'>) {
    const { token, valid } = this.subject(req);
    const nocatalog = (req.query as Json).nocatalog !== undefined;
    return new Reply(as<'validateToken'>(this.tokenBody(req.context, valid, !nocatalog)), 200, { 'X-Subject-Token': token });
  }

  /** DELETE /v3/auth/tokens */
  async revokeToken(req: Req<'revokeToken'>) {
    const { valid } = this.subject(req);
    this.id.revoke(valid);
  }

  async listAuthCatalog(req: Req<'listAuthCatalog'>) {
    const me = caller(req.context);
    if (!me.projectId && !me.domainId && !me.system) throw Fault.forbidden('The catalog needs a scoped token.');
    return as<'listAuthCatalog'>({ catalog: catalogV3(this.id, publicBaseOf(req.context)), links: listLinks(req.context) });
  }

  async listAuthProjects(req: Req<'listAuthProjects'>) {
    const me = caller(req.context);
    const projects = this.id.userProjects(me.userId).filter((p) => p.enabled);
    return as<'listAuthProjects'>({ projects: projects.map((p) => projectView(req.context, p, this.tags(p.id))), links: listLinks(req.context) });
  }

  async listAuthDomains(req: Req<'listAuthDomains'>) {
    const me = caller(req.context);
    const domains = this.id.userDomains(me.userId).filter((d) => d.enabled);
    return as<'listAuthDomains'>({ domains: domains.map((d) => domainView(req.context, d)), links: listLinks(req.context) });
  }

  async listAuthSystem(req: Req<'listAuthSystem'>) {
    const me = caller(req.context);
    const has = this.id.effectiveRoleIds(me.userId, { system: true }).size > 0;
    return as<'listAuthSystem'>({ system: has ? [{ all: true }] : [], links: listLinks(req.context) });
  }

  // ---- domains -----------------------------------------------------------------

  async listDomains(req: Req<'listDomains'>) {
    requireAdmin(req.context, 'list_domains');
    const items = filterBy(this.store.list<Domain>('domain'), req.query as Json, ['name', 'enabled']);
    return as<'listDomains'>({ domains: items.map((d) => domainView(req.context, d)), links: listLinks(req.context) });
  }

  async createDomain(req: Req<'createDomain'>) {
    requireAdmin(req.context, 'create_domain');
    const b = bodyOf<Json>(req.body, 'domain');
    const d: Domain = { description: '', ...b, id: typeof b.explicit_domain_id === 'string' ? b.explicit_domain_id : newId(), name: String(b.name), enabled: b.enabled !== false };
    delete d.explicit_domain_id;
    this.store.create('domain', d, d.name, `Conflict occurred attempting to store domain - Duplicate entry found with name ${d.name}.`);
    return as<'createDomain'>({ domain: domainView(req.context, d) });
  }

  async showDomain(req: Req<'showDomain'>) {
    const d = this.need<Domain>('domain', req.path.domain_id);
    const me = caller(req.context);
    if (!me.isAdmin && me.domainId !== d.id && me.projectDomainId !== d.id && me.userDomainId !== d.id) requireAdmin(req.context, 'get_domain');
    return as<'showDomain'>({ domain: domainView(req.context, d) });
  }

  async updateDomain(req: Req<'updateDomain'>) {
    requireAdmin(req.context, 'update_domain');
    const d = this.need<Domain>('domain', req.path.domain_id);
    const b = bodyOf<Json>(req.body, 'domain');
    if (b.id && b.id !== d.id) throw Fault.badRequest('Cannot change the id of a domain.');
    const next: Domain = { ...d, ...b, id: d.id };
    this.store.put('domain', next, next.name, `Conflict occurred attempting to store domain - Duplicate entry found with name ${next.name}.`);
    if (d.enabled && next.enabled === false) this.revokeDomainTokens(d.id);
    return as<'updateDomain'>({ domain: domainView(req.context, next) });
  }

  async deleteDomain(req: Req<'deleteDomain'>) {
    requireAdmin(req.context, 'delete_domain');
    const d = this.need<Domain>('domain', req.path.domain_id);
    if (d.enabled) throw Fault.forbidden('Cannot delete a domain that is enabled, please disable it first.');
    if (d.id === DEFAULT_DOMAIN) throw Fault.forbidden('Cannot delete the default domain.');
    this.store.tx(() => {
      for (const kind of ['project', 'user', 'group'] as const) {
        for (const e of this.store.list<Entity & { domain_id?: string }>(kind)) {
          if (e.domain_id === d.id) { this.store.delete(kind, e.id); this.store.dropAssignments(e.id); }
        }
      }
      this.store.dropAssignments(d.id);
      this.store.delete('domain', d.id);
    });
  }

  private revokeDomainTokens(domainId: string): void {
    for (const u of this.store.list<User>('user')) if (u.domain_id === domainId) this.store.revokeUserTokens(u.id, null, this.id.tokenTtlMs);
  }

  // ---- projects ------------------------------------------------------------------

  private tags(projectId: string): string[] {
    return this.store.links('project_tag', 'a', projectId);
  }

  async listProjects(req: Req<'listProjects'>) {
    const me = caller(req.context);
    const q = req.query as Json;
    let items = this.store.list<Project>('project').filter((p) => !p.is_domain || q.is_domain === 'true');
    if (!me.isAdmin) {
      // A domain-scoped or plain user sees what they have roles on.
      const mine = new Set(this.id.userProjects(me.userId).map((p) => p.id));
      items = items.filter((p) => mine.has(p.id));
    }
    items = filterBy(items, q, ['name', 'enabled', 'domain_id', 'parent_id']);
    for (const [key, any] of [['tags', false], ['tags-any', true]] as const) {
      const want = q[key] ? String(q[key]).split(',') : null;
      if (want) items = items.filter((p) => (any ? want.some((t) => this.tags(p.id).includes(t)) : want.every((t) => this.tags(p.id).includes(t))));
    }
    for (const [key, any] of [['not-tags', false], ['not-tags-any', true]] as const) {
      const want = q[key] ? String(q[key]).split(',') : null;
      if (want) items = items.filter((p) => !(any ? want.some((t) => this.tags(p.id).includes(t)) : want.every((t) => this.tags(p.id).includes(t))));
    }
    return as<'listProjects'>({ projects: items.map((p) => projectView(req.context, p, this.tags(p.id))), links: listLinks(req.context) });
  }

  async createProject(req: Req<'createProject'>) {
    requireAdmin(req.context, 'create_project');
    const b = bodyOf<Json>(req.body, 'project');
    const me = caller(req.context);
    let domainId = typeof b.domain_id === 'string' ? b.domain_id : undefined;
    const parent = typeof b.parent_id === 'string' ? this.store.get<Project>('project', b.parent_id) : undefined;
    if (b.parent_id && !parent && !this.id.domain(String(b.parent_id))) throw Fault.notFound(`Could not find project: ${String(b.parent_id)}.`);
    domainId ??= parent?.domain_id ?? (b.parent_id ? String(b.parent_id) : undefined) ?? me.domainId ?? me.projectDomainId ?? DEFAULT_DOMAIN;
    if (!this.id.domain(domainId)) throw Fault.notFound(`Could not find domain: ${domainId}.`);
    if (parent && parent.domain_id !== domainId) throw Fault.badRequest('A project must be in the domain of its parent.');
    if (typeof b.name !== 'string' || b.name.trim() === '') throw Fault.badRequest('Invalid input for field \'name\': a project needs a name.');
    const tags = Array.isArray(b.tags) ? b.tags.map(String) : [];
    const { tags: _t, ...rest } = b;
    const p: Project = {
      description: '', ...rest, id: newId(), name: b.name, domain_id: domainId, enabled: b.enabled !== false,
      parent_id: parent?.id ?? domainId, is_domain: false,
    };
    this.store.tx(() => {
      this.store.create('project', p, `${p.domain_id}/${p.name}`, `Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : ${p.name}.`);
      for (const t of tags) this.store.link('project_tag', p.id, t);
    });
    return as<'createProject'>({ project: projectView(req.context, p, tags) });
  }

  async showProject(req: Req<'showProject'>) {
    const p = this.need<Project>('project', req.path.project_id);
    const me = caller(req.context);
    if (!me.isAdmin && me.projectId !== p.id && !this.id.userProjects(me.userId).some((x) => x.id === p.id)) requireAdmin(req.context, 'get_project');
    return as<'showProject'>({ project: projectView(req.context, p, this.tags(p.id)) });
  }

  async updateProject(req: Req<'updateProject'>) {
    requireAdmin(req.context, 'update_project');
    const p = this.need<Project>('project', req.path.project_id);
    const b = bodyOf<Json>(req.body, 'project');
    if (b.domain_id !== undefined && b.domain_id !== p.domain_id) throw Fault.badRequest('Cannot change the domain of a project.');
    if (b.is_domain !== undefined && b.is_domain !== p.is_domain) throw Fault.badRequest('Cannot change is_domain of a project.');
    if (b.parent_id !== undefined && b.parent_id !== p.parent_id) throw Fault.forbidden('Cannot change the parent of a project.');
    const { tags, ...rest } = b;
    const next: Project = { ...p, ...rest, id: p.id };
    this.store.tx(() => {
      this.store.put('project', next, `${next.domain_id}/${next.name}`, `Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : ${next.name}.`);
      if (Array.isArray(tags)) {
        this.store.unlinkAll('project_tag', 'a', p.id);
        for (const t of tags) this.store.link('project_tag', p.id, String(t));
      }
    });
    return as<'updateProject'>({ project: projectView(req.context, next, this.tags(p.id)) });
  }

  async deleteProject(req: Req<'deleteProject'>) {
    requireAdmin(req.context, 'delete_project');
    const p = this.need<Project>('project', req.path.project_id);
    if (this.store.list<Project>('project').some((c) => c.parent_id === p.id)) {
      throw Fault.forbidden(`Cannot delete the project ${p.id} since it is not a leaf in the hierarchy.`);
    }
    this.store.tx(() => {
      this.store.delete('project', p.id);
      this.store.dropAssignments(p.id);
      this.store.unlinkAll('project_tag', 'a', p.id);
    });
  }

  // project tags (Keystone: PUT/GET/HEAD/DELETE /v3/projects/{id}/tags[/{tag}])

  async listProjectTags(req: Req<'listProjectTags'>) {
    this.need<Project>('project', req.path.project_id);
    return as<'listProjectTags'>({ tags: this.tags(req.path.project_id) });
  }

  async replaceProjectTags(req: Req<'replaceProjectTags'>) {
    requireAdmin(req.context, 'update_project_tags');
    this.need<Project>('project', req.path.project_id);
    const tags = (req.body as { tags?: unknown }).tags;
    if (!Array.isArray(tags) || tags.length > 80) throw Fault.badRequest('Expecting a list of at most 80 tags.');
    this.store.tx(() => {
      this.store.unlinkAll('project_tag', 'a', req.path.project_id);
      for (const t of tags) this.store.link('project_tag', req.path.project_id, String(t));
    });
    return as<'replaceProjectTags'>({ tags: this.tags(req.path.project_id) });
  }

  async deleteAllProjectTags(req: Req<'deleteAllProjectTags'>) {
    requireAdmin(req.context, 'delete_project_tags');
    this.need<Project>('project', req.path.project_id);
    this.store.unlinkAll('project_tag', 'a', req.path.project_id);
  }

  async showProjectTag(req: Req<'showProjectTag'>) {
    this.need<Project>('project', req.path.project_id);
    if (!this.store.linked('project_tag', req.path.project_id, req.path.value)) throw Fault.notFound(`Could not find tag: ${req.path.value}.`);
    return new Reply(undefined, 204) as unknown as Res<'showProjectTag'>;
  }

  async updateProjectTag(req: Req<'updateProjectTag'>) {
    requireAdmin(req.context, 'create_project_tag');
    this.need<Project>('project', req.path.project_id);
    if (req.path.value.length > 255 || req.path.value.includes('/') || req.path.value.includes(',')) throw Fault.badRequest('Invalid tag.');
    this.store.link('project_tag', req.path.project_id, req.path.value);
    return new Reply(undefined, 201, { Location: `${req.context.endpoint}/v3/projects/${req.path.project_id}/tags/${encodeURIComponent(req.path.value)}` }) as unknown as Res<'updateProjectTag'>;
  }

  async deleteProjectTag(req: Req<'deleteProjectTag'>) {
    requireAdmin(req.context, 'delete_project_tag');
    this.need<Project>('project', req.path.project_id);
    if (!this.store.unlink('project_tag', req.path.project_id, req.path.value)) throw Fault.notFound(`Could not find tag: ${req.path.value}.`);
  }

  // ---- users -------------------------------------------------------------------

  async listUsers(req: Req<'listUsers'>) {
    requireAdmin(req.context, 'list_users');
    const items = filterBy(this.store.list<User>('user'), req.query as Json, ['name', 'enabled', 'domain_id']);
    return as<'listUsers'>({ users: items.map((u) => userView(req.context, u)), links: listLinks(req.context) });
  }

  async createUser(req: Req<'createUser'>) {
    requireAdmin(req.context, 'create_user');
    const b = bodyOf<Json>(req.body, 'user');
    const me = caller(req.context);
    const domainId = typeof b.domain_id === 'string' ? b.domain_id : me.domainId ?? me.projectDomainId ?? DEFAULT_DOMAIN;
    if (!this.id.domain(domainId)) throw Fault.notFound(`Could not find domain: ${domainId}.`);
    if (typeof b.name !== 'string' || !b.name) throw Fault.badRequest('Invalid input for field \'name\': a user needs a name.');
    if (b.default_project_id && !this.id.project(String(b.default_project_id))) throw Fault.notFound(`Could not find project: ${String(b.default_project_id)}.`);
    const { password, ...rest } = b;
    const u: User = { ...rest, id: newId(), name: b.name, domain_id: domainId, enabled: b.enabled !== false, created_at: new Date().toISOString() };
    if (typeof password === 'string') u.password_hash = await hashPassword(password);
    this.store.create('user', u, `${u.domain_id}/${u.name}`, `Conflict occurred attempting to store user - Duplicate entry found with name ${u.name} at domain ID ${u.domain_id}.`);
    return as<'createUser'>({ user: userView(req.context, u) });
  }

  async showUser(req: Req<'showUser'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'get_user');
    return as<'showUser'>({ user: userView(req.context, this.need<User>('user', req.path.user_id)) });
  }

  async updateUser(req: Req<'updateUser'>) {
    requireAdmin(req.context, 'update_user');
    const u = this.need<User>('user', req.path.user_id);
    const b = bodyOf<Json>(req.body, 'user');
    if (b.id !== undefined && b.id !== u.id) throw Fault.badRequest('Cannot change the id of a user.');
    if (b.domain_id !== undefined && b.domain_id !== u.domain_id) throw Fault.badRequest('Cannot change the domain of a user.');
    const { password, ...rest } = b;
    const next: User = { ...u, ...rest, id: u.id };
    if (typeof password === 'string') {
      next.password_hash = await hashPassword(password);
    }
    this.store.tx(() => {
      this.store.put('user', next, `${next.domain_id}/${next.name}`, `Conflict occurred attempting to store user - Duplicate entry found with name ${next.name} at domain ID ${next.domain_id}.`);
      if (typeof password === 'string' || (u.enabled && next.enabled === false)) this.store.revokeUserTokens(u.id, null, this.id.tokenTtlMs);
    });
    return as<'updateUser'>({ user: userView(req.context, next) });
  }

  async deleteUser(req: Req<'deleteUser'>) {
    requireAdmin(req.context, 'delete_user');
    const u = this.need<User>('user', req.path.user_id);
    this.store.tx(() => {
      this.store.delete('user', u.id);
      this.store.dropAssignments(u.id);
      this.store.unlinkAll('group_member', 'b', u.id);
      for (const ac of this.store.list<AppCredential>('app_credential')) if (ac.user_id === u.id) this.store.delete('app_credential', ac.id);
    });
  }

  /** POST /v3/users/{user_id}/password: self-service password change. */
  async createUserPassword(req: Req<'createUserPassword'>) {
    const me = caller(req.context);
    if (me.userId !== req.path.user_id) throw Fault.forbidden('You can only change your own password.');
    const u = this.need<User>('user', req.path.user_id);
    const b = bodyOf<{ password?: string; original_password?: string }>(req.body, 'user');
    if (typeof b.password !== 'string' || typeof b.original_password !== 'string') throw Fault.badRequest('Expecting password and original_password.');
    if (!(await verifyPassword(b.original_password, u.password_hash))) throw new Unauthorized('The original password is wrong.');
    u.password_hash = await hashPassword(b.password);
    this.store.tx(() => {
      this.store.put('user', u, `${u.domain_id}/${u.name}`, 'conflict');
      this.store.revokeUserTokens(u.id, null, this.id.tokenTtlMs);
    });
  }

  async listUserProjects(req: Req<'listUserProjects'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'list_user_projects');
    this.need<User>('user', req.path.user_id);
    const items = filterBy(this.id.userProjects(req.path.user_id), req.query as Json, ['name', 'enabled', 'domain_id']);
    return as<'listUserProjects'>({ projects: items.map((p) => projectView(req.context, p, this.tags(p.id))), links: listLinks(req.context) });
  }

  async listUserGroups(req: Req<'listUserGroups'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'list_groups_for_user');
    this.need<User>('user', req.path.user_id);
    const groups = this.id.groupsOf(req.path.user_id).map((g) => this.store.get<Entity>('group', g)).filter((g): g is Entity => Boolean(g));
    return as<'listUserGroups'>({ groups: groups.map((g) => groupView(req.context, g)), links: listLinks(req.context) });
  }

  // ---- groups ------------------------------------------------------------------

  async listGroups(req: Req<'listGroups'>) {
    requireAdmin(req.context, 'list_groups');
    const items = filterBy(this.store.list<Entity>('group'), req.query as Json, ['name', 'domain_id']);
    return as<'listGroups'>({ groups: items.map((g) => groupView(req.context, g)), links: listLinks(req.context) });
  }

  async createGroup(req: Req<'createGroup'>) {
    requireAdmin(req.context, 'create_group');
    const b = bodyOf<Json>(req.body, 'group');
    const me = caller(req.context);
    const domainId = typeof b.domain_id === 'string' ? b.domain_id : me.domainId ?? me.projectDomainId ?? DEFAULT_DOMAIN;
    if (!this.id.domain(domainId)) throw Fault.notFound(`Could not find domain: ${domainId}.`);
    if (typeof b.name !== 'string' || !b.name) throw Fault.badRequest('A group needs a name.');
    const g: Entity = { description: '', ...b, id: newId(), name: b.name, domain_id: domainId };
    this.store.create('group', g, `${domainId}/${b.name}`, `Conflict occurred attempting to store group - Duplicate entry found with name ${b.name}.`);
    return as<'createGroup'>({ group: groupView(req.context, g) });
  }

  async showGroup(req: Req<'showGroup'>) {
    requireAdmin(req.context, 'get_group');
    return as<'showGroup'>({ group: groupView(req.context, this.need<Entity>('group', req.path.group_id)) });
  }

  async updateGroup(req: Req<'updateGroup'>) {
    requireAdmin(req.context, 'update_group');
    const g = this.need<Entity & { domain_id: string; name: string }>('group', req.path.group_id);
    const b = bodyOf<Json>(req.body, 'group');
    if (b.domain_id !== undefined && b.domain_id !== g.domain_id) throw Fault.badRequest('Cannot change the domain of a group.');
    const next = { ...g, ...b, id: g.id };
    this.store.put('group', next, `${next.domain_id}/${String(next.name)}`, `Conflict occurred attempting to store group - Duplicate entry found with name ${String(next.name)}.`);
    return as<'updateGroup'>({ group: groupView(req.context, next) });
  }

  async deleteGroup(req: Req<'deleteGroup'>) {
    requireAdmin(req.context, 'delete_group');
    const g = this.need<Entity>('group', req.path.group_id);
    this.store.tx(() => {
      this.store.delete('group', g.id);
      this.store.unlinkAll('group_member', 'a', g.id);
      this.store.dropAssignments(g.id);
    });
  }

  async listGroupUsers(req: Req<'listGroupUsers'>) {
    requireAdmin(req.context, 'list_users_in_group');
    this.need<Entity>('group', req.path.group_id);
    const users = this.store.links('group_member', 'a', req.path.group_id).map((u) => this.id.user(u)).filter((u): u is User => Boolean(u));
    return as<'listGroupUsers'>({ users: filterBy(users, req.query as Json, ['name', 'enabled']).map((u) => userView(req.context, u)), links: listLinks(req.context) });
  }

  async updateGroupUser(req: Req<'updateGroupUser'>) {
    requireAdmin(req.context, 'add_user_to_group');
    this.need<Entity>('group', req.path.group_id);
    this.need<User>('user', req.path.user_id);
    this.store.link('group_member', req.path.group_id, req.path.user_id);
  }

  async showGroupUser(req: Req<'showGroupUser'>) {
    requireAdmin(req.context, 'check_user_in_group');
    this.need<Entity>('group', req.path.group_id);
    this.need<User>('user', req.path.user_id);
    if (!this.store.linked('group_member', req.path.group_id, req.path.user_id)) throw Fault.notFound(`User ${req.path.user_id} is not a member of group ${req.path.group_id}.`);
    return new Reply(undefined, 204) as unknown as Res<'showGroupUser'>;
  }

  async deleteGroupUser(req: Req<'deleteGroupUser'>) {
    requireAdmin(req.context, 'remove_user_from_group');
    this.need<Entity>('group', req.path.group_id);
    this.need<User>('user', req.path.user_id);
    if (!this.store.unlink('group_member', req.path.group_id, req.path.user_id)) throw Fault.notFound(`User ${req.path.user_id} is not a member of group ${req.path.group_id}.`);
    this.store.revokeUserTokens(req.path.user_id, null, this.id.tokenTtlMs);
  }

  // ---- roles -------------------------------------------------------------------

  async listRoles(req: Req<'listRoles'>) {
    const q = req.query as Json;
    let items = this.store.list<Role>('role');
    items = q.domain_id ? items.filter((r) => r.domain_id === q.domain_id) : items.filter((r) => !r.domain_id);
    items = filterBy(items, q, ['name']);
    return as<'listRoles'>({ roles: items.map((r) => roleView(req.context, r)), links: listLinks(req.context) });
  }

  async createRole(req: Req<'createRole'>) {
    requireAdmin(req.context, 'create_role');
    const b = bodyOf<Json>(req.body, 'role');
    if (typeof b.name !== 'string' || !b.name) throw Fault.badRequest('A role needs a name.');
    if (b.domain_id && !this.id.domain(String(b.domain_id))) throw Fault.notFound(`Could not find domain: ${String(b.domain_id)}.`);
    const r: Role = { description: null, ...b, id: newId(), name: b.name, domain_id: typeof b.domain_id === 'string' ? b.domain_id : null };
    this.store.create('role', r, `${r.domain_id ?? ''}/${r.name}`, `Conflict occurred attempting to store role - Duplicate entry found with name ${r.name}.`);
    return as<'createRole'>({ role: roleView(req.context, r) });
  }

  async showRole(req: Req<'showRole'>) {
    return as<'showRole'>({ role: roleView(req.context, this.need<Role>('role', req.path.role_id)) });
  }

  async updateRole(req: Req<'updateRole'>) {
    requireAdmin(req.context, 'update_role');
    const r = this.need<Role>('role', req.path.role_id);
    const b = bodyOf<Json>(req.body, 'role');
    if (b.domain_id !== undefined && b.domain_id !== r.domain_id) throw Fault.badRequest('Cannot change the domain of a role.');
    const next: Role = { ...r, ...b, id: r.id, domain_id: r.domain_id };
    this.store.put('role', next, `${next.domain_id ?? ''}/${next.name}`, `Conflict occurred attempting to store role - Duplicate entry found with name ${next.name}.`);
    return as<'updateRole'>({ role: roleView(req.context, next) });
  }

  async deleteRole(req: Req<'deleteRole'>) {
    requireAdmin(req.context, 'delete_role');
    const r = this.need<Role>('role', req.path.role_id);
    this.store.tx(() => {
      this.store.delete('role', r.id);
      this.store.dropAssignments(r.id);
      this.store.unlinkAll('implied_role', 'a', r.id);
      this.store.unlinkAll('implied_role', 'b', r.id);
    });
  }

  // implied roles

  private inferenceRef(ctx: RequestContext, r: Role) {
    return { id: r.id, name: r.name, links: selfLink(ctx, `roles/${r.id}`) };
  }

  async listRoleImplies(req: Req<'listRoleImplies'>) {
    const prior = this.need<Role>('role', req.path.prior_role_id);
    const implies = this.store.links('implied_role', 'a', prior.id).map((id) => this.id.role(id)).filter((r): r is Role => Boolean(r));
    return as<'listRoleImplies'>({
      role_inference: { prior_role: this.inferenceRef(req.context, prior), implies: implies.map((r) => this.inferenceRef(req.context, r)) },
      links: selfLink(req.context, `roles/${prior.id}/implies`),
    });
  }

  async updateRoleImply(req: Req<'updateRoleImply'>) {
    requireAdmin(req.context, 'create_implied_role');
    const prior = this.need<Role>('role', req.path.prior_role_id);
    const implied = this.need<Role>('role', req.path.implied_role_id);
    if (this.id.expandImplied([implied.id]).has(prior.id)) throw Fault.forbidden('Implied roles cannot form a cycle.');
    this.store.link('implied_role', prior.id, implied.id);
    return new Reply({
      role_inference: { prior_role: this.inferenceRef(req.context, prior), implies: this.inferenceRef(req.context, implied) },
      links: selfLink(req.context, `roles/${prior.id}/implies/${implied.id}`),
    }, 201) as unknown as Res<'updateRoleImply'>;
  }

  async showRoleImply(req: Req<'showRoleImply'>) {
    const prior = this.need<Role>('role', req.path.prior_role_id);
    const implied = this.need<Role>('role', req.path.implied_role_id);
    if (!this.store.linked('implied_role', prior.id, implied.id)) throw Fault.notFound(`${prior.id} does not imply ${implied.id}.`);
    return as<'showRoleImply'>({
      role_inference: { prior_role: this.inferenceRef(req.context, prior), implies: this.inferenceRef(req.context, implied) },
      links: selfLink(req.context, `roles/${prior.id}/implies/${implied.id}`),
    });
  }

  async deleteRoleImply(req: Req<'deleteRoleImply'>) {
    requireAdmin(req.context, 'delete_implied_role');
    this.need<Role>('role', req.path.prior_role_id);
    this.need<Role>('role', req.path.implied_role_id);
    if (!this.store.unlink('implied_role', req.path.prior_role_id, req.path.implied_role_id)) throw Fault.notFound('Could not find the implied role.');
  }

  async listRoleInferences(req: Req<'listRoleInferences'>) {
    const byPrior = new Map<string, string[]>();
    for (const { a, b } of this.store.allLinks('implied_role')) byPrior.set(a, [...(byPrior.get(a) ?? []), b]);
    const role_inferences = [...byPrior].map(([p, imps]) => ({
      prior_role: this.inferenceRef(req.context, this.id.role(p)!),
      implies: imps.map((i) => this.id.role(i)).filter((r): r is Role => Boolean(r)).map((r) => this.inferenceRef(req.context, r)),
    }));
    return as<'listRoleInferences'>({ role_inferences, links: listLinks(req.context) });
  }

  // ---- grants (project, domain, system; users and groups; inherited) ----------

  private grant(ctx: RequestContext, a: Assignment, op: 'put' | 'check' | 'delete'): void {
    requireAdmin(ctx, `${op}_grant`);
    this.need<Role>('role', a.role_id);
    this.need<Entity>(a.type.startsWith('User') ? 'user' : 'group', a.actor_id);
    if (a.type.endsWith('Project')) this.need<Project>('project', a.target_id);
    if (a.type.endsWith('Domain')) this.need<Domain>('domain', a.target_id);
    if (op === 'put') this.store.grant(a);
    else if (op === 'check') {
      if (!this.store.assignments(a).length) throw Fault.notFound(`Could not find role assignment with role: ${a.role_id}, actor: ${a.actor_id}, target: ${a.target_id}.`);
    } else {
      if (!this.store.revokeGrant(a)) throw Fault.notFound(`Could not find role assignment with role: ${a.role_id}, actor: ${a.actor_id}, target: ${a.target_id}.`);
      if (a.type.startsWith('User')) this.store.revokeUserTokens(a.actor_id, a.type === 'UserProject' ? a.target_id : null, this.id.tokenTtlMs);
      else for (const u of this.store.links('group_member', 'a', a.actor_id)) this.store.revokeUserTokens(u, null, this.id.tokenTtlMs);
    }
  }

  private grantedRoles(ctx: RequestContext, type: AssignmentType, actor: string, target: string, inherited: boolean) {
    requireAdmin(ctx, 'list_grants');
    this.need<Entity>(type.startsWith('User') ? 'user' : 'group', actor);
    const roles = this.store.assignments({ type, actor_id: actor, target_id: target, inherited })
      .map((a) => this.id.role(a.role_id)).filter((r): r is Role => Boolean(r));
    return { roles: roles.map((r) => roleView(ctx, r)), links: listLinks(ctx) };
  }

  private noBody(): Res<'showProjectUserRole'> {
    return new Reply(undefined, 204) as unknown as Res<'showProjectUserRole'>;
  }

  async updateProjectUserRole(req: Req<'updateProjectUserRole'>) { this.grant(req.context, { type: 'UserProject', actor_id: req.path.user_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: false }, 'put'); }
  async showProjectUserRole(req: Req<'showProjectUserRole'>) { this.grant(req.context, { type: 'UserProject', actor_id: req.path.user_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: false }, 'check'); return this.noBody(); }
  async deleteProjectUserRole(req: Req<'deleteProjectUserRole'>) { this.grant(req.context, { type: 'UserProject', actor_id: req.path.user_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: false }, 'delete'); }
  async listProjectUserRoles(req: Req<'listProjectUserRoles'>) { this.need<Project>('project', req.path.project_id); return as<'listProjectUserRoles'>(this.grantedRoles(req.context, 'UserProject', req.path.user_id, req.path.project_id, false)); }

  async updateProjectGroupRole(req: Req<'updateProjectGroupRole'>) { this.grant(req.context, { type: 'GroupProject', actor_id: req.path.group_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: false }, 'put'); }
  async showProjectGroupRole(req: Req<'showProjectGroupRole'>) { this.grant(req.context, { type: 'GroupProject', actor_id: req.path.group_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: false }, 'check'); return this.noBody() as unknown as Res<'showProjectGroupRole'>; }
  async deleteProjectGroupRole(req: Req<'deleteProjectGroupRole'>) { this.grant(req.context, { type: 'GroupProject', actor_id: req.path.group_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: false }, 'delete'); }
  async listProjectGroupRoles(req: Req<'listProjectGroupRoles'>) { this.need<Project>('project', req.path.project_id); return as<'listProjectGroupRoles'>(this.grantedRoles(req.context, 'GroupProject', req.path.group_id, req.path.project_id, false)); }

  async updateDomainUserRole(req: Req<'updateDomainUserRole'>) { this.grant(req.context, { type: 'UserDomain', actor_id: req.path.user_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: false }, 'put'); }
  async showDomainUserRole(req: Req<'showDomainUserRole'>) { this.grant(req.context, { type: 'UserDomain', actor_id: req.path.user_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: false }, 'check'); return this.noBody() as unknown as Res<'showDomainUserRole'>; }
  async deleteDomainUserRole(req: Req<'deleteDomainUserRole'>) { this.grant(req.context, { type: 'UserDomain', actor_id: req.path.user_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: false }, 'delete'); }
  async listDomainUserRoles(req: Req<'listDomainUserRoles'>) { this.need<Domain>('domain', req.path.domain_id); return as<'listDomainUserRoles'>(this.grantedRoles(req.context, 'UserDomain', req.path.user_id, req.path.domain_id, false)); }

  async updateDomainGroupRole(req: Req<'updateDomainGroupRole'>) { this.grant(req.context, { type: 'GroupDomain', actor_id: req.path.group_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: false }, 'put'); }
  async showDomainGroupRole(req: Req<'showDomainGroupRole'>) { this.grant(req.context, { type: 'GroupDomain', actor_id: req.path.group_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: false }, 'check'); return this.noBody() as unknown as Res<'showDomainGroupRole'>; }
  async deleteDomainGroupRole(req: Req<'deleteDomainGroupRole'>) { this.grant(req.context, { type: 'GroupDomain', actor_id: req.path.group_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: false }, 'delete'); }
  async listDomainGroupRoles(req: Req<'listDomainGroupRoles'>) { this.need<Domain>('domain', req.path.domain_id); return as<'listDomainGroupRoles'>(this.grantedRoles(req.context, 'GroupDomain', req.path.group_id, req.path.domain_id, false)); }

  async updateSystemUserRole(req: Req<'updateSystemUserRole'>) { this.grant(req.context, { type: 'UserSystem', actor_id: req.path.user_id, target_id: 'system', role_id: req.path.role_id, inherited: false }, 'put'); }
  async showSystemUserRole(req: Req<'showSystemUserRole'>) { this.grant(req.context, { type: 'UserSystem', actor_id: req.path.user_id, target_id: 'system', role_id: req.path.role_id, inherited: false }, 'check'); return this.noBody() as unknown as Res<'showSystemUserRole'>; }
  async deleteSystemUserRole(req: Req<'deleteSystemUserRole'>) { this.grant(req.context, { type: 'UserSystem', actor_id: req.path.user_id, target_id: 'system', role_id: req.path.role_id, inherited: false }, 'delete'); }
  async listSystemUserRoles(req: Req<'listSystemUserRoles'>) { return as<'listSystemUserRoles'>(this.grantedRoles(req.context, 'UserSystem', req.path.user_id, 'system', false)); }

  async updateSystemGroupRole(req: Req<'updateSystemGroupRole'>) { this.grant(req.context, { type: 'GroupSystem', actor_id: req.path.group_id, target_id: 'system', role_id: req.path.role_id, inherited: false }, 'put'); }
  async showSystemGroupRole(req: Req<'showSystemGroupRole'>) { this.grant(req.context, { type: 'GroupSystem', actor_id: req.path.group_id, target_id: 'system', role_id: req.path.role_id, inherited: false }, 'check'); return this.noBody() as unknown as Res<'showSystemGroupRole'>; }
  async deleteSystemGroupRole(req: Req<'deleteSystemGroupRole'>) { this.grant(req.context, { type: 'GroupSystem', actor_id: req.path.group_id, target_id: 'system', role_id: req.path.role_id, inherited: false }, 'delete'); }
  async listSystemGroupRoles(req: Req<'listSystemGroupRoles'>) { return as<'listSystemGroupRoles'>(this.grantedRoles(req.context, 'GroupSystem', req.path.group_id, 'system', false)); }

  // OS-INHERIT: grants on a domain or project that apply to the projects below it

  async replaceInheritDomainUserRoleInheritedToProjects(req: Req<'replaceInheritDomainUserRoleInheritedToProjects'>) { this.grant(req.context, { type: 'UserDomain', actor_id: req.path.user_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: true }, 'put'); }
  async showInheritedDomainUserRole(req: Req<'showInheritedDomainUserRole'>) { this.grant(req.context, { type: 'UserDomain', actor_id: req.path.user_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: true }, 'check'); return this.noBody() as unknown as Res<'showInheritedDomainUserRole'>; }
  async deleteAllInheritDomainUserRoleInheritedToProjects(req: Req<'deleteAllInheritDomainUserRoleInheritedToProjects'>) { this.grant(req.context, { type: 'UserDomain', actor_id: req.path.user_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: true }, 'delete'); }
  async listInheritDomainUserRoleInheritedToProjects(req: Req<'listInheritDomainUserRoleInheritedToProjects'>) { this.need<Domain>('domain', req.path.domain_id); return as<'listInheritDomainUserRoleInheritedToProjects'>(this.grantedRoles(req.context, 'UserDomain', req.path.user_id, req.path.domain_id, true)); }

  async replaceInheritDomainGroupRoleInheritedToProjects(req: Req<'replaceInheritDomainGroupRoleInheritedToProjects'>) { this.grant(req.context, { type: 'GroupDomain', actor_id: req.path.group_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: true }, 'put'); }
  async showInheritedDomainGroupRole(req: Req<'showInheritedDomainGroupRole'>) { this.grant(req.context, { type: 'GroupDomain', actor_id: req.path.group_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: true }, 'check'); return this.noBody() as unknown as Res<'showInheritedDomainGroupRole'>; }
  async deleteAllInheritDomainGroupRoleInheritedToProjects(req: Req<'deleteAllInheritDomainGroupRoleInheritedToProjects'>) { this.grant(req.context, { type: 'GroupDomain', actor_id: req.path.group_id, target_id: req.path.domain_id, role_id: req.path.role_id, inherited: true }, 'delete'); }
  async listInheritDomainGroupRoleInheritedToProjects(req: Req<'listInheritDomainGroupRoleInheritedToProjects'>) { this.need<Domain>('domain', req.path.domain_id); return as<'listInheritDomainGroupRoleInheritedToProjects'>(this.grantedRoles(req.context, 'GroupDomain', req.path.group_id, req.path.domain_id, true)); }

  async replaceInheritProjectUserRoleInheritedToProjects(req: Req<'replaceInheritProjectUserRoleInheritedToProjects'>) { this.grant(req.context, { type: 'UserProject', actor_id: req.path.user_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: true }, 'put'); }
  async listInheritProjectUserRoleInheritedToProjects(req: Req<'listInheritProjectUserRoleInheritedToProjects'>) { this.grant(req.context, { type: 'UserProject', actor_id: req.path.user_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: true }, 'check'); return this.noBody() as unknown as Res<'listInheritProjectUserRoleInheritedToProjects'>; }
  async deleteAllInheritProjectUserRoleInheritedToProjects(req: Req<'deleteAllInheritProjectUserRoleInheritedToProjects'>) { this.grant(req.context, { type: 'UserProject', actor_id: req.path.user_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: true }, 'delete'); }

  async replaceInheritProjectGroupRoleInheritedToProjects(req: Req<'replaceInheritProjectGroupRoleInheritedToProjects'>) { this.grant(req.context, { type: 'GroupProject', actor_id: req.path.group_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: true }, 'put'); }
  async listInheritProjectGroupRoleInheritedToProjects(req: Req<'listInheritProjectGroupRoleInheritedToProjects'>) { this.grant(req.context, { type: 'GroupProject', actor_id: req.path.group_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: true }, 'check'); return this.noBody() as unknown as Res<'listInheritProjectGroupRoleInheritedToProjects'>; }
  async deleteAllInheritProjectGroupRoleInheritedToProjects(req: Req<'deleteAllInheritProjectGroupRoleInheritedToProjects'>) { this.grant(req.context, { type: 'GroupProject', actor_id: req.path.group_id, target_id: req.path.project_id, role_id: req.path.role_id, inherited: true }, 'delete'); }

  /** GET /v3/role_assignments, with Keystone's filters and `effective`. */
  async listRoleAssignments(req: Req<'listRoleAssignments'>) {
    const q = req.query as Json;
    const me = caller(req.context);
    const userFilter = q['user.id'] as string | undefined;
    if (!me.isAdmin && userFilter !== me.userId) requireAdmin(req.context, 'list_role_assignments');
    const effective = q.effective !== undefined;
    const includeNames = q.include_names !== undefined && q.include_names !== 'false';
    let list: Assignment[] = this.store.assignments();
    if (effective) {
      const expanded: Assignment[] = [];
      for (const a of list) {
        const users = a.type.startsWith('Group') ? this.store.links('group_member', 'a', a.actor_id) : [a.actor_id];
        const targets = a.inherited
          ? this.store.list<Project>('project').filter((p) => p.id !== a.target_id && (p.domain_id === a.target_id || this.id.ancestors(p).includes(a.target_id))).map((p) => p.id)
          : [a.target_id];
        const kind = a.type.endsWith('Project') || a.inherited ? 'Project' : a.type.endsWith('Domain') ? 'Domain' : 'System';
        for (const u of users) for (const t of targets) {
          for (const role of this.id.expandImplied([a.role_id])) expanded.push({ type: `User${kind}` as AssignmentType, actor_id: u, target_id: t, role_id: role, inherited: false });
        }
      }
      const seen = new Set<string>();
      list = expanded.filter((a) => { const k = `${a.type}/${a.actor_id}/${a.target_id}/${a.role_id}`; if (seen.has(k)) return false; seen.add(k); return true; });
    }
    if (userFilter) list = list.filter((a) => a.type.startsWith('User') && a.actor_id === userFilter);
    if (q['group.id']) list = list.filter((a) => a.type.startsWith('Group') && a.actor_id === q['group.id']);
    if (q['role.id']) list = list.filter((a) => a.role_id === q['role.id']);
    if (q['scope.project.id']) list = list.filter((a) => a.type.endsWith('Project') && a.target_id === q['scope.project.id']);
    if (q['scope.domain.id']) list = list.filter((a) => a.type.endsWith('Domain') && a.target_id === q['scope.domain.id']);
    if (q['scope.system']) list = list.filter((a) => a.type.endsWith('System'));
    if (q['scope.OS-INHERIT:inherited_to']) list = list.filter((a) => a.inherited);
    const named = (kind: Kind, id: string) => {
      const e = this.store.get<Entity & { name?: string; domain_id?: string }>(kind, id);
      if (!includeNames || !e) return { id };
      const out: Json = { id, name: e.name };
      if (e.domain_id) out.domain = { id: e.domain_id, name: this.id.domain(e.domain_id)?.name };
      return out;
    };
    const role_assignments = list.map((a) => {
      const actorKind = a.type.startsWith('User') ? 'user' : 'group';
      const scope: Json = a.type.endsWith('Project') ? { project: named('project', a.target_id) }
        : a.type.endsWith('Domain') ? { domain: named('domain', a.target_id) } : { system: { all: true } };
      if (a.inherited) scope['OS-INHERIT:inherited_to'] = 'projects';
      const base = a.type.endsWith('System') ? 'system' : a.type.endsWith('Project') ? `projects/${a.target_id}` : `domains/${a.target_id}`;
      return {
        role: named('role', a.role_id),
        [actorKind]: named(actorKind, a.actor_id),
        scope,
        links: { assignment: `${req.context.endpoint}/v3/${a.inherited ? 'OS-INHERIT/' : ''}${base}/${actorKind}s/${a.actor_id}/roles/${a.role_id}${a.inherited ? '/inherited_to_projects' : ''}` },
      };
    });
    return as<'listRoleAssignments'>({ role_assignments, links: listLinks(req.context) });
  }

  // ---- regions, services, endpoints ------------------------------------------

  async listRegions(req: Req<'listRegions'>) {
    const items = filterBy(this.store.list<Region>('region'), req.query as Json, ['parent_region_id']);
    return as<'listRegions'>({ regions: items.map((r) => regionView(req.context, r)), links: listLinks(req.context) });
  }

  private saveRegion(ctx: RequestContext, id: string, b: Json): Region {
    if (b.parent_region_id) {
      if (!this.store.get('region', String(b.parent_region_id))) throw Fault.badRequest(`Could not find parent region: ${String(b.parent_region_id)}.`);
      if (b.parent_region_id === id) throw Fault.badRequest('A region cannot be its own parent.');
    }
    const r: Region = { description: '', parent_region_id: null, ...b, id };
    this.store.create('region', r, null, `Conflict occurred attempting to store region - Duplicate ID, ${id}.`);
    return r;
  }

  async createRegion(req: Req<'createRegion'>) {
    requireAdmin(req.context, 'create_region');
    const b = bodyOf<Json>(req.body, 'region');
    const r = this.saveRegion(req.context, typeof b.id === 'string' ? b.id : newId(), b);
    return new Reply(as<'createRegion'>({ region: regionView(req.context, r) }), 201, { Location: `${req.context.endpoint}/v3/regions/${r.id}` });
  }

  async putRegion(req: Req<'putRegion'>) {
    requireAdmin(req.context, 'create_region');
    const b = bodyOf<Json>(req.body, 'region');
    if (b.id !== undefined && b.id !== req.path.region_id) throw Fault.badRequest('The region id in the body differs from the URL.');
    const r = this.saveRegion(req.context, req.path.region_id, b);
    return new Reply(as<'putRegion'>({ region: regionView(req.context, r) }), 201);
  }

  async showRegion(req: Req<'showRegion'>) {
    return as<'showRegion'>({ region: regionView(req.context, this.need<Region>('region', req.path.region_id)) });
  }

  async updateRegion(req: Req<'updateRegion'>) {
    requireAdmin(req.context, 'update_region');
    const r = this.need<Region>('region', req.path.region_id);
    const b = bodyOf<Json>(req.body, 'region');
    if (b.parent_region_id && !this.store.get('region', String(b.parent_region_id))) throw Fault.badRequest(`Could not find parent region: ${String(b.parent_region_id)}.`);
    const next: Region = { ...r, ...b, id: r.id };
    this.store.put('region', next, null, 'conflict');
    return as<'updateRegion'>({ region: regionView(req.context, next) });
  }

  async deleteRegion(req: Req<'deleteRegion'>) {
    requireAdmin(req.context, 'delete_region');
    const r = this.need<Region>('region', req.path.region_id);
    if (this.store.list<Region>('region').some((x) => x.parent_region_id === r.id)) throw Fault.forbidden('Cannot delete a region with child regions.');
    this.store.delete('region', r.id);
  }

  async listServices(req: Req<'listServices'>) {
    requireAdmin(req.context, 'list_services');
    const items = filterBy(this.store.list<ServiceEntry>('service'), req.query as Json, ['type', 'name', 'enabled']);
    return as<'listServices'>({ services: items.map((s) => serviceView(req.context, s)), links: listLinks(req.context) });
  }

  async createService(req: Req<'createService'>) {
    requireAdmin(req.context, 'create_service');
    const b = bodyOf<Json>(req.body, 'service');
    if (typeof b.type !== 'string' || !b.type) throw Fault.badRequest('A service needs a type.');
    const s: ServiceEntry = { description: '', ...b, id: newId(), type: b.type, enabled: b.enabled !== false };
    this.store.create('service', s, null, 'conflict');
    return as<'createService'>({ service: serviceView(req.context, s) });
  }

  async showService(req: Req<'showService'>) {
    requireAdmin(req.context, 'get_service');
    return as<'showService'>({ service: serviceView(req.context, this.need<ServiceEntry>('service', req.path.service_id)) });
  }

  async updateService(req: Req<'updateService'>) {
    requireAdmin(req.context, 'update_service');
    const s = this.need<ServiceEntry>('service', req.path.service_id);
    const next: ServiceEntry = { ...s, ...bodyOf<Json>(req.body, 'service'), id: s.id };
    this.store.put('service', next, null, 'conflict');
    return as<'updateService'>({ service: serviceView(req.context, next) });
  }

  async deleteService(req: Req<'deleteService'>) {
    requireAdmin(req.context, 'delete_service');
    const s = this.need<ServiceEntry>('service', req.path.service_id);
    this.store.tx(() => {
      this.store.delete('service', s.id);
      for (const e of this.store.list<Endpoint>('endpoint')) if (e.service_id === s.id) this.store.delete('endpoint', e.id);
    });
  }

  async listEndpoints(req: Req<'listEndpoints'>) {
    requireAdmin(req.context, 'list_endpoints');
    const items = filterBy(this.store.list<Endpoint>('endpoint'), req.query as Json, ['interface', 'service_id', 'region_id', 'enabled']);
    const base = publicBaseOf(req.context);
    return as<'listEndpoints'>({ endpoints: items.map((e) => endpointView(req.context, base, e)), links: listLinks(req.context) });
  }

  private checkEndpoint(b: Json): void {
    if (b.interface !== undefined && !['public', 'internal', 'admin'].includes(String(b.interface))) throw Fault.badRequest(`Invalid interface: ${String(b.interface)}; expecting public, internal or admin.`);
    if (b.service_id !== undefined && !this.store.get('service', String(b.service_id))) throw Fault.badRequest(`Could not find service: ${String(b.service_id)}.`);
    if (b.region_id !== undefined && b.region_id !== null && !this.store.get('region', String(b.region_id))) throw Fault.badRequest(`Could not find region: ${String(b.region_id)}.`);
    if (b.url !== undefined && (typeof b.url !== 'string' || !/^(https?:\/\/|\/)/.test(b.url))) throw Fault.badRequest('Invalid endpoint URL.');
  }

  async createEndpoint(req: Req<'createEndpoint'>) {
    requireAdmin(req.context, 'create_endpoint');
    const b = { ...bodyOf<Json>(req.body, 'endpoint') };
    if (b.region !== undefined && b.region_id === undefined) b.region_id = b.region;
    delete b.region;
    if (!b.service_id || !b.interface || !b.url) throw Fault.badRequest('An endpoint needs service_id, interface and url.');
    this.checkEndpoint(b);
    const e: Endpoint = { ...b, id: newId(), service_id: String(b.service_id), region_id: (b.region_id as string | undefined) ?? null, interface: b.interface as Endpoint['interface'], url: String(b.url), enabled: b.enabled !== false };
    this.store.create('endpoint', e, null, 'conflict');
    return as<'createEndpoint'>({ endpoint: endpointView(req.context, publicBaseOf(req.context), e) });
  }

  async showEndpoint(req: Req<'showEndpoint'>) {
    requireAdmin(req.context, 'get_endpoint');
    return as<'showEndpoint'>({ endpoint: endpointView(req.context, publicBaseOf(req.context), this.need<Endpoint>('endpoint', req.path.endpoint_id)) });
  }

  async updateEndpoint(req: Req<'updateEndpoint'>) {
    requireAdmin(req.context, 'update_endpoint');
    const e = this.need<Endpoint>('endpoint', req.path.endpoint_id);
    const b = { ...bodyOf<Json>(req.body, 'endpoint') };
    if (b.region !== undefined && b.region_id === undefined) b.region_id = b.region;
    delete b.region;
    this.checkEndpoint(b);
    const next: Endpoint = { ...e, ...b, id: e.id } as Endpoint;
    this.store.put('endpoint', next, null, 'conflict');
    return as<'updateEndpoint'>({ endpoint: endpointView(req.context, publicBaseOf(req.context), next) });
  }

  async deleteEndpoint(req: Req<'deleteEndpoint'>) {
    requireAdmin(req.context, 'delete_endpoint');
    this.need<Endpoint>('endpoint', req.path.endpoint_id);
    this.store.delete('endpoint', req.path.endpoint_id);
  }

  // ---- credentials and policies -------------------------------------------------

  async listCredentials(req: Req<'listCredentials'>) {
    const me = caller(req.context);
    let items = filterBy(this.store.list<Entity & { user_id: string }>('credential'), req.query as Json, ['user_id', 'type']);
    if (!me.isAdmin) items = items.filter((c) => c.user_id === me.userId);
    return as<'listCredentials'>({ credentials: items.map(plainView(req.context, 'credentials')), links: listLinks(req.context) });
  }

  async createCredential(req: Req<'createCredential'>) {
    const b = bodyOf<Json>(req.body, 'credential');
    requireSelfOrAdmin(req.context, String(b.user_id), 'create_credential');
    if (!b.user_id || !b.type || typeof b.blob !== 'string') throw Fault.badRequest('A credential needs user_id, type and blob.');
    let id = newId();
    if (b.type === 'ec2') {
      // Keystone derives an EC2 credential's id from its access key.
      let access: string | undefined;
      try { access = (JSON.parse(b.blob) as { access?: string }).access; } catch { /* checked below */ }
      if (!access) throw Fault.badRequest('An ec2 credential blob needs an access key.');
      if (!b.project_id) throw Fault.badRequest('An ec2 credential needs a project_id.');
      id = createHash('sha256').update(access).digest('hex');
    }
    const c: Entity = { ...b, id };
    this.store.create('credential', c, null, `Conflict occurred attempting to store credential - Duplicate ID, ${id}.`);
    return as<'createCredential'>({ credential: plainView(req.context, 'credentials')(c) });
  }

  async showCredential(req: Req<'showCredential'>) {
    const c = this.need<Entity & { user_id: string }>('credential', req.path.credential_id);
    requireSelfOrAdmin(req.context, c.user_id, 'get_credential');
    return as<'showCredential'>({ credential: plainView(req.context, 'credentials')(c) });
  }

  async updateCredential(req: Req<'updateCredential'>) {
    const c = this.need<Entity & { user_id: string }>('credential', req.path.credential_id);
    requireSelfOrAdmin(req.context, c.user_id, 'update_credential');
    const next = { ...c, ...bodyOf<Json>(req.body, 'credential'), id: c.id };
    this.store.put('credential', next, null, 'conflict');
    return as<'updateCredential'>({ credential: plainView(req.context, 'credentials')(next) });
  }

  async deleteCredential(req: Req<'deleteCredential'>) {
    const c = this.need<Entity & { user_id: string }>('credential', req.path.credential_id);
    requireSelfOrAdmin(req.context, c.user_id, 'delete_credential');
    this.store.delete('credential', c.id);
  }

  async listPolicies(req: Req<'listPolicies'>) {
    requireAdmin(req.context, 'list_policies');
    const items = filterBy(this.store.list<Entity>('policy'), req.query as Json, ['type']);
    return as<'listPolicies'>({ policies: items.map(plainView(req.context, 'policies')), links: listLinks(req.context) });
  }

  async createPolicy(req: Req<'createPolicy'>) {
    requireAdmin(req.context, 'create_policy');
    const b = bodyOf<Json>(req.body, 'policy');
    if (typeof b.blob !== 'string' || typeof b.type !== 'string') throw Fault.badRequest('A policy needs type and blob.');
    const p: Entity = { ...b, id: newId() };
    this.store.create('policy', p, null, 'conflict');
    return as<'createPolicy'>({ policy: plainView(req.context, 'policies')(p) });
  }

  async showPolicy(req: Req<'showPolicy'>) {
    requireAdmin(req.context, 'get_policy');
    return as<'showPolicy'>({ policy: plainView(req.context, 'policies')(this.need<Entity>('policy', req.path.policy_id)) });
  }

  async updatePolicy(req: Req<'updatePolicy'>) {
    requireAdmin(req.context, 'update_policy');
    const p = this.need<Entity>('policy', req.path.policy_id);
    const next = { ...p, ...bodyOf<Json>(req.body, 'policy'), id: p.id };
    this.store.put('policy', next, null, 'conflict');
    return as<'updatePolicy'>({ policy: plainView(req.context, 'policies')(next) });
  }

  async deletePolicy(req: Req<'deletePolicy'>) {
    requireAdmin(req.context, 'delete_policy');
    this.need<Entity>('policy', req.path.policy_id);
    this.store.delete('policy', req.path.policy_id);
  }

  // ---- application credentials -------------------------------------------------

  private appCredView(ctx: RequestContext, ac: AppCredential, secret?: string) {
    const { secret_hash: _h, ...rest } = ac;
    const roles = ac.roles.map((r) => ({ id: r.id, name: this.id.role(r.id)?.name, domain_id: null }));
    return { description: null, access_rules: [], ...rest, roles, ...(secret ? { secret } : {}), links: selfLink(ctx, `users/${ac.user_id}/application_credentials/${ac.id}`) };
  }

  async listUserApplicationCredentials(req: Req<'listUserApplicationCredentials'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'list_application_credentials');
    const items = filterBy(this.store.list<AppCredential>('app_credential').filter((a) => a.user_id === req.path.user_id), req.query as Json, ['name']);
    return as<'listUserApplicationCredentials'>({ application_credentials: items.map((a) => this.appCredView(req.context, a)), links: listLinks(req.context) });
  }

  async createUserApplicationCredential(req: Req<'createUserApplicationCredential'>) {
    const me = caller(req.context);
    if (me.userId !== req.path.user_id) throw Fault.forbidden('Application credentials can only be created for yourself.');
    if (!me.projectId) throw Fault.forbidden('An application credential needs a project-scoped token.');
    if (req.context.auth && (req.context.auth as { appCredentialId?: string }).appCredentialId) throw Fault.forbidden('An application credential cannot create another.');
    const b = bodyOf<Json>(req.body, 'application_credential');
    if (typeof b.name !== 'string' || !b.name) throw Fault.badRequest('An application credential needs a name.');
    const held = this.id.rolesFor(me.userId, { project: this.need<Project>('project', me.projectId) });
    let roles: { id: string }[] = held.map((r) => ({ id: r.id }));
    if (Array.isArray(b.roles) && b.roles.length) {
      roles = (b.roles as { id?: string; name?: string }[]).map((ref) => {
        const r = held.find((h) => h.id === ref.id || h.name === ref.name);
        if (!r) throw Fault.forbidden(`You do not hold the role ${ref.id ?? ref.name} on this project.`);
        return { id: r.id };
      });
    }
    if (typeof b.expires_at === 'string' && Number.isNaN(Date.parse(b.expires_at))) throw Fault.badRequest('Invalid expires_at.');
    const secret = typeof b.secret === 'string' && b.secret ? b.secret : randomBytes(48).toString('base64url');
    const ac: AppCredential = {
      id: newId(), name: b.name, description: (b.description as string | undefined) ?? null, user_id: me.userId, project_id: me.projectId,
      roles, expires_at: typeof b.expires_at === 'string' ? b.expires_at : null, unrestricted: b.unrestricted === true,
      access_rules: Array.isArray(b.access_rules) ? b.access_rules.map((r) => ({ id: newId(), ...(r as Json) })) : [],
      secret_hash: await hashPassword(secret),
    };
    this.store.create('app_credential', ac, `${ac.user_id}/${ac.name}`, `Conflict occurred attempting to store application_credential - Duplicate entry found with name ${ac.name}.`);
    return as<'createUserApplicationCredential'>({ application_credential: this.appCredView(req.context, ac, secret) });
  }

  async showUserApplicationCredential(req: Req<'showUserApplicationCredential'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'get_application_credential');
    const ac = this.need<AppCredential>('app_credential', req.path.application_credential_id, 'application credential');
    if (ac.user_id !== req.path.user_id) throw Fault.notFound(`Could not find application credential: ${ac.id}.`);
    return as<'showUserApplicationCredential'>({ application_credential: this.appCredView(req.context, ac) });
  }

  async deleteUserApplicationCredential(req: Req<'deleteUserApplicationCredential'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'delete_application_credential');
    const ac = this.need<AppCredential>('app_credential', req.path.application_credential_id, 'application credential');
    if (ac.user_id !== req.path.user_id) throw Fault.notFound(`Could not find application credential: ${ac.id}.`);
    this.store.delete('app_credential', ac.id);
  }

  async listUserAccessRules(req: Req<'listUserAccessRules'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'list_access_rules');
    const rules = this.store.list<AppCredential>('app_credential').filter((a) => a.user_id === req.path.user_id).flatMap((a) => (a.access_rules ?? []) as Json[]);
    return as<'listUserAccessRules'>({ access_rules: rules.map((r) => ({ ...r, links: selfLink(req.context, `users/${req.path.user_id}/access_rules/${String(r.id)}`) })), links: listLinks(req.context) });
  }

  async showUserAccessRule(req: Req<'showUserAccessRule'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'get_access_rule');
    const rule = this.store.list<AppCredential>('app_credential').filter((a) => a.user_id === req.path.user_id)
      .flatMap((a) => (a.access_rules ?? []) as Json[]).find((r) => r.id === req.path.access_rule_id);
    if (!rule) throw Fault.notFound(`Could not find access rule: ${req.path.access_rule_id}.`);
    return as<'showUserAccessRule'>({ access_rule: { ...rule, links: selfLink(req.context, `users/${req.path.user_id}/access_rules/${String(rule.id)}`) } });
  }

  async deleteUserAccessRule(req: Req<'deleteUserAccessRule'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'delete_access_rule');
    const creds = this.store.list<AppCredential>('app_credential').filter((a) => a.user_id === req.path.user_id);
    if (creds.some((a) => (a.access_rules ?? []).some((r) => (r as Json).id === req.path.access_rule_id))) {
      throw Fault.forbidden('The access rule is in use by an application credential.');
    }
    throw Fault.notFound(`Could not find access rule: ${req.path.access_rule_id}.`);
  }
}
