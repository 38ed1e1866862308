/**
 * Composites decide which rule each layer gets, as Zennit's do. Every named composite shares the base
 * mapping: ReLU -> pass, Add and average pools -> norm, max-pool -> winner-take-all, zero Pad -> crop
 * (its gradient), Flatten -> pass. BatchNorm is folded into the Conv/Linear before it, except in the
 * `interpretdl` scheme, which keeps BatchNorm and passes relevance through it.
 */
import { fail } from './errors.js';
import { meant } from './options.js';
import { attentionLinears, hasAttention } from './graph/attention.js';
import type { Graph } from './graph/graph.js';
import { isAffine, type GraphNode, type OpType } from './graph/nodes.js';
import { OP_TYPES } from './ops/index.js';
import { opOf, type Role } from './ops/index.js';
import { createRule, type Rule, type RuleParams, type RuleSpec } from './rules/index.js';
import type { BoundSpec } from './rules/types.js';
import { DEFAULT_TRANSFORMER_STABILIZER } from './rules/stabilizer.js';

/** Which layers an override applies to; every selector given must match. */
export interface Override {
  /** A node name (exact) or a pattern for node names. */
  name?: string | RegExp;
  type?: OpType;
  /** The first or last Conv/Linear layer of the model. */
  layer?: 'first' | 'last';
  rule: RuleSpec;
}

export interface CompositeOptions {
  name: string;
  /** epsilon of the epsilon rule on Linear layers (default 1e-6). */
  epsilon?: number;
  /** Stabilizer of every other rule's denominator (default 1e-6; attnlrp and cp-lrp: 1e-9 on their own rules, set by epsilon). */
  stabilizer?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  /** z-box bounds: a number, one per channel, or one per input element. */
  low?: BoundSpec;
  high?: BoundSpec;
  /** Checked first to last; the first match wins over the composite's own choice. */
  overrides?: Override[];
}

export type CompositeSpec = string | CompositeOptions;

interface CompositeDefinition {
  name: string;
  description: string;
  foldBatchNorm: boolean;
  /** Default starting relevance (one-hot 1.0, as Zennit, unless the scheme says otherwise). */
  initial: 'one-hot' | 'logit';
  /** Rules for the layer kinds, given the composite's parameters. */
  rules(p: CompositeOptions): Partial<Record<'first' | 'conv' | 'linear' | 'sum' | 'batchnorm', RuleSpec>>;
  /** Which layer the special first rule applies to, as Zennit's first_map types. */
  firstOf?: 'conv' | 'affine';
  /** Rules by op type, over the roles' (a transformer's ops without weights). */
  ops?(p: CompositeOptions): Partial<Record<OpType, RuleSpec>>;
  /** The rule of a Linear of attention (q, k, v or out-projection: next to a product of two values). */
  attention?(p: CompositeOptions): RuleSpec;
}

const eps = (p: CompositeOptions): RuleSpec => ({ rule: 'epsilon', epsilon: p.epsilon ?? 1e-6 });
const box = (p: CompositeOptions): RuleSpec => ({ rule: 'zbox', ...(p.low !== undefined ? { low: p.low } : {}), ...(p.high !== undefined ? { high: p.high } : {}) });
const alphaBeta = (p: CompositeOptions): RuleSpec => ({ rule: 'alpha-beta', alpha: p.alpha ?? 2, beta: p.beta ?? 1 });

export const COMPOSITES: readonly CompositeDefinition[] = [
  {
    name: 'epsilon',
    description: 'epsilon on every Conv and Linear layer',
    foldBatchNorm: true,
    initial: 'one-hot',
    rules: (p) => ({ conv: eps(p), linear: eps(p) }),
  },
  {
    name: 'epsilon-plus',
    description: 'z-plus on Conv layers, epsilon on Linear layers (Zennit EpsilonPlus)',
    foldBatchNorm: true,
    initial: 'one-hot',
    rules: (p) => ({ conv: 'zplus', linear: eps(p) }),
  },
  {
    name: 'epsilon-plus-flat',
    description: 'flat on the first Conv/Linear layer, z-plus on other Conv layers, epsilon on Linear layers (Zennit EpsilonPlusFlat)',
    foldBatchNorm: true,
    initial: 'one-hot',
    firstOf: 'affine',
    rules: (p) => ({ first: 'flat', conv: 'zplus', linear: eps(p) }),
  },
  {
    name: 'epsilon-gamma-box',
    description: 'z-box on the first Conv layer, gamma on other Conv layers, epsilon on Linear layers (Zennit EpsilonGammaBox)',
    foldBatchNorm: true,
    initial: 'one-hot',
    firstOf: 'conv',
    rules: (p) => ({ first: box(p), conv: { rule: 'gamma', gamma: p.gamma ?? 0.25 }, linear: eps(p) }),
  },
  {
    name: 'epsilon-alpha2-beta1',
    description: 'alpha-beta (2, 1) on Conv layers, epsilon on Linear layers (Zennit EpsilonAlpha2Beta1)',
    foldBatchNorm: true,
    initial: 'one-hot',
    rules: (p) => ({ conv: alphaBeta(p), linear: eps(p) }),
  },
  {
    name: 'epsilon-alpha2-beta1-flat',
    description: 'flat on the first Conv/Linear layer, alpha-beta (2, 1) on other Conv layers, epsilon on Linear layers (Zennit EpsilonAlpha2Beta1Flat)',
    foldBatchNorm: true,
    initial: 'one-hot',
    firstOf: 'affine',
    rules: (p) => ({ first: 'flat', conv: alphaBeta(p), linear: eps(p) }),
  },
  {
    name: 'interpretdl',
    description:
      "InterpretDL's LRP tutorial: z-box with the input's own min/max on the first Conv, z-plus without biases on other Conv and Linear layers, " +
      'BatchNorm kept and passed through, residual sums split in proportion without epsilon, relevance starting from the target logit',
    foldBatchNorm: false,
    initial: 'logit',
    firstOf: 'conv',
    rules: (p) => ({
      first: { ...(box(p) as object), rule: 'zbox', sampleBounds: true },
      conv: { rule: 'zplus', ignoreBias: true },
      linear: { rule: 'zplus', ignoreBias: true },
      sum: { rule: 'norm', stabilizer: 0 },
      batchnorm: 'pass',
    }),
  },
  {
    name: 'attnlrp',
    description:
      'AttnLRP (Achtibat et al. 2024, as LXT): epsilon on every Conv and Linear, the uniform rule on products of two values (Q K^T, A V), ' +
      "softmax's deep-taylor rule, LayerNorm with its standard deviation held, activations and the 1/sqrt(d) scale passing, sums and the position embedding proportional; stabilizers 1e-9",
    foldBatchNorm: true,
    initial: 'one-hot',
    rules: (p) => ({ conv: teps(p), linear: teps(p), sum: { rule: 'norm', stabilizer: p.epsilon ?? DEFAULT_TRANSFORMER_STABILIZER }, batchnorm: 'pass' }),
    ops: (p) => ({ MatMul: { rule: 'uniform', stabilizer: p.epsilon ?? DEFAULT_TRANSFORMER_STABILIZER }, Softmax: 'softmax', ...transformerCommon(p) }),
  },
  {
    name: 'cp-lrp',
    description:
      'CP-LRP (as LXT for torchvision ViTs): the attention weights held (relevance through the values only), epsilon on the q/k/v and out-projections, ' +
      'gamma 0.25 on the patch Conv, the MLP Linears and the head, LayerNorm and activations as attnlrp; stabilizers 1e-9 (gamma: 1e-6, Zennit\'s)',
    foldBatchNorm: true,
    initial: 'one-hot',
    rules: (p) => ({ conv: { rule: 'gamma', gamma: p.gamma ?? 0.25 }, linear: { rule: 'gamma', gamma: p.gamma ?? 0.25 }, sum: { rule: 'norm', stabilizer: p.epsilon ?? DEFAULT_TRANSFORMER_STABILIZER }, batchnorm: 'pass' }),
    ops: (p) => ({ MatMul: { rule: 'held-first', stabilizer: p.epsilon ?? DEFAULT_TRANSFORMER_STABILIZER }, ...transformerCommon(p) }),
    attention: teps,
  },
];

/** The transformer composites' epsilon: 1e-9 unless given (LXT's efficient form has none). */
function teps(p: CompositeOptions): RuleSpec {
  return { rule: 'epsilon', epsilon: p.epsilon ?? DEFAULT_TRANSFORMER_STABILIZER };
}

/** What AttnLRP and CP-LRP share: LayerNorm held, the position embedding proportional. */
function transformerCommon(p: CompositeOptions): Partial<Record<OpType, RuleSpec>> {
  const stabilizer = p.epsilon ?? DEFAULT_TRANSFORMER_STABILIZER;
  return { LayerNorm: { rule: 'layernorm', stabilizer }, AddConstant: { rule: 'proportional', stabilizer } };
}

/** A composite bound to its parameters: it can assign a rule to every node of a graph. */
export interface Composite {
  readonly name: string;
  readonly description: string;
  readonly foldBatchNorm: boolean;
  readonly initial: 'one-hot' | 'logit';
  /** What it was resolved from: plain data, so that another thread (a replica, src/model/replica.ts) resolves the same. */
  readonly spec: CompositeSpec;
  /** The rule of every node upstream of the logits, by node name. */
  assign(graph: Graph): Map<string, Rule>;
}

const OPTION_KEYS = new Set(['name', 'epsilon', 'stabilizer', 'gamma', 'alpha', 'beta', 'low', 'high', 'overrides']);

/**
 * What explanations use unless told otherwise: the layer-wise scheme Kohlbrenner et al. (2020)
 * recommend, and the clearest heatmaps of every composite on the example photos with resnet50-imagenet
 * (epsilon-plus-flat's are dominated by the stride lattice of that model's 1x1 convolutions).
 */
export const DEFAULT_COMPOSITE = 'epsilon-gamma-box';

export const TRANSFORMER_COMPOSITE = 'cp-lrp';

/**
 * What explanations of this graph use unless told: for a transformer (a product of two values, its
 * attention) cp-lrp, as LXT explains torchvision's ViTs; else DEFAULT_COMPOSITE. The CNN composites
 * leave a transformer's products and LayerNorms to their gradient: on the fixture ViT
 * (spec/fixtures/vit/) epsilon-gamma-box's input relevance summed to -1.4e8 of a start of 1.
 */
export function defaultCompositeFor(graph: Pick<Graph, 'nodes'>): string {
  return hasAttention(graph) ? TRANSFORMER_COMPOSITE : DEFAULT_COMPOSITE;
}

export function resolveComposite(spec: CompositeSpec = DEFAULT_COMPOSITE): Composite {
  const options: CompositeOptions = typeof spec === 'string' ? { name: spec } : spec;
  if (!options || typeof options.name !== 'string') fail('UNKNOWN_COMPOSITE', `a composite needs a name; known composites: ${COMPOSITES.map((c) => c.name).join(', ')}`);
  const def = COMPOSITES.find((c) => c.name === options.name.toLowerCase());
  if (!def) fail('UNKNOWN_COMPOSITE', `unknown composite "${options.name}"${meant(options.name, COMPOSITES.map((c) => c.name))}; known composites: ${COMPOSITES.map((c) => c.name).join(', ')}`);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) fail('BAD_OPTION', `composite "${def.name}" got unknown option "${key}"`);
  }
  const defaults: RuleParams = options.stabilizer !== undefined ? { stabilizer: options.stabilizer } : {};
  const specs = def.rules(options);
  const make = (s: RuleSpec) => createRule(s, defaults);
  const overrides = (options.overrides ?? []).map((o, i) => {
    for (const key of Object.keys(o)) {
      if (!['name', 'type', 'layer', 'rule'].includes(key)) fail('BAD_OPTION', `override ${i} has unknown key "${key}"`);
    }
    if (o.type !== undefined && !OP_TYPES.includes(o.type)) fail('BAD_OPTION', `override ${i} names unknown layer type "${o.type}"; types: ${OP_TYPES.join(', ')}`);
    if (o.layer !== undefined && o.layer !== 'first' && o.layer !== 'last') fail('BAD_OPTION', `override ${i}: layer must be "first" or "last", got "${o.layer}"`);
    if (o.name === undefined && o.type === undefined && o.layer === undefined) fail('BAD_OPTION', `override ${i} selects no layer: give name, type or layer`);
    return { ...o, made: make(o.rule) };
  });
  const firstRule = specs.first !== undefined ? make(specs.first) : null;
  const opRules = new Map(Object.entries(def.ops?.(options) ?? {}).map(([op, r]) => [op, make(r)]));
  const attentionRule = def.attention ? make(def.attention(options)) : null;
  // The rule of each op role (src/ops: every op declares its role).
  const base: Record<Role, Rule> = {
    conv: make(specs.conv ?? 'epsilon'),
    linear: make(specs.linear ?? 'epsilon'),
    sum: make(specs.sum ?? 'norm'),
    pool: make('norm'),
    // A BatchNorm left after canonicalization (none before it to fold into) is affine: epsilon, as Linear layers.
    batchnorm: make(specs.batchnorm ?? eps(options)),
    pass: make('pass'),
    wta: make('wta'),
    gradient: make('gradient'),
  };

  return {
    name: def.name,
    description: def.description,
    foldBatchNorm: def.foldBatchNorm,
    initial: def.initial,
    spec,
    assign(graph: Graph): Map<string, Rule> {
      const affine = graph.nodes.filter(isAffine);
      const first = (def.firstOf === 'conv' ? affine.find((n) => n.op === 'Conv2d') : affine[0])?.name;
      const last = affine[affine.length - 1]?.name;
      for (const [i, o] of overrides.entries()) {
        if (typeof o.name === 'string' && !graph.byName.has(o.name)) {
          fail('BAD_OPTION', `override ${i} names node "${o.name}", which is not in the model${def.foldBatchNorm ? ' (BatchNorm nodes are folded away)' : ''}`);
        }
      }
      const rules = new Map<string, Rule>();
      const attention = attentionRule ? attentionLinears(graph) : new Set<string>();
      for (const node of graph.upstream(graph.logitsName)) {
        const hit = overrides.find(
          (o) =>
            (o.name === undefined || (typeof o.name === 'string' ? o.name === node.name : o.name.test(node.name))) &&
            (o.type === undefined || o.type === node.op) &&
            (o.layer === undefined || node.name === (o.layer === 'first' ? first : last)),
        );
        const rule = hit ? hit.made : attention.has(node.name) ? attentionRule! : (opRules.get(node.op) ?? defaultRule(node, node.name === first));
        checkApplicable(rule, node);
        rules.set(node.name, rule);
      }
      return rules;
    },
  };

  function defaultRule(node: GraphNode, isFirst: boolean): Rule {
    return isFirst && firstRule ? firstRule : base[opOf(node).role];
  }
}

function checkApplicable(rule: Rule, node: GraphNode): void {
  // A rule holding part of an op constant needs the op's pass with it held (LayerNorm's).
  const held = rule.kind !== 'jacobian' || !rule.held || opOf(node).reference.linearized !== undefined;
  const ok = held && (rule.kind === 'gradient' || (opOf(node).accepts as readonly string[]).includes(rule.kind));
  if (!ok) fail('RULE_NOT_APPLICABLE', `rule "${rule.name}" does not apply to node "${node.name}" (${node.op})`);
}
