/** Latency samples in ms, with percentiles; kept whole (a minute at 10k/s is 600k numbers). */
export class Latencies {
  private samples: number[] = [];
  private sorted = true;

  add(ms: number): void {
    this.samples.push(ms);
    this.sorted = false;
  }

  get count(): number {
    return this.samples.length;
  }

  percentile(p: number): number {
    if (this.samples.length === 0) return NaN;
    if (!this.sorted) {
      this.samples.sort((a, b) => a - b);
      this.sorted = true;
    }
    const index = Math.min(this.samples.length - 1, Math.max(0, Math.ceil((p / 100) * this.samples.length) - 1));
    return this.samples[index] as number;
  }

  /** Starts a new window (for the live line) and returns the finished one. */
  takeWindow(): Latencies {
    const finished = new Latencies();
    finished.samples = this.samples;
    finished.sorted = this.sorted;
    this.samples = [];
    this.sorted = true;
    return finished;
  }
}
