import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImagePreprocessError, preprocessBatch, preprocessImage, type ImagePreprocessErrorCode } from '../../src/preprocess/index.ts';
import { inputBytes } from './reference-fixtures.ts';

function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** A valid PNG header declaring width×height RGB pixels, followed by a tiny IDAT: a few dozen bytes on disk. */
function pngDeclaring(width: number, height: number, idat = deflateSync(Buffer.alloc(16))): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, adaptive filtering, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

function pseudoRandomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = 0x2545f491;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<ImagePreprocessErrorCode> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ImagePreprocessError);
  return (error as ImagePreprocessError).code;
}

describe('bad input gets a typed error', () => {
  for (const mode of ['open_clip', 'pybioclip'] as const) {
    describe(`${mode} mode`, () => {
      it('truncated JPEG → CORRUPT_IMAGE', async () => {
        const truncated = inputBytes('mycat').subarray(0, 15_000);
        expect(await codeOf(preprocessImage(truncated, { mode }))).toBe('CORRUPT_IMAGE');
      });

      it('random bytes → UNSUPPORTED_IMAGE', async () => {
        expect(await codeOf(preprocessImage(pseudoRandomBytes(4096), { mode }))).toBe('UNSUPPORTED_IMAGE');
      });

      it('zero bytes → UNSUPPORTED_IMAGE', async () => {
        expect(await codeOf(preprocessImage(new Uint8Array(0), { mode }))).toBe('UNSUPPORTED_IMAGE');
      });

      it('a tiny PNG declaring 50000×50000 pixels → IMAGE_TOO_LARGE, before decoding', async () => {
        const bomb = pngDeclaring(50_000, 50_000);
        expect(bomb.length).toBeLessThan(100);
        expect(await codeOf(preprocessImage(bomb, { mode }))).toBe('IMAGE_TOO_LARGE');
      });
    });
  }

  it('a PNG with a sane header and garbage pixel data → CORRUPT_IMAGE', async () => {
    const broken = pngDeclaring(64, 64, Buffer.from(pseudoRandomBytes(200)));
    expect(await codeOf(preprocessImage(broken, { mode: 'open_clip' }))).toBe('CORRUPT_IMAGE');
  });

  it('the pixel and byte limits are configurable', async () => {
    const cat = inputBytes('mycat'); // 320×317 = 101,440 pixels, 29,762 bytes
    expect(await codeOf(preprocessImage(cat, { mode: 'open_clip', maxInputPixels: 100_000 }))).toBe('IMAGE_TOO_LARGE');
    expect(await codeOf(preprocessImage(cat, { mode: 'open_clip', maxInputBytes: 29_761 }))).toBe('IMAGE_TOO_LARGE');
    await expect(preprocessImage(cat, { mode: 'open_clip', maxInputPixels: 101_440, maxInputBytes: 29_762 })).resolves.toBeDefined();
  });

  it('an aspect ratio beyond 1000:1 → UNSUPPORTED_IMAGE, before decoding', async () => {
    const strip = pngDeclaring(5000, 2); // its IDAT is far too short: only the header is ever read
    expect(await codeOf(preprocessImage(strip, { mode: 'open_clip' }))).toBe('UNSUPPORTED_IMAGE');
    expect(await codeOf(preprocessImage(strip, { mode: 'pybioclip' }))).toBe('UNSUPPORTED_IMAGE');
  });

  it('SVG is refused → UNSUPPORTED_IMAGE', async () => {
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    expect(await codeOf(preprocessImage(svg, { mode: 'open_clip' }))).toBe('UNSUPPORTED_IMAGE');
  });

  it('a batch names the bad image', async () => {
    const error = await preprocessBatch([inputBytes('tiny'), new Uint8Array(0), inputBytes('mycat')], { mode: 'open_clip' })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePreprocessError);
    expect((error as ImagePreprocessError).index).toBe(1);
    expect((error as ImagePreprocessError).code).toBe('UNSUPPORTED_IMAGE');
  });
});
