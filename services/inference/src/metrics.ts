import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { BatchObserver } from './batching/micro-batcher.ts';

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128];

/** Every Prometheus series of the service, on its own registry (so tests can run several services). */
export class InferenceMetrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'inference_http_request_duration_seconds',
    help: 'HTTP request latency, from arrival to the last byte of the response',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: 'inference_batch_duration_seconds',
    help: 'ONNX Runtime time per encoder batch',
    labelNames: ['encoder'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });

  readonly preprocessDuration = new Histogram({
    name: 'inference_preprocess_duration_seconds',
    help: 'Decode, resize and normalise time per image (in a worker thread)',
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'inference_batch_size',
    help: 'Items per encoder batch',
    labelNames: ['encoder'] as const,
    buckets: BATCH_SIZE_BUCKETS,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'inference_queue_depth',
    help: 'Items waiting in a queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly queueRejections = new Counter({
    name: 'inference_queue_rejections_total',
    help: 'Requests refused because a queue was full (answered 429)',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly batchFailures = new Counter({
    name: 'inference_batch_failures_total',
    help: 'Encoder batches that failed',
    labelNames: ['encoder'] as const,
    registers: [this.registry],
  });

  readonly itemsEmbedded = new Counter({
    name: 'inference_items_embedded_total',
    help: 'Images and texts embedded',
    labelNames: ['encoder'] as const,
    registers: [this.registry],
  });

  readonly modelReady = new Gauge({
    name: 'inference_model_ready',
    help: '1 when the model package is loaded and the service is ready',
    registers: [this.registry],
  });

  constructor({ processMetrics = true }: { processMetrics?: boolean } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'inference_' });
  }

  /** Wires a micro-batcher's events to the batch and queue series. */
  batchObserver(encoder: 'image' | 'text' | 'classify'): BatchObserver {
    return {
      queueDepthChanged: (depth) => this.queueDepth.set({ queue: encoder }, depth),
      rejected: () => this.queueRejections.inc({ queue: encoder }),
      batchFinished: (size, durationMs, error) => {
        this.batchSize.observe({ encoder }, size);
        this.batchDuration.observe({ encoder }, durationMs / 1000);
        if (error) this.batchFailures.inc({ encoder });
        else this.itemsEmbedded.inc({ encoder }, size);
      },
    };
  }
}
