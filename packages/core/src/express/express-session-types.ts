/**
 * The shapes of express-session that its store adapter touches, declared here so that the
 * published types need no `@types/express-session` (an app on Koa or Hono never installs it).
 * express-session's own types fit them.
 */

/** The session express-session hands a store (its `SessionData`): `cookie` plus your fields. */
export interface ExpressSessionData {
  /** express-session's cookie; the store reads its `expires`. */
  cookie: any;
  [key: string]: any;
}

/** The Node-style callbacks of express-session's `Store.regenerate`, `load` and `createSession`. */
export interface ExpressStoreBase {
  regenerate(req: any, callback: (err?: any) => any): void;
  load(sid: string, callback: (err: any, session?: any) => any): void;
  createSession(req: any, session: any): any;
}
