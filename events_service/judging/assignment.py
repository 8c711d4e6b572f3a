"""Balanced judge assignment: a pure function, deterministic for a given seed.

Constraints, all hard:
- every anchor entry goes to every judge without a conflict on it;
- every other entry gets exactly k judges, none in conflict with its organisation;
- judge loads (anchors included) differ by at most one.

Loads are fixed by a max-flow: source -> entry (capacity k) -> eligible judge (1) ->
sink with capacity ``floor - anchors`` per judge, plus a shared "extra" node that lets
exactly ``total mod judges`` judges take one more. Total flow equal to the demand
means every constraint holds; less means the instance is impossible, and we say why.
The seed shuffles the order in which edges are tried, so different seeds give
different but equally valid assignments.

Afterwards, load- and conflict-preserving swaps join disconnected components of the
judge-entry graph, which the additive ranking model needs.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from events_service.locale import translatable


class AssignmentImpossible(ValueError):
    """No assignment satisfies the constraints; the message says which one binds."""


@dataclass(frozen=True)
class Plan:
    pairs: list[tuple[int, int]]  # (entry id, judge id), sorted
    loads: dict[int, int]
    connected: bool


def _components(pairs: Iterable[tuple[int, int]]) -> list[set[tuple[str, int]]]:
    adjacency: dict[tuple[str, int], set[tuple[str, int]]] = defaultdict(set)
    for entry, judge in pairs:
        adjacency[("e", entry)].add(("j", judge))
        adjacency[("j", judge)].add(("e", entry))
    seen: set[tuple[str, int]] = set()
    components = []
    for start in sorted(adjacency):
        if start in seen:
            continue
        component = {start}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in adjacency[node]:
                if other not in component:
                    component.add(other)
                    queue.append(other)
        seen |= component
        components.append(component)
    return components


class _Flow:
    """Dinic's max-flow on an adjacency list (small graphs: entries x judges)."""

    def __init__(self, size: int) -> None:
        self.graph: list[list[list[int]]] = [[] for _ in range(size)]

    def add(self, u: int, v: int, cap: int) -> list[int]:
        forward = [v, cap, len(self.graph[v])]
        backward = [u, 0, len(self.graph[u])]
        self.graph[u].append(forward)
        self.graph[v].append(backward)
        return forward

    def max_flow(self, s: int, t: int) -> int:
        flow = 0
        while True:
            level = [-1] * len(self.graph)
            level[s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                for v, cap, _ in self.graph[u]:
                    if cap > 0 and level[v] < 0:
                        level[v] = level[u] + 1
                        queue.append(v)
            if level[t] < 0:
                return flow
            pointer = [0] * len(self.graph)

            def push(u: int, limit: int, level: list[int] = level, ptr: list[int] = pointer) -> int:
                if u == t:
                    return limit
                while ptr[u] < len(self.graph[u]):
                    edge = self.graph[u][ptr[u]]
                    v, cap, rev = edge
                    if cap > 0 and level[v] == level[u] + 1:
                        pushed = push(v, min(limit, cap))
                        if pushed:
                            edge[1] -= pushed
                            self.graph[v][rev][1] += pushed
                            return pushed
                    ptr[u] += 1
                return 0

            while True:
                pushed = push(s, 1 << 30)
                if not pushed:
                    break
                flow += pushed


def plan_assignment(
    entries: Mapping[int, int | None],
    judges: Sequence[int],
    k: int,
    conflicts: Iterable[tuple[int, int]] = (),
    anchors: Iterable[int] = (),
    seed: int = 0,
) -> Plan:
    """Assign judges to entries.

    ``entries`` maps entry id -> organisation id (or None); ``conflicts`` holds
    (judge id, organisation id) pairs; ``anchors`` are entry ids every judge scores.
    """
    judge_list = sorted(set(judges))
    if not judge_list:
        raise AssignmentImpossible(translatable("there are no judges to assign"))
    if k < 1:
        raise AssignmentImpossible(translatable("judges per entry must be at least 1"))
    conflict_set = set(conflicts)
    anchor_set = set(anchors) & set(entries)
    rng = random.Random(seed)  # noqa: S311 - reproducible shuffles, not secrets

    def eligible(entry: int) -> list[int]:
        org = entries[entry]
        return [j for j in judge_list if org is None or (j, org) not in conflict_set]

    pairs: list[tuple[int, int]] = []
    anchor_load = dict.fromkeys(judge_list, 0)
    for entry in sorted(anchor_set):
        for judge in eligible(entry):
            pairs.append((entry, judge))
            anchor_load[judge] += 1

    regular = sorted(set(entries) - anchor_set)
    for entry in regular:
        available = len(eligible(entry))
        if available < k:
            raise AssignmentImpossible(
                translatable(
                    "entry %(entry)s needs %(k)s judges but only %(available)s have no conflict "
                    "with its organisation",
                    entry=entry,
                    k=k,
                    available=available,
                )
            )
    total = len(pairs) + k * len(regular)
    floor, extra = divmod(total, len(judge_list))
    # Nodes: 0 source, 1 sink, 2 extra, then entries, then judges.
    source, sink, extra_node = 0, 1, 2
    entry_node = {e: 3 + i for i, e in enumerate(regular)}
    judge_node = {j: 3 + len(regular) + i for i, j in enumerate(judge_list)}
    flow = _Flow(3 + len(regular) + len(judge_list))
    shuffled_entries = list(regular)
    rng.shuffle(shuffled_entries)
    edges: dict[tuple[int, int], list[int]] = {}
    for entry in shuffled_entries:
        flow.add(source, entry_node[entry], k)
        candidates = eligible(entry)
        rng.shuffle(candidates)
        for judge in candidates:
            edges[(entry, judge)] = flow.add(entry_node[entry], judge_node[judge], 1)
    for judge in judge_list:
        base = floor - anchor_load[judge]
        if base < 0:
            # This judge's anchors already fill the base load; it may only take the +1.
            raise AssignmentImpossible(
                translatable(
                    "judge %(judge)s has %(anchors)s anchor entries, more than the balanced load "
                    "of %(floor)s; name fewer anchors or raise k",
                    judge=judge,
                    anchors=anchor_load[judge],
                    floor=floor,
                )
            )
        flow.add(judge_node[judge], sink, base)
        flow.add(judge_node[judge], extra_node, 1)
    flow.add(extra_node, sink, extra)
    demand = k * len(regular)
    # Judges with few anchors must take more regular entries: the capacities above say so.
    if flow.max_flow(source, sink) < demand:
        raise AssignmentImpossible(
            translatable(
                "no assignment gives every entry %(k)s judges with loads differing by at most "
                "one while respecting the declared conflicts; add judges or lower k",
                k=k,
            )
        )
    pairs.extend(pair for pair, edge in edges.items() if edge[1] == 0)
    pairs = _connect(pairs, entries, conflict_set, anchor_set)
    loads = dict.fromkeys(judge_list, 0)
    for _, judge in pairs:
        loads[judge] += 1
    pairs.sort()
    return Plan(pairs=pairs, loads=loads, connected=len(_components(pairs)) <= 1)


def _connect(
    pairs: list[tuple[int, int]],
    entries: Mapping[int, int | None],
    conflicts: set[tuple[int, int]],
    anchors: set[int],
) -> list[tuple[int, int]]:
    """Swap judges between two entries of different components until one remains.

    A swap (e1, j1), (e2, j2) -> (e1, j2), (e2, j1) keeps every entry's count and
    every judge's load; it is taken only if it is conflict-free and lowers the number
    of components, so the loop ends.
    """
    current = set(pairs)
    # Bounded work: a swap is checked by recomputing components; give up after this many
    # (the plan then reports connected=False and the ranking falls back to z-scores).
    budget = 5000
    degree: dict[int, int] = defaultdict(int)
    for entry, _ in current:
        degree[entry] += 1
    if all(degree[e] <= 1 for e in degree if e not in anchors) and not anchors:
        # With one judge per entry and no anchors no swap can join two judges.
        return sorted(current)
    while True:
        components = _components(current)
        if len(components) <= 1:
            return sorted(current)
        improved = False
        first = components[0]
        for other in components[1:]:
            for e1, j1 in sorted(p for p in current if ("e", p[0]) in first):
                if e1 in anchors:
                    continue
                for e2, j2 in sorted(p for p in current if ("e", p[0]) in other):
                    if e2 in anchors or (e1, j2) in current or (e2, j1) in current:
                        continue
                    org1, org2 = entries[e1], entries[e2]
                    if (org1 is not None and (j2, org1) in conflicts) or (
                        org2 is not None and (j1, org2) in conflicts
                    ):
                        continue
                    candidate = (current - {(e1, j1), (e2, j2)}) | {(e1, j2), (e2, j1)}
                    budget -= 1
                    if budget < 0:
                        return sorted(current)
                    if len(_components(candidate)) < len(components):
                        current = candidate
                        improved = True
                        break
                if improved:
                    break
            if improved:
                break
        if not improved:
            return sorted(current)
