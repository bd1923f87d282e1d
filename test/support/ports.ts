import { createServer } from 'node:net';

/** Chosen in this process already: a set of ports handed to one child must not repeat. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A free loopback port for a child process to bind later, chosen below Linux's ephemeral range
 * (32768-60999). A port the kernel picked for `listen(0)` is released before the child binds
 * it, and in that gap any other test file's `listen(0)` may be given the same one; below the
 * range the kernel never hands it out on its own.
 */
export async function childPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free loopback port between 20000 and 32000');
}
