/**
 * What `relprop explain` leaves beside each finished image (`<stem>.json`, written last) and reads back
 * to skip it on a later run, and the line it prints about where the relevance went.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ClassScore } from '../app/explain-image.js';
import type { RunSettings } from './run-settings.js';

/** What one finished image leaves beside its outputs (`<stem>.json`, written last). */
export interface ImageRecord {
  image: string;
  settingsKey: string;
  settings: RunSettings;
  top: ClassScore[];
  target: ClassScore;
  relevance: { start: number; sum: number };
  files: Record<string, string>;
  panelSize: [number, number];
  milliseconds: { decode: number; preprocess: number; render: number };
  batch: { images: number; explainMilliseconds: number };
}

export interface Failure {
  image: string;
  code: string;
  message: string;
}

/**
 * A finished image's record, if its outputs and record are all there (a killed run leaves none
 * half-written) and it lists the `topk` classes asked for (the only setting that is not in the name:
 * it changes what is printed, not what is written).
 */
export function finished(files: Record<string, string>, record: string, topk: number): ImageRecord | undefined {
  if (!Object.values(files).every((f) => existsSync(f)) || !existsSync(record)) return undefined;
  try {
    const r = JSON.parse(readFileSync(record, 'utf8')) as ImageRecord;
    return Array.isArray(r.top) && r.top.length >= topk ? { ...r, top: r.top.slice(0, topk) } : undefined;
  } catch {
    return undefined;
  }
}

/** The relevance line: what reached the input, of what was put on the target, and where the rest went. */
export function relevanceLine(r: ImageRecord['relevance'], target: ClassScore): string {
  const diff = r.start - r.sum;
  // Besides biases and stabilizers, rules that are not conservative by definition (AttnLRP's softmax rule) lose relevance.
  const rest = diff >= 0 ? `biases, stabilizers and rules that do not conserve it absorbed the other ${diff.toPrecision(4)}` : `biases added ${(-diff).toPrecision(4)}`;
  return `relevance at the input sums to ${r.sum.toPrecision(4)} of the ${+r.start.toPrecision(4)} put on ${target.label}'s logit; ${rest}`;
}
