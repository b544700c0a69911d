// Follows one attempt's log through GET /api/task_instance/<id>/log?offset=N, which answers
// up to 256 KiB from N, the next offset, and eof once the attempt has finished and nothing is
// left. While the attempt runs, an answer shorter than a full chunk means "caught up": wait a
// second and ask again. A log much larger than what the pane keeps is not read from the
// start: its end is found by probing offsets, and the tail is read from there.
import type { LogBuffer } from './logBuffer';
import type { LogChunk } from './runApi';

export const CHUNK_BYTES = 256 * 1024;
// What is read of a large log: enough for the pane's line cap at typical line lengths.
export const KEEP_BYTES = 1024 * 1024;

export type TailStatus = 'loading' | 'following' | 'done' | 'error';

export interface TailOptions {
  fetch: (offset: number) => Promise<LogChunk>;
  buffer: LogBuffer;
  onUpdate: () => void;
  onStatus: (s: TailStatus, error?: string) => void;
  sleep: (ms: number) => Promise<void>;
  stopped: () => boolean;
  // The attempt has ended by the task's state; with no eof (a lost attempt never writes its
  // exit) an empty answer then means there is nothing more to wait for.
  attemptDone: () => boolean;
  pollMs?: number;
  chunkBytes?: number;
  keepBytes?: number;
  maxErrors?: number;
}

// The log's size, known to be beyond `from`: doubling steps, then halving, stopping early as
// soon as an answer is shorter than a chunk (its `next` is then the size).
export async function findEnd(fetch: TailOptions['fetch'], from: number, chunk: number): Promise<number> {
  let lo = from;
  let hi = -1;
  let step = chunk * 4;
  for (;;) {
    const p = lo + step;
    const r = await fetch(p);
    if (r.next > p) {
      if (r.next - p < chunk) return r.next;
      lo = r.next;
      step *= 2;
    } else {
      hi = p;
      break;
    }
  }
  while (hi - lo > chunk) {
    const mid = Math.floor((lo + hi) / 2);
    const r = await fetch(mid);
    if (r.next > mid) {
      if (r.next - mid < chunk) return r.next;
      lo = r.next;
    } else hi = mid;
  }
  // The end is within one chunk of lo now: one read from there lands on it.
  return (await fetch(lo)).next;
}

export async function tailLog(o: TailOptions): Promise<void> {
  const chunk = o.chunkBytes ?? CHUNK_BYTES;
  const keep = o.keepBytes ?? KEEP_BYTES;
  const poll = o.pollMs ?? 1000;
  const maxErrors = o.maxErrors ?? 5;
  let offset = 0;
  let first = true;
  let errors = 0;
  o.onStatus('loading');
  while (!o.stopped()) {
    let c: LogChunk;
    try {
      c = await o.fetch(offset);
    } catch (e) {
      if (o.stopped()) return;
      // The attempt's files may not exist yet right after it is submitted: keep trying for a while.
      errors += 1;
      const msg = e instanceof Error ? e.message : String(e);
      if (errors >= maxErrors) {
        o.onStatus('error', msg);
        if (o.attemptDone()) return;
      }
      await o.sleep(poll * 2);
      continue;
    }
    if (o.stopped()) return;
    errors = 0;
    const read = c.next - c.offset;
    if (first && read >= chunk && !c.eof) {
      const end = await findEnd(o.fetch, c.next, chunk).catch(() => c.next);
      if (o.stopped()) return;
      if (end - keep > c.next) {
        o.buffer.startMidway(end - keep);
        offset = end - keep;
        first = false;
        continue;
      }
    }
    first = false;
    o.buffer.append(c.data);
    offset = c.next;
    if (c.data) o.onUpdate();
    if (c.eof || (read === 0 && o.attemptDone())) {
      o.onStatus('done');
      return;
    }
    if (read >= chunk) continue;
    o.onStatus('following');
    await o.sleep(poll);
  }
}
