import { describe, expect, it } from "vitest";
import { formatCell, renderTable } from "../lib/table.ts";

describe("renderTable", () => {
  it("right-aligns numeric columns and shows null as a dash", () => {
    const text = renderTable({ title: "T", columns: ["name", "ms"], rows: [["a", 1.234], ["bb", null]], notes: ["n"] });
    expect(text.split("\n")).toEqual(["### T", "", "| name |   ms |", "|------|-----:|", "| a    | 1.23 |", "| bb   |    – |", "", "n"]);
  });

  it("rounds by magnitude and groups thousands", () => {
    expect(formatCell(1234567)).toBe("1,234,567");
    expect(formatCell(123.4)).toBe("123");
    expect(formatCell(12.34)).toBe("12.3");
    expect(formatCell(0.98765)).toBe("0.988");
  });
});
