/** Background processes with pid files and log files, and readiness probes. */
import { spawn, spawnSync, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/**
 * A killed process whose parent has not reaped it yet (the stack's services are reparented to this
 * machine's init, which reaps them seconds later) still answers kill(pid, 0), but it is gone once
 * every one of its threads has exited. The main thread turns zombie first; until the others are
 * gone too (slow on a loaded box) the process still holds its files and listening sockets.
 */
function isZombie(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    tasks = [String(pid)];
  }
  return tasks.every((tid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      return state === "Z" || state === "X";
    } catch {
      return true; // this thread has exited since the listing
    }
  });
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim().split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Start a detached process logging to logFile; returns its pid (also written to pidFile). */
export function startDetached(
  cmd: string,
  args: string[],
  opts: {
    logFile: string;
    pidFile: string;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    uid?: number;
    gid?: number;
  },
): number {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  fs.mkdirSync(path.dirname(opts.pidFile), { recursive: true });
  const out = fs.openSync(opts.logFile, "a");
  const spawnOpts: SpawnOptions = {
    detached: true,
    stdio: ["ignore", out, out],
    env: opts.env ?? process.env,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
  };
  const child = spawn(cmd, args, spawnOpts);
  fs.closeSync(out);
  if (!child.pid) throw new Error(`could not start ${cmd}`);
  child.unref();
  fs.writeFileSync(opts.pidFile, `${child.pid}\n`);
  return child.pid;
}

export async function stopPid(
  pid: number,
  signal: NodeJS.Signals = "SIGTERM",
  waitMs = 10_000,
): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + waitMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    // A thread stuck in the kernel (D state) can hold a killed process a while; not forever here.
    const killDeadline = Date.now() + waitMs;
    while (isAlive(pid) && Date.now() < killDeadline) await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.setTimeout(500);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  logHint: string,
  /** Told every 15 s while it waits, so a slow start is seen to be one. */
  waiting: (seconds: number) => void = () => undefined,
): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let told = started;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(100);
    if (Date.now() - told >= 15_000) {
      told = Date.now();
      waiting(Math.round((told - started) / 1000));
    }
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000}s; see ${logHint}`);
}

export function run(
  cmd: string,
  args: string[],
  opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
) {
  const res = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (res.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${res.status}): ${(res.stderr || res.stdout || "").trim()}`,
    );
  }
  return res.stdout;
}
