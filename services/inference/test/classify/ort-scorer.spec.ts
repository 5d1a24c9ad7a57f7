import { describe, expect, it } from 'vitest';

import { screeningSessionOptions } from '../../src/classify/scorers/ort-scorer.ts';

describe('screening session options', () => {
  it("let idle pool threads sleep unless spinning is asked for, as the service's encoder sessions do", () => {
    expect(screeningSessionOptions({}).extra).toEqual({ 'session.intra_op.allow_spinning': '0' });
    expect(screeningSessionOptions({ spinWait: false }).extra).toEqual({ 'session.intra_op.allow_spinning': '0' });
    expect(screeningSessionOptions({ spinWait: true }).extra).toBeUndefined();
  });

  it('run the graph sequentially with the requested threads (0: ONNX Runtime picks)', () => {
    expect(screeningSessionOptions({})).toMatchObject({ intraOpNumThreads: 0, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    expect(screeningSessionOptions({ intraOpNumThreads: 2 }).intraOpNumThreads).toBe(2);
  });
});
