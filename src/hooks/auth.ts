/**
 * Auth: a request's X-Auth-Token is opened and checked here, once, and what
 * it says (user, project, roles) goes to `ctx.state.auth`. Whether the
 * operation needs it is the dispatcher's question (version documents and
 * token issue do not); a bad token there is a 401 with Keystone's
 * WWW-Authenticate header, in the service's own fault format.
 */
import type { Middleware } from 'koa';
import type { GatewayState } from '../state.js';
import type { IdentityService } from '../identity/service.js';
import { Fault, isFault } from '../faults.js';

export function authHook(identity: IdentityService): Middleware<GatewayState> {
  return async (ctx, next) => {
    const token = ctx.get('x-auth-token');
    ctx.state.auth = null;
    if (token) {
      try {
        ctx.state.auth = identity.authContext(identity.validate(token));
      } catch (err) {
        if (!isFault(err) || err.status !== 401) throw err;
        ctx.state.authError = err.message;
      }
    }
    await next();
  };
}

/** The 401 every service answers for a missing or bad token. */
export function unauthorized(publicBase: string, message = 'The request you have made requires authentication.'): Fault {
  return new Fault('unauthorized', message, { headers: { 'WWW-Authenticate': `Keystone uri="${publicBase}/identity"` } });
}
