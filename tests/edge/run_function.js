// Runs a CloudFront Function's file under Node as CloudFront would: the file alone in a fresh
// context (no require, no process, no timers), then handler(event) for each event read from stdin
// as a JSON list. Prints a JSON list of {"request": ...} or {"error": "..."}.
'use strict';
const fs = require('fs');
const vm = require('vm');

const file = process.argv[2];
const code = fs.readFileSync(file, 'utf8');
const events = JSON.parse(fs.readFileSync(0, 'utf8'));
const sandbox = vm.createContext({ console: { log: () => {} } });
// The timeout only ends a file that never finishes loading (wall-clock time, so far above the
// microseconds a definition takes: a busy machine must not fail it).
vm.runInContext(code, sandbox, { filename: file, timeout: 60000 });
if (typeof sandbox.handler !== 'function') {
    throw new Error(`${file} defines no function handler(event)`);
}
const results = events.map((event) => {
    try {
        return { request: sandbox.handler(event) };
    } catch (error) {
        return { error: String(error) };
    }
});
process.stdout.write(JSON.stringify(results));
