/**
 * A private HTTP server on 127.0.0.1 that plays a hostile or broken LS gateway: each test gives it
 * the handler it needs (echo the request body, send 50 MB, ...). Requests are collected with their
 * parsed form body so a test can see what the client sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One request as the server received it. */
export interface SeenRequest {
  readonly path: string;
  readonly rawBody: string;
  readonly form: URLSearchParams;
}

/** What a handler gets. */
export type HostileHandler = (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => void;

/** A running hostile server. */
export interface HostileServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Replaces the handler. */
  handle(handler: HostileHandler): void;
  close(): Promise<void>;
}

/** Starts a hostile server; the default handler answers 500 with an empty body. */
export async function startHostileServer(handler?: HostileHandler): Promise<HostileServer> {
  let current: HostileHandler = handler ?? ((_req, res) => res.writeHead(500).end());
  const requests: SeenRequest[] = [];
  const server: Server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const seen = { path: raw.url ?? '', rawBody, form: new URLSearchParams(rawBody) };
      requests.push(seen);
      current(seen, res, raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle: (h) => {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** A JWT-shaped token (unsigned: the client cannot verify LS signatures anyway) with the given claims. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ typ: 'JWT', alg: 'HS512' })}.${b64(claims)}.${Buffer.from('signature-of-the-gateway-0123456789').toString('base64url')}`;
}
