#!/usr/bin/env node
// The `sessionsql` command. A file of its own (not dist/), so that npm links it at install time,
// before the first build.
import '../dist/cli/bin.js';
