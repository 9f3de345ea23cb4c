/**
 * Serves a mock model over `node:http`: reads each request, hands it to the model, and carries
 * out the model's plan (answer, reset the socket, or hang) with the configured latency. Holds the
 * sockets and timers, nothing about the broker. Also routes the control endpoint when enabled.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { MockTransportTarget } from './axios-adapter.js';
import { handleControlRequest, MOCK_CONTROL_PREFIX, type MockControlTarget } from './control-endpoint.js';
import { mockOptionError } from './faults.js';
import { textResponse, wireHeaderName, type MockRequest, type MockResponse } from './wire.js';

/** Transport options of {@link serveMockModel}. */
export interface MockHttpOptions {
  /** TCP port. Default `0` (an ephemeral port). */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'`. For a wildcard host (`0.0.0.0`, `::`) the `url` names loopback. */
  host?: string;
  /** Added before every answer (faults included), in ms. Default `0`. */
  latencyMs?: number;
  /**
   * Serve the control endpoint (`/__mock/...`, loopback callers only; see {@link handleControlRequest}).
   * Default `false`: paths under `/__mock/` answer 404.
   */
  control?: boolean;
}

/** A listening mock server. */
export interface MockHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /**
   * The address the socket is really bound to, as the system reports it (`127.0.0.1`, `::1`, or a
   * wildcard `0.0.0.0`/`::`, which is reachable from the network although {@link url} names loopback).
   */
  readonly boundHost: string;
  /** `http://<boundHost>:<port>`: where it really listens (equal to {@link url} unless the host is a wildcard). */
  readonly boundUrl: string;
  /**
   * Stops the server: destroys every socket (keep-alive and hung requests included) and clears
   * every timer. Never hangs; safe to call more than once.
   */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Per-request state: whether the client or the server went away, and who to wake when it does. */
interface RequestContext {
  gone: boolean;
  readonly wakers: Set<() => void>;
}

function headerRecord(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** Checks the transport options. @throws LsTokenError `ERR_INVALID_OPTION`. */
export function validateHttpOptions(o: MockHttpOptions): void {
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw mockOptionError('port', `port must be an integer 0..65535, got ${String(o.port)}`);
  }
  if (o.latencyMs !== undefined && !(typeof o.latencyMs === 'number' && Number.isFinite(o.latencyMs) && o.latencyMs >= 0)) {
    throw mockOptionError('latencyMs', `latencyMs must be a finite number >= 0, got ${String(o.latencyMs)}`);
  }
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host === '')) throw mockOptionError('host', 'host must be a non-empty string');
  if (o.control !== undefined && typeof o.control !== 'boolean') throw mockOptionError('control', 'control must be a boolean');
}

/**
 * Serves `target` over HTTP and resolves once it listens.
 *
 * @throws LsTokenError `ERR_INVALID_OPTION` for invalid options; the listen error (e.g. `EADDRINUSE`).
 */
export async function serveMockModel(target: MockTransportTarget & MockControlTarget, options: MockHttpOptions = {}): Promise<MockHttpServer> {
  validateHttpOptions(options);
  const host = options.host ?? '127.0.0.1';
  const latencyMs = options.latencyMs ?? 0;
  const control = options.control ?? false;
  const sockets = new Set<Socket>();
  const contexts = new Set<RequestContext>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;
  let closePromise: Promise<void> | undefined;

  /** Resolves `true` after `ms` (never, if `ms` is undefined), or `false` as soon as the client or server goes away. */
  function wait(ctx: RequestContext, ms: number | undefined): Promise<boolean> {
    if (ctx.gone || closing) return Promise.resolve(false);
    if (ms === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer !== undefined) {
          clearTimeout(timer);
          timers.delete(timer);
        }
        ctx.wakers.delete(wake);
      };
      const wake = (): void => {
        cleanup();
        resolve(false);
      };
      ctx.wakers.add(wake);
      if (ms !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          resolve(true);
        }, ms);
        timers.add(timer);
      }
    });
  }

  function wakeAll(ctx: RequestContext): void {
    ctx.gone = true;
    for (const w of [...ctx.wakers]) w();
  }

  function send(res: ServerResponse, reply: MockResponse): void {
    if (res.destroyed || res.headersSent) return;
    // Node writes header names as given: standard ones go out in canonical case, the broker's as it spells them.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.headers)) headers[wireHeaderName(name)] = value;
    headers['Content-Length'] = String(Buffer.byteLength(reply.body));
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size <= MAX_BODY_BYTES) chunks.push(buf); // past the limit: drain, keep nothing
      }
    } catch {
      return undefined; // client went away mid-body
    }
    return size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const body = await readBody(req);
    if (body === undefined || ctx.gone || closing) return;
    if (body === 'too-large') {
      if (await wait(ctx, latencyMs)) send(res, textResponse(413, 'Payload Too Large'));
      return;
    }
    const requestTarget = req.url ?? '/';
    const q = requestTarget.indexOf('?');
    const request: MockRequest = {
      method: req.method ?? 'GET',
      path: q < 0 ? requestTarget : requestTarget.slice(0, q),
      query: q < 0 ? '' : requestTarget.slice(q + 1),
      headers: headerRecord(req),
      body: body.toString('utf8'),
    };
    if (request.path.startsWith(MOCK_CONTROL_PREFIX)) {
      send(res, control ? handleControlRequest(target, request, req.socket.remoteAddress) : textResponse(404, 'Not Found'));
      return;
    }
    const exchange = target.receive(request);
    res.once('close', () => exchange.end());
    const plan = exchange.plan;
    if (plan.kind === 'hang' && !(await wait(ctx, plan.ms))) return;
    const reply = plan.kind === 'answer' ? plan.response : plan.kind === 'hang' ? exchange.resume() : undefined;
    if (!(await wait(ctx, latencyMs))) return;
    if (reply === undefined) req.socket.destroy(); // reset
    else send(res, reply);
  }

  const server = createServer((req, res) => {
    const ctx: RequestContext = { gone: false, wakers: new Set() };
    contexts.add(ctx);
    res.once('close', () => {
      contexts.delete(ctx);
      wakeAll(ctx);
    });
    handle(req, res, ctx).catch(() => {
      if (!res.headersSent && !res.destroyed) send(res, textResponse(500, 'Internal Server Error'));
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port, address: boundHost } = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const urlOf = (h: string): string => `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
  const url = urlOf(shownHost);

  return {
    url,
    port,
    boundHost,
    boundUrl: urlOf(boundHost),
    close(): Promise<void> {
      if (closePromise !== undefined) return closePromise;
      closing = true;
      closePromise = new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const ctx of [...contexts]) wakeAll(ctx);
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closePromise;
    },
  };
}
