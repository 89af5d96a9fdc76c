// What the browser tests share: the demo binary, started on a free port, and Chromium's flags.

import { spawn } from 'node:child_process';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = process.env.BRIDGE_BIN ?? `${ROOT}target/debug/zendesk-sso-bridge`;
export const SHOTS = process.env.SCREENSHOT_DIR ?? `${ROOT}target/screenshots`;
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The flags Chromium needs on a closed-network CI machine. Playwright's launch() gives every run
// a fresh, empty user-data directory.
export const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Starts `zendesk-sso-bridge demo` with `args`; resolves with the child and its base URL. */
export function startDemo(args = ['--listen', '127.0.0.1:0'], extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['demo', ...args], {
      env: { ...process.env, RUST_LOG: 'warn', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 20_000);
    const read = (chunk) => {
      output += chunk;
      const found = output.match(/Start here:\s+(http:\/\/\S+?)\/?\s/);
      if (found) {
        clearTimeout(timer);
        resolve({ child, base: found[1] });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
  });
}
