/** One scrape of a Prometheus text exposition: `name{labels}` → value. */
export type Scrape = Map<string, number>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

export function parsePrometheusText(text: string): Scrape {
  const samples: Scrape = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

export async function scrapeMetrics(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return parsePrometheusText(await response.text());
}

/** The sum of every sample of `name` whose labels include all of `labels` (e.g. `encoder="image"`). */
export function sumOf(scrape: Scrape, name: string, ...labels: string[]): number {
  let total = 0;
  for (const [key, value] of scrape) {
    const brace = key.indexOf("{");
    const metric = brace === -1 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    const labelText = brace === -1 ? "" : key.slice(brace);
    if (labels.every((label) => labelText.includes(label))) total += value;
  }
  return total;
}

/** What the service did between two scrapes, from its own counters and histograms. */
export interface ServiceWindow {
  imageBatches: number;
  imagesEmbedded: number;
  meanBatchSize: number;
  /** Batch-size histogram increments: upper bound (le) → batches in that bucket. */
  batchSizeBuckets: Record<string, number>;
  /** ONNX Runtime time per batch, mean. */
  meanBatchMs: number;
  /** Share of the window the encoder was busy (sum of batch durations / window). */
  encoderBusyShare: number;
  meanPreprocessMs: number;
  preprocessedImages: number;
  /** Server process CPU (user + system) over the window, in cores (1.0 = one core busy all the time). */
  processCpuCores: number;
  http200: number;
  httpNon200: number;
  meanHttpMs: number;
  queueRejections: number;
  /** Event-loop lag reported by prom-client at the second scrape (p99, ms). */
  eventLoopLagP99Ms: number;
}

export function serviceWindow(before: Scrape, after: Scrape, windowSeconds: number): ServiceWindow {
  const delta = (name: string, ...labels: string[]) => sumOf(after, name, ...labels) - sumOf(before, name, ...labels);
  const batches = delta("inference_batch_size_count", 'encoder="image"');
  const batchItems = delta("inference_batch_size_sum", 'encoder="image"');
  const batchSeconds = delta("inference_batch_duration_seconds_sum", 'encoder="image"');
  const preprocessCount = delta("inference_preprocess_duration_seconds_count");
  const preprocessSeconds = delta("inference_preprocess_duration_seconds_sum");
  const route = 'route="/v1/embed/images"';
  const httpCount = delta("inference_http_request_duration_seconds_count", route);
  const http200 = delta("inference_http_request_duration_seconds_count", route, 'status="200"');
  const httpSeconds = delta("inference_http_request_duration_seconds_sum", route);
  const buckets: Record<string, number> = {};
  let previous = 0;
  for (const [key, value] of after) {
    if (!key.startsWith("inference_batch_size_bucket{") || !key.includes('encoder="image"')) continue;
    const le = /le="([^"]+)"/.exec(key)?.[1] ?? "?";
    const cumulative = value - (before.get(key) ?? 0);
    buckets[le] = cumulative - previous;
    previous = cumulative;
  }
  return {
    imageBatches: batches,
    imagesEmbedded: delta("inference_items_embedded_total", 'encoder="image"'),
    meanBatchSize: batches > 0 ? batchItems / batches : Number.NaN,
    batchSizeBuckets: buckets,
    meanBatchMs: batches > 0 ? (1000 * batchSeconds) / batches : Number.NaN,
    encoderBusyShare: batchSeconds / windowSeconds,
    meanPreprocessMs: preprocessCount > 0 ? (1000 * preprocessSeconds) / preprocessCount : Number.NaN,
    preprocessedImages: preprocessCount,
    processCpuCores: delta("inference_process_cpu_seconds_total") / windowSeconds,
    http200,
    httpNon200: httpCount - http200,
    meanHttpMs: httpCount > 0 ? (1000 * httpSeconds) / httpCount : Number.NaN,
    queueRejections: delta("inference_queue_rejections_total"),
    eventLoopLagP99Ms: 1000 * sumOf(after, "inference_nodejs_eventloop_lag_p99_seconds"),
  };
}
