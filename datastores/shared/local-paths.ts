import { promises as fs } from 'node:fs';

/** Staging and set-aside names beside the target, on the same filesystem so renames are atomic. */
export function stagingPaths(target: string, stagingId: string): { staging: string; setAside: string } {
  return {
    staging: `${target}.lazarus-staging-${stagingId}`,
    setAside: `${target}.lazarus-old-${stagingId}`,
  };
}

export async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** A file with any bytes, a directory with any entry; what is not there holds nothing. */
export async function pathHoldsData(target: string): Promise<boolean> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) return false;
  return stat.isDirectory() ? (await fs.readdir(target)).length > 0 : stat.size > 0;
}

/**
 * Puts a fully written staging file or directory in the target's place. A file replaces
 * the target in one rename. A directory is swapped with a set-aside step; a rerun after a
 * crash between the two renames first puts the original back, so nothing is lost.
 */
export async function replaceWithStaging(target: string, stagingId: string): Promise<void> {
  const { staging, setAside } = stagingPaths(target, stagingId);
  if ((await fs.stat(staging)).isFile()) {
    await fs.rename(staging, target);
    return;
  }
  if (await exists(target)) {
    await fs.rm(setAside, { recursive: true, force: true });
    await fs.rename(target, setAside);
  }
  await fs.rename(staging, target);
  await fs.rm(setAside, { recursive: true, force: true });
}

/** Removes what an interrupted attempt of the same run left, restoring a set-aside original. */
export async function clearStaging(target: string, stagingId: string): Promise<void> {
  const { staging, setAside } = stagingPaths(target, stagingId);
  if (!(await exists(target)) && (await exists(setAside))) await fs.rename(setAside, target);
  await fs.rm(staging, { recursive: true, force: true });
  await fs.rm(setAside, { recursive: true, force: true });
}
