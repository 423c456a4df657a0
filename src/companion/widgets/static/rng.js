// SplitMix64: the seeded stream shared with Python's companion.rng (same seed, same numbers;
// tests/js/bptt.test.mjs checks it against vectors Python writes). All mod 2**64:
//   state += 0x9E3779B97F4A7C15; z = state;
//   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//   return z ^ (z >> 31)
// random() = (z >> 11) * 2**-53 in [0, 1); uniform(lo, hi) = lo + (hi - lo) * random();
// integers(lo, hi) = lo + min(floor(random() * (hi - lo)), hi - lo - 1);
// normal() = sqrt(-2 ln(1 - u1)) * cos(2 pi u2), u1 and u2 two random() draws (Box-Muller).
// The state is kept as two uint32 halves (no BigInt in the hot path: data is drawn every
// training step); nextU64() returns a BigInt for tests and display.
//
// class SplitMix64 { constructor(seed /* integer 0 <= seed < 2**53, or BigInt < 2**64 */);
//   nextU64() -> BigInt; random(); uniform(lo, hi); integers(lo, hi); normal() }

const TWO32 = 4294967296;

// (ah, al) * (bh, bl) mod 2**64 into (MH, ML); products of 16-bit halves stay exact in doubles
let MH = 0, ML = 0;
function mul64(ah, al, bh, bl) {
  const a1 = al >>> 16, a0 = al & 0xffff, b1 = bl >>> 16, b0 = bl & 0xffff;
  const mid = a0 * b1 + a1 * b0;                        // < 2**33
  const t = a0 * b0 + (mid % 65536) * 65536;           // < 2**33
  const lo = t % TWO32;
  const hi = a1 * b1 + Math.floor(mid / 65536) + Math.floor(t / TWO32)
    + Math.imul(ah, bl) + Math.imul(al, bh);
  MH = hi >>> 0; ML = lo;
}

export class SplitMix64 {
  constructor(seed = 0) {
    if (typeof seed === "bigint") {
      if (seed < 0n || seed >= 1n << 64n) throw new RangeError(`seed: expected an integer in [0, 2**64), got ${seed}`);
      this.hi = Number(seed >> 32n);
      this.lo = Number(seed & 0xffffffffn);
    } else {
      if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed: expected an integer in [0, 2**53), got ${seed}`);
      this.hi = Math.floor(seed / TWO32);
      this.lo = seed % TWO32;
    }
  }

  // advances the state and leaves the output in this.zh, this.zl (uint32 halves)
  _next() {
    let lo = this.lo + 0x7f4a7c15, carry = 0;
    if (lo >= TWO32) { lo -= TWO32; carry = 1; }
    this.lo = lo;
    this.hi = (this.hi + 0x9e3779b9 + carry) >>> 0;
    let zh = this.hi, zl = this.lo;
    zl = (zl ^ ((zl >>> 30) | (zh << 2))) >>> 0; zh = (zh ^ (zh >>> 30)) >>> 0;
    mul64(zh, zl, 0xbf58476d, 0x1ce4e5b9); zh = MH; zl = ML;
    zl = (zl ^ ((zl >>> 27) | (zh << 5))) >>> 0; zh = (zh ^ (zh >>> 27)) >>> 0;
    mul64(zh, zl, 0x94d049bb, 0x133111eb); zh = MH; zl = ML;
    this.zl = (zl ^ ((zl >>> 31) | (zh << 1))) >>> 0;
    this.zh = (zh ^ (zh >>> 31)) >>> 0;
  }

  nextU64() { this._next(); return (BigInt(this.zh) << 32n) | BigInt(this.zl); }

  random() { this._next(); return (this.zh * 2097152 + (this.zl >>> 11)) * 1.1102230246251565e-16; }

  uniform(lo, hi) { return lo + (hi - lo) * this.random(); }

  integers(lo, hi) {
    if (!(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && lo < hi))
      throw new RangeError(`lo, hi: expected integers with lo < hi, got ${lo}, ${hi}`);
    return lo + Math.min(Math.floor(this.random() * (hi - lo)), hi - lo - 1);
  }

  normal() {
    const u1 = this.random(), u2 = this.random();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }
}
