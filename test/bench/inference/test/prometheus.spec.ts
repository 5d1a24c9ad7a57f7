import { describe, expect, it } from "vitest";
import { parsePrometheusText, serviceWindow, sumOf } from "../prometheus.ts";

const scrape = (batches: number, items: number, bucket2: number, cpu: number) =>
  parsePrometheusText(`# HELP inference_batch_size Items per encoder batch
# TYPE inference_batch_size histogram
inference_batch_size_bucket{le="1",encoder="image"} 1
inference_batch_size_bucket{le="2",encoder="image"} ${bucket2}
inference_batch_size_bucket{le="+Inf",encoder="image"} ${batches}
inference_batch_size_sum{encoder="image"} ${items}
inference_batch_size_count{encoder="image"} ${batches}
inference_batch_size_sum{encoder="text"} 999
inference_batch_size_count{encoder="text"} 9
inference_batch_duration_seconds_sum{encoder="image"} ${batches * 0.05}
inference_batch_duration_seconds_count{encoder="image"} ${batches}
inference_items_embedded_total{encoder="image"} ${items}
inference_preprocess_duration_seconds_sum ${items * 0.004}
inference_preprocess_duration_seconds_count ${items}
inference_http_request_duration_seconds_count{method="POST",route="/v1/embed/images",status="200"} ${items}
inference_http_request_duration_seconds_count{method="POST",route="/v1/embed/images",status="429"} 2
inference_http_request_duration_seconds_sum{method="POST",route="/v1/embed/images",status="200"} ${items * 0.1}
inference_process_cpu_seconds_total ${cpu}
inference_nodejs_eventloop_lag_p99_seconds 0.25
`);

describe("prometheus", () => {
  it("parses samples with and without labels and sums by label", () => {
    const s = scrape(10, 30, 4, 5);
    expect(s.get('inference_batch_size_count{encoder="image"}')).toBe(10);
    expect(sumOf(s, "inference_batch_size_count")).toBe(19);
    expect(sumOf(s, "inference_batch_size_count", 'encoder="image"')).toBe(10);
    expect(sumOf(s, "inference_process_cpu_seconds_total")).toBe(5);
  });

  it("turns two scrapes into what the service did in between", () => {
    const window = serviceWindow(scrape(10, 30, 4, 5), scrape(30, 110, 12, 9), 4);
    expect(window.imageBatches).toBe(20);
    expect(window.imagesEmbedded).toBe(80);
    expect(window.meanBatchSize).toBe(4);
    expect(window.batchSizeBuckets).toEqual({ "1": 0, "2": 8, "+Inf": 12 });
    expect(window.meanBatchMs).toBeCloseTo(50);
    expect(window.encoderBusyShare).toBeCloseTo(0.25);
    expect(window.meanPreprocessMs).toBeCloseTo(4);
    expect(window.processCpuCores).toBeCloseTo(1);
    expect(window.http200).toBe(80);
    expect(window.httpNon200).toBe(0);
    expect(window.eventLoopLagP99Ms).toBeCloseTo(250);
  });
});
