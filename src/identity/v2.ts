/**
 * Keystone v2.0 for old clients: version document, POST /v2.0/tokens (password
 * or token, scoped to a tenant by id or name in the Default domain) and
 * GET /v2.0/tenants. The spec set has no v2.0, so these routes are
 * hand-written; tokens are the same sealed tokens as v3.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { Fault } from '../faults.js';
import type { GatewayState } from '../state.js';
import { catalogV2 } from './catalog.js';
import { DEFAULT_DOMAIN, IdentityService, Unauthorized, keystoneTime, type Scope, type ValidToken } from './service.js';
import { unauthorized } from '../hooks/auth.js';

type Json = Record<string, unknown>;

export function v2Version(root: string) {
  return {
    id: 'v2.0', status: 'deprecated', updated: '2016-08-04T00:00:00Z',
    links: [{ rel: 'self', href: `${root}/v2.0/` }, { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v2.0+json' }],
  };
}

function access(identity: IdentityService, publicBase: string, token: string, v: ValidToken) {
  const s = v.scope;
  const project = s && 'project' in s ? s.project : undefined;
  const roles = v.roles.map((r) => ({ name: r.name }));
  return {
    access: {
      token: {
        id: token, issued_at: keystoneTime(v.claims.i), expires: keystoneTime(v.claims.e).replace(/\.\d+Z$/, 'Z'), audit_ids: v.claims.a,
        ...(project ? { tenant: { id: project.id, name: project.name, description: project.description ?? '', enabled: project.enabled } } : {}),
      },
      serviceCatalog: project ? catalogV2(identity, publicBase) : [],
      user: { id: v.user.id, name: v.user.name, username: v.user.name, roles, roles_links: [] },
      metadata: { is_admin: 0, roles: v.roles.map((r) => r.id) },
    },
  };
}

export function identityV2Router(identity: IdentityService): Router<GatewayState> {
  const router = new Router<GatewayState>({ prefix: '/identity/v2.0' });
  const root = (ctx: Context) => `${(ctx.state as GatewayState).publicBase}/identity`;

  const version = (ctx: Context) => { ctx.body = { version: v2Version(root(ctx)) }; };
  router.get('/', version);

  router.post('/tokens', async (ctx) => {
    const body = (await readJson(ctx)) as { auth?: Json };
    const auth = body?.auth;
    if (!auth || typeof auth !== 'object') throw Fault.badRequest('Expecting to find auth in request body.');
    let user;
    let backendCredential: unknown;
    let expiresAt: number | undefined;
    let parent: ValidToken | undefined;
    const creds = auth.passwordCredentials as { username?: string; userId?: string; password?: string } | undefined;
    if (creds) {
      if (typeof creds.password !== 'string' || (!creds.username && !creds.userId)) throw Fault.badRequest('Expecting username and password.');
      ({ user, backendCredential, expiresAt } = await identity.checkPassword({ userName: creds.username, userId: creds.userId, domain: { id: DEFAULT_DOMAIN }, password: creds.password }));
    } else if (auth.token && typeof (auth.token as Json).id === 'string') {
      parent = identity.validate((auth.token as Json).id as string);
      user = parent.user;
      backendCredential = parent.claims.b;
      expiresAt = parent.claims.e;
    } else {
      throw Fault.badRequest('Expecting passwordCredentials or token.');
    }
    let scope: Scope = null;
    if (auth.tenantId || auth.tenantName) {
      const project = auth.tenantId ? identity.project(String(auth.tenantId)) : identity.projectByName(DEFAULT_DOMAIN, String(auth.tenantName));
      if (!project) throw new Unauthorized(`Could not find tenant ${String(auth.tenantId ?? auth.tenantName)}.`);
      scope = { project };
    }
    const issued = identity.issue({ user, methods: parent ? ['token'] : ['password'], scope, parentAuditIds: parent?.claims.a, expiresAt, backendCredential });
    ctx.body = access(identity, (ctx.state as GatewayState).publicBase, issued.token, issued.valid);
  });

  router.get('/tenants', (ctx) => {
    const state = ctx.state as GatewayState;
    if (!state.auth) throw unauthorized(state.publicBase, state.authError);
    const tenants = identity.userProjects(state.auth.userId).map((p) => ({ id: p.id, name: p.name, description: p.description ?? '', enabled: p.enabled }));
    ctx.body = { tenants, tenants_links: [] };
  });

  return router;
}

async function readJson(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req) {
    size += (c as Buffer).length;
    if (size > 65536) throw new Fault('overLimit', 'Request body is too large.');
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch (err) {
    throw Fault.badRequest(`Malformed request body: ${(err as Error).message}`);
  }
}
