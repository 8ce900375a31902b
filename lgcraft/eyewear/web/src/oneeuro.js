// One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose cutoff
// rises with the signal's speed, so a still head stays still (no jitter) and a moving
// head is followed without lag.

function smoothingFactor(cutoffHz, dtSeconds) {
  const tau = 1 / (2 * Math.PI * cutoffHz);
  return 1 / (1 + tau / dtSeconds);
}

export class OneEuro {
  constructor(minCutoffHz = 1, beta = 0, derivativeCutoffHz = 1) {
    this.minCutoffHz = minCutoffHz;
    this.beta = beta;
    this.derivativeCutoffHz = derivativeCutoffHz;
    this.reset();
  }

  reset() {
    this.value = null;
    this.speed = 0;
    this.time = null;
  }

  filter(value, timeSeconds) {
    if (this.value === null) {
      this.value = value;
      this.time = timeSeconds;
      return value;
    }
    const dt = Math.max(timeSeconds - this.time, 1e-3);
    this.time = timeSeconds;
    const speed = (value - this.value) / dt;
    this.speed += smoothingFactor(this.derivativeCutoffHz, dt) * (speed - this.speed);
    const cutoff = this.minCutoffHz + this.beta * Math.abs(this.speed);
    this.value += smoothingFactor(cutoff, dt) * (value - this.value);
    return this.value;
  }
}

export class OneEuroVector {
  constructor(size, minCutoffHz, beta, derivativeCutoffHz = 1) {
    this.filters = Array.from({ length: size }, () => new OneEuro(minCutoffHz, beta, derivativeCutoffHz));
  }

  reset() {
    for (const f of this.filters) f.reset();
  }

  filter(values, timeSeconds) {
    return values.map((v, i) => this.filters[i].filter(v, timeSeconds));
  }
}
