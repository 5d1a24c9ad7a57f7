import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Default candidates when no official embeddings are given: the 400 species of the BioCLIP Rare Species benchmark
 * (CC0-1.0; provenance in data/README.md), kept with the repository's seed data.
 */
export const DEFAULT_SPECIES_LIST = `${REPO_ROOT}data/seed/bioclip_rare_species_400.csv`;

/** Where computed candidate embeddings are kept (git-ignored); ARBOR_CACHE_DIR or --cache-dir override it. */
export const DEFAULT_CACHE_DIR = `${REPO_ROOT}.arbor/cache`;
