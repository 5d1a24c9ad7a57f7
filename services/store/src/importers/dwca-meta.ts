import { XMLParser } from "fast-xml-parser";
import { ImportFileError } from "./errors.ts";

/** How one data file of a Darwin Core Archive is laid out (meta.xml's <core> or <extension>). */
export interface DwcaFileLayout {
  rowType: string;
  location: string;
  delimiter: string;
  quote: string | false;
  headerLines: number;
  /** Column index of the record id (<id> in the core, <coreid> in an extension). */
  idIndex: number | undefined;
  /** Term (local name, e.g. "scientificName") → column index. */
  fields: Map<string, number>;
  /** Term → constant value (a <field> with a default and no index). */
  defaults: Map<string, string>;
  /** Number of columns (highest index + 1), used to name them. */
  width: number;
}

export interface DwcaMeta {
  core: DwcaFileLayout;
  extensions: DwcaFileLayout[];
}

export const TAXON_ROW_TYPE = "http://rs.tdwg.org/dwc/terms/Taxon";
export const VERNACULAR_ROW_TYPE = "http://rs.gbif.org/terms/1.0/VernacularName";

/** Parses meta.xml (the DwC text guide's descriptor) into file layouts. */
export function parseDwcaMeta(xml: string, file: string): DwcaMeta {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", removeNSPrefix: true, isArray: (name) => ["extension", "field", "location"].includes(name) });
  let document: Record<string, any>;
  try {
    document = parser.parse(xml) as Record<string, any>;
  } catch (error) {
    throw new ImportFileError(file, `meta.xml is not valid XML: ${(error as Error).message}`);
  }
  const archive = document.archive;
  if (!archive?.core) throw new ImportFileError(file, "meta.xml has no <archive><core>");
  return {
    core: layoutOf(archive.core, "id", file),
    extensions: (archive.extension ?? []).map((extension: unknown) => layoutOf(extension, "coreid", file)),
  };
}

function layoutOf(node: any, idElement: "id" | "coreid", file: string): DwcaFileLayout {
  const location = node.files?.location?.[0];
  if (typeof location !== "string") throw new ImportFileError(file, `meta.xml: <${idElement === "id" ? "core" : "extension"}> has no <files><location>`);
  const fields = new Map<string, number>();
  const defaults = new Map<string, string>();
  let width = 0;
  const idIndex = node[idElement]?.index !== undefined ? Number(node[idElement].index) : undefined;
  if (idIndex !== undefined) width = idIndex + 1;
  for (const field of node.field ?? []) {
    const term = localName(String(field.term ?? ""));
    if (term === "") continue;
    if (field.index !== undefined) {
      const index = Number(field.index);
      fields.set(term, index);
      width = Math.max(width, index + 1);
    } else if (field.default !== undefined) {
      defaults.set(term, String(field.default));
    }
  }
  const enclosedBy = unescape(node.fieldsEnclosedBy ?? '"');
  return {
    rowType: String(node.rowType ?? ""),
    location,
    delimiter: unescape(node.fieldsTerminatedBy ?? ","),
    quote: enclosedBy === "" ? false : enclosedBy,
    headerLines: Number(node.ignoreHeaderLines ?? 0),
    idIndex,
    fields,
    defaults,
    width,
  };
}

function localName(term: string): string {
  return term.replace(/^.*[/#]/, "");
}

// meta.xml writes control characters as escapes: fieldsTerminatedBy="\t".
function unescape(value: string): string {
  return String(value).replace(/\\t/g, "\t").replace(/\\n/g, "\n").replace(/\\r/g, "\r");
}
