/**
 * Lazy imports of CommonJS packages. Node and the bundle expose a CJS module's exports as
 * `default`; named exports are not guaranteed in both, so take `default` when present.
 */
export async function importCjs<T>(load: () => Promise<T>): Promise<T> {
  const mod = (await load()) as T & { default?: T };
  return mod.default && typeof mod.default === 'object' ? mod.default : mod;
}
