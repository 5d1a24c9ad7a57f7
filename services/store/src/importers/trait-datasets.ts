import type { TraitValue } from "../repositories/trait.repository.ts";

/** How one column becomes a trait value. */
export interface TraitColumn {
  column: string;
  name: string;
  unit: string | null;
  /** numeric; coded (an integer code kept with its label); categorical (text). */
  kind: "numeric" | "coded" | "categorical";
  labels?: Readonly<Record<string, string>>;
}

export interface TraitDataset {
  /** Stored in trait.source. */
  source: string;
  /** Citation stored in trait.reference. */
  reference: string;
  delimiter: string;
  /** Values that mean "no data". */
  missing: ReadonlySet<string>;
  /** The species name of a row, from its columns. */
  speciesName(get: (column: string) => string): string;
  /** The columns holding the species name (named in errors and checked in the header). */
  nameColumns: readonly string[];
  /** Trait columns, given the header. */
  columns(header: readonly string[]): TraitColumn[];
}

export const AVONET: TraitDataset = {
  source: "AVONET",
  reference:
    "Tobias, J.A. et al. (2022) AVONET: morphological, ecological and geographical data for all birds. Ecology Letters 25: 581–597. doi:10.1111/ele.13898 (dataset 1, BirdLife taxonomy; CC BY 4.0)",
  delimiter: ",",
  missing: new Set(["", "NA"]),
  speciesName: (get) => get("Species1"),
  nameColumns: ["Species1"],
  columns: (header) => {
    const numeric: Array<[string, string | null]> = [
      ["Beak.Length_Culmen", "mm"], ["Beak.Length_Nares", "mm"], ["Beak.Width", "mm"], ["Beak.Depth", "mm"],
      ["Tarsus.Length", "mm"], ["Wing.Length", "mm"], ["Kipps.Distance", "mm"], ["Secondary1", "mm"],
      ["Hand-Wing.Index", null], ["Tail.Length", "mm"], ["Mass", "g"],
      ["Min.Latitude", "deg"], ["Max.Latitude", "deg"], ["Centroid.Latitude", "deg"], ["Centroid.Longitude", "deg"], ["Range.Size", "km2"],
    ];
    const columns: TraitColumn[] = [
      ...numeric.map(([column, unit]): TraitColumn => ({ column, name: column, unit, kind: "numeric" })),
      { column: "Habitat.Density", name: "Habitat.Density", unit: null, kind: "coded", labels: { "1": "dense habitats", "2": "semi-open habitats", "3": "open habitats" } },
      { column: "Migration", name: "Migration", unit: null, kind: "coded", labels: { "1": "sedentary", "2": "partially migratory", "3": "migratory" } },
      ...["Habitat", "Trophic.Level", "Trophic.Niche", "Primary.Lifestyle"].map((column): TraitColumn => ({ column, name: column, unit: null, kind: "categorical" })),
    ];
    return columns.filter((column) => header.includes(column.column));
  },
};

// PanTHERIA unit suffixes (WR05 column names end in the unit: 5-1_AdultBodyMass_g).
const PANTHERIA_UNITS: Record<string, string> = {
  g: "g", mm: "mm", d: "d", m: "months", km2: "km2", "n/km2": "n/km2", mLO2hr: "mL O2/h", dd: "deg", "01degC": "0.1 °C",
};
const PANTHERIA_CODES: Record<string, Record<string, string>> = {
  ActivityCycle: { "1": "nocturnal only", "2": "nocturnal/crepuscular, cathemeral, crepuscular or diurnal/crepuscular", "3": "diurnal only" },
  Terrestriality: { "1": "fossorial and/or ground dwelling", "2": "above ground dwelling" },
  TrophicLevel: { "1": "herbivore", "2": "omnivore", "3": "carnivore" },
};

export const PANTHERIA: TraitDataset = {
  source: "PanTHERIA",
  reference:
    "Jones, K.E. et al. (2009) PanTHERIA: a species-level database of life history, ecology, and geography of extant and recently extinct mammals. Ecology 90: 2648. doi:10.1890/08-1494.1 (WR05 taxonomy)",
  delimiter: "\t",
  missing: new Set(["", "-999", "-999.0", "-999.00", "NA"]),
  speciesName: (get) => get("MSW05_Binomial"),
  nameColumns: ["MSW05_Binomial"],
  columns: (header) =>
    header
      .filter((column) => /^\d+-\d+_/.test(column))
      .map((column): TraitColumn => {
        let rest = column.replace(/^\d+-\d+_/, "");
        const extrapolated = rest.endsWith("_EXT");
        if (extrapolated) rest = rest.slice(0, -"_EXT".length);
        let unit: string | null = null;
        for (const [suffix, name] of Object.entries(PANTHERIA_UNITS)) {
          if (rest.endsWith(`_${suffix}`)) {
            unit = name;
            rest = rest.slice(0, -(suffix.length + 1));
            break;
          }
        }
        const name = extrapolated ? `${rest}_EXT` : rest;
        const labels = PANTHERIA_CODES[name];
        return labels ? { column, name, unit, kind: "coded", labels } : { column, name, unit, kind: "numeric" };
      }),
};

const ANAGE_CATEGORICAL = new Set(["Specimen origin", "Sample size", "Data quality"]);
const ANAGE_SKIPPED = new Set(["HAGRID", "Kingdom", "Phylum", "Class", "Order", "Family", "Genus", "Species", "Common name", "Source", "References"]);
// AnAge documents these without a unit in the column name.
const ANAGE_UNITS: Record<string, string> = { "Inter-litter/Interbirth interval": "days" };

export const ANAGE: TraitDataset = {
  source: "AnAge",
  reference:
    "Tacutu, R. et al. (2018) Human Ageing Genomic Resources: new and updated databases. Nucleic Acids Research 46: D1083–D1090. doi:10.1093/nar/gkx1042 (AnAge build)",
  delimiter: "\t",
  missing: new Set(["", "NA"]),
  speciesName: (get) => `${get("Genus").trim()} ${get("Species").trim()}`.trim(),
  nameColumns: ["Genus", "Species"],
  columns: (header) =>
    header
      .filter((column) => !ANAGE_SKIPPED.has(column))
      .map((column): TraitColumn => {
        const match = /^(.*?)\s*\(([^)]*)\)$/.exec(column);
        const name = match ? match[1]! : column;
        const unit = match ? match[2]! : (ANAGE_UNITS[column] ?? null);
        return { column, name, unit, kind: ANAGE_CATEGORICAL.has(column) ? "categorical" : "numeric" };
      }),
};

export const TRAIT_DATASETS = { avonet: AVONET, pantheria: PANTHERIA, anage: ANAGE } as const;

export interface TraitRecord {
  speciesName: string;
  values: TraitValue[];
}
