/** Small tools shared by the process, chaos and mock tests. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A seeded PRNG (mulberry32): the same seed gives the same sequence, so a failing run can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The first port the kernel hands to outgoing connections (Linux `ip_local_port_range`), or
 * 32768 where that file is absent.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1, chosen at random *below* the kernel's ephemeral range. A port the
 * kernel picked (`listen(0)`) lies in the range it also gives every outgoing connection: between
 * this check and a child's bind, a Redis or HTTP client of another test worker could take it
 * ("Address already in use", seen in CI on a Cluster node). Below the range only another listener
 * can, and a random pick makes two workers meeting on one port unlikely. Never the same port twice
 * in one process (a restarted server keeps its own).
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  const low = 10_000;
  if (high - low >= 2_000) {
    for (let i = 0; i < 100; i++) {
      const port = low + Math.floor(Math.random() * (high - low));
      if (handedOut.has(port)) continue;
      if (await canListen(port)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
