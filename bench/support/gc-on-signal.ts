/**
 * Preloaded into a service the bench measures (`NODE_OPTIONS=--expose-gc --require …`, so it
 * runs in the service's worker threads too): on SIGWINCH (ignored by default, and not one of the
 * signals that shut the service down) every thread runs a full garbage collection. The bench
 * reads RSS after it to see what the process retains; before it, RSS also holds the garbage of
 * the last load, which V8 gives back only at its next collection (without requests, up to a
 * minute or so later).
 */
import { BroadcastChannel, isMainThread } from 'node:worker_threads';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  const everyThread = new BroadcastChannel('bench-gc-on-signal');
  everyThread.unref(); // must not keep a worker alive
  if (isMainThread) {
    process.on('SIGWINCH', () => {
      gc();
      everyThread.postMessage('gc'); // the other threads (a channel does not deliver to its sender)
    });
  } else {
    everyThread.onmessage = () => gc();
  }
}
