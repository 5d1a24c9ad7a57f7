import type * as ort from 'onnxruntime-node';

type TypedArray = Exclude<ort.Tensor.DataType, string[]>;
type TypedArrayConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray;

/**
 * onnxruntime-node refuses typed arrays over a SharedArrayBuffer ("Invalid argument"), so a session
 * thread copies shared feeds into input buffers of its own, one per input name, kept from run to run
 * (grown when a larger feed comes). Runs on one thread are sequential, so a buffer is free again
 * when the next run stages into it.
 */
export class SharedInputStaging {
  readonly #buffers = new Map<string, ArrayBuffer>();

  /** `data` itself when it is not in shared memory, otherwise a copy in this input's own buffer. */
  stage(name: string, data: ort.Tensor.DataType): ort.Tensor.DataType {
    if (!ArrayBuffer.isView(data) || !(data.buffer instanceof SharedArrayBuffer)) return data;
    let buffer = this.#buffers.get(name);
    if (!buffer || buffer.byteLength < data.byteLength) {
      buffer = new ArrayBuffer(data.byteLength);
      this.#buffers.set(name, buffer);
    }
    const copy = new (data.constructor as TypedArrayConstructor)(buffer, 0, data.length);
    copy.set(data as never);
    return copy;
  }
}
