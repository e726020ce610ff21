#!/usr/bin/env node
/**
 * The `sessionsql` command (`npx sessionsql --help`): operations on a session table.
 * @module
 */
import { main } from './main.js';

process.exitCode = await main(process.argv);
