/**
 * The application's dependency graph. Imported by workflow code too, so it must stay
 * deterministic and free of Node built-ins. Edges point from a dependency to its
 * dependent: restore order is a topological order of this graph.
 */
import { Graph, alg } from 'graphlib';

/** What the graph needs of a service: its name's dependencies. */
export type DependencyMap = Record<string, { depends_on: readonly string[] }>;

export function buildGraph(services: DependencyMap): Graph {
  const graph = new Graph({ directed: true });
  for (const name of Object.keys(services).sort()) graph.setNode(name);
  for (const [name, service] of Object.entries(services)) {
    for (const dep of service.depends_on) graph.setEdge(dep, name);
  }
  return graph;
}

/**
 * Restore order as layers: every service of a layer depends only on services of
 * earlier layers, so a layer's members can run in parallel. Sorted for stable output.
 */
export function restoreLayers(services: DependencyMap): string[][] {
  const graph = buildGraph(services);
  if (!alg.isAcyclic(graph)) throw new Error(`dependency cycle: ${findCycle(services)?.join(' -> ')}`);
  const remainingDeps = new Map(graph.nodes().map((n) => [n, graph.predecessors(n)?.length ?? 0]));
  const layers: string[][] = [];
  let current = graph.nodes().filter((n) => remainingDeps.get(n) === 0);
  while (current.length > 0) {
    layers.push([...current].sort());
    const next: string[] = [];
    for (const node of current) {
      for (const dependent of graph.successors(node) ?? []) {
        const left = (remainingDeps.get(dependent) ?? 0) - 1;
        remainingDeps.set(dependent, left);
        if (left === 0) next.push(dependent);
      }
    }
    current = next;
  }
  return layers;
}

/** One cycle as a closed path (`a -> b -> c -> a`), or undefined when the graph is acyclic. */
export function findCycle(services: DependencyMap): string[] | undefined {
  const graph = buildGraph(services);
  const cyclic = alg.findCycles(graph);
  if (cyclic.length === 0) return undefined;
  const members = new Set(cyclic[0]);
  const start = [...members].sort()[0];
  // Walk dependency edges (service -> what it depends on) inside the strongly connected component.
  const pathNodes = [start];
  const seen = new Set([start]);
  let node = start;
  for (;;) {
    const next = [...services[node].depends_on].sort().find((d) => members.has(d));
    if (next === undefined) return undefined;
    if (seen.has(next)) return [...pathNodes.slice(pathNodes.indexOf(next)), next];
    pathNodes.push(next);
    seen.add(next);
    node = next;
  }
}

/** The given services plus everything they depend on, transitively. */
export function withDependencies(services: DependencyMap, selected: readonly string[]): string[] {
  const result = new Set<string>();
  const visit = (name: string): void => {
    if (result.has(name)) return;
    result.add(name);
    services[name].depends_on.forEach(visit);
  };
  selected.forEach(visit);
  return [...result].sort();
}
