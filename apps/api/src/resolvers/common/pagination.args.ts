import { ArgsType, Field, Int } from "type-graphql";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../limits.ts";
import { requireRange } from "../../errors.ts";

@ArgsType()
export class PaginationArgs {
  @Field(() => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `Page size, 1 to ${MAX_PAGE_SIZE}.` })
  first: number = DEFAULT_PAGE_SIZE;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page." })
  after?: string | null;
}

export function pageSize(args: PaginationArgs): number {
  return requireRange("first", args.first, 1, MAX_PAGE_SIZE);
}

/** Complexity of a connection field: its children's cost times the page size. */
export function connectionComplexity({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }): number {
  const first = typeof args.first === "number" ? args.first : DEFAULT_PAGE_SIZE;
  return 1 + childComplexity * Math.max(1, first);
}
