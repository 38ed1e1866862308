/**
 * The attribution methods behind model.attribute, by name, and how a request's method is resolved.
 * Each method is one module in ./methods: its definition, parameters and run.
 */
import { fail } from '../errors.js';
import { checkOptions, meant } from '../options.js';
import { gradCam } from './methods/grad-cam.js';
import { gradient } from './methods/gradient.js';
import { gradientXInput } from './methods/gradient-x-input.js';
import { integratedGradients } from './methods/integrated-gradients.js';
import { lime } from './methods/lime.js';
import { lrp } from './methods/lrp.js';
import { occlusion } from './methods/occlusion.js';
import { smoothgrad } from './methods/smoothgrad.js';
import type { MethodContext, MethodDefinition, ResolvedMethod } from './types.js';

export type { MethodResult, Passes, ResolvedMethod, MethodDefinition, Outputs, Targets } from './types.js';

export const METHODS: Readonly<Record<string, MethodDefinition>> = Object.fromEntries(
  [lrp, gradient, gradientXInput, integratedGradients, smoothgrad, gradCam, occlusion, lime].map((m) => [m.name, m]),
);

export type MethodName = 'lrp' | 'gradient' | 'gradient-x-input' | 'integrated-gradients' | 'smoothgrad' | 'grad-cam' | 'occlusion' | 'lime';

/** A method by name, or a method with its parameters (SmoothGrad's inner method). */
export type MethodSpec = MethodName | ({ method: MethodName } & Record<string, unknown>);

/**
 * Resolves a method and its parameters (`params` holds them beside other options, which `others` names:
 * any other key is an unknown option). SmoothGrad's inner method resolves the same way, its parameters
 * in an object beside its name.
 */
export function resolveMethod(name: unknown, params: Readonly<Record<string, unknown>>, others: readonly string[], context: Omit<MethodContext, 'resolve'>, where: string): ResolvedMethod {
  const definition = typeof name === 'string' && Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (!definition) return fail('BAD_OPTION', `${where}: unknown method ${JSON.stringify(name)}${typeof name === 'string' ? meant(name, Object.keys(METHODS)) : ''}; methods: ${Object.keys(METHODS).join(', ')}`);
  checkOptions(params, [...others, ...definition.params], `${where} (method ${definition.name})`);
  const resolve = (spec: unknown, inner: string): ResolvedMethod => {
    if (typeof spec === 'string') return resolveMethod(spec, {}, [], context, inner);
    if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
      const { method, ...rest } = spec as Record<string, unknown>;
      return resolveMethod(method, rest, [], context, inner);
    }
    return fail('BAD_OPTION', `${inner} must be a method name or { method, ...its parameters }, got ${JSON.stringify(spec)}`);
  };
  return definition.resolve(params, { ...context, resolve });
}
