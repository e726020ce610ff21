/** The framework table of the HTTP suite: one row per framework, the same routes in each app. */
import { expressFramework } from './apps/express.js';
import { fastifyFramework } from './apps/fastify.js';
import { honoSessionFramework } from './apps/hono-session.js';
import { honoSessionsFramework } from './apps/hono-sessions.js';
import { koaFramework } from './apps/koa.js';
import type { Framework } from './framework.js';

export const FRAMEWORKS: readonly Framework[] = [
  expressFramework,
  fastifyFramework,
  koaFramework,
  honoSessionsFramework,
  honoSessionFramework,
];
