#!/usr/bin/env node
// udsbus command-line entry point: runs the compiled CLI.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
