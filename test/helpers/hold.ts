/**
 * Starts `work`, which holds something (a row, a number's lock) from when it calls `holding` until the test
 * calls `release`; resolves once it holds. `done` is what the work returns.
 */
export async function holdUntilReleased<T>(work: (holding: () => Promise<void>) => Promise<T>): Promise<{ done: Promise<T>; release: () => void }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  const done = work(async () => {
    held();
    await released;
  });
  await Promise.race([isHeld, done]); // work that fails before it holds fails here
  return { done, release };
}
