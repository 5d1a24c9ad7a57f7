/**
 * Shape of the synthetic embedding space, fitted to the 1,030 real BioCLIP 2 image embeddings of
 * the project's sample (measured once; the benchmark never reads them).
 *
 * Measured on the real sample (L2-normalised): mean cosine of pairs whose deepest shared rank is
 *   none 0.590 · kingdom 0.584 · phylum 0.598 · class 0.601 · order 0.621 · family 0.653 ·
 *   genus 0.750 · species 0.890,
 * norm of the mean unit vector 0.770 (0.770² ≈ 0.59: most of the similarity of random pairs is one
 * shared direction). PCA of the centred sample: participation ratio 70, 90 % of the variance in 169
 * of 768 dimensions, eigenvalues falling as a power law of slope ≈ −1.26 between the 5th and 300th.
 *
 * Model: x = normalise(μ + Σ_rank o_rank + ε), with |μ|² and E|o_rank|², E|ε|² the shares below
 * (they add up to 1), so the expected cosine of two images whose deepest shared rank is r is the
 * sum of the shares down to r. Offsets and noise are Gaussian with a per-coordinate standard
 * deviation profile (anisotropic, like the real spectrum) instead of isotropic noise, which would
 * make every dimension equally important and the search unrealistically hard.
 */
export interface EmbeddingGeometry {
  dimension: number;
  /** Share of the squared norm in the direction common to all images. */
  meanShare: number;
  /** Share of each rank's offset, kingdom … species. */
  rankShares: readonly number[];
  /** Share of the per-image noise. */
  noiseShare: number;
  /** Variance of coordinate d ∝ (d + spectrumOffset)^(−spectrumSlope). */
  spectrumSlope: number;
  spectrumOffset: number;
}

export const BIOCLIP2_LIKE_GEOMETRY: EmbeddingGeometry = {
  dimension: 768,
  meanShare: 0.585,
  //           kingdom phylum class  order  family genus  species
  rankShares: [0.005, 0.008, 0.004, 0.018, 0.03, 0.1, 0.14],
  noiseShare: 0.11,
  spectrumSlope: 1.26,
  spectrumOffset: 10,
};

/** Branching of the synthetic tree: children per node at each rank below, drawn uniformly in [min, max]. */
export interface TreeShape {
  kingdoms: number;
  /** [min, max] children of a kingdom (phyla), phylum (classes), …, genus (species). */
  children: ReadonlyArray<readonly [number, number]>;
  /** Images per species follow a Zipf law of this exponent over a random order of the species. */
  zipfExponent: number;
}

// About 29,000 species; the same tree at every data size, so a smaller run is a sample of the
// same world (the first N rows of the larger run, exactly).
export const TREE_SHAPE: TreeShape = {
  kingdoms: 5,
  children: [
    [3, 7], // phyla per kingdom
    [2, 6], // classes per phylum
    [2, 6], // orders per class
    [2, 6], // families per order
    [2, 6], // genera per family
    [1, 8], // species per genus
  ],
  zipfExponent: 0.6,
};

export const RANKS = ["kingdom", "phylum", "class", "order", "family", "genus", "species"] as const;
export type Rank = (typeof RANKS)[number];
