/**
 * A loopback TCP port nothing listens on right now: the tests and benchmarks start servers
 * (the product, embedded Postgres, fakes) on ports from here.
 */
import net from 'node:net';

/** A free port on 127.0.0.1 (the OS picks it; racy by nature, fine on a test machine). @throws when no port can be bound. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
