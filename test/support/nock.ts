/** nock for a connector's unit tests: no real network, and every faked request must have been made. */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

export function useStrictNock(): void {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending).toEqual([]); // every faked request was made
  });
  afterAll(() => nock.enableNetConnect());
}
