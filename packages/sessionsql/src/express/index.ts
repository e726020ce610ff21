export { ExpressSessionStore, SessionStoreError, type SessionStoreErrorCode } from '@sessionsql/core';
export { DefaultSessionStore, type DefaultSessionStoreOptions } from '../default-session-store.js';
