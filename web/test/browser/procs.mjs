// Child processes for the browser tests: every one is remembered by PID and
// killed (its process group) at the end; every wait is bounded.
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";

const children = new Set();

/** Starts `cmd`; `done` resolves with {code, stdout, stderr} (never rejects). */
export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true, ...opts });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise((resolve) => {
    child.on("error", (e) => (children.delete(child), resolve({ code: -1, stdout, stderr: stderr + String(e) })));
    child.on("exit", (code, signal) => (children.delete(child), resolve({ code: code ?? signal, stdout, stderr })));
  });
  return { child, done, output: () => stdout + stderr };
}

/** `done`, or an error naming the command after `ms`; the process is killed then. */
export async function finish(proc, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      kill(proc.child);
      reject(new Error(`${what} did not exit within ${ms} ms; output:\n${proc.output()}`));
    }, ms);
  });
  try {
    return await Promise.race([proc.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function kill(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL"); // its own group (detached), so twistd's children go too
  } catch {
    child.kill("SIGKILL");
  }
}

export function killAll() {
  for (const child of children) kill(child);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once host:port (127.0.0.1 unless named) accepts a connection, or fails after `ms`. */
export async function waitForPort(port, ms, proc, what, host = "127.0.0.1") {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited early:\n${proc.output()}`);
    const ok = await new Promise((resolve) => {
      const s = connect(port, host, () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on ${port} within ${ms} ms:\n${proc.output()}`);
}
