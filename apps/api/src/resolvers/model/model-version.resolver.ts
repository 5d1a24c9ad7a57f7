import { Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.ts";
import { ModelVersion, toModelVersion } from "./model-version.type.ts";

@Resolver(() => ModelVersion)
export class ModelVersionResolver {
  @Query(() => [ModelVersion], { description: "Every model version, oldest first." })
  async modelVersions(@Ctx() ctx: Context): Promise<ModelVersion[]> {
    return (await ctx.services.models.list()).map(toModelVersion);
  }
}
