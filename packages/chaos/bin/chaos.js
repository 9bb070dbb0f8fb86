#!/usr/bin/env node
// `pnpm chaos [options]` runs this binary directly: no script banner on stdout, so the JSON
// figures pipe cleanly (`pnpm chaos --size full > figures.json`). tsx compiles the TypeScript source.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
