// Adam and gradient-norm clipping with torch.optim's rules: the same operations, in the same
// order, as companion.optim.Adam and clip_grad_norm (tests/js/bptt.test.mjs: 20 steps to 1e-9).
//
// class Adam { constructor(params /* {name: Float64Array}, updated in place */,
//     { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = {}); step(grads /* same names */) }
//   m_t = b1 m + (1 - b1) g;  v_t = b2 v + (1 - b2) g^2;
//   theta -= (lr / (1 - b1^t)) m_t / (sqrt(v_t) / sqrt(1 - b2^t) + eps);  weightDecay adds lambda theta to g.
// function clipGradNorm(grads, maxNorm) -> the global norm before clipping; in place:
//   g *= min(1, maxNorm / (norm + 1e-6)), one factor for all arrays (the direction is kept).

export class Adam {
  constructor(params, { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = {}) {
    if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`lr: expected a positive number, got ${lr}`);
    if (!(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1)) throw new RangeError(`betas: expected two numbers in [0, 1), got ${betas}`);
    if (!(eps >= 0) || !(weightDecay >= 0)) throw new RangeError(`eps, weightDecay: expected numbers >= 0, got ${eps}, ${weightDecay}`);
    this.params = params;
    this.lr = lr; this.beta1 = betas[0]; this.beta2 = betas[1]; this.eps = eps; this.weightDecay = weightDecay;
    this.t = 0;
    this.m = {}; this.v = {};
    for (const k of Object.keys(params)) { this.m[k] = new Float64Array(params[k].length); this.v[k] = new Float64Array(params[k].length); }
  }

  step(grads) {
    for (const k of Object.keys(this.params)) {
      const g = grads[k];
      if (!g || g.length !== this.params[k].length) throw new RangeError(`grads.${k}: expected ${this.params[k].length} values`);
      for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) throw new RangeError(`grads.${k}: expected finite values, got ${g[i]}`);
    }
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    const c1 = 1 - b1 ** this.t, sc2 = Math.sqrt(1 - b2 ** this.t), step = this.lr / c1;
    for (const k of Object.keys(this.params)) {
      const p = this.params[k], g = grads[k], m = this.m[k], v = this.v[k];
      for (let i = 0; i < p.length; i++) {
        const d = wd ? g[i] + wd * p[i] : g[i];
        m[i] = m[i] * b1 + (1 - b1) * d;
        v[i] = v[i] * b2 + (1 - b2) * d * d;
        p[i] -= (step * m[i]) / (Math.sqrt(v[i]) / sc2 + eps);
      }
    }
  }
}

export function globalNorm(grads) {
  let s = 0;
  for (const g of Object.values(grads)) { let a = 0; for (let i = 0; i < g.length; i++) a += g[i] * g[i]; s += a; }
  return Math.sqrt(s);
}

export function clipGradNorm(grads, maxNorm) {
  if (!(maxNorm > 0)) throw new RangeError(`maxNorm: expected a positive number, got ${maxNorm}`);
  const total = globalNorm(grads);
  if (!Number.isFinite(total)) throw new RangeError(`grads: expected finite values, got a norm of ${total}`);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return total;
}
