/** What the hooks leave in `ctx.state` for the dispatcher and for each other. */
import type { AuthContext, ServiceInfo } from '../generated/common.js';

export interface GatewayState {
  requestId: string;
  /** The gateway's URL as the client sees it, no trailing slash. */
  publicBase: string;
  region: string;
  /** `/region/<name>` for a region other than the first, else ''. */
  regionPrefix: string;
  /** The service whose prefix the path starts with, for the fault dialect. */
  service?: ServiceInfo;
  /** Stable id of the operation being served, once routed. */
  operationId?: string;
  auth?: AuthContext | null;
  /** Why the X-Auth-Token was refused, when it was. */
  authError?: string;
  /** False when the auth hook is turned off (every call anonymous). */
  authEnabled?: boolean;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
}
