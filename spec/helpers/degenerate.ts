import { resolveComposite, type CompositeSpec } from '../../src/composites.js';
import type { Model } from '../../src/model/model.js';
import { referenceForward } from '../../src/reference/forward.js';
import { foldedWeight } from '../../src/graph/canonicalize.js';
import { conv2d, convGeometry } from '../../src/reference/kernels/conv2d.js';
import { linear } from '../../src/reference/kernels/linear.js';

const pos = (a: ArrayLike<number>) => Float64Array.from(a, (v) => Math.max(v, 0));
const neg = (a: ArrayLike<number>) => Float64Array.from(a, (v) => Math.min(v, 0));

/**
 * Counts neurons whose rule cannot conserve relevance, by the rule's own definition, within `threshold`:
 * a neuron that can receive relevance (its value survives any ReLU after it) whose denominator is
 * (nearly) zero. z-plus drops the relevance of a neuron whose positive part sum(x+ w+ + x- w-) is 0;
 * alpha-beta also needs a negative part; epsilon, gamma and norm need z itself; and a stabilizer eps
 * absorbs about eps / |d| of a neuron with denominator d. Computed from the layers' inputs and weights,
 * not by the rules.
 */
export function fragileNeurons(model: Model, spec: CompositeSpec, input: Float32Array, threshold: number): number {
  const composite = resolveComposite(spec);
  const graph = model.canonicalGraph(composite.foldBatchNorm);
  const rules = composite.assign(graph);
  const acts = referenceForward(graph, Float64Array.from(input), 1);
  let count = 0;
  for (const node of graph.nodes) {
    const rule = rules.get(node.name);
    if (!rule || !['epsilon', 'lrp0', 'gamma', 'norm', 'zplus', 'alpha-beta'].includes(rule.name)) continue;
    const z = acts.values.get(node.name)!;
    const denominators: ArrayLike<number>[] = [z];
    if ((rule.name === 'zplus' || rule.name === 'alpha-beta') && (node.op === 'Conv2d' || node.op === 'Linear')) {
      const x = acts.values.get(node.inputs[0])!;
      const apply = (xs: Float64Array, w: Float64Array) =>
        node.op === 'Conv2d'
          ? conv2d(xs, convGeometry(node, 1, graph.shape(node.inputs[0]), graph.shape(node.name)), w, null)
          : linear(xs, 1, node.inFeatures, node.outFeatures, w, null);
      const w = foldedWeight(node);
      const [xp, xn, wp, wn] = [pos(x), neg(x), pos(w), neg(w)];
      const plus = apply(xp, wp);
      const plusNeg = apply(xn, wn);
      denominators[0] = plus.map((v, i) => v + plusNeg[i]);
      if (rule.name === 'alpha-beta') {
        const minus = apply(xp, wn);
        const minusNeg = apply(xn, wp);
        denominators.push(minus.map((v, i) => v + minusNeg[i]));
      }
    }
    const readers = graph.consumers.get(node.name) ?? [];
    const relu = readers.length > 0 && readers.every((r) => r.op === 'ReLU');
    z.forEach((v, k) => {
      const live = relu ? v > 0 : v !== 0;
      if (live && denominators.some((d) => Math.abs(d[k]) < threshold)) count++;
    });
  }
  return count;
}
