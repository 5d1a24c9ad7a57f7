import type * as ort from 'onnxruntime-node';

/**
 * `session` with `run` replaced (everything else, bound, from the session itself): how the tests hold,
 * fail or crash encoder runs. Free of test-runner imports, so worker threads can load it.
 */
export function withRun(session: ort.InferenceSession, run: ort.InferenceSession['run']): ort.InferenceSession {
  return new Proxy(session, {
    get(target, property) {
      if (property === 'run') return run;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
