// The configuration of stored images: DATABASE_URL switches them on, IMAGE_DIR / DATA_DIR name the file store.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config.ts';
import { REPO_ROOT } from './support.ts';

describe('stored images configuration', () => {
  it('is off without DATABASE_URL, with the image folder under the default DATA_DIR', () => {
    const config = loadConfig({ DATABASE_URL: ' ' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.imageDir).toBe(path.join(REPO_ROOT, '.arbor', 'data', 'images'));
  });

  it('reads DATABASE_URL, DATA_DIR and IMAGE_DIR (IMAGE_DIR wins; relative paths from the repository root)', () => {
    const url = 'postgresql://arbor@db:5432/arbor';
    expect(loadConfig({ DATABASE_URL: url, DATA_DIR: '/var/arbor' })).toMatchObject({ databaseUrl: url, imageDir: '/var/arbor/images' });
    expect(loadConfig({ DATA_DIR: 'data', IMAGE_DIR: 'photos' }).imageDir).toBe(path.join(REPO_ROOT, 'photos'));
  });
});
