/**
 * The model relprop uses when none is named (the CLI, the demo page), and where `relprop demo` serves a
 * known model's files: one definition for the CLI, its server, the page and its service worker.
 */
export const DEFAULT_MODEL = 'resnet50-imagenet';

/** The folder (relative to the page) under which `relprop demo` serves a known model: manifest.json (with each file's size), labels, model.json, shards, and its prepared form. */
export const servedModelPath = (name: string): string => `models/${name}/`;

/** Where `relprop demo` serves a model's prepared form, beside its manifest (with `?v=` its version). */
export const PREPARED_NAME = 'model.relprop';
