import { GraphQLError } from "graphql";

// Domain errors, mapped to GraphQL error codes. Resolvers throw these; nothing else is exposed.

export class NotFoundError extends GraphQLError {
  constructor(what: string, id: string | number) {
    super(`${what} ${id} not found`, { extensions: { code: "NOT_FOUND", what, id: String(id) } });
  }
}

export class BadInputError extends GraphQLError {
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, { extensions: { code: "BAD_USER_INPUT", field } });
  }
}

export class UnavailableError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "SERVICE_UNAVAILABLE" } });
  }
}

export function requireRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadInputError(field, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}
