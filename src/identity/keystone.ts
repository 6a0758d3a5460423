/**
 * Keystone v3 over the gateway's local identity backend: tokens, catalog,
 * domains (and projects acting as domains), projects, users, groups, roles and
 * assignments, regions, services, endpoints, credentials, policies,
 * application credentials and access rules; the extensions OS-EC2
 * credentials, OS-OAUTH1 consumers, OS-EP-FILTER endpoint groups and project
 * associations (which filter the catalog), domain configuration and OS-TRUST
 * trusts with trust-scoped tokens.
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
import { catalogV3, endpointUrl, type CatalogFilter, type Endpoint, type Region, type ServiceEntry } from './catalog.js';
import {
  DEFAULT_DOMAIN, IdentityService, Unauthorized, keystoneTime, newId,
  type AppCredential, type Domain, type Project, type Role, type Scope, type Trust, type User, type ValidToken,
} from './service.js';
import type { Assignment, AssignmentType, Entity, Kind } from './store.js';
import { hashPassword, verifyPassword } from './passwords.js';

type Res<M extends IdentityMethodName> = IdentityResponse<M>;
type Req<M extends IdentityMethodName> = IdentityRequest<M>;
type Json = Record<string, unknown>;

/** A /v3/credentials entry (ec2 ones also under /v3/users/{id}/credentials/OS-EC2). */
interface Credential extends Entity { user_id: string; type: string; blob: string; project_id?: string | null }

/** OS-EP-FILTER: endpoints matching every filter (service_id, region_id, interface). */
interface EndpointGroup extends Entity { name: string; description: string | null; filters: Json }

/** A domain's identity backend options by group, sensitive ones included. */
interface DomainConfig extends Entity { config: Record<string, Json> }

/**
 * The options a domain config may set and their defaults, as keystone's
 * DomainConfigManager whitelists them (keystone/resource/core.py) with the
 * defaults of keystone/conf/identity.py and ldap.py.
 */
const DOMAIN_CONFIG_DEFAULTS: Record<string, Json> = {
  identity: { driver: 'sql', list_limit: null },
  ldap: {
    url: 'ldap://localhost', user: null, suffix: 'cn=example,cn=com', query_scope: 'one', page_size: 0,
    alias_dereferencing: 'default', debug_level: null, chase_referrals: null, user_tree_dn: null, user_filter: null,
    user_objectclass: 'inetOrgPerson', user_id_attribute: 'cn', user_name_attribute: 'sn', user_mail_attribute: 'mail',
    user_description_attribute: 'description', user_pass_attribute: 'userPassword', user_enabled_attribute: 'enabled',
    user_enabled_invert: false, user_enabled_mask: 0, user_enabled_default: 'True', user_attribute_ignore: ['default_project_id'],
    user_default_project_id_attribute: null, user_enabled_emulation: false, user_enabled_emulation_dn: null,
    user_enabled_emulation_use_group_config: false, user_additional_attribute_mapping: [], group_tree_dn: null, group_filter: null,
    group_objectclass: 'groupOfNames', group_id_attribute: 'cn', group_name_attribute: 'ou', group_members_are_ids: false,
    group_member_attribute: 'member', group_desc_attribute: 'description', group_attribute_ignore: [],
    group_additional_attribute_mapping: [], tls_cacertfile: null, tls_cacertdir: null, use_tls: false, tls_req_cert: 'demand',
    use_pool: true, pool_size: 10, pool_retry_max: 3, pool_retry_delay: 0.1, pool_connection_timeout: -1,
    pool_connection_lifetime: 600, use_auth_pool: true, auth_pool_size: 100, auth_pool_connection_lifetime: 60,
  },
};
/** Stored but never shown. */
const DOMAIN_CONFIG_SENSITIVE: Record<string, string[]> = { identity: [], ldap: ['password'] };

/**
 * An expires_at as Keystone parses it (utils.parse_expiration_date): ISO 8601,
 * UTC when no zone is given; anything else is a 400.
 */
function parseExpiration(v: unknown): number {
  const s = String(v);
  const m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  const ms = m ? Date.parse(m[3] ? s : `${s}Z`) : NaN;
  if (Number.isNaN(ms)) throw Fault.badRequest(`Timestamp not in expected format: ${s}. The server could not comply with the request since it is either malformed or otherwise incorrect.`);
  return ms;
}

/** An application credential access rule (Keystone's access_rule table). */
interface AccessRule extends Entity { user_id: string; service: string; path: string; method: string }

function accessRuleKey(userId: string, service: string, method: string, path: string): string {
  return `${userId} ${service} ${method} ${path}`;
}

/** How an application credential shows its rules: no owner, no links. */
function accessRuleRef(r: AccessRule) {
  return { id: r.id, service: r.service, path: r.path, method: r.method };
}

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
/** A domain seen through the projects API: Keystone keeps domains as projects acting as domains. */
function domainAsProject(d: Domain): Project {
  const { tags: _t, ...rest } = d;
  return { ...rest, domain_id: null, parent_id: null, is_domain: true } as unknown as Project;
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

/** `?is_domain=true`, `?effective`: Keystone's boolean query flags. */
function queryFlag(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  const s = String(Array.isArray(v) ? v[0] : v).toLowerCase();
  return !['0', 'false', 'f', 'no', 'off'].includes(s);
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
    if (v.trust) {
      token['OS-TRUST:trust'] = {
        id: v.trust.id, impersonation: v.trust.impersonation, trustor_user: { id: v.trust.trustor_user_id }, trustee_user: { id: v.trust.trustee_user_id },
      };
    }
    if (s && withCatalog) token.catalog = catalogV3(this.id, publicBaseOf(ctx), this.catalogFilter(s));
    return { token };
  }

  /**
   * OS-EP-FILTER: a project with endpoint associations (direct or through
   * endpoint groups) sees only those endpoints in its catalog; one without
   * sees them all (Keystone's return_all_endpoints_if_no_filter).
   */
  private catalogFilter(scope: Scope): CatalogFilter {
    if (!scope || !('project' in scope)) return {};
    const ids = this.projectEndpoints(scope.project.id).map((e) => e.id);
    return ids.length ? { endpointIds: new Set(ids) } : {};
  }

  private scopeFrom(scope: Json | string | undefined, user: User): Scope {
    if (scope === 'unscoped') return null; // asked for explicitly, whatever the default project
    if (typeof scope === 'string') throw Fault.badRequest(`Invalid scope: ${scope}; a scope is an object, or "unscoped".`);
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
    throw Fault.badRequest('Unknown scope.');
  }

  /**
   * `scope: {"OS-TRUST:trust": {"id"}}`: the authenticated user must be the
   * trustee; the token is the trustor's with impersonation, else the
   * trustee's, on the trust's project. Each token uses one of remaining_uses;
   * a trust whose uses ran out is gone (404), as in Keystone.
   */
  private trustScope(ref: unknown, user: User): { user: User; scope: Scope; trust: Trust } {
    const id = (ref as Json | undefined)?.id;
    if (typeof id !== 'string' || !id) throw Fault.badRequest('Expecting to find trust_id in trust.');
    const trust = this.needTrust(id);
    if (user.id !== trust.trustee_user_id) throw Fault.forbidden('User is not a trustee.');
    if (trust.expires_at && Date.parse(trust.expires_at) <= Date.now()) throw Fault.forbidden(`Trust ${trust.id} has expired.`);
    const tokenUser = trust.impersonation ? this.id.user(trust.trustor_user_id) : user;
    if (!tokenUser) throw new Unauthorized(`The trustor of trust ${trust.id} no longer exists.`);
    const project = trust.project_id ? this.id.project(trust.project_id) : undefined;
    if (trust.project_id && !project) throw new Unauthorized(`The project of trust ${trust.id} no longer exists.`);
    return { user: tokenUser, scope: project ? { project } : null, trust };
  }

  /** Counts a token issued through a trust against its remaining_uses. */
  private consumeTrustUse(trust: Trust): void {
    if (trust.remaining_uses === null) return;
    const left = trust.remaining_uses - 1;
    this.store.put<Trust>('trust', { ...trust, remaining_uses: left, ...(left <= 0 ? { deleted_at: keystoneTime(Date.now()) } : {}) }, null, 'conflict');
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
      const { user, backendCredential, expiresAt } = await this.id.checkPassword({ userId: pw.id, userName: pw.name, domain: pw.domain, password: pw.password });
      const trustRef = (auth.scope as Json | undefined)?.['OS-TRUST:trust'];
      issued = trustRef
        ? this.id.issue({ ...this.trustScope(trustRef, user), methods: ['password'], backendCredential, expiresAt })
        : this.id.issue({ user, methods: ['password'], scope: this.scopeFrom(auth.scope as Json | undefined, user), backendCredential, expiresAt });
      if (issued.valid.trust) this.consumeTrustUse(issued.valid.trust);
    } else if (methods.includes('token')) {
      const tid = ((identity.token ?? {}) as Json).id;
      if (typeof tid !== 'string') throw Fault.badRequest('Expecting to find identity.token.id.');
      const old = this.id.validate(tid);
      // keystone/auth/plugins/token.py: a delegated token never makes another token.
      if (old.trust) throw Fault.forbidden('You are not authorized to perform the requested action: Using trust-scoped token to create another token. Create a new trust-scoped token instead.');
      if (old.appCredential && auth.scope) throw Fault.forbidden('A token from an application credential cannot be rescoped.');
      const trustRef = (auth.scope as Json | undefined)?.['OS-TRUST:trust'];
      if (trustRef && old.scope) throw Fault.forbidden('A scoped token cannot be rescoped.');
      if (old.scope && auth.scope) {
        // Keystone allows rescoping an unscoped token only (a scoped one keeps its scope).
        const next = this.scopeFrom(auth.scope as Json, old.user);
        const same = JSON.stringify(next) === JSON.stringify(old.scope);
        if (!same) throw Fault.forbidden('A scoped token cannot be rescoped.');
      }
      const scope = auth.scope && !trustRef ? this.scopeFrom(auth.scope as Json, old.user) : old.scope;
      issued = trustRef ? this.id.issue({
        ...this.trustScope(trustRef, old.user), methods: [...new Set([...old.claims.m, 'token'])], parentAuditIds: old.claims.a, expiresAt: old.claims.e,
      }) : this.id.issue({
        user: old.user, methods: [...new Set([...old.claims.m, 'token'])], scope, parentAuditIds: old.claims.a,
        expiresAt: old.claims.e, appCredential: old.appCredential, backendCredential: old.claims.b,
      });
      if (trustRef && issued.valid.trust) this.consumeTrustUse(issued.valid.trust);
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
    const project = me.projectId ? this.id.project(me.projectId) : undefined;
    const filter = this.catalogFilter(project ? { project } : null);
    return as<'listAuthCatalog'>({ catalog: catalogV3(this.id, publicBaseOf(req.context), filter), links: listLinks(req.context) });
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
    this.removeDomain(this.need<Domain>('domain', req.path.domain_id));
  }

  /** Deletes a disabled domain with its projects, users, groups, roles and config. */
  private removeDomain(d: Domain): void {
    if (d.enabled) throw Fault.forbidden('Cannot delete a domain that is enabled, please disable it first.');
    if (d.id === DEFAULT_DOMAIN) throw Fault.forbidden('Cannot delete the default domain.');
    this.store.tx(() => {
      for (const kind of ['project', 'user', 'group', 'role'] as const) {
        for (const e of this.store.list<Entity & { domain_id?: string | null }>(kind)) {
          if (e.domain_id !== d.id) continue;
          this.store.delete(kind, e.id);
          this.store.dropAssignments(e.id);
          if (kind === 'role') { this.store.unlinkAll('implied_role', 'a', e.id); this.store.unlinkAll('implied_role', 'b', e.id); }
        }
      }
      this.store.dropAssignments(d.id);
      this.store.delete('domain_config', d.id);
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
    // identity:list_projects: admin, or a domain-scoped token for the projects of its domain
    // (others list theirs with GET /v3/auth/projects or /v3/users/{id}/projects).
    if (!me.isAdmin && !me.domainId) requireAdmin(req.context, 'list_projects');
    // Without is_domain Keystone lists regular projects; with is_domain=true the projects acting as domains.
    let items: Project[] = q.is_domain !== undefined && queryFlag(q.is_domain)
      ? this.store.list<Domain>('domain').map(domainAsProject)
      : this.store.list<Project>('project').filter((p) => !p.is_domain);
    if (!me.isAdmin) items = items.filter((p) => p.domain_id === me.domainId);
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
    if (b.is_domain === true) return as<'createProject'>({ project: projectView(req.context, domainAsProject(this.createDomainProject(b)), []) });
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

  /** POST /v3/projects with is_domain: a root project that is a domain (listed by GET /v3/domains too). */
  private createDomainProject(b: Json): Domain {
    if (b.parent_id) throw Fault.badRequest('Only root projects can act as domains; parent_id must be null.');
    if (typeof b.name !== 'string' || b.name.trim() === '') throw Fault.badRequest('Invalid input for field \'name\': a project needs a name.');
    const { tags: _t, domain_id: _d, parent_id: _p, is_domain: _i, ...rest } = b;
    const d: Domain = { description: '', ...rest, id: newId(), name: b.name, enabled: b.enabled !== false };
    this.store.create('domain', d, d.name, `Conflict occurred attempting to store project - Duplicate entry found with name ${d.name}.`);
    return d;
  }

  async showProject(req: Req<'showProject'>) {
    const asDomain = this.id.domain(req.path.project_id);
    if (asDomain && !this.store.get('project', asDomain.id)) {
      const me = caller(req.context);
      if (!me.isAdmin && me.domainId !== asDomain.id) requireAdmin(req.context, 'get_project');
      return as<'showProject'>({ project: projectView(req.context, domainAsProject(asDomain), []) });
    }
    const p = this.need<Project>('project', req.path.project_id);
    const me = caller(req.context);
    if (!me.isAdmin && me.projectId !== p.id && !this.id.userProjects(me.userId).some((x) => x.id === p.id)) requireAdmin(req.context, 'get_project');
    return as<'showProject'>({ project: projectView(req.context, p, this.tags(p.id)) });
  }

  async updateProject(req: Req<'updateProject'>) {
    requireAdmin(req.context, 'update_project');
    const b = bodyOf<Json>(req.body, 'project');
    const asDomain = this.store.get('project', req.path.project_id) ? undefined : this.id.domain(req.path.project_id);
    if (asDomain) {
      if (b.is_domain !== undefined && b.is_domain !== true) throw Fault.badRequest('Cannot change is_domain of a project.');
      if (b.domain_id !== undefined && b.domain_id !== null) throw Fault.badRequest('Cannot change the domain of a project.');
      if (b.parent_id !== undefined && b.parent_id !== null) throw Fault.forbidden('Cannot change the parent of a project.');
      const { tags: _t, domain_id: _d, parent_id: _p, is_domain: _i, ...rest } = b;
      const next: Domain = { ...asDomain, ...rest, id: asDomain.id };
      this.store.put('domain', next, next.name, `Conflict occurred attempting to store project - Duplicate entry found with name ${next.name}.`);
      if (asDomain.enabled && next.enabled === false) this.revokeDomainTokens(asDomain.id);
      return as<'updateProject'>({ project: projectView(req.context, domainAsProject(next), []) });
    }
    const p = this.need<Project>('project', req.path.project_id);
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
    const asDomain = this.store.get('project', req.path.project_id) ? undefined : this.id.domain(req.path.project_id);
    if (asDomain) {
      // A project acting as a domain goes like the domain: disabled first, with everything in it.
      if (asDomain.enabled) throw Fault.forbidden(`Cannot delete an enabled project acting as a domain (${asDomain.id}); disable it first.`);
      this.removeDomain(asDomain);
      return;
    }
    const p = this.need<Project>('project', req.path.project_id);
    if (this.store.list<Project>('project').some((c) => c.parent_id === p.id)) {
      throw Fault.forbidden(`Cannot delete the project ${p.id} since it is not a leaf in the hierarchy.`);
    }
    this.store.tx(() => {
      this.store.delete('project', p.id);
      this.store.dropAssignments(p.id);
      this.store.unlinkAll('project_tag', 'a', p.id);
      this.store.unlinkAll('project_endpoint', 'a', p.id);
      this.store.unlinkAll('endpoint_group_project', 'b', p.id);
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
      for (const r of this.store.list<AccessRule>('access_rule')) if (r.user_id === u.id) this.store.delete('access_rule', r.id);
      for (const c of this.store.list<Entity & { user_id?: string }>('credential')) if (c.user_id === u.id) this.store.delete('credential', c.id);
      for (const t of this.store.list<Trust>('trust')) if (t.trustor_user_id === u.id || t.trustee_user_id === u.id) this.store.delete('trust', t.id);
    });
  }

  /**
   * POST /v3/users/{user_id}/password: Keystone enforces no policy here
   * (UserChangePasswordResource is unenforced): knowing the original password
   * is the authorization, whoever's token carries the request.
   */
  async createUserPassword(req: Req<'createUserPassword'>) {
    caller(req.context);
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
          // Domain-specific roles are not effective themselves; the global roles they imply are.
          for (const role of this.id.stripDomainRoles(this.id.expandImplied([a.role_id]))) expanded.push({ type: `User${kind}` as AssignmentType, actor_id: u, target_id: t, role_id: role, inherited: false });
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
    return new Reply(as<'createRegion'>({ region: regionView(req.context, r) }), 201, { Location: `${req.context.endpoint}/v3/regions/${encodeURIComponent(r.id)}` });
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
      for (const e of this.store.list<Endpoint>('endpoint')) {
        if (e.service_id === s.id) { this.store.delete('endpoint', e.id); this.store.unlinkAll('project_endpoint', 'b', e.id); }
      }
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
    if (b.enabled !== undefined && typeof b.enabled !== 'boolean') throw Fault.badRequest(`Invalid input for field 'enabled': ${JSON.stringify(b.enabled)} is not of type 'boolean'.`);
  }

  /**
   * An endpoint naming its region with the v2-style `region` (and no
   * `region_id`) gets that region created when it does not exist, as Keystone
   * does for backward compatibility (EndpointResource._validate_endpoint_region);
   * an unknown `region_id` stays an error.
   */
  private legacyRegion(b: Json): void {
    if ((b.region_id === undefined || b.region_id === null) && typeof b.region === 'string' && b.region) {
      b.region_id = b.region;
      if (!this.store.get('region', b.region)) {
        this.store.create<Region>('region', { id: b.region, description: '', parent_region_id: null }, null, `Conflict occurred attempting to store region - Duplicate ID, ${b.region}.`);
      }
    }
    delete b.region;
  }

  async createEndpoint(req: Req<'createEndpoint'>) {
    requireAdmin(req.context, 'create_endpoint');
    const b = { ...bodyOf<Json>(req.body, 'endpoint') };
    if (!b.service_id || !b.interface || !b.url) throw Fault.badRequest('An endpoint needs service_id, interface and url.');
    this.checkEndpoint({ ...b, region_id: undefined });
    this.legacyRegion(b);
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
    this.checkEndpoint({ ...b, region_id: undefined });
    this.legacyRegion(b);
    this.checkEndpoint(b);
    const next: Endpoint = { ...e, ...b, id: e.id } as Endpoint;
    this.store.put('endpoint', next, null, 'conflict');
    return as<'updateEndpoint'>({ endpoint: endpointView(req.context, publicBaseOf(req.context), next) });
  }

  async deleteEndpoint(req: Req<'deleteEndpoint'>) {
    requireAdmin(req.context, 'delete_endpoint');
    this.need<Endpoint>('endpoint', req.path.endpoint_id);
    this.store.tx(() => {
      this.store.delete('endpoint', req.path.endpoint_id);
      this.store.unlinkAll('project_endpoint', 'b', req.path.endpoint_id);
    });
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
      access_rules: [], secret_hash: await hashPassword(secret),
    };
    const userId = me.userId;
    this.store.tx(() => {
      ac.access_rules = Array.isArray(b.access_rules) ? b.access_rules.map((r) => accessRuleRef(this.accessRuleFor(userId, r as Json))) : [];
      this.store.create('app_credential', ac, `${ac.user_id}/${ac.name}`, `Conflict occurred attempting to store application_credential - Duplicate entry found with name ${ac.name}.`);
    });
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

  // access rules: their own entities, one per user and (service, method, path),
  // shared by the application credentials that name them and kept after those go.

  /** The user's rule for an access rule in a create body: by id, or the identical one, or a new one. */
  private accessRuleFor(userId: string, raw: Json): AccessRule {
    if (typeof raw.id === 'string') {
      const byId = this.store.get<AccessRule>('access_rule', raw.id);
      if (byId && byId.user_id !== userId) throw Fault.notFound(`Could not find access rule: ${raw.id}.`);
      if (byId) return byId;
    }
    const { service, path, method } = raw;
    if (typeof service !== 'string' || typeof path !== 'string' || typeof method !== 'string') {
      throw Fault.badRequest('An access rule needs service, path and method.');
    }
    const same = this.store.findUnique<AccessRule>('access_rule', accessRuleKey(userId, service, method, path));
    if (same) return same;
    const rule: AccessRule = { id: typeof raw.id === 'string' ? raw.id : newId(), user_id: userId, service, path, method };
    return this.store.create('access_rule', rule, accessRuleKey(userId, service, method, path), `Conflict occurred attempting to store access_rule - Duplicate ID, ${rule.id}.`);
  }

  private accessRuleView(ctx: RequestContext, r: AccessRule) {
    return { ...accessRuleRef(r), links: selfLink(ctx, `users/${r.user_id}/access_rules/${r.id}`) };
  }

  private userAccessRule(userId: string, ruleId: string): AccessRule {
    const rule = this.store.get<AccessRule>('access_rule', ruleId);
    if (!rule || rule.user_id !== userId) throw Fault.notFound(`Could not find access rule: ${ruleId}.`);
    return rule;
  }

  async listUserAccessRules(req: Req<'listUserAccessRules'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'list_access_rules');
    const rules = filterBy(this.store.list<AccessRule>('access_rule').filter((r) => r.user_id === req.path.user_id), req.query as Json, ['service', 'path', 'method']);
    return as<'listUserAccessRules'>({ access_rules: rules.map((r) => this.accessRuleView(req.context, r)), links: listLinks(req.context) });
  }

  async showUserAccessRule(req: Req<'showUserAccessRule'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'get_access_rule');
    return as<'showUserAccessRule'>({ access_rule: this.accessRuleView(req.context, this.userAccessRule(req.path.user_id, req.path.access_rule_id)) });
  }

  async deleteUserAccessRule(req: Req<'deleteUserAccessRule'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'delete_access_rule');
    const rule = this.userAccessRule(req.path.user_id, req.path.access_rule_id);
    const inUse = this.store.list<AppCredential>('app_credential')
      .some((a) => a.user_id === rule.user_id && (a.access_rules ?? []).some((r) => (r as Json).id === rule.id));
    // Keystone: ForbiddenNotSecurity("May not delete access rule in use").
    if (inUse) throw Fault.forbidden(`May not delete access rule ${rule.id} in use by an application credential.`);
    this.store.delete('access_rule', rule.id);
  }

  // ---- OS-EC2 credentials ----------------------------------------------------------
  // Credentials of type ec2 (id: sha256 of the access key, blob: {access, secret,
  // trust_id}) shown the way keystone/api/users.py converts them.

  private ec2View(ctx: RequestContext, c: Credential) {
    let blob: Json = {};
    try { blob = JSON.parse(String(c.blob)) as Json; } catch { /* not JSON: no keys to show */ }
    return {
      user_id: c.user_id, tenant_id: c.project_id ?? null, access: blob.access ?? null, secret: blob.secret ?? null, trust_id: blob.trust_id ?? null,
      links: selfLink(ctx, `users/${c.user_id}/credentials/OS-EC2/${String(blob.access)}`),
    };
  }

  /** The ec2 credential of an access key: 404 when there is none, 401 when the id names another type. */
  private ec2Credential(access: string): Credential {
    const id = createHash('sha256').update(access).digest('hex');
    const c = this.need<Credential>('credential', id);
    if (c.type !== 'ec2') throw new Unauthorized('EC2 access key not found.');
    return c;
  }

  async listUserCredentialEc2(req: Req<'listUserCredentialEc2'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'ec2_list_credentials');
    this.need<User>('user', req.path.user_id);
    const items = this.store.list<Credential>('credential').filter((c) => c.type === 'ec2' && c.user_id === req.path.user_id);
    return as<'listUserCredentialEc2'>({ credentials: items.map((c) => this.ec2View(req.context, c)), links: listLinks(req.context) });
  }

  async createUserCredentialEc2(req: Req<'createUserCredentialEc2'>) {
    requireSelfOrAdmin(req.context, req.path.user_id, 'ec2_create_credential');
    this.need<User>('user', req.path.user_id);
    const tenantId = (req.body as Json | undefined)?.tenant_id;
    this.need<Project>('project', typeof tenantId === 'string' ? tenantId : String(tenantId ?? null));
    const me = caller(req.context) as { trustId?: string };
    const access = newId();
    const blob = { access, secret: newId(), trust_id: me.trustId ?? null };
    const c: Credential = {
      id: createHash('sha256').update(access).digest('hex'), user_id: req.path.user_id, project_id: tenantId as string,
      blob: JSON.stringify(blob), type: 'ec2',
    };
    this.store.create('credential', c, null, `Conflict occurred attempting to store credential - Duplicate ID, ${c.id}.`);
    return as<'createUserCredentialEc2'>({ credential: this.ec2View(req.context, c) });
  }

  async showUserCredentialEc2(req: Req<'showUserCredentialEc2'>) {
    const c = this.ec2Credential(req.path.credential_id);
    requireSelfOrAdmin(req.context, c.user_id, 'ec2_get_credential');
    this.need<User>('user', req.path.user_id);
    return as<'showUserCredentialEc2'>({ credential: this.ec2View(req.context, c) });
  }

  async deleteUserCredentialEc2(req: Req<'deleteUserCredentialEc2'>) {
    const c = this.ec2Credential(req.path.credential_id);
    requireSelfOrAdmin(req.context, c.user_id, 'ec2_delete_credential');
    this.need<User>('user', req.path.user_id);
    this.store.delete('credential', c.id);
  }

  // ---- OS-OAUTH1 consumers ---------------------------------------------------------
  // The secret is generated on create and shown only in that answer.

  private consumerView(ctx: RequestContext, c: Entity, secret?: string) {
    const { secret: _s, ...rest } = c;
    return { description: null, ...rest, ...(secret ? { secret } : {}), links: selfLink(ctx, `OS-OAUTH1/consumers/${c.id}`) };
  }

  async listOauth1Consumers(req: Req<'listOauth1Consumers'>) {
    requireAdmin(req.context, 'list_consumers');
    return as<'listOauth1Consumers'>({ consumers: this.store.list<Entity>('consumer').map((c) => this.consumerView(req.context, c)), links: listLinks(req.context) });
  }

  async createOauth1Consumer(req: Req<'createOauth1Consumer'>) {
    requireAdmin(req.context, 'create_consumer');
    const b = (req.body as Json | undefined)?.consumer;
    const body = b && typeof b === 'object' && !Array.isArray(b) ? b as Json : {};
    if (body.description !== undefined && body.description !== null && typeof body.description !== 'string') throw Fault.badRequest('Invalid input for field \'description\': expecting a string or null.');
    const secret = newId();
    const c: Entity = { description: null, ...body, id: newId(), secret };
    this.store.create('consumer', c, null, `Conflict occurred attempting to store consumer - Duplicate ID, ${c.id}.`);
    return as<'createOauth1Consumer'>({ consumer: this.consumerView(req.context, c, secret) });
  }

  async showOauth1Consumer(req: Req<'showOauth1Consumer'>) {
    requireAdmin(req.context, 'get_consumer');
    return as<'showOauth1Consumer'>({ consumer: this.consumerView(req.context, this.need<Entity>('consumer', req.path.consumer_id)) });
  }

  async updateOauth1Consumer(req: Req<'updateOauth1Consumer'>) {
    requireAdmin(req.context, 'update_consumer');
    const c = this.need<Entity>('consumer', req.path.consumer_id);
    const b = bodyOf<Json>(req.body, 'consumer');
    if (b.secret !== undefined) throw Fault.badRequest('The secret of a consumer cannot be changed.');
    if (b.id !== undefined && b.id !== c.id) throw Fault.badRequest('Cannot change the id of a consumer.');
    const next: Entity = { ...c, ...b, id: c.id };
    this.store.put('consumer', next, null, 'conflict');
    return as<'updateOauth1Consumer'>({ consumer: this.consumerView(req.context, next) });
  }

  async deleteOauth1Consumer(req: Req<'deleteOauth1Consumer'>) {
    requireAdmin(req.context, 'delete_consumer');
    this.need<Entity>('consumer', req.path.consumer_id);
    this.store.delete('consumer', req.path.consumer_id);
  }

  // ---- OS-EP-FILTER: endpoint groups and project associations ---------------------

  private endpointGroupView(ctx: RequestContext, g: EndpointGroup) {
    return { id: g.id, name: g.name, description: g.description ?? null, filters: g.filters, links: selfLink(ctx, `OS-EP-FILTER/endpoint_groups/${g.id}`) };
  }

  private static checkFilters(filters: unknown): Json {
    if (!filters || typeof filters !== 'object' || Array.isArray(filters) || Object.keys(filters).length === 0) {
      throw Fault.badRequest('filters field is required and cannot be empty');
    }
    for (const k of Object.keys(filters)) {
      if (!['service_id', 'region_id', 'interface'].includes(k)) throw Fault.badRequest(`Invalid filter ${k}: expecting service_id or region_id or interface.`);
    }
    return filters as Json;
  }

  /** Endpoints whose attributes match every filter of the group. */
  private groupEndpoints(g: EndpointGroup): Endpoint[] {
    return this.store.list<Endpoint>('endpoint').filter((e) => Object.entries(g.filters).every(([k, v]) => (e as Entity)[k] === v));
  }

  /** Endpoints a project is associated with, directly or through endpoint groups. */
  projectEndpoints(projectId: string): Endpoint[] {
    const ids = new Set(this.store.links('project_endpoint', 'a', projectId));
    for (const gid of this.store.links('endpoint_group_project', 'b', projectId)) {
      const g = this.store.get<EndpointGroup>('endpoint_group', gid);
      if (g) for (const e of this.groupEndpoints(g)) ids.add(e.id);
    }
    return this.store.list<Endpoint>('endpoint').filter((e) => ids.has(e.id));
  }

  async listEpFilterEndpointGroups(req: Req<'listEpFilterEndpointGroups'>) {
    requireAdmin(req.context, 'list_endpoint_groups');
    const items = filterBy(this.store.list<EndpointGroup>('endpoint_group'), req.query as Json, ['name']);
    return as<'listEpFilterEndpointGroups'>({ endpoint_groups: items.map((g) => this.endpointGroupView(req.context, g)), links: listLinks(req.context) });
  }

  async createEpFilterEndpointGroup(req: Req<'createEpFilterEndpointGroup'>) {
    requireAdmin(req.context, 'create_endpoint_group');
    const b = bodyOf<Json>(req.body, 'endpoint_group');
    if (typeof b.name !== 'string' || !b.name.trim()) throw Fault.badRequest('An endpoint group needs a name.');
    const g: EndpointGroup = { id: newId(), name: b.name, description: (b.description as string | null | undefined) ?? null, filters: KeystoneIdentity.checkFilters(b.filters) };
    this.store.create('endpoint_group', g, null, `Conflict occurred attempting to store endpoint_group - Duplicate ID, ${g.id}.`);
    return as<'createEpFilterEndpointGroup'>({ endpoint_group: this.endpointGroupView(req.context, g) });
  }

  async showEpFilterEndpointGroup(req: Req<'showEpFilterEndpointGroup'>) {
    requireAdmin(req.context, 'get_endpoint_group');
    const g = this.need<EndpointGroup>('endpoint_group', req.path.endpoint_group_id, 'endpoint group');
    return as<'showEpFilterEndpointGroup'>({ endpoint_group: this.endpointGroupView(req.context, g) });
  }

  async updateEpFilterEndpointGroup(req: Req<'updateEpFilterEndpointGroup'>) {
    requireAdmin(req.context, 'update_endpoint_group');
    const g = this.need<EndpointGroup>('endpoint_group', req.path.endpoint_group_id, 'endpoint group');
    const b = bodyOf<Json>(req.body, 'endpoint_group');
    if (b.id !== undefined && b.id !== g.id) throw Fault.badRequest('Cannot change the id of an endpoint group.');
    const next: EndpointGroup = {
      ...g,
      ...(typeof b.name === 'string' ? { name: b.name } : {}),
      ...(b.description !== undefined ? { description: b.description as string | null } : {}),
      ...(b.filters !== undefined ? { filters: KeystoneIdentity.checkFilters(b.filters) } : {}),
    };
    this.store.put('endpoint_group', next, null, 'conflict');
    return as<'updateEpFilterEndpointGroup'>({ endpoint_group: this.endpointGroupView(req.context, next) });
  }

  async deleteEpFilterEndpointGroup(req: Req<'deleteEpFilterEndpointGroup'>) {
    requireAdmin(req.context, 'delete_endpoint_group');
    const g = this.need<EndpointGroup>('endpoint_group', req.path.endpoint_group_id, 'endpoint group');
    this.store.tx(() => {
      this.store.delete('endpoint_group', g.id);
      this.store.unlinkAll('endpoint_group_project', 'a', g.id);
    });
  }

  async listEpFilterEndpointGroupEndpoints(req: Req<'listEpFilterEndpointGroupEndpoints'>) {
    requireAdmin(req.context, 'list_endpoints_associated_with_endpoint_group');
    const g = this.need<EndpointGroup>('endpoint_group', req.path.endpoint_group_id, 'endpoint group');
    const base = publicBaseOf(req.context);
    return as<'listEpFilterEndpointGroupEndpoints'>({ endpoints: this.groupEndpoints(g).map((e) => endpointView(req.context, base, e)), links: listLinks(req.context) });
  }

  async listEpFilterEndpointGroupProjects(req: Req<'listEpFilterEndpointGroupProjects'>) {
    requireAdmin(req.context, 'list_projects_associated_with_endpoint_group');
    this.need<EndpointGroup>('endpoint_group', req.path.endpoint_group_id, 'endpoint group');
    const projects = this.store.links('endpoint_group_project', 'a', req.path.endpoint_group_id).map((id) => this.id.project(id)).filter((p): p is Project => Boolean(p));
    return as<'listEpFilterEndpointGroupProjects'>({ projects: projects.map((p) => projectView(req.context, p, this.tags(p.id))), links: listLinks(req.context) });
  }

  private endpointGroupProject(groupId: string, projectId: string): void {
    this.need<Project>('project', projectId);
    this.need<EndpointGroup>('endpoint_group', groupId, 'endpoint group');
  }

  async updateEpFilterEndpointGroupProject(req: Req<'updateEpFilterEndpointGroupProject'>) {
    requireAdmin(req.context, 'add_endpoint_group_to_project');
    this.endpointGroupProject(req.path.endpoint_group_id, req.path.project_id);
    this.store.link('endpoint_group_project', req.path.endpoint_group_id, req.path.project_id);
  }

  async showEpFilterEndpointGroupProject(req: Req<'showEpFilterEndpointGroupProject'>) {
    requireAdmin(req.context, 'get_endpoint_group_in_project');
    const { endpoint_group_id: g, project_id: p } = req.path;
    this.endpointGroupProject(g, p);
    if (!this.store.linked('endpoint_group_project', g, p)) throw Fault.notFound(`Could not find project endpoint group: endpoint group ${g} is not associated with project ${p}.`);
    return as<'showEpFilterEndpointGroupProject'>({
      project_endpoint_group: { endpoint_group_id: g, project_id: p, links: selfLink(req.context, `OS-EP-FILTER/endpoint_groups/${g}/projects/${p}`) },
    });
  }

  async deleteEpFilterEndpointGroupProject(req: Req<'deleteEpFilterEndpointGroupProject'>) {
    requireAdmin(req.context, 'remove_endpoint_group_from_project');
    const { endpoint_group_id: g, project_id: p } = req.path;
    this.endpointGroupProject(g, p);
    if (!this.store.unlink('endpoint_group_project', g, p)) throw Fault.notFound(`Could not find project endpoint group: endpoint group ${g} is not associated with project ${p}.`);
  }

  async listEpFilterProjectEndpointGroups(req: Req<'listEpFilterProjectEndpointGroups'>) {
    requireAdmin(req.context, 'list_endpoint_groups_for_project');
    this.need<Project>('project', req.path.project_id);
    const groups = this.store.links('endpoint_group_project', 'b', req.path.project_id).map((id) => this.store.get<EndpointGroup>('endpoint_group', id)).filter((g): g is EndpointGroup => Boolean(g));
    return as<'listEpFilterProjectEndpointGroups'>({ endpoint_groups: groups.map((g) => this.endpointGroupView(req.context, g)), links: listLinks(req.context) });
  }

  private projectEndpoint(projectId: string, endpointId: string): void {
    this.need<Endpoint>('endpoint', endpointId);
    this.need<Project>('project', projectId);
  }

  async updateEpFilterProjectEndpoint(req: Req<'updateEpFilterProjectEndpoint'>) {
    requireAdmin(req.context, 'add_endpoint_to_project');
    this.projectEndpoint(req.path.project_id, req.path.endpoint_id);
    this.store.link('project_endpoint', req.path.project_id, req.path.endpoint_id);
  }

  async showEpFilterProjectEndpoint(req: Req<'showEpFilterProjectEndpoint'>) {
    requireAdmin(req.context, 'check_endpoint_in_project');
    this.projectEndpoint(req.path.project_id, req.path.endpoint_id);
    if (!this.store.linked('project_endpoint', req.path.project_id, req.path.endpoint_id)) {
      throw Fault.notFound(`Endpoint ${req.path.endpoint_id} not found in project ${req.path.project_id}.`);
    }
    return new Reply(undefined, 204) as unknown as Res<'showEpFilterProjectEndpoint'>;
  }

  async deleteEpFilterProjectEndpoint(req: Req<'deleteEpFilterProjectEndpoint'>) {
    requireAdmin(req.context, 'remove_endpoint_from_project');
    if (!this.store.unlink('project_endpoint', req.path.project_id, req.path.endpoint_id)) {
      throw Fault.notFound(`Endpoint ${req.path.endpoint_id} not found in project ${req.path.project_id}.`);
    }
  }

  async listEpFilterProjectEndpoints(req: Req<'listEpFilterProjectEndpoints'>) {
    requireAdmin(req.context, 'list_endpoints_for_project');
    this.need<Project>('project', req.path.project_id);
    const base = publicBaseOf(req.context);
    return as<'listEpFilterProjectEndpoints'>({ endpoints: this.projectEndpoints(req.path.project_id).map((e) => endpointView(req.context, base, e)), links: listLinks(req.context) });
  }

  async listEpFilterEndpointProjects(req: Req<'listEpFilterEndpointProjects'>) {
    requireAdmin(req.context, 'list_projects_for_endpoint');
    this.need<Endpoint>('endpoint', req.path.endpoint_id);
    const projects = this.store.links('project_endpoint', 'b', req.path.endpoint_id).map((id) => this.id.project(id)).filter((p): p is Project => Boolean(p));
    return as<'listEpFilterEndpointProjects'>({ projects: projects.map((p) => projectView(req.context, p, this.tags(p.id))), links: listLinks(req.context) });
  }

  // ---- domain configuration ------------------------------------------------------------
  // Keystone's DomainConfigManager: groups identity and ldap, whitelisted
  // options (shown) and sensitive ones (ldap password: stored, never shown);
  // anything else is InvalidDomainConfig, a 403.

  private static checkGroupOption(group?: string, option?: string): void {
    if (group === undefined) return;
    if (!(group in DOMAIN_CONFIG_DEFAULTS)) throw Fault.forbidden(`Invalid domain specific configuration: Group ${group} is not supported for domain specific configurations.`);
    if (option !== undefined && !(option in DOMAIN_CONFIG_DEFAULTS[group]!) && !(DOMAIN_CONFIG_SENSITIVE[group] ?? []).includes(option)) {
      throw Fault.forbidden(`Invalid domain specific configuration: Option ${option} in group ${group} is not supported for domain specific configurations.`);
    }
  }

  private static checkConfig(config: unknown): Record<string, Json> {
    if (!config || typeof config !== 'object' || Array.isArray(config) || Object.keys(config).length === 0) {
      throw Fault.forbidden('Invalid domain specific configuration: No options specified.');
    }
    for (const [group, options] of Object.entries(config)) {
      if (!options || typeof options !== 'object' || Array.isArray(options) || Object.keys(options).length === 0) {
        throw Fault.forbidden(`Invalid domain specific configuration: The value of group ${group} specified in the config should be a dictionary of options.`);
      }
      for (const option of Object.keys(options)) KeystoneIdentity.checkGroupOption(group, option);
    }
    return config as Record<string, Json>;
  }

  /** The stored config, sensitive options included. */
  private domainConfig(domainId: string): Record<string, Json> {
    return this.store.get<DomainConfig>('domain_config', domainId)?.config ?? {};
  }

  private saveDomainConfig(domainId: string, config: Record<string, Json>): void {
    const groups = Object.fromEntries(Object.entries(config).filter(([, opts]) => Object.keys(opts).length > 0));
    const doc: DomainConfig = { id: domainId, config: groups };
    if (Object.keys(groups).length === 0) this.store.delete('domain_config', domainId);
    else if (this.store.get('domain_config', domainId)) this.store.put('domain_config', doc, null, 'conflict');
    else this.store.create('domain_config', doc, null, 'conflict');
  }

  /** What the API shows: whitelisted options only, of one group if asked. */
  private visibleConfig(domainId: string, group?: string): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const [g, opts] of Object.entries(this.domainConfig(domainId))) {
      if (group !== undefined && g !== group) continue;
      const shown = Object.fromEntries(Object.entries(opts).filter(([o]) => !(DOMAIN_CONFIG_SENSITIVE[g] ?? []).includes(o)));
      if (Object.keys(shown).length) out[g] = shown;
    }
    return out;
  }

  private configNotFound(domainId: string, what: string): Fault {
    return Fault.notFound(`Could not find ${what} in domain configuration for domain ${domainId}.`);
  }

  /** GET …/config/security_compliance[/{option}]: the default domain's password rules, to anyone with a token. */
  private securityCompliance(domainId: string, option?: string) {
    if (domainId !== DEFAULT_DOMAIN) throw Fault.forbidden('Invalid domain specific configuration: Reading security compliance information for any domain other than the default domain is not allowed or supported.');
    const readable: Json = { password_regex: null, password_regex_description: null };
    if (option === undefined) return { config: { security_compliance: readable } };
    if (!(option in readable)) throw Fault.forbidden('Invalid domain specific configuration: Reading security compliance values other than password_regex and password_regex_description is not allowed.');
    return { config: { [option]: readable[option] } };
  }

  async replaceDomainConfig(req: Req<'replaceDomainConfig'>) {
    requireAdmin(req.context, 'create_domain_config');
    this.need<Domain>('domain', req.path.domain_id);
    const config = KeystoneIdentity.checkConfig((req.body as Json | undefined)?.config);
    const existed = this.store.get('domain_config', req.path.domain_id) !== undefined;
    this.saveDomainConfig(req.path.domain_id, structuredClone(config));
    // Keystone: 201 for a new config, 200 when it replaced one.
    return new Reply(as<'replaceDomainConfig'>({ config: this.visibleConfig(req.path.domain_id) }), existed ? 200 : 201);
  }

  async listDomainConfig(req: Req<'listDomainConfig'>) {
    requireAdmin(req.context, 'get_domain_config');
    this.need<Domain>('domain', req.path.domain_id);
    const config = this.visibleConfig(req.path.domain_id);
    if (!Object.keys(config).length) throw this.configNotFound(req.path.domain_id, 'any options');
    return as<'listDomainConfig'>({ config });
  }

  async showDomainConfigGroup(req: Req<'showDomainConfigGroup'>) {
    const { domain_id: d, group } = req.path;
    if (group === 'security_compliance') { this.need<Domain>('domain', d); return as<'showDomainConfigGroup'>(this.securityCompliance(d)); }
    requireAdmin(req.context, 'get_domain_config');
    this.need<Domain>('domain', d);
    KeystoneIdentity.checkGroupOption(group);
    const config = this.visibleConfig(d, group);
    if (!Object.keys(config).length) throw this.configNotFound(d, `group ${group}`);
    return as<'showDomainConfigGroup'>({ config });
  }

  async showDomainConfigOption(req: Req<'showDomainConfigOption'>) {
    const { domain_id: d, group, option } = req.path;
    if (group === 'security_compliance') { this.need<Domain>('domain', d); return as<'showDomainConfigOption'>(this.securityCompliance(d, option)); }
    requireAdmin(req.context, 'get_domain_config');
    this.need<Domain>('domain', d);
    KeystoneIdentity.checkGroupOption(group, option);
    const opts = this.visibleConfig(d, group)[group] ?? {};
    if (!(option in opts)) throw this.configNotFound(d, `option ${option} in group ${group}`);
    return as<'showDomainConfigOption'>({ config: { [option]: opts[option] } });
  }

  /** PATCH at any level: merge into the stored config; at group or option level only what exists. */
  private patchDomainConfig(ctx: RequestContext, domainId: string, body: unknown, group?: string, option?: string) {
    requireAdmin(ctx, 'update_domain_config');
    this.need<Domain>('domain', domainId);
    const raw = (body as Json | undefined)?.config;
    const update = KeystoneIdentity.checkConfig(group !== undefined && option !== undefined ? { [group]: raw } : raw);
    KeystoneIdentity.checkGroupOption(group, option);
    const current = this.domainConfig(domainId);
    if (group !== undefined) {
      const only = option !== undefined ? `option ${option} in group ${group}` : `group ${group}`;
      if (Object.keys(update).length !== 1 || !(group in update) || (option !== undefined && (Object.keys(update[group]!).length !== 1 || !(option in update[group]!)))) {
        throw Fault.forbidden(`Invalid domain specific configuration: Trying to update ${only}, so that, and only that, ${option !== undefined ? 'option' : 'group'} must be specified in the config.`);
      }
      if (!current[group] || (option !== undefined && !(option in current[group]!))) throw this.configNotFound(domainId, only);
    }
    const next = structuredClone(current);
    for (const [g, opts] of Object.entries(update)) next[g] = { ...(next[g] ?? {}), ...opts };
    this.saveDomainConfig(domainId, next);
    // Keystone answers the domain's whole (whitelisted) config at every level.
    return { config: this.visibleConfig(domainId) };
  }

  async updateDomainConfig(req: Req<'updateDomainConfig'>) {
    return as<'updateDomainConfig'>(this.patchDomainConfig(req.context, req.path.domain_id, req.body));
  }

  async updateDomainConfigGroup(req: Req<'updateDomainConfigGroup'>) {
    return as<'updateDomainConfigGroup'>(this.patchDomainConfig(req.context, req.path.domain_id, req.body, req.path.group));
  }

  async updateDomainConfigOption(req: Req<'updateDomainConfigOption'>) {
    return as<'updateDomainConfigOption'>(this.patchDomainConfig(req.context, req.path.domain_id, req.body, req.path.group, req.path.option));
  }

  private deleteConfig(ctx: RequestContext, domainId: string, group?: string, option?: string): void {
    requireAdmin(ctx, 'delete_domain_config');
    this.need<Domain>('domain', domainId);
    KeystoneIdentity.checkGroupOption(group, option);
    const current = this.domainConfig(domainId);
    if (group === undefined) { this.store.delete('domain_config', domainId); return; }
    if (!current[group] || !Object.keys(current[group]!).length) throw this.configNotFound(domainId, `group ${group}`);
    if (option !== undefined && !(option in current[group]!)) throw this.configNotFound(domainId, `option ${option} in group ${group}`);
    const next = structuredClone(current);
    if (option === undefined) delete next[group];
    else delete next[group]![option];
    this.saveDomainConfig(domainId, next);
  }

  async deleteAllDomainConfig(req: Req<'deleteAllDomainConfig'>) { this.deleteConfig(req.context, req.path.domain_id); }
  async deleteDomainConfigGroup(req: Req<'deleteDomainConfigGroup'>) { this.deleteConfig(req.context, req.path.domain_id, req.path.group); }
  async deleteDomainConfigOption(req: Req<'deleteDomainConfigOption'>) { this.deleteConfig(req.context, req.path.domain_id, req.path.group, req.path.option); }

  async listDomainConfigDefault(req: Req<'listDomainConfigDefault'>) {
    requireAdmin(req.context, 'get_domain_config_default');
    return as<'listDomainConfigDefault'>({ config: structuredClone(DOMAIN_CONFIG_DEFAULTS) });
  }

  async showDomainConfigGroupDefault(req: Req<'showDomainConfigGroupDefault'>) {
    requireAdmin(req.context, 'get_domain_config_default');
    KeystoneIdentity.checkGroupOption(req.path.group);
    return as<'showDomainConfigGroupDefault'>({ config: { [req.path.group]: structuredClone(DOMAIN_CONFIG_DEFAULTS[req.path.group]) } });
  }

  async showDomainConfigOptionDefault(req: Req<'showDomainConfigOptionDefault'>) {
    requireAdmin(req.context, 'get_domain_config_default');
    const { group, option } = req.path;
    KeystoneIdentity.checkGroupOption(group, option);
    const defaults = DOMAIN_CONFIG_DEFAULTS[group]!;
    if (!(option in defaults)) throw Fault.forbidden(`Invalid domain specific configuration: Reading the default for option ${option} in group ${group} is not supported.`);
    return as<'showDomainConfigOptionDefault'>({ config: { [option]: structuredClone(defaults[option]) } });
  }

  // ---- OS-TRUST -----------------------------------------------------------------------

  private trustRoleView(ctx: RequestContext, r: Role) {
    return { id: r.id, name: r.name, domain_id: r.domain_id ?? null, description: r.description ?? null, options: {}, links: selfLink(ctx, `roles/${r.id}`) };
  }

  private trustView(ctx: RequestContext, t: Trust, withRoles: boolean) {
    const view: Json = {
      id: t.id, trustor_user_id: t.trustor_user_id, trustee_user_id: t.trustee_user_id, project_id: t.project_id,
      impersonation: t.impersonation, expires_at: t.expires_at, remaining_uses: t.remaining_uses,
      allow_redelegation: t.allow_redelegation, redelegation_count: t.redelegation_count, redelegated_trust_id: t.redelegated_trust_id,
      links: selfLink(ctx, `OS-TRUST/trusts/${t.id}`),
    };
    if (withRoles) {
      view.roles = t.roles.map((r) => this.id.role(r.id)).filter((r): r is Role => Boolean(r)).map((r) => this.trustRoleView(ctx, r));
      view.roles_links = { self: `${ctx.endpoint}/v3/OS-TRUST/trusts/${t.id}/roles`, next: null, previous: null };
    }
    return view;
  }

  /** A live trust (one whose uses ran out is gone, as in Keystone). */
  private needTrust(id: string): Trust {
    const t = this.store.get<Trust>('trust', id);
    if (!t || t.deleted_at) throw Fault.notFound(`Could not find trust: ${id}.`);
    return t;
  }

  /** identity:get_trust and friends: the trustor, the trustee or an admin. */
  private requireTrustParty(ctx: RequestContext, t: Trust, action: string): void {
    const me = caller(ctx);
    if (!me.isAdmin && me.userId !== t.trustor_user_id && me.userId !== t.trustee_user_id) {
      throw Fault.forbidden(`You are not authorized to perform the requested action: identity:${action}.`);
    }
  }

  async listTrustTrusts(req: Req<'listTrustTrusts'>) {
    const me = caller(req.context);
    const q = req.query as Json;
    const trustor = typeof q.trustor_user_id === 'string' && q.trustor_user_id ? q.trustor_user_id : undefined;
    const trustee = typeof q.trustee_user_id === 'string' && q.trustee_user_id ? q.trustee_user_id : undefined;
    if (trustor) { if (!me.isAdmin && me.userId !== trustor) requireAdmin(req.context, 'list_trusts_for_trustor'); }
    else if (trustee) { if (!me.isAdmin && me.userId !== trustee) requireAdmin(req.context, 'list_trusts_for_trustee'); }
    else requireAdmin(req.context, 'list_trusts');
    const items = this.store.list<Trust>('trust').filter((t) => !t.deleted_at
      && (!trustor || t.trustor_user_id === trustor) && (trustor || !trustee || t.trustee_user_id === trustee));
    return as<'listTrustTrusts'>({ trusts: items.map((t) => this.trustView(req.context, t, false)), links: listLinks(req.context) });
  }

  async createTrustTrust(req: Req<'createTrustTrust'>) {
    const me = caller(req.context) as ReturnType<typeof caller> & { trustId?: string };
    const b = bodyOf<Json>(req.body, 'trust');
    if (typeof b.impersonation !== 'boolean') throw Fault.badRequest('Invalid input for field \'impersonation\': a trust needs impersonation true or false.');
    if (typeof b.trustor_user_id !== 'string' || typeof b.trustee_user_id !== 'string') throw Fault.badRequest('A trust needs trustor_user_id and trustee_user_id.');
    const projectId = typeof b.project_id === 'string' && b.project_id ? b.project_id : null;
    const roleRefs = Array.isArray(b.roles) ? b.roles as { id?: string; name?: string }[] : [];
    if (projectId && roleRefs.length === 0) throw Fault.forbidden('You are not authorized to perform the requested action: At least one role should be specified.');
    if (me.userId !== b.trustor_user_id) throw Fault.forbidden('You are not authorized to perform the requested action: The authenticated user should match the trustor.');
    if (me.trustId) throw Fault.forbidden('You are not authorized to perform the requested action: Redelegation is not supported by this deployment.');
    this.need<User>('user', b.trustee_user_id);
    const roles = roleRefs.map((ref) => {
      if (ref.id) return { id: ref.id };
      const r = this.store.list<Role>('role').find((x) => !x.domain_id && x.name === ref.name);
      if (!r) throw Fault.notFound(`Could not find role: ${ref.name}.`);
      return { id: r.id };
    });
    // The trustor must hold every delegated role on the project (domain-specific ones count);
    // without a project there is nothing to hold them on.
    const project = projectId ? this.need<Project>('project', projectId) : undefined;
    const held = project ? this.id.effectiveRoleIds(b.trustor_user_id, { project }, { keepDomainRoles: true }) : new Set<string>();
    for (const r of roles) if (!held.has(r.id)) throw Fault.notFound(`Could not find role: ${r.id}.`);
    let expiresAt: string | null = null;
    if (b.expires_at !== undefined && b.expires_at !== null) {
      const ms = parseExpiration(b.expires_at);
      if (ms <= Date.now()) throw Fault.badRequest('The \'expires_at\' must not be before now.');
      expiresAt = keystoneTime(ms);
    }
    const remaining = b.remaining_uses;
    if (remaining !== undefined && remaining !== null && !(Number.isInteger(remaining) && (remaining as number) >= 1)) {
      throw Fault.badRequest('Invalid input for field \'remaining_uses\': expecting a positive integer or null.');
    }
    const allow = b.allow_redelegation === true;
    const t: Trust = {
      id: newId(), trustor_user_id: b.trustor_user_id, trustee_user_id: b.trustee_user_id, project_id: projectId,
      impersonation: b.impersonation, roles: [...new Map(roles.map((r) => [r.id, r])).values()], expires_at: expiresAt,
      remaining_uses: (remaining as number | null | undefined) ?? null,
      allow_redelegation: allow, redelegation_count: allow ? Math.min(Number(b.redelegation_count ?? 3), 3) : 0, redelegated_trust_id: null,
    };
    this.store.create('trust', t, null, `Conflict occurred attempting to store trust - Duplicate ID, ${t.id}.`);
    return as<'createTrustTrust'>({ trust: this.trustView(req.context, t, true) });
  }

  async showTrustTrust(req: Req<'showTrustTrust'>) {
    const t = this.needTrust(req.path.trust_id);
    this.requireTrustParty(req.context, t, 'get_trust');
    return as<'showTrustTrust'>({ trust: this.trustView(req.context, t, true) });
  }

  async deleteTrustTrust(req: Req<'deleteTrustTrust'>) {
    const t = this.needTrust(req.path.trust_id);
    const me = caller(req.context);
    if (!me.isAdmin && me.userId !== t.trustor_user_id) throw Fault.forbidden('You are not authorized to perform the requested action: identity:delete_trust.');
    // Its tokens die with it (validation looks the trust up).
    this.store.delete('trust', t.id);
  }

  async listTrustTrustRoles(req: Req<'listTrustTrustRoles'>) {
    const t = this.needTrust(req.path.trust_id);
    this.requireTrustParty(req.context, t, 'list_roles_for_trust');
    const roles = t.roles.map((r) => this.id.role(r.id)).filter((r): r is Role => Boolean(r));
    return as<'listTrustTrustRoles'>({ roles: roles.map((r) => this.trustRoleView(req.context, r)), links: listLinks(req.context) });
  }

  async showTrustTrustRole(req: Req<'showTrustTrustRole'>) {
    const t = this.needTrust(req.path.trust_id);
    this.requireTrustParty(req.context, t, 'get_role_for_trust');
    const role = t.roles.some((r) => r.id === req.path.role_id) ? this.id.role(req.path.role_id) : undefined;
    if (!role) throw Fault.notFound(`Could not find role: ${req.path.role_id}.`);
    return as<'showTrustTrustRole'>({ role: this.trustRoleView(req.context, role) });
  }
}
