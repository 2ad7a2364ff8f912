import { describe, expect, it } from 'vitest';
import { runBench } from './run';

describe('npm run bench -- <name>', () => {
  it('refuses a name it does not know, naming those it does, before starting a database', async () => {
    await expect(runBench(['rush', 'seatmap'])).rejects.toThrow(
      'unknown benchmark seatmap; choose from rush, best-available, api, seat-map, sweeper, bundles, onSale',
    );
  });
});
