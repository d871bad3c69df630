/**
 * Which services a restore touches, computed once for the CLI (its checks and approval
 * prompt) and for the restore workflow (its plan, and whether it waits for approval).
 * Pure and deterministic: workflow code calls it.
 */
import { withDependencies } from './graph';

/** What the selection needs of a service: its dependencies, and whether it keeps state. */
export type SelectableServices = Record<
  string,
  { depends_on: readonly string[]; datastore?: unknown; cache?: unknown; function?: unknown }
>;

/** A service a backup captures and a restore writes: a datastore, or a function's version. */
export function keepsState(service: SelectableServices[string]): boolean {
  return Boolean(service.datastore || service.function);
}

export interface RestoreRequest {
  /** The services asked for, already checked to be known; left out, every service. */
  services?: readonly string[];
  /** Also restore what the chosen services depend on. */
  withDependencies?: boolean;
}

export interface RestoreSelection {
  /** Every service the restore covers, sorted; stateless ones are nodes of the graph too. */
  services: string[];
  /** service -> the selected services it depends on: dependencies outside the selection are left as they are. */
  dependsOn: Record<string, string[]>;
  /** What it writes: the selected services that keep state (datastores, and functions' versions). */
  stateful: string[];
}

export function selectRestore(services: SelectableServices, request: RestoreRequest): RestoreSelection {
  const chosen = request.services;
  const selected = !chosen
    ? Object.keys(services).sort()
    : request.withDependencies
      ? withDependencies(services, chosen)
      : [...chosen].sort();
  const withCaches = [...new Set([...selected, ...cachesFronting(services, selected)])].sort();
  return {
    services: withCaches,
    dependsOn: dependenciesWithin(services, withCaches),
    stateful: withCaches.filter((s) => keepsState(services[s])),
  };
}

/** The caches in front of any selected store: a restore of the store flushes them. */
function cachesFronting(services: SelectableServices, selected: readonly string[]): string[] {
  const stores = new Set(selected.filter((s) => services[s].datastore));
  return Object.keys(services).filter(
    (s) => services[s].cache && services[s].depends_on.some((d) => stores.has(d)),
  );
}

/** Where each written store goes: over its production original, or beside it into its --target. */
export function storesWritten(
  selection: RestoreSelection,
  targets: Readonly<Record<string, string>>,
): { inPlace: string[]; targeted: string[] } {
  return {
    inPlace: selection.stateful.filter((s) => !targets[s]),
    targeted: selection.stateful.filter((s) => targets[s]),
  };
}

/** Whether the restore overwrites any production store. */
export function overwritesProduction(
  selection: RestoreSelection,
  targets: Readonly<Record<string, string>>,
): boolean {
  return storesWritten(selection, targets).inPlace.length > 0;
}

/** Each of `selected`'s dependencies that is selected too. */
export function dependenciesWithin(
  services: SelectableServices,
  selected: readonly string[],
): Record<string, string[]> {
  const chosen = new Set(selected);
  return Object.fromEntries(selected.map((s) => [s, services[s].depends_on.filter((d) => chosen.has(d))]));
}
