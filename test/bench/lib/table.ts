export type Cell = string | number | null;

export interface ResultTable {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Lines printed under the table (what a column means, which anchor a ratio is against). */
  notes?: string[];
}

export function formatCell(cell: Cell): string {
  if (cell === null) return "–";
  if (typeof cell === "string") return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (Number.isInteger(cell)) return cell.toLocaleString("en-US");
  const magnitude = Math.abs(cell);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return cell.toFixed(digits);
}

/** A plain-text table, numbers right-aligned, for a terminal or a README. */
export function renderTable(table: ResultTable): string {
  const cells = table.rows.map((row) => row.map(formatCell));
  const widths = table.columns.map((column, i) => Math.max(column.length, ...cells.map((row) => (row[i] ?? "").length)));
  const numeric = table.columns.map((_, i) => table.rows.every((row) => row[i] === null || typeof row[i] === "number"));
  const line = (values: string[]) =>
    `| ${values.map((value, i) => (numeric[i] ? value.padStart(widths[i]!) : value.padEnd(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, i) => (numeric[i] ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2))).join("|")}|`;
  const out = [`### ${table.title}`, "", line(table.columns), rule, ...cells.map(line)];
  if (table.notes?.length) out.push("", ...table.notes);
  return out.join("\n");
}
