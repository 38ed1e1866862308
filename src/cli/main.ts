#!/usr/bin/env node
import { Command } from 'commander';
import { COMPOSITES, resolveComposite } from '../composites.js';
import { RULES } from '../rules/index.js';
import { RelpropError } from '../errors.js';
import { ARCHITECTURES } from '../model/builders/index.js';

const program = new Command();
program.name('relprop').description('Layer-wise Relevance Propagation for image classifiers').version('0.1.0');

program
  .command('composites')
  .description('list the composites and the rules they assign, with the rules\' formulas')
  .action(() => {
    for (const def of COMPOSITES) {
      const c = resolveComposite(def.name);
      console.log(`${c.name}\n  ${c.description}\n  BatchNorm: ${c.foldBatchNorm ? 'folded' : 'kept (pass)'}; starting relevance: ${c.initial}\n`);
    }
    console.log('rules:');
    for (const r of RULES) console.log(`  ${r.names[0].padEnd(10)} ${r.formula}${r.names.length > 1 ? `   (also: ${r.names.slice(1).join(', ')})` : ''}`);
  });

program
  .command('architectures')
  .description('list the architectures buildModel() builds with seeded random weights')
  .action(() => console.log(ARCHITECTURES.join('\n')));

program.parseAsync().catch((e: unknown) => {
  console.error(e instanceof RelpropError ? `relprop: ${e.message}` : e);
  process.exit(1);
});
