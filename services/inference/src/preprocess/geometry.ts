/**
 * torchvision's Resize(size: int) output size: the shorter side becomes `size`, the longer one
 * int(size * long / short) (truncated, not rounded).
 */
export function shortestSideResize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** torchvision center_crop offset: int(round((in - crop) / 2.0)). */
export function centreCropOffset(inSize: number, cropSize: number): number {
  return roundHalfEven((inSize - cropSize) / 2);
}
