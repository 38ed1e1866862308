/**
 * Patterns of primitive ONNX operators that are one op of relprop's, found before conversion and
 * replaced by the node a later opset writes for them:
 * - PyTorch's exact GELU before opset 20, (x * (1 + erf(x / sqrt(2)))) * 0.5 as Div, Erf, Add, Mul,
 *   Mul: Gelu; its tanh form, (x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x x x)))) * 0.5 as Mul, Mul, Mul,
 *   Add, Mul, Tanh, Add, Mul, Mul: Gelu with approximate 'tanh';
 * - its LayerNorm before opset 17, (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * w + b over the
 *   last axis as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add: LayerNormalization.
 * The intermediate values must have no other reader; any other arrangement is converted operator by
 * operator (and refused where relprop has no such op).
 */
import { create } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType, AttributeProtoSchema, NodeProtoSchema, type NodeProto } from 'onnx-buf';

/** A value's number, where it is a one-value constant (an initializer or a Constant node's). */
export type Scalar = (name: string) => number | undefined;

export function fuse(nodes: NodeProto[], scalar: Scalar): NodeProto[] {
  const producer = new Map<string, NodeProto>();
  const readers = new Map<string, NodeProto[]>();
  for (const n of nodes) {
    for (const o of n.output) producer.set(o, n);
    for (const i of n.input) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  }
  const only = (value: string, opType: string): NodeProto | undefined => {
    const r = readers.get(value);
    return r?.length === 1 && r[0].opType === opType ? r[0] : undefined;
  };
  /** The input of a two-input node other than `value`, if `value` is one of its inputs. */
  const other = (n: NodeProto, value: string): string | undefined => (n.input[0] === value ? n.input[1] : n.input[1] === value ? n.input[0] : undefined);
  const near = (v: number | undefined, want: number) => v !== undefined && Math.abs(v - want) <= 1e-6 * Math.abs(want);
  const gone = new Set<NodeProto>();
  const replaced = new Map<NodeProto, NodeProto>();
  /** A two-input node of `opType` producing `value`, read by nothing else, with a number as one input: its other input. */
  const byNumber = (value: string, opType: string, want: number): string | undefined => {
    const n = producer.get(value);
    if (n?.opType !== opType || readers.get(value)?.length !== 1) return undefined;
    if (near(scalar(n.input[1]), want)) return n.input[0];
    // A product is the same either way round; a quotient is not.
    return opType === 'Mul' && near(scalar(n.input[0]), want) ? n.input[1] : undefined;
  };
  /** x * (1 + f) * 0.5 after f's node: the Add, Mul and Mul, and the node that ends it. */
  const tail = (f: NodeProto, x: string): NodeProto[] | undefined => {
    const add = only(f.output[0], 'Add');
    if (!add || !near(scalar(other(add, f.output[0]) ?? ''), 1)) return undefined;
    const mul = only(add.output[0], 'Mul');
    if (!mul || other(mul, add.output[0]) !== x) return undefined;
    const half = only(mul.output[0], 'Mul');
    if (!half || !near(scalar(other(half, mul.output[0]) ?? ''), 0.5)) return undefined;
    return [add, mul, half];
  };
  const gelu = (head: NodeProto[], f: NodeProto, x: string, approximate: 'none' | 'tanh') => {
    const rest = tail(f, x);
    if (!rest) return;
    const half = rest[2];
    for (const n of [...head, f, ...rest.slice(0, 2)]) gone.add(n);
    const attribute = approximate === 'tanh' ? [create(AttributeProtoSchema, { name: 'approximate', type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode('tanh') })] : [];
    replaced.set(half, create(NodeProtoSchema, { opType: 'Gelu', name: half.name, input: [x], output: [half.output[0]], attribute }));
  };
  for (const f of nodes) {
    if (f.opType === 'Erf') {
      const x = byNumber(f.input[0], 'Div', Math.SQRT2);
      if (x !== undefined) gelu([producer.get(f.input[0])!], f, x, 'none');
    } else if (f.opType === 'Tanh') {
      // sqrt(2/pi) (x + 0.044715 x^3), x^3 as x (x x) or (x x) x.
      const inner = byNumber(f.input[0], 'Mul', Math.sqrt(2 / Math.PI));
      const add = inner !== undefined ? producer.get(inner) : undefined;
      if (!add || add.opType !== 'Add' || readers.get(inner!)?.length !== 1) continue;
      for (const [x, c] of [[add.input[0], add.input[1]], [add.input[1], add.input[0]]]) {
        const cube = byNumber(c, 'Mul', 0.044715);
        const cubeNode = cube !== undefined ? producer.get(cube) : undefined;
        if (!cubeNode || cubeNode.opType !== 'Mul' || readers.get(cube!)?.length !== 1) continue;
        const sq = other(cubeNode, x);
        const sqNode = sq !== undefined ? producer.get(sq) : undefined;
        if (!sqNode || sqNode.opType !== 'Mul' || sqNode.input[0] !== x || sqNode.input[1] !== x || readers.get(sq!)?.length !== 1) continue;
        gelu([sqNode, cubeNode, producer.get(c)!, add, producer.get(f.input[0])!], f, x, 'tanh');
        break;
      }
    }
  }
  const lastAxis = (n: NodeProto) => {
    const axes = n.attribute.find((a) => a.name === 'axes')?.ints.map(Number) ?? (n.input[1] ? undefined : []);
    const keep = Number(n.attribute.find((a) => a.name === 'keepdims')?.i ?? 1n);
    return axes?.length === 1 && axes[0] === -1 && keep === 1;
  };
  /**
   * The other input of n where it is a constant: an initializer, or one through Identity nodes (PyTorch's
   * exporter writes one initializer for equal parameters, the others as its Identity: torchvision's
   * LayerNorms, all weight 1 and shift 0 as initialised).
   */
  const constantInput = (n: NodeProto, value: string) => {
    let c = other(n, value);
    while (c !== undefined && producer.get(c)?.opType === 'Identity') c = producer.get(c)!.input[0];
    return c !== undefined && !producer.has(c) ? c : undefined;
  };
  for (const mean of nodes) {
    if (mean.opType !== 'ReduceMean' || !lastAxis(mean)) continue;
    const x = mean.input[0];
    const sub = only(mean.output[0], 'Sub');
    if (!sub || sub.input[0] !== x || sub.input[1] !== mean.output[0]) continue;
    const centred = readers.get(sub.output[0]) ?? [];
    const pow = centred.find((n) => n.opType === 'Pow');
    const div = centred.find((n) => n.opType === 'Div');
    if (centred.length !== 2 || !pow || !div || pow.input[0] !== sub.output[0] || !near(scalar(pow.input[1]), 2) || div.input[0] !== sub.output[0]) continue;
    const variance = only(pow.output[0], 'ReduceMean');
    if (!variance || !lastAxis(variance)) continue;
    const stabilised = only(variance.output[0], 'Add');
    const epsilon = stabilised && scalar(other(stabilised, variance.output[0]) ?? '');
    if (!stabilised || epsilon === undefined) continue;
    const sqrt = only(stabilised.output[0], 'Sqrt');
    if (!sqrt || only(sqrt.output[0], 'Div') !== div || div.input[1] !== sqrt.output[0]) continue;
    const scale = only(div.output[0], 'Mul');
    const weight = scale && constantInput(scale, div.output[0]);
    if (!scale || !weight) continue;
    const shift = only(scale.output[0], 'Add');
    const bias = shift && constantInput(shift, scale.output[0]);
    const last = bias ? shift! : scale;
    for (const n of [mean, sub, pow, variance, stabilised, sqrt, div, ...(bias ? [scale] : [])]) gone.add(n);
    const attribute = [create(AttributeProtoSchema, { name: 'epsilon', type: AttributeProto_AttributeType.FLOAT, f: epsilon }), create(AttributeProtoSchema, { name: 'axis', type: AttributeProto_AttributeType.INT, i: -1n })];
    replaced.set(last, create(NodeProtoSchema, { opType: 'LayerNormalization', name: last.name, input: bias ? [x, weight, bias] : [x, weight], output: [last.output[0]], attribute }));
  }
  return nodes.filter((n) => !gone.has(n)).map((n) => replaced.get(n) ?? n);
}
