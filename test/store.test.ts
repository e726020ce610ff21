import { selectedDialects } from './dialects.js';
import { defineStoreSuite } from './store-suite.js';

for (const dialect of selectedDialects()) defineStoreSuite(dialect);
