#!/usr/bin/env node
import { runCli } from './program';

// `mms`: the command-line client of the HTTP API (see README "CLI").
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`Error: ${error.message}\n`);
    process.exitCode = 1;
  },
);
