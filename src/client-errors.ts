/**
 * Requests Node refuses before the gateway sees them (headers over 16 KB, a
 * URL over 16 KB, headers that never finish, bytes that are not HTTP): Node
 * would answer a bare status line. These get a JSON fault body in the shape
 * of Keystone's (the service cannot be told from a request that was never
 * parsed), and the connection is closed.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

const ANSWERS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'The request line and headers together are larger than 16 KB.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request headers did not arrive in time.'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'The chunk extensions are too large.'],
};

export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Nothing to answer on a connection that is gone or half-answered already.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, message] = ANSWERS[err.code ?? ''] ?? [400, 'The request is not valid HTTP.'];
  const body = JSON.stringify({ error: { code: status, title: STATUS_CODES[status], message } });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
