/**
 * tools/stack/process.ts isAlive: a killed process its parent has not reaped yet (a zombie) is gone,
 * but not while another of its threads still runs (it still holds its files and ports).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { isAlive } from "../../tools/stack/process.js";

describe("isAlive", () => {
  it("is true for a running process and false for a zombie, though kill(pid, 0) still finds it", async () => {
    // sh starts `true` in the background and becomes `sleep`, which never reaps it: a zombie.
    const parent = spawn("sh", ["-c", "true & echo $!; exec sleep 5"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const zombie = Number(
        await new Promise<string>((resolve) =>
          parent.stdout.once("data", (d: Buffer) => resolve(d.toString())),
        ),
      );
      expect(isAlive(parent.pid!)).toBe(true);
      const deadline = Date.now() + 5000;
      while (isAlive(zombie) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(isAlive(zombie)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("is true while a thread outlives the zombie main thread", async () => {
    // The main thread exits alone (the exit syscall, not exit_group); a second thread sleeps on.
    const script = [
      "import ctypes, threading, time",
      "threading.Thread(target=lambda: time.sleep(1.5)).start()",
      "print('ready', flush=True)",
      "ctypes.CDLL(None).syscall(60, 0)",
    ].join("\n");
    const child = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
    const exited = new Promise((r) => child.once("exit", r));
    await new Promise((resolve) => child.stdout.once("data", resolve));
    const pid = child.pid!;
    const deadline = Date.now() + 1000;
    const leaderState = () => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat[stat.lastIndexOf(")") + 2];
    };
    while (leaderState() !== "Z" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(leaderState()).toBe("Z");
    expect(isAlive(pid)).toBe(true);
    await exited;
  });
});
