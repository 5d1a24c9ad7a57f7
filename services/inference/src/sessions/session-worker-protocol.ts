// Messages between a WorkerSession (main thread) and the worker thread that owns the ONNX Runtime session.
import type * as ort from 'onnxruntime-node';

/** A CPU tensor as it crosses the thread boundary; its buffer is transferred, not copied, where possible. */
export interface WireTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

export interface WireError {
  name: string;
  message: string;
}

/** `workerData` of a session worker (`entry` is read by worker-bootstrap.mjs). */
export interface SessionWorkerData {
  entry: string;
  modelPath: string;
  options: ort.InferenceSession.SessionOptions;
  /** Anything a substituted entry module needs (tests); the product entry ignores it. */
  entryData?: unknown;
}

export type SessionRequest =
  | { type: 'run'; id: number; feeds: Record<string, WireTensor>; fetches?: readonly string[]; options?: ort.InferenceSession.RunOptions }
  | { type: 'release'; id: number }
  | { type: 'startProfiling' }
  | { type: 'endProfiling' };

export interface SessionMetadata {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
}

export type SessionReply =
  | ({ type: 'ready' } & SessionMetadata)
  | { type: 'create-failed'; error: WireError }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'run-failed'; id: number; error: WireError }
  | { type: 'released'; id: number; error?: WireError };

export function toWireError(error: unknown): WireError {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

/** The buffers of `tensors` that can be moved to the other thread: whole, non-shared ArrayBuffers, each once. */
export function transferableBuffers(tensors: Iterable<WireTensor>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const { data } of tensors) {
    if (!ArrayBuffer.isView(data)) continue; // string tensors are cloned
    const { buffer, byteOffset, byteLength } = data;
    if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) buffers.add(buffer);
  }
  return [...buffers];
}
