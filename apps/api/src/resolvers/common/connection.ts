import { type ClassType, Field, Int, ObjectType } from "type-graphql";
import { BadInputError } from "../../errors.ts";

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface ConnectionShape<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  totalCount: () => Promise<number>;
}

/** A Relay-style connection type `<Name>Connection` with `<Name>Edge` edges. */
export function Connection<T extends object>(Node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field(() => String)
    cursor!: string;

    @Field(() => Node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    /** Counted only when asked for. */
    @Field(() => Int, { name: "totalCount" })
    countAll(): Promise<number> {
      return (this as unknown as ConnectionShape<T>).totalCount();
    }
  }
  return ConnectionType;
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only tells whether a next page exists.
 */
export function toConnection<Row, Node>(
  rows: Row[],
  limit: number,
  toNode: (row: Row) => Node,
  cursorOf: (row: Row) => unknown,
  totalCount: () => Promise<number>,
): ConnectionShape<Node> {
  const page = rows.slice(0, limit);
  const edges = page.map((row) => ({ cursor: encodeCursor(cursorOf(row)), node: toNode(row) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** Decodes an opaque cursor and checks its shape; a forged or stale cursor is a BAD_USER_INPUT. */
export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new BadInputError("after", "is not a cursor returned by this API");
  }
  if (!isValid(value)) throw new BadInputError("after", "is not a cursor returned by this API");
  return value;
}
