/**
 * The gateway's Keystone core: who a user is, which roles they hold where,
 * issuing and validating tokens. The HTTP side is keystone.ts (v3) and v2.ts;
 * the auth hook calls `authenticate` on every request.
 */
import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../generated/common.js';
import { Fault } from '../faults.js';
import type { AuthPlugin, PasswordLogin } from './auth.js';
import { IdentityStore, type Assignment, type Entity } from './store.js';
import { TokenError, TokenSealer, newAuditId, type TokenClaims } from './tokens.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { VerifiedPasswordCache } from './password-cache.js';
import { ValidatedTokenCache } from './token-cache.js';

export const DEFAULT_DOMAIN = 'default';

export interface Domain extends Entity { name: string; enabled: boolean; description?: string }
export interface Project extends Entity { name: string; domain_id: string; enabled: boolean; parent_id: string | null; is_domain: boolean; description?: string }
export interface User extends Entity {
  name: string; domain_id: string; enabled: boolean; password_hash?: string; default_project_id?: string | null;
  password_expires_at?: string | null; created_at?: string;
}
export interface Role extends Entity { name: string; domain_id: string | null; description?: string | null }
export interface AppCredential extends Entity {
  name: string; user_id: string; project_id: string; secret_hash: string; roles: { id: string }[]; expires_at: string | null;
  unrestricted: boolean; description?: string | null; access_rules?: unknown[];
}

/** An OS-TRUST delegation: the trustee may act with these roles of the trustor on the project. */
export interface Trust extends Entity {
  trustor_user_id: string; trustee_user_id: string; project_id: string | null; impersonation: boolean;
  roles: { id: string }[]; expires_at: string | null; remaining_uses: number | null;
  allow_redelegation: boolean; redelegation_count: number; redelegated_trust_id: string | null;
  /** set when the last use was consumed: gone from the API, its tokens live on */
  deleted_at?: string | null;
}

/** A scope a token is for. */
export type Scope = { project: Project } | { domain: Domain } | { system: true } | null;

/** A token, opened and checked: the claims and what they name. */
export interface ValidToken {
  claims: TokenClaims;
  user: User;
  scope: Scope;
  roles: Role[];
  appCredential?: AppCredential;
  trust?: Trust;
}

export class Unauthorized extends Fault {
  constructor(message = 'The request you have made requires authentication.') {
    super('unauthorized', message);
  }
}

export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

/** ISO time as Keystone writes it: microseconds and Z. */
export function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface IdentityOptions {
  /** How long a verified password is remembered (src/identity/password-cache.ts); 0 or unset: not at all. */
  passwordCacheSeconds?: number;
  /**
   * The store's changeEpoch (src/store/store.ts): with it, validated
   * tokens are remembered while it stays the same (src/identity/token-cache.ts).
   */
  changes?: () => string;
}

export class IdentityService {
  readonly passwordCache: VerifiedPasswordCache;
  private readonly tokenCache?: ValidatedTokenCache;

  constructor(
    readonly store: IdentityStore,
    private readonly sealer: TokenSealer,
    private readonly plugins: readonly AuthPlugin[],
    readonly tokenTtlMs: number,
    options: IdentityOptions = {},
  ) {
    this.passwordCache = new VerifiedPasswordCache((options.passwordCacheSeconds ?? 0) * 1000);
    if (options.changes) this.tokenCache = new ValidatedTokenCache(options.changes);
  }

  // ---- lookups -----------------------------------------------------------

  domain(id: string): Domain | undefined { return this.store.get<Domain>('domain', id); }
  domainByName(name: string): Domain | undefined { return this.store.findUnique<Domain>('domain', name); }
  project(id: string): Project | undefined { return this.store.get<Project>('project', id); }
  projectByName(domainId: string, name: string): Project | undefined { return this.store.findUnique<Project>('project', `${domainId}/${name}`); }
  user(id: string): User | undefined { return this.store.get<User>('user', id); }
  userByName(domainId: string, name: string): User | undefined { return this.store.findUnique<User>('user', `${domainId}/${name}`); }
  role(id: string): Role | undefined { return this.store.get<Role>('role', id); }
  roleByName(name: string, domainId: string | null = null): Role | undefined { return this.store.findUnique<Role>('role', `${domainId ?? ''}/${name}`); }

  /** Resolves `{id}` or `{name, domain: {id|name}}` as Keystone's auth and scope bodies write them. */
  resolveDomain(ref: { id?: string; name?: string } | undefined): Domain | undefined {
    if (!ref) return undefined;
    if (ref.id) return this.domain(ref.id);
    if (ref.name) return this.domainByName(ref.name);
    return undefined;
  }

  // ---- roles -------------------------------------------------------------

  /** Roles a role implies, transitively (admin → member → reader). */
  expandImplied(roleIds: Iterable<string>): Set<string> {
    const out = new Set<string>(roleIds);
    const queue = [...out];
    while (queue.length) {
      const id = queue.pop()!;
      for (const implied of this.store.links('implied_role', 'a', id)) {
        if (!out.has(implied)) { out.add(implied); queue.push(implied); }
      }
    }
    return out;
  }

  groupsOf(userId: string): string[] {
    return this.store.links('group_member', 'b', userId);
  }

  /** Projects above a project, nearest first (domains act as the roots). */
  ancestors(project: Project): string[] {
    const out: string[] = [];
    let p: Project | undefined = project;
    const seen = new Set<string>();
    while (p?.parent_id && !seen.has(p.parent_id)) {
      seen.add(p.parent_id);
      out.push(p.parent_id);
      p = this.project(p.parent_id);
    }
    return out;
  }

  /**
   * Effective assignments of a user: direct and through groups; on a project
   * also those inherited from its domain and parents (OS-INHERIT).
   */
  effectiveRoleIds(userId: string, target: { project?: Project; domainId?: string; system?: boolean }, opts: { keepDomainRoles?: boolean } = {}): Set<string> {
    const actors = [userId, ...this.groupsOf(userId)];
    const direct: string[] = [];
    const has = (a: Assignment) => actors.includes(a.actor_id);
    if (target.project) {
      for (const a of this.store.assignments({ target_id: target.project.id, inherited: false })) {
        if (has(a) && (a.type === 'UserProject' || a.type === 'GroupProject')) direct.push(a.role_id);
      }
      for (const up of [...this.ancestors(target.project), target.project.domain_id]) {
        for (const a of this.store.assignments({ target_id: up, inherited: true })) if (has(a)) direct.push(a.role_id);
      }
    } else if (target.domainId) {
      for (const a of this.store.assignments({ target_id: target.domainId, inherited: false })) {
        if (has(a) && (a.type === 'UserDomain' || a.type === 'GroupDomain')) direct.push(a.role_id);
      }
    } else if (target.system) {
      for (const a of this.store.assignments({ target_id: 'system' })) if (has(a)) direct.push(a.role_id);
    }
    const ids = this.expandImplied(direct);
    return opts.keepDomainRoles ? ids : this.stripDomainRoles(ids);
  }

  /**
   * Domain-specific roles never reach tokens or effective assignments; the
   * global roles they imply do (Keystone's strip_domain_roles).
   */
  stripDomainRoles(ids: Iterable<string>): Set<string> {
    const out = new Set<string>();
    for (const id of ids) if (!this.role(id)?.domain_id) out.add(id);
    return out;
  }

  rolesFor(userId: string, scope: Scope): Role[] {
    if (!scope) return [];
    const ids = 'project' in scope ? this.effectiveRoleIds(userId, { project: scope.project })
      : 'domain' in scope ? this.effectiveRoleIds(userId, { domainId: scope.domain.id })
        : this.effectiveRoleIds(userId, { system: true });
    return [...ids].map((id) => this.role(id)).filter((r): r is Role => Boolean(r));
  }

  /** Projects where the user holds any role. */
  userProjects(userId: string): Project[] {
    return this.store.list<Project>('project').filter((p) => !p.is_domain && this.effectiveRoleIds(userId, { project: p }).size > 0);
  }

  userDomains(userId: string): Domain[] {
    return this.store.list<Domain>('domain').filter((d) => this.effectiveRoleIds(userId, { domainId: d.id }).size > 0);
  }

  // ---- passwords ---------------------------------------------------------

  async setPassword(user: User, password: string): Promise<void> {
    user.password_hash = await hashPassword(password);
  }

  /** Runs the auth plugins in order; the first that knows the user decides. */
  async checkPassword(login: PasswordLogin): Promise<{ user: User; backendCredential?: unknown; expiresAt?: number }> {
    for (const plugin of this.plugins) {
      const result = await plugin.authenticate(login, this);
      if (result === 'unknown') continue;
      if (result === 'denied') break;
      return result;
    }
    throw new Unauthorized('The request you have made requires authentication.');
  }

  async localPasswordLogin(login: PasswordLogin): Promise<{ user: User } | 'unknown' | 'denied'> {
    let user: User | undefined;
    if (login.userId) user = this.user(login.userId);
    else if (login.userName) {
      const domain = this.resolveDomain(login.domain ?? { id: DEFAULT_DOMAIN });
      user = domain ? this.userByName(domain.id, login.userName) : undefined;
    }
    if (!user) return 'unknown';
    if (!(await this.passwordCache.verify(login.password, user.password_hash, verifyPassword))) return 'denied';
    return { user };
  }

  // ---- tokens ------------------------------------------------------------

  /** Checks that a user may use a scope, and that everything it names is enabled. */
  checkScope(user: User, scope: Scope): Role[] {
    if (!user.enabled) throw new Unauthorized(`User ${user.id} is disabled.`);
    const domain = this.domain(user.domain_id);
    if (domain && !domain.enabled) throw new Unauthorized(`Domain ${domain.id} of the user is disabled.`);
    if (!scope) return [];
    if ('project' in scope) {
      if (!scope.project.enabled) throw new Unauthorized(`Project ${scope.project.id} is disabled.`);
      const pd = this.domain(scope.project.domain_id);
      if (pd && !pd.enabled) throw new Unauthorized(`Domain ${pd.id} is disabled.`);
    }
    if ('domain' in scope && !scope.domain.enabled) throw new Unauthorized(`Domain ${scope.domain.id} is disabled.`);
    const roles = this.rolesFor(user.id, scope);
    if (roles.length === 0) {
      const what = 'project' in scope ? `project ${scope.project.id}` : 'domain' in scope ? `domain ${scope.domain.id}` : 'the system';
      throw new Unauthorized(`User ${user.id} has no access to ${what}.`);
    }
    return roles;
  }

  /**
   * The roles a trust-scoped token carries: the trust's roles (and those they
   * imply) that the trustor still holds on the project. Any problem with the
   * trust or its two users is a 401.
   */
  trustRoles(trust: Trust, user: User): Role[] {
    if (trust.expires_at && Date.parse(trust.expires_at) <= Date.now()) throw new Unauthorized(`Trust ${trust.id} has expired.`);
    const wantUser = trust.impersonation ? trust.trustor_user_id : trust.trustee_user_id;
    if (user.id !== wantUser) throw new Unauthorized(`The token user does not match trust ${trust.id}.`);
    const trustor = this.user(trust.trustor_user_id);
    const trustee = this.user(trust.trustee_user_id);
    if (!trustor?.enabled || !trustee?.enabled) throw new Unauthorized(`A user of trust ${trust.id} is gone or disabled.`);
    if (!trust.project_id) return [];
    const project = this.project(trust.project_id);
    if (!project?.enabled) throw new Unauthorized(`The project of trust ${trust.id} is gone or disabled.`);
    // Keystone's token model: the trust's roles and those they imply must all still be
    // held by the trustor (domain-specific ones included); the token shows the global ones.
    const held = this.effectiveRoleIds(trustor.id, { project }, { keepDomainRoles: true });
    const wanted = this.expandImplied(trust.roles.map((r) => r.id));
    for (const id of wanted) if (!held.has(id)) throw new Unauthorized('Trustee has no delegated roles.');
    return [...this.stripDomainRoles(wanted)].map((id) => this.role(id)).filter((r): r is Role => Boolean(r));
  }

  issue(opts: { user: User; methods: string[]; scope: Scope; parentAuditIds?: string[]; expiresAt?: number; appCredential?: AppCredential; backendCredential?: unknown; trust?: Trust }): { token: string; valid: ValidToken } {
    const roles = opts.trust ? this.trustRoles(opts.trust, opts.user) : this.checkScope(opts.user, opts.scope);
    if (opts.trust) this.checkScope(opts.user, null);
    const now = Date.now();
    let expires = Math.min(opts.expiresAt ?? Infinity, now + this.tokenTtlMs);
    if (opts.appCredential?.expires_at) expires = Math.min(expires, Date.parse(opts.appCredential.expires_at));
    if (opts.trust?.expires_at) expires = Math.min(expires, Date.parse(opts.trust.expires_at));
    const claims: TokenClaims = {
      u: opts.user.id, m: opts.methods, a: [newAuditId(), ...(opts.parentAuditIds?.slice(0, 1) ?? [])], i: now, e: expires,
    };
    const s = opts.scope;
    if (s && 'project' in s) claims.p = s.project.id;
    if (s && 'domain' in s) claims.d = s.domain.id;
    if (s && 'system' in s) claims.s = 1;
    if (opts.appCredential) claims.x = opts.appCredential.id;
    if (opts.trust) claims.t = opts.trust.id;
    if (opts.backendCredential !== undefined) claims.b = opts.backendCredential;
    const appRoles = opts.appCredential ? roles.filter((r) => opts.appCredential!.roles.some((ar) => ar.id === r.id)) : roles;
    return {
      token: this.sealer.seal(claims),
      valid: { claims, user: opts.user, scope: opts.scope, roles: appRoles, appCredential: opts.appCredential, ...(opts.trust ? { trust: opts.trust } : {}) },
    };
  }

  /** Opens and checks a token: any problem is a 401 (never a 500). */
  validate(token: string): ValidToken {
    const cache = this.tokenCache;
    if (!cache) return this.check(token);
    const signature = cache.signature();
    const known = cache.get(token, signature, Date.now());
    if (known) return known;
    const valid = this.check(token);
    cache.set(token, signature, valid);
    return valid;
  }

  /** validate without the cache. */
  private check(token: string): ValidToken {
    let claims: TokenClaims;
    try {
      claims = this.sealer.open(token);
    } catch (err) {
      if (err instanceof TokenError || err instanceof SyntaxError) throw new Unauthorized('The request you have made requires authentication.');
      throw err;
    }
    if (claims.e <= Date.now()) throw new Unauthorized('The token has expired.');
    if (this.store.isRevoked(claims.a, claims.u, claims.p, claims.i)) throw new Unauthorized('The token has been revoked.');
    const user = this.user(claims.u);
    if (!user) throw new Unauthorized('The user of this token no longer exists.');
    let scope: Scope = null;
    if (claims.p) {
      const project = this.project(claims.p);
      if (!project) throw new Unauthorized('The project of this token no longer exists.');
      scope = { project };
    } else if (claims.d) {
      const domain = this.domain(claims.d);
      if (!domain) throw new Unauthorized('The domain of this token no longer exists.');
      scope = { domain };
    } else if (claims.s) scope = { system: true };
    let roles: Role[];
    let trust: Trust | undefined;
    if (claims.t) {
      // Deleting a trust ends its tokens; using up its last use does not.
      trust = this.store.get<Trust>('trust', claims.t);
      if (!trust) throw new Unauthorized('The trust of this token no longer exists.');
      this.checkScope(user, null);
      roles = this.trustRoles(trust, user);
    } else {
      roles = this.checkScope(user, scope);
    }
    let appCredential: AppCredential | undefined;
    if (claims.x) {
      appCredential = this.store.get<AppCredential>('app_credential', claims.x);
      if (!appCredential) throw new Unauthorized('The application credential of this token was deleted.');
      roles = roles.filter((r) => appCredential!.roles.some((ar) => ar.id === r.id));
    }
    return { claims, user, scope, roles, appCredential, ...(trust ? { trust } : {}) };
  }

  revoke(v: ValidToken): void {
    this.store.revokeToken(v.claims.a[0]!, v.claims.e);
  }

  /** The gateway's view of a token, for drivers and policy. */
  authContext(v: ValidToken): AuthContext {
    const s = v.scope;
    const roles = v.roles.map((r) => r.name);
    // trustId: the trust a token came from (EC2 credentials record it; trust tokens cannot make trusts).
    const ctx: AuthContext & { trustId?: string } = {
      userId: v.user.id,
      userName: v.user.name,
      userDomainId: v.user.domain_id,
      ...(s && 'project' in s ? { projectId: s.project.id, projectName: s.project.name, projectDomainId: s.project.domain_id } : {}),
      ...(s && 'domain' in s ? { domainId: s.domain.id } : {}),
      ...(s && 'system' in s ? { system: true } : {}),
      roles,
      isAdmin: roles.includes('admin'),
      auditId: v.claims.a[0]!,
      expiresAt: keystoneTime(v.claims.e),
      ...(v.claims.b !== undefined ? { backendCredential: v.claims.b } : {}),
      ...(v.trust ? { trustId: v.trust.id } : {}),
    };
    return ctx;
  }
}
