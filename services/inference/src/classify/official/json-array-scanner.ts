import { ClassifyError } from '../errors.ts';

const enum State {
  BeforeArray,
  BeforeElement,
  InElement,
  AfterElement,
  Done,
}

/**
 * Splits the text of one top-level JSON array into the source text of its elements, incrementally: feed chunks of
 * any size, get back every element completed so far. It only tracks nesting, strings and escapes, so each element
 * is then parsed by JSON.parse (native, and small), and memory is bounded by the largest element, not the file.
 */
export class JsonArrayScanner {
  private state = State.BeforeArray;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pending = '';
  private consumed = 0;
  /** Elements completed so far. */
  count = 0;

  /** Returns the elements completed within this chunk (nothing is kept when `keep` is false: counting only). */
  push(chunk: string, keep = true): string[] {
    const out: string[] = [];
    let elementStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case State.BeforeArray:
          if (c === 0x5b) this.state = State.BeforeElement;
          else if (!isSpace(c) && !(c === 0xfeff && this.consumed + i === 0)) this.fail(i, "expected '['");
          break;
        case State.AfterElement:
          if (c === 0x2c) this.state = State.BeforeElement;
          else if (c === 0x5d) this.state = State.Done;
          else if (!isSpace(c)) this.fail(i, "expected ',' or ']'");
          break;
        case State.BeforeElement:
          if (isSpace(c)) break;
          if (c === 0x5d && this.count === 0) {
            this.state = State.Done;
            break;
          }
          if (c === 0x2c || c === 0x5d) this.fail(i, 'expected a value');
          this.state = State.InElement;
          this.depth = 0;
          elementStart = i;
          i = this.scanElement(chunk, i, elementStart, out, keep);
          break;
        case State.InElement:
          i = this.scanElement(chunk, i, elementStart, out, keep);
          break;
        case State.Done:
          if (!isSpace(c)) this.fail(i, 'text after the closing bracket');
          break;
      }
    }
    if (this.state === State.InElement && keep) this.pending += chunk.slice(elementStart);
    this.consumed += chunk.length;
    return out;
  }

  /**
   * Scans an element from index i. Returns the index the outer loop continues after: the element's last character
   * (closing bracket or quote), or the character before a separator that ended a scalar, or the chunk's end.
   */
  private scanElement(chunk: string, i: number, elementStart: number, out: string[], keep: boolean): number {
    for (; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.depth === 0) return this.complete(chunk, elementStart, i + 1, out, keep);
        }
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x5b || c === 0x7b) this.depth++;
      else if (c === 0x5d || c === 0x7d) {
        if (this.depth === 0) return this.complete(chunk, elementStart, i, out, keep);
        if (--this.depth === 0) return this.complete(chunk, elementStart, i + 1, out, keep);
      } else if (this.depth === 0 && (c === 0x2c || isSpace(c))) {
        return this.complete(chunk, elementStart, i, out, keep);
      }
    }
    return i;
  }

  private complete(chunk: string, start: number, end: number, out: string[], keep: boolean): number {
    if (keep) out.push(this.pending + chunk.slice(start, end));
    this.pending = '';
    this.count++;
    this.state = State.AfterElement;
    return end - 1;
  }

  /** Call after the last chunk. */
  end(): void {
    if (this.state !== State.Done) throw new ClassifyError('INVALID_LABEL_FILE', `the JSON array is not closed (after ${this.count} elements)`);
  }

  private fail(i: number, why: string): never {
    throw new ClassifyError('INVALID_LABEL_FILE', `JSON at character ${this.consumed + i}: ${why}`);
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
