import { randomUUID } from "node:crypto";
import type { Logger, Store } from "@arbor/store";
import { createLoaders, type Loaders } from "./loaders/index.ts";
import { ImageService } from "./services/image.service.ts";
import { ModelService } from "./services/model.service.ts";
import { TaxonService } from "./services/taxon.service.ts";

export interface Services {
  taxa: TaxonService;
  images: ImageService;
  models: ModelService;
}

export interface Context {
  requestId: string;
  log: Logger;
  loaders: Loaders;
  services: Services;
}

export function createServices(store: Store, defaultModelVersionId?: number): Services {
  const models = new ModelService(store, defaultModelVersionId);
  return { models, taxa: new TaxonService(store, models), images: new ImageService(store, models) };
}

/** Per request: its id (from X-Request-Id when the caller sent one), its logger and fresh loaders. */
export function createContext(store: Store, services: Services, log: Logger, requestId?: string): Context {
  const id = requestId && /^[\w-]{1,64}$/.test(requestId) ? requestId : randomUUID();
  return { requestId: id, log: log.child({ requestId: id }), loaders: createLoaders(store), services };
}
