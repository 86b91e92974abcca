export default async function globalTeardown() {
  await globalThis.__testPg?.stop();
}
