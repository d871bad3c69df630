import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function pathDirectories(): string[] {
  return (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
}

/** An absolute path that is executable, or a command found on PATH. */
export function isInstalled(fileOrCommand: string): boolean {
  if (path.isAbsolute(fileOrCommand)) return isExecutable(fileOrCommand);
  return pathDirectories().some((dir) => isExecutable(path.join(dir, fileOrCommand)));
}
