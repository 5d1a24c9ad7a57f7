import type { ModelVersionRow, Store } from "@arbor/store";
import { NotFoundError } from "../errors.ts";

export class ModelService {
  constructor(
    private readonly store: Store,
    private readonly defaultModelVersionId?: number,
  ) {}

  list(): Promise<ModelVersionRow[]> {
    return this.store.modelVersions.getAll();
  }

  /** The version named by the request, else the configured default, else the active one. */
  async resolve(modelVersionId?: number | null): Promise<ModelVersionRow> {
    const id = modelVersionId ?? this.defaultModelVersionId;
    const model = id !== undefined ? await this.store.modelVersions.getById(id) : await this.store.modelVersions.getActive();
    if (!model) throw new NotFoundError("model version", id ?? "active");
    return model;
  }
}
