/**
 * Audit trail: one CADF-shaped JSON record per mutating request (who did what
 * to which operation, and whether it worked), modelled on the events
 * keystonemiddleware's audit filter emits. Records carry
 * no bodies, query strings, tokens or headers besides User-Agent: the trail
 * is kept longer and read by more people than the access log.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Middleware, ParameterizedContext } from 'koa';
import { toFault } from '../faults.js';
import type { GatewayState } from '../state.js';
import { routeClass } from './rate-limit.js';

export interface AuditOptions {
  /** Receives one JSON record, without the trailing newline. */
  write: (line: string) => void;
  /**
   * Called when `write` throws. A lost record must not turn an action that
   * happened into an error answer, so the request goes on either way;
   * the default reports it as a process warning.
   */
  onError?: (err: unknown) => void;
}

/** The CADF action of a mutating request. */
export type AuditAction = 'create' | 'update' | 'delete' | 'create/action' | 'authenticate';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Maps a mutating request to its CADF action; undefined for reads. */
export function auditAction(method: string, path: string): AuditAction | undefined {
  const m = method.toUpperCase();
  if (!MUTATING.has(m)) return undefined;
  if (routeClass(m, path) === 'auth') return 'authenticate';
  if (m === 'POST') return path.replace(/\/+$/, '').endsWith('/action') ? 'create/action' : 'create';
  return m === 'DELETE' ? 'delete' : 'update';
}

/**
 * Opens an append-only JSON-lines file, creating its directory.
 * The file is opened synchronously so a bad path or permission stops startup
 * instead of losing records later.
 */
export function openAuditFile(path: string): { write(line: string): void; close(): Promise<void> } {
  mkdirSync(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { fd: openSync(path, 'a'), encoding: 'utf8' });
  // Without a listener a failed write would crash the process; keep it for the next write instead.
  let failure: Error | undefined;
  stream.on('error', (err) => { failure ??= err; });
  return {
    write(line) {
      if (failure) throw failure;
      stream.write(`${line}\n`);
    },
    close() {
      return new Promise((resolve, reject) => {
        if (stream.destroyed) return failure ? reject(failure) : resolve();
        stream.end(() => (failure ? reject(failure) : resolve()));
      });
    },
  };
}

/** Writes an audit record for every POST, PUT, PATCH and DELETE, whatever its outcome. */
export function auditHook(opts: AuditOptions): Middleware<GatewayState> {
  const onError = opts.onError ?? ((err: unknown) => process.emitWarning(`audit record lost: ${String(err)}`));
  const write = (line: string) => {
    try {
      opts.write(line);
    } catch (err) {
      onError(err);
    }
  };
  return async (ctx, next) => {
    const action = auditAction(ctx.method, ctx.path);
    if (!action) return next();
    try {
      await next();
    } catch (err) {
      // What the fault hook will answer: the error's status when it has a valid one, else 500.
      write(JSON.stringify(auditEvent(ctx, action, toFault(err).status)));
      throw err;
    }
    write(JSON.stringify(auditEvent(ctx, action, ctx.status)));
  };
}

/** The CADF event of one answered request. */
function auditEvent(ctx: ParameterizedContext<GatewayState>, action: AuditAction, status: number) {
  const auth = ctx.state.auth;
  return {
    typeURI: 'http://schemas.dmtf.org/cloud/audit/1.0/event',
    id: randomUUID(),
    eventType: 'activity',
    eventTime: new Date().toISOString(),
    action,
    outcome: status < 400 ? 'success' : 'failure',
    reason: { reasonType: 'HTTP', reasonCode: String(status) },
    initiator: {
      typeURI: 'service/security/account/user',
      id: auth?.userId ?? 'anonymous',
      project_id: auth?.projectId,
      host: { address: ctx.ip, agent: ctx.get('user-agent') },
    },
    target: {
      typeURI: `service/${ctx.state.service?.name ?? 'unknown'}`,
      id: ctx.state.operationId ?? '',
      // ctx.path has no query string, which can carry names, markers and filters.
      name: `${ctx.method} ${ctx.path}`,
    },
    observer: { typeURI: 'service/gateway', id: 'stackgate' },
    requestId: ctx.state.requestId,
  };
}
