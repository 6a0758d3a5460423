import type { Readable } from 'node:stream';

/** One service stackgate serves (see codegen/services.ts). */
export interface ServiceInfo {
  /** Name as in ../shared/openstack-specs/<name>/ and specs/<name>.yaml. */
  readonly name: string;
  /** Short name used in ids and TypeScript names (block-storage → volume). */
  readonly id: string;
  /** TypeScript interface stem: ComputeDriver, VolumeDriver, … */
  readonly typeName: string;
  /** Path prefix on the gateway's single port. */
  readonly prefix: string;
  /** Keystone catalog type. */
  readonly catalogType: string;
  /** Classic standalone port, for the optional one-port-per-service mode. */
  readonly classicPort: number;
  /** Microversion negotiation, for the services that have it. */
  readonly microversion?: {
    /** `OpenStack-API-Version: <token> X.Y` */
    readonly token: string;
    /** Older per-service headers clients still send. */
    readonly legacyHeaders: readonly string[];
    /** Version served when the client asks for none. */
    readonly defaultVersion: string;
  };
  /** Fault body dialect (src/faults.ts). */
  readonly faultStyle: 'nova' | 'keystone' | 'glance' | 'neutron' | 'placement';
}

/** The 2xx a successful call answers, by microversion when it depends on it. */
export interface StatusRule {
  readonly status: number;
  readonly min?: string;
  readonly max?: string;
}

/** One served operation. */
export interface OperationRow {
  /** Stable id: `compute.servers.action.reboot`. */
  readonly id: string;
  readonly method: string;
  /** Path template under the service prefix: `/v2.1/servers/{id}/action`. */
  readonly path: string;
  /** Other templates served by the same operation (`/v3/{project_id}/volumes`). */
  readonly aliases?: readonly string[];
  /** The driver method that serves it (for HEAD rows, the GET's). */
  readonly driverMethod: string;
  /** Upstream operationId, for reference. */
  readonly upstreamId: string;
  /** operationId in spec.json (all actions of one `/action` share it). */
  readonly specOperationId: string;
  readonly minVersion: string | null;
  readonly maxVersion: string | null;
  /** Action name, the single key of a `POST …/action` body. */
  readonly action: string | null;
  readonly success: readonly StatusRule[];
  readonly statuses: readonly number[];
  /** Media type of the request body, when there is one. */
  readonly requestBody: string | null;
  readonly requestBodyRequired: boolean;
  /** HEAD rows answered by a GET row's method, without the body. */
  readonly headOf: string | null;
  /** Version documents are answered by the gateway itself. */
  readonly servedBy: 'driver' | 'gateway';
}

/** Facts about one imported spec. */
export interface ServiceSpecInfo {
  readonly service: string;
  readonly version: string;
  readonly sha256: string;
  readonly upstreamOperations: number;
  readonly minMicroversion: string | null;
  readonly maxMicroversion: string | null;
  readonly patches: number;
}

/** Who is calling, as established by the auth hook. */
export interface AuthContext {
  readonly userId: string;
  readonly userName: string;
  readonly userDomainId: string;
  readonly projectId?: string;
  readonly projectName?: string;
  readonly projectDomainId?: string;
  readonly domainId?: string;
  readonly system?: boolean;
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
  /** Audit id of the token, for logs: never the token itself. */
  readonly auditId: string;
  readonly expiresAt: string;
  /** Backend credential unsealed from the token; opaque to the gateway. */
  readonly backendCredential?: unknown;
}

/** Everything about the call that is not path, query or body. */
export interface RequestContext {
  readonly requestId: string;
  /** The HTTP method as the client sent it (`HEAD` on a GET operation's route). */
  readonly method: string;
  /** Service name: `compute`, `block-storage`, … */
  readonly service: string;
  readonly operationId: string;
  /** Negotiated microversion `X.Y`, or null for services without them. */
  readonly microversion: string | null;
  readonly region: string;
  /** This service's endpoint as the client sees it, for links and Location. */
  readonly endpoint: string;
  /** The request URL as the client sees it (for `next` links). */
  readonly url: string;
  readonly auth: AuthContext | null;
  /** `{project_id}` from the URL of routes that carry it. */
  readonly urlProjectId?: string;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

export interface DriverRequest<P, Q, B> {
  readonly path: P;
  readonly query: Q;
  readonly body: B;
  /** Request headers, lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly context: RequestContext;
}

// A registered symbol, not `instanceof`: a driver loaded through a second copy
// of this module (another loader, a bundled backend) still makes Replies.
const REPLY = Symbol.for('stackgate.reply');

/** A driver answer with a status or headers of its own. */
export class Reply<B = unknown> {
  readonly [REPLY] = true;
  constructor(
    readonly body: B,
    readonly status?: number,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

/** Whether a driver result is a Reply (from any copy of this module). */
export function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && (value as { [REPLY]?: unknown })[REPLY] === true;
}

/** What a driver method resolves to: the body, or a Reply around it. */
export type DriverResult<B> = Promise<B | Reply<B>>;

type Present<T> = [T] extends [never] ? Record<string, never> : [T] extends [undefined] ? Record<string, never> : NonNullable<T>;

/** Path parameters of an openapi-typescript operation. */
export type PathOf<O> = O extends { parameters: { path?: infer P } } ? Present<P> : Record<string, never>;
/** Query parameters of an openapi-typescript operation (all optional on the wire). */
export type QueryOf<O> = O extends { parameters: { query?: infer P } } ? Partial<Present<P>> : Record<string, never>;
/** Request body of an operation for one media type. */
export type BodyOf<O, M extends string> = O extends { requestBody?: infer R }
  ? NonNullable<R> extends { content: infer C } ? (M extends keyof C ? C[M] : unknown) : undefined
  : undefined;

type BodyContent<R> = R extends { content: infer C }
  ? 'application/json' extends keyof C ? C['application/json'] : StreamBody
  : void;
/** Union of the 2xx response bodies of an operation (void for those without one). */
export type ResponseOf<O> = O extends { responses: infer R }
  ? { [S in keyof R]: S extends 200 | 201 | 202 | 203 | 204 | 206 | 207 ? BodyContent<R[S]> : never }[keyof R]
  : void;

/** A streamed body (image data). */
export type StreamBody = Readable | Buffer;
