import type { Random } from "../lib/prng.ts";

/**
 * Pseudo-Latin names for the synthetic tree: stems built from syllables, unique per rank, with the
 * usual rank endings, so names look and sort like real ones (varied prefixes, realistic lengths).
 */

const ONSETS = ["b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "x", "z", "ch", "ph", "th", "tr", "cr", "pl", "st", "br"];
const VOWELS = ["a", "e", "i", "o", "u", "ae", "y"];
const CODAS = ["", "", "", "n", "r", "s", "l", "x"];

const EPITHET_ENDINGS = ["us", "a", "um", "is", "ensis", "ii", "ata", "oides", "ica", "alis"];
const ADJECTIVES = ["Common", "Lesser", "Greater", "Northern", "Southern", "Spotted", "Striped", "Red", "Black", "Golden", "Pale", "Dwarf", "Giant", "Western", "Eastern", "Tufted", "Crested", "Mountain", "River", "Desert"];
const NOUNS = ["finch", "beetle", "fern", "moss", "toad", "shrew", "warbler", "orchid", "snail", "moth", "sedge", "crab", "gecko", "lichen", "bat", "wasp", "lily", "trout", "heron", "mushroom"];

export type NamedRank = "phylum" | "class" | "order" | "family" | "genus";

const SUFFIXES: Record<NamedRank, string> = {
  phylum: "ata",
  class: "opsida",
  order: "ales",
  family: "idae",
  genus: "",
};

function syllable(random: Random): string {
  return ONSETS[random.int(0, ONSETS.length - 1)]! + VOWELS[random.int(0, VOWELS.length - 1)]! + CODAS[random.int(0, CODAS.length - 1)]!;
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Hands out names unique within each rank (the schema requires uniqueness per parent and rank). */
export class NameGenerator {
  private readonly used = new Map<NamedRank, Set<string>>();

  constructor(private readonly random: Random) {}

  /** A unique name for a taxon of `rank` above species, e.g. "Trazolidae". */
  higher(rank: NamedRank): string {
    let used = this.used.get(rank);
    if (!used) this.used.set(rank, (used = new Set()));
    let syllables = rank === "genus" ? 3 : 2;
    for (let attempt = 0; ; attempt++) {
      // Collisions get likelier as names run out: lengthen the stem every few attempts.
      if (attempt > 0 && attempt % 4 === 0) syllables++;
      let stem = "";
      for (let i = 0; i < syllables; i++) stem += syllable(this.random);
      const name = capitalise(stem) + SUFFIXES[rank];
      if (!used.has(name)) {
        used.add(name);
        return name;
      }
    }
  }

  /** Epithets unique within one genus (the caller passes that genus's set). */
  epithet(usedInGenus: Set<string>): string {
    for (let attempt = 0; ; attempt++) {
      let stem = syllable(this.random) + syllable(this.random);
      if (attempt >= 4) stem += syllable(this.random);
      const epithet = stem + EPITHET_ENDINGS[this.random.int(0, EPITHET_ENDINGS.length - 1)]!;
      if (!usedInGenus.has(epithet)) {
        usedInGenus.add(epithet);
        return epithet;
      }
    }
  }

  /** True with probability `p` (from the same stream, so names and their presence stay reproducible). */
  chance(p: number): boolean {
    return this.random.float() < p;
  }

  /** An English-looking vernacular name; duplicates across taxa are allowed, as in real data. */
  common(): string {
    return `${ADJECTIVES[this.random.int(0, ADJECTIVES.length - 1)]} ${syllable(this.random)}${NOUNS[this.random.int(0, NOUNS.length - 1)]}`;
  }
}
