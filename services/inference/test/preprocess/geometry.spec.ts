import { describe, expect, it } from 'vitest';
import { centreCropOffset, shortestSideResize } from '../../src/preprocess/geometry.ts';

describe('torchvision geometry', () => {
  it('Resize(224) scales the shorter side to 224 and truncates the longer one', () => {
    expect(shortestSideResize(2048, 1536, 224)).toEqual({ width: 298, height: 224 }); // 298.67
    expect(shortestSideResize(200, 320, 224)).toEqual({ width: 224, height: 358 }); // 358.4
    expect(shortestSideResize(320, 317, 224)).toEqual({ width: 226, height: 224 }); // 226.1
    expect(shortestSideResize(1, 1, 224)).toEqual({ width: 224, height: 224 });
    expect(shortestSideResize(1200, 24, 224)).toEqual({ width: 11200, height: 224 });
  });

  it('CenterCrop rounds the offset like Python round(): halves to even', () => {
    expect(centreCropOffset(298, 224)).toBe(37);
    expect(centreCropOffset(299, 224)).toBe(38); // 37.5 → 38
    expect(centreCropOffset(297, 224)).toBe(36); // 36.5 → 36
    expect(centreCropOffset(225, 224)).toBe(0); // 0.5 → 0
    expect(centreCropOffset(224, 224)).toBe(0);
  });
});
