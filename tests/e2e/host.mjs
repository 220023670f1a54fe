// host.mjs: the real luatrade binary for the browser tests, in the spirit of
// tests/lua/harness.py: `luatrade run config.lua --var var --listen ADDR:PORT` in a
// scratch directory (scripts/ symlinked to the repository's), its log lines read as they
// come, and waits on them with deadlines (never blind sleeps). The HTTP server's start
// line "http listening url=... login=..." gives the page's address and login link.
//
// Environment: LUATRADE_BIN (default build/luatrade), LUATRADE_SRC (default the current
// directory).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SRC = path.resolve(process.env.LUATRADE_SRC || process.cwd());
export const BIN = path.resolve(process.env.LUATRADE_BIN || path.join(SRC, 'build', 'luatrade'));

export class Host {
  // files: {relative path: text} written into the scratch directory before the start.
  constructor({ config, files = {}, dir } = {}) {
    this.dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'luatrade-e2e-'));
    const scripts = path.join(this.dir, 'scripts');
    if (!fs.existsSync(scripts)) fs.symlinkSync(path.join(SRC, 'scripts'), scripts);
    for (const [rel, text] of Object.entries(files)) this.write(rel, text);
    if (config !== undefined) this.write('config.lua', config);
    this.lines = [];
    this.waiters = [];
    this.proc = null;
  }

  path(rel) {
    return path.join(this.dir, rel);
  }

  // One open-write-close, which is what the host's inotify watch reacts to.
  write(rel, text) {
    fs.mkdirSync(path.dirname(this.path(rel)), { recursive: true });
    fs.writeFileSync(this.path(rel), text);
  }

  // Starts the binary; resolves with {url, login, token, port} once it listens and is ready.
  async start(listen = '127.0.0.1:0', timeoutMs = 30000) {
    const args = ['run', 'config.lua', '--var', 'var', '--listen', listen];
    this.proc = spawn(BIN, args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve(code ?? sig)));
    this.proc.on('error', (e) => {
      this.lines.push(`cannot run ${BIN}: ${e.message}`);
      this.onLine(null);
    });
    this.from = this.lines.length; // waits only look at lines of this run
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop();
        for (const line of parts) this.onLine(line);
      });
    }
    this.proc.on('exit', () => this.onLine(null));
    const line = await this.waitFor(/http listening url=/, timeoutMs);
    const url = /url=(\S+)/.exec(line)[1];
    const login = /login=(\S+)/.exec(line)[1];
    await this.waitFor(/host ready/, timeoutMs);
    this.url = url.replace(/\/$/, '');
    this.login = login;
    this.token = new URL(login).searchParams.get('token');
    this.port = Number(new URL(url).port);
    return this;
  }

  onLine(line) {
    if (line !== null) this.lines.push(line);
    for (const w of [...this.waiters]) w.check(line);
  }

  // The first line of this run matching rx; rejects on timeout or when the host exits.
  waitFor(rx, timeoutMs = 30000) {
    const found = this.lines.slice(this.from).find((l) => rx.test(l));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = {
        check: (line) => {
          if (line === null) return done(new Error(`host exited while waiting for ${rx}\n${this.tail()}`));
          if (rx.test(line)) done(null, line);
        },
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${rx}\n${this.tail()}`)), timeoutMs);
      const done = (err, line) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        if (err) reject(err);
        else resolve(line);
      };
      this.waiters.push(w);
    });
  }

  tail(n = 40) {
    return '--- last host log lines ---\n' + this.lines.slice(-n).join('\n');
  }

  // SIGINT and wait; returns the exit code.
  async stop(timeoutMs = 30000) {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill('SIGINT');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const rc = await this.exited;
    clearTimeout(t);
    return rc;
  }

  // A REST call with the token (for checks the test makes beside the page).
  async api(method, p, body) {
    const res = await fetch(this.url + p, {
      method,
      headers: { Authorization: 'Bearer ' + this.token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let data = text;
    try {
      data = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, data };
  }
}
