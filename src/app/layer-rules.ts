/**
 * Which rule each layer gets under a composite, as explanations apply them: on the graph the composite
 * runs on (BatchNorm folded or kept, as it says). `relprop info` lists it per layer, the demo page per
 * rule.
 */
import { COMPOSITES, resolveComposite, type Composite } from '../composites.js';
import type { Graph } from '../graph/graph.js';
import type { Model } from '../model/model.js';

/** The graph a (resolved) composite explains and each node's rule label. */
export function layerRules(model: Model, composite: Composite): { graph: Graph; labels: Map<string, string> } {
  const graph = model.canonicalGraph(composite.foldBatchNorm);
  return { graph, labels: new Map([...composite.assign(graph)].map(([node, rule]) => [node, rule.label])) };
}

export interface CompositeRules {
  name: string;
  description: string;
  /** The rules on layers with weights, on sums and average pools, and a transformer's (LayerNorm, softmax, products), each with the layers it applies to. */
  rules: { label: string; layers: string[] }[];
}

/** Every composite's rules on the model's layers with weights, sums and average pools, and a transformer's own. */
export function compositeRules(model: Model): CompositeRules[] {
  return COMPOSITES.map((c) => {
    const composite = resolveComposite(c.name);
    const byLabel = new Map<string, string[]>();
    for (const [node, rule] of composite.assign(model.canonicalGraph(composite.foldBatchNorm))) {
      if (rule.kind !== 'affine' && rule.kind !== 'norm' && rule.kind !== 'jacobian') continue;
      if (!byLabel.has(rule.label)) byLabel.set(rule.label, []);
      byLabel.get(rule.label)!.push(node);
    }
    return { name: c.name, description: c.description, rules: [...byLabel].map(([label, layers]) => ({ label, layers })) };
  });
}
