import { describe, expect, it } from "vitest";
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER, CopyBinaryWriter } from "../lib/pg-copy-binary.ts";

describe("binary COPY encoding", () => {
  it("has PostgreSQL's 19-byte header and the -1 trailer", () => {
    expect(COPY_BINARY_HEADER.length).toBe(19);
    expect(COPY_BINARY_HEADER.subarray(0, 11).toString("latin1")).toBe("PGCOPY\n\xff\r\n\0");
    expect(COPY_BINARY_TRAILER.readInt16BE(0)).toBe(-1);
  });

  it("encodes a row of uuid, int4, vector and null", () => {
    const writer = new CopyBinaryWriter(8); // grows as needed
    writer.row(4).uuid("00000000-0000-4000-8000-00000000002a").int32(7).vector([1, -0.5]).null();
    const bytes = writer.take();
    let at = 0;
    expect(bytes.readInt16BE(at)).toBe(4);
    at += 2;
    expect(bytes.readInt32BE(at)).toBe(16);
    expect(bytes.subarray(at + 4, at + 20).toString("hex")).toBe("000000000000400080000000000000" + "2a");
    at += 20;
    expect([bytes.readInt32BE(at), bytes.readInt32BE(at + 4)]).toEqual([4, 7]);
    at += 8;
    // pgvector's send form: int16 dimension, int16 unused, float4 values
    expect(bytes.readInt32BE(at)).toBe(4 + 2 * 4);
    expect(bytes.readInt16BE(at + 4)).toBe(2);
    expect(bytes.readInt16BE(at + 6)).toBe(0);
    expect([bytes.readFloatBE(at + 8), bytes.readFloatBE(at + 12)]).toEqual([1, -0.5]);
    at += 16;
    expect(bytes.readInt32BE(at)).toBe(-1);
    expect(bytes.length).toBe(at + 4);
    expect(writer.length).toBe(0);
  });

  it("rejects a malformed uuid", () => {
    expect(() => new CopyBinaryWriter().uuid("not-a-uuid")).toThrow(TypeError);
  });
});
