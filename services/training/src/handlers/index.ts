import type { AnyJobHandler } from "../job-handler.ts";
import { embedTaxaTextHandler } from "./embed-taxa-text.handler.ts";
import { importTextEmbeddingsHandler } from "./import-text-embeddings.handler.ts";

/** One handler per job name (checked at start-up by buildHandlerRegistry). */
export const HANDLERS: readonly AnyJobHandler[] = [embedTaxaTextHandler, importTextEmbeddingsHandler];
