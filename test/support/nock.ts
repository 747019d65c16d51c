/** nock for a connector's unit tests: no real network, and every faked request must have been made. */
import { setDispatcher } from 'jsforce/lib/request.js';
import nock from 'nock';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

export function useStrictNock(): void {
  beforeAll(() => nock.disableNetConnect());
  // jsforce keeps its own undici connection pool; a socket pooled in one test must not carry the next
  // test's request past nock (seen under load as a real DNS lookup), so each test gets a fresh pool.
  beforeEach(() => setDispatcher(new Agent({ connect: { allowH2: false } })));
  afterEach(() => {
    const pending = nock.pendingMocks();
    // A request still in flight from this test must not be answered by the next test's interceptors.
    nock.abortPendingRequests();
    nock.cleanAll();
    expect(pending).toEqual([]); // every faked request was made
  });
  afterAll(() => nock.enableNetConnect());
}
