// Subject index: a token trie of subscription patterns (`*` one token, `>` the rest) with a
// match cache, so routing a hot subject is one Map lookup. Imports nothing outside broker/.

/** What the index stores: a subscription pattern and, optionally, its queue group. */
export interface Indexed {
  readonly subject: string;
  readonly queue: string | undefined;
}

/** The receivers of one subject: every plain member, and one member of each queue group. */
export class Route<T extends Indexed> {
  readonly plain: T[] = [];
  readonly groups: T[][] = [];
  /** Round-robin cursor per group (and for single-choice routing over `all`). */
  readonly cursors: number[] = [];
  readonly all: T[] = [];
  cursor = 0;

  get empty(): boolean {
    return this.all.length === 0;
  }
}

class Node<T> {
  readonly children = new Map<string, Node<T>>();
  here: T[] = [];
  rest: T[] = [];
}

const MAX_CACHE = 16384;
/** removeAll splices entries out of lists up to this long, and filters longer ones once. */
const SPLICE_MAX = 64;

/** Patterns in, receivers out. */
export class SubjectIndex<T extends Indexed> {
  #root = new Node<T>();
  #cache = new Map<string, Route<T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    const tokens = item.subject.split('.');
    let node = this.#root;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t === '>' && i === tokens.length - 1) {
        node.rest.push(item);
        this.#changed();
        return;
      }
      let next = node.children.get(t);
      if (next === undefined) {
        next = new Node<T>();
        node.children.set(t, next);
      }
      node = next;
    }
    node.here.push(item);
    this.#changed();
  }

  remove(item: T): void {
    const tokens = item.subject.split('.');
    const path: [Node<T>, string][] = [];
    let node = this.#root;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t === '>' && i === tokens.length - 1) {
        if (!removeFrom(node.rest, item)) return;
        this.#prune(path, node);
        this.#changed(-1);
        return;
      }
      const next = node.children.get(t);
      if (next === undefined) return;
      path.push([node, t]);
      node = next;
    }
    if (!removeFrom(node.here, item)) return;
    this.#prune(path, node);
    this.#changed(-1);
  }

  /**
   * Removes many entries with one cache invalidation (a closing session's subscriptions). An
   * entry in a short list is spliced out as remove() does; entries in long lists (many
   * subscriptions of one subject) are gathered and each such list is filtered once, so removing
   * n entries from a list of m costs O(n + m), not O(n * m).
   */
  removeAll(items: Iterable<T>): void {
    let removed = 0;
    let long: Map<Node<T>, { path: [Node<T>, string][]; here: Set<T>; rest: Set<T> }> | null = null;
    for (const item of items) {
      const tokens = item.subject.split('.');
      const path: [Node<T>, string][] = [];
      let node: Node<T> | undefined = this.#root;
      let rest = false;
      for (let i = 0; i < tokens.length && node !== undefined; i++) {
        const t = tokens[i]!;
        if (t === '>' && i === tokens.length - 1) {
          rest = true;
          break;
        }
        path.push([node, t]);
        node = node.children.get(t);
      }
      if (node === undefined) continue;
      const list = rest ? node.rest : node.here;
      if (list.length <= SPLICE_MAX) {
        if (removeFrom(list, item)) {
          removed++;
          this.#prune(path, node);
        }
        continue;
      }
      long ??= new Map();
      let e = long.get(node);
      if (e === undefined) {
        e = { path, here: new Set<T>(), rest: new Set<T>() };
        long.set(node, e);
      }
      (rest ? e.rest : e.here).add(item);
    }
    if (long !== null) {
      for (const [node, e] of long) {
        const before = node.here.length + node.rest.length;
        if (e.here.size > 0) node.here = node.here.filter((it) => !e.here.has(it));
        if (e.rest.size > 0) node.rest = node.rest.filter((it) => !e.rest.has(it));
        removed += before - node.here.length - node.rest.length;
        this.#prune(e.path, node);
      }
    }
    if (removed > 0) this.#changed(-removed);
  }

  #prune(path: [Node<T>, string][], node: Node<T>): void {
    let n = node;
    for (let i = path.length - 1; i >= 0; i--) {
      if (n.here.length > 0 || n.rest.length > 0 || n.children.size > 0) return;
      const [parent, token] = path[i]!;
      parent.children.delete(token);
      n = parent;
    }
  }

  #changed(delta: number = 1): void {
    this.#size += delta;
    this.#cache.clear();
  }

  /** The receivers of a literal subject (cached until the index changes). */
  match(subject: string): Route<T> {
    let route = this.#cache.get(subject);
    if (route !== undefined) return route;
    route = new Route<T>();
    const found: T[] = [];
    collect(this.#root, subject.split('.'), 0, found);
    const groups = new Map<string, T[]>();
    for (const item of found) {
      route.all.push(item);
      if (item.queue === undefined) route.plain.push(item);
      else {
        let g = groups.get(item.queue);
        if (g === undefined) {
          g = [];
          groups.set(item.queue, g);
          route.groups.push(g);
          route.cursors.push(0);
        }
        g.push(item);
      }
    }
    if (this.#cache.size >= MAX_CACHE) this.#cache.clear();
    this.#cache.set(subject, route);
    return route;
  }

  /** Every pattern with its number of entries, for status. */
  patterns(): Map<string, number> {
    const out = new Map<string, number>();
    const walk = (node: Node<T>): void => {
      for (const it of node.here) out.set(it.subject, (out.get(it.subject) ?? 0) + 1);
      for (const it of node.rest) out.set(it.subject, (out.get(it.subject) ?? 0) + 1);
      for (const child of node.children.values()) walk(child);
    };
    walk(this.#root);
    return out;
  }
}

function collect<T>(node: Node<T>, tokens: string[], i: number, out: T[]): void {
  if (i === tokens.length) {
    for (const it of node.here) out.push(it);
    return;
  }
  // `>` needs at least one token left to match.
  for (const it of node.rest) out.push(it);
  const exact = node.children.get(tokens[i]!);
  if (exact !== undefined) collect(exact, tokens, i + 1, out);
  const star = node.children.get('*');
  if (star !== undefined) collect(star, tokens, i + 1, out);
}

function removeFrom<T>(arr: T[], item: T): boolean {
  const i = arr.indexOf(item);
  if (i < 0) return false;
  arr.splice(i, 1);
  return true;
}
