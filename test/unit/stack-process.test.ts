/** tools/stack/process.ts isAlive: a killed process its parent has not reaped yet (a zombie) is gone. */
import { spawn } from "node:child_process";
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
});
