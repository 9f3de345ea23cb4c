/**
 * One HTTP exchange with the header names as they were on the wire (`res.rawHeaders`), for the
 * tests that check what a mock writes, not what a client library makes of it. Python's `requests`
 * hands a client the names as received (`resp.headers.keys()`), and some clients branch on them.
 */
import { request } from 'node:http';

/** What {@link send} returns. */
export interface RawAnswer {
  status: number;
  /** The header names in the order and case the server wrote them. */
  rawNames: string[];
  /** The header values by lower-case name (what `requests`' case-insensitive dict answers). */
  headers: Record<string, string>;
  /** The body text. */
  text: string;
  /** The body as JSON (`undefined` when it is not JSON). */
  json: Record<string, unknown> | undefined;
}

/** What to send: a path (with a query string or `query`), headers as the client names them, a body text. */
export interface RawRequest {
  method?: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends `req` to `baseUrl` and reads the whole answer. */
export function send(baseUrl: string, req: RawRequest): Promise<RawAnswer> {
  const url = new URL(req.path, baseUrl);
  for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.append(k, v);
  const body = req.body ?? '';
  return new Promise((resolve, reject) => {
    const r = request(
      url,
      { method: req.method ?? 'POST', headers: { ...req.headers, ...(body === '' ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const rawNames: string[] = [];
          const headers: Record<string, string> = {};
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            rawNames.push(res.rawHeaders[i]!);
            headers[res.rawHeaders[i]!.toLowerCase()] = res.rawHeaders[i + 1]!;
          }
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, rawNames, headers, text, json });
        });
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

/** A JSON body, as `json.dumps(...)` / `axios.post(url, obj)` send it. */
export const json = (v: unknown): string => JSON.stringify(v);

/** A form body, as `requests.post(url, data={...})` sends it. */
export const form = (v: Record<string, string>): string => new URLSearchParams(v).toString();
