/**
 * express + express-session over real HTTP on every dialect: sign in, read, sign out, with
 * `regenerate` replacing the session id.
 */
import { describe, it } from 'vitest';
import { selectedDialects, useStoreHarness } from './dialects.js';
import { signInFlow } from './express-app.js';

for (const dialect of selectedDialects()) {
  describe(`${dialect}: express-session over HTTP`, () => {
    const h = useStoreHarness(dialect);

    it('signs in, reads the session, regenerates the id and signs out', async () => {
      await signInFlow(h().createStore());
    });
  });
}
