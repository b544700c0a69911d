// The text a log pane keeps: chunks are appended as they arrive, only the last `maxLines`
// lines are kept (the whole log is one Download away), and a carriage return inside a line
// (progress bars) shows only what was written after it, as a terminal would.

export const MAX_LINES = 5000;
// One line longer than this (a minified blob, a progress bar without \r) is cut for display.
export const MAX_LINE_CHARS = 10_000;

export class LogBuffer {
  private lines: string[] = [];
  // The last line, still open (no newline yet); it may grow with the next chunk.
  private tail = '';
  // Lines dropped from the front to respect the cap (plus any skipped before the first chunk).
  dropped = 0;
  // Bytes skipped at the start of a large log without being fetched.
  skippedBytes = 0;

  // After a jump into the middle of a log, the first (partial) line is not shown.
  private discardPartial = false;

  constructor(private readonly maxLines: number = MAX_LINES) {}

  // The next chunk starts `bytes` into the log, probably in the middle of a line.
  startMidway(bytes: number): void {
    this.skippedBytes = bytes;
    this.discardPartial = bytes > 0;
  }

  append(chunk: string): void {
    if (this.discardPartial) {
      const nl = chunk.indexOf('\n');
      if (nl < 0) return;
      chunk = chunk.slice(nl + 1);
      this.discardPartial = false;
    }
    if (!chunk) return;
    const parts = (this.tail + chunk).split('\n');
    this.tail = parts.pop() ?? '';
    for (const p of parts) this.lines.push(clean(p));
    const over = this.lines.length + (this.tail ? 1 : 0) - this.maxLines;
    if (over > 0) {
      // splice on a large array is O(n) but happens once per chunk, not once per line.
      this.lines.splice(0, Math.min(over, this.lines.length));
      this.dropped += over;
    }
  }

  // Everything kept, ready for one text node.
  text(): string {
    const t = this.tail ? clean(this.tail) : '';
    if (!this.lines.length) return t;
    return t ? `${this.lines.join('\n')}\n${t}` : this.lines.join('\n');
  }

  lineCount(): number {
    return this.lines.length + (this.tail ? 1 : 0);
  }

  isEmpty(): boolean {
    return !this.lines.length && !this.tail;
  }
}

function clean(line: string): string {
  let s = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = s.lastIndexOf('\r');
  if (cr >= 0) s = s.slice(cr + 1);
  return s.length > MAX_LINE_CHARS ? `${s.slice(0, MAX_LINE_CHARS)} …` : s;
}
