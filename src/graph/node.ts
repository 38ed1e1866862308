/**
 * The ground floor of the graph IR: what every node is, shapes and window parameters. It imports
 * nothing, so op modules, reference kernels and the graph can all stand on it.
 */

/** Per-sample shape: [C, H, W] for feature maps, [F] for feature vectors. */
export type Shape = readonly number[];

/** [top, left, bottom, right], as zero padding around the spatial dimensions. */
export type Pads = [number, number, number, number];
export type Pair = [number, number];

export interface NodeBase {
  /** Unique name; also the name of the node's output. */
  name: string;
  /** Names of the nodes (or the graph input) this node reads. */
  inputs: string[];
}

/** What every node type is: a NodeBase with its op's name. */
export type AnyNode = NodeBase & { readonly op: string };

/** A node as error messages name it. */
export function where(node: AnyNode): string {
  return `node "${node.name}" (${node.op})`;
}

/** Elements per channel: H*W for feature maps, 1 for feature vectors. */
export function plane(shape: Shape): number {
  return shape.length === 3 ? shape[1] * shape[2] : 1;
}
