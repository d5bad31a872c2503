/** Catching what a call throws, so a test can look at the error's fields (code, name, message). */
import { expect } from "vitest";

/**
 * The error run throws, checked to be an instance of type. Fails the test when run throws
 * nothing, so an assertion on the result can never pass vacuously.
 */
export function thrown<E extends Error>(type: abstract new (...args: never[]) => E, run: () => unknown): E {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected a ${type.name} to be thrown`);
}
