/** Recent agent-server pushes on this replica, for GET /health ("are pushes arriving?"). */
export class PushActivity {
  private lastAt: number | null = null;
  /** Pushes per second of the last minute, as a ring indexed by the second. */
  private readonly perSecond = new Array<number>(60).fill(0);
  private readonly secondOf = new Array<number>(60).fill(-1);

  constructor(private readonly configured: boolean) {}

  received(at = Date.now()): void {
    this.lastAt = at;
    const second = Math.floor(at / 1000);
    const slot = second % 60;
    if (this.secondOf[slot] !== second) {
      this.secondOf[slot] = second;
      this.perSecond[slot] = 0;
    }
    this.perSecond[slot]++;
  }

  status(now = Date.now()) {
    const second = Math.floor(now / 1000);
    let lastMinute = 0;
    for (let slot = 0; slot < 60; slot++) {
      if (second - this.secondOf[slot] < 60) lastMinute += this.perSecond[slot];
    }
    return {
      configured: this.configured,
      lastReceivedAt: this.lastAt === null ? null : new Date(this.lastAt).toISOString(),
      receivedLastMinute: lastMinute,
    };
  }
}
