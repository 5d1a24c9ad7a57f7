import { isDeepStrictEqual } from "node:util";
import type { LoadTarget } from "./load-generator.ts";

async function fetchPage(target: LoadTarget, id: number): Promise<unknown> {
  const spec = target.request(id);
  const res = await fetch(`${target.baseUrl}${spec.path}`, { method: spec.method, headers: spec.headers, body: spec.body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${target.name} answered ${res.status} for taxon ${id}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/**
 * Every server returns equal JSON content (parsed, deep-equal: same values, same array orders)
 * for each id; throws with both bodies on the first difference. Returns the number of pages checked.
 */
export async function checkSameContent(targets: readonly LoadTarget[], ids: readonly number[]): Promise<number> {
  for (const id of ids) {
    const [reference, ...others] = await Promise.all(targets.map((target) => fetchPage(target, id)));
    for (const [i, other] of others.entries()) {
      if (!isDeepStrictEqual(reference, other)) {
        const [a, b] = [targets[0]!.name, targets[i + 1]!.name];
        throw new Error(`${b} and ${a} differ for taxon ${id}:\n${a}: ${JSON.stringify(reference).slice(0, 1500)}\n${b}: ${JSON.stringify(other).slice(0, 1500)}`);
      }
    }
  }
  return ids.length;
}
