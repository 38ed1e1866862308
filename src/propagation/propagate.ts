import { fail } from '../errors.js';
import { opOf } from '../ops/index.js';
import type { Rule } from '../rules/types.js';
import type { BackwardOptions, LayerRelevance, Session } from './types.js';

/**
 * Carries relevance from the logits back to the graph input, node by node in reverse topological order,
 * applying each node's rule on the session's engine. Values read by several nodes collect the relevance
 * of all of them. Engine-independent: the reference and the wasm engine both run through here.
 */
export function propagate<T>(session: Session<T>, rules: Map<string, Rule>, start: Float64Array, options: BackwardOptions = {}): { relevance: Float32Array; layers?: LayerRelevance[] } {
  const { graph } = session;
  const layers: LayerRelevance[] = [];
  session.accumulate([graph.logitsName], [session.start(start)]);
  session.endNode();
  const nodes = graph.upstream(graph.logitsName);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const R = session.collected(node.name);
    if (node.name === options.stopAt) return { relevance: R === undefined ? zeros(session, node.name) : session.toFloat32(R) };
    if (R === undefined) continue; // nothing reached it
    const rule = rules.get(node.name);
    if (!rule) fail('BAD_GRAPH', `no rule assigned to node "${node.name}" (${node.op})`);
    let rIn: T[];
    let to = node.inputs;
    switch (rule.kind) {
      case 'pass':
        if (opOf(node).passesTo === 'first') to = node.inputs.slice(0, 1);
        rIn = to.map(() => R);
        break;
      case 'gradient':
        rIn = session.gradient(node, R);
        break;
      case 'affine':
        rIn = [rule.relevance(session.affineLayer(node, options), R)];
        break;
      case 'norm':
        rIn = rule.relevance(session.linearMap(node), R);
        break;
      case 'jacobian':
        if (rule.to === 'last') to = node.inputs.slice(-1);
        rIn = rule.relevance(session.jacobianMap(node, rule.held), R);
        break;
    }
    if (options.report) {
      const inSums = rIn.map((r) => session.sumPerSample(r));
      layers.push({ name: node.name, op: node.op, rule: rule.label, relevanceOut: session.sumPerSample(R), relevanceIn: inSums[0].map((_, b) => inSums.reduce((s, v) => s + v[b], 0)) });
    }
    session.accumulate(to, rIn, R);
    session.endNode();
  }
  if (options.stopAt !== undefined && options.stopAt !== graph.input.name) fail('BAD_OPTION', `no node "${options.stopAt}" feeds the logits`);
  const input = session.collected(graph.input.name);
  const relevance = input === undefined ? zeros(session, graph.input.name) : session.toFloat32(input);
  return { relevance, layers: options.report ? layers.reverse() : undefined };
}

function zeros<T>(session: Session<T>, name: string): Float32Array {
  return new Float32Array(session.graph.shape(name).reduce((a, b) => a * b, session.batch));
}
