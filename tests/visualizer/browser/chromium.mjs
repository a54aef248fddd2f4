// Starts Debian's chromium headless with exactly the project's flags and a fresh profile, and
// connects playwright-core to it over the DevTools protocol (so playwright adds no flags of its own).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.PAYCHAN_CHROMIUM ?? '/usr/bin/chromium';
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** Resolves to { browser, pid, stop() }; stop() closes the connection, kills chromium by PID, removes the profile. */
export async function launchChromium() {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'paychan-chromium-'));
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true }); // own process group, see stop()
  const ws = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start within 20 s: ${err.slice(-500)}`)), 20000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited with ${code}: ${err.slice(-500)}`));
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${CHROMIUM}: ${e.message} (install Debian's chromium: scripts/install-deps.sh)`));
    });
  });
  child.stderr.resume();
  const browser = await chromium.connectOverCDP(ws);
  return {
    browser,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        // A graceful close lets chromium end its helper processes and release the profile.
        try {
          const cdp = await browser.newBrowserCDPSession();
          await cdp.send('Browser.close');
        } catch {
          process.kill(child.pid, 'SIGTERM');
        }
        const t = setTimeout(() => {
          // still there: end the whole process group we started (chromium and its helpers)
          try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
        }, 5000);
        await exited;
        clearTimeout(t);
      }
      await browser.close().catch(() => {});
      // chromium's helper processes may still be writing into the profile for a moment.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch (e) {
        console.error(`note: could not remove ${profile}: ${e.message}`);
      }
    },
  };
}
