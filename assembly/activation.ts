// Activations other than ReLU (which has its own vector kernels and fuses into convolutions) and their
// derivatives, for the forward pass and for gradients; LRP passes relevance through all of them
// unchanged, so these run once a forward and only in gradient-based explanations otherwise. Each
// matches PyTorch's definition, including which side of a kink the derivative takes. Codes (A_*) are
// generated from scripts/kernel-constants.mjs; p and q are the op's parameters, as the comments say.
import { A_CLIP, A_LEAKY, A_SIGMOID, A_HARDSIGMOID, A_HARDSWISH, A_SILU, A_TANH } from './constants.generated';
import { shareBegin } from './thread';

@inline function sigmoid(x: f32): f32 {
  return 1 / (1 + Mathf.exp(-x));
}

@inline function value(op: i32, x: f32, p: f32, q: f32): f32 {
  switch (op) {
    case A_CLIP: // min(max(x, p), q)
      return min(max(x, p), q);
    case A_LEAKY: // slope p below 0
      return x > 0 ? x : p * x;
    case A_SIGMOID:
      return sigmoid(x);
    case A_HARDSIGMOID: // clip(p x + q, 0, 1)
      return min(max(p * x + q, 0), 1);
    case A_HARDSWISH: // x relu6(x + 3) / 6
      return x * (min(max(x + 3, 0), 6) * (<f32>1 / 6));
    case A_SILU:
      return x * sigmoid(x);
    case A_TANH:
      return Mathf.tanh(x);
    default:
      return unreachable();
  }
}

@inline function slope(op: i32, x: f32, p: f32, q: f32): f32 {
  switch (op) {
    case A_CLIP:
      return x > p && x < q ? 1 : 0;
    case A_LEAKY:
      return x > 0 ? 1 : p;
    case A_SIGMOID: {
      const s = sigmoid(x);
      return s * (1 - s);
    }
    case A_HARDSIGMOID: {
      const z = p * x + q;
      return z > 0 && z < 1 ? p : 0;
    }
    case A_HARDSWISH:
      return x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1;
    case A_SILU: {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    }
    case A_TANH: {
      // sech^2, not 1 - tanh^2: that loses every digit in float32 once tanh rounds to 1 (|x| > 4).
      const c = Mathf.cosh(x);
      return 1 / (c * c);
    }
    default:
      return unreachable();
  }
}

/**
 * y = f(x) over share `part` of `parts` of n floats (whole vectors each); the piecewise-linear ones
 * four lanes at a time (ReLU6 runs after every conv of a MobileNet).
 */
export function activation(op: i32, x: usize, y: usize, n: i32, p: f32, q: f32, part: i32, parts: i32): void {
  const i0 = shareBegin(n, 4, part, parts), o = <usize>i0 << 2;
  activationRun(op, x + o, y + o, shareBegin(n, 4, part + 1, parts) - i0, p, q);
}

function activationRun(op: i32, x: usize, y: usize, n: i32, p: f32, q: f32): void {
  let i = 0;
  if (op == A_CLIP) {
    const lo = f32x4.splat(p), hi = f32x4.splat(q);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      v128.store(y + off, f32x4.min(f32x4.max(v128.load(x + off), lo), hi));
    }
  } else if (op == A_HARDSWISH) {
    const three = f32x4.splat(3), six = f32x4.splat(6), zero = f32x4.splat(0), sixth = f32x4.splat(<f32>1 / 6);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      const v = v128.load(x + off);
      v128.store(y + off, f32x4.mul(v, f32x4.mul(f32x4.min(f32x4.max(f32x4.add(v, three), zero), six), sixth)));
    }
  } else if (op == A_LEAKY) {
    const slope = f32x4.splat(p), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      const v = v128.load(x + off);
      v128.store(y + off, v128.bitselect(v, f32x4.mul(v, slope), f32x4.gt(v, zero)));
    }
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, value(op, load<f32>(x + off), p, q));
  }
}

/** dx = f'(x) dy, n floats. */
export function activation_gradient(op: i32, x: usize, dy: usize, dx: usize, n: i32, p: f32, q: f32): void {
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(dx + off, slope(op, load<f32>(x + off), p, q) * load<f32>(dy + off));
  }
}
