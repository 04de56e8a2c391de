"""The routing policy at contact-center scale, against a naive scan of the workforce.

    .venv/bin/python benchmarks/routing.py [--agents 10000] [--waiting 100000] [--skills 50]

Prints JSON. Measures the core policy (`threadline.core.routing`), no database:

- **full pass**: `plan_assignments(waiting, agents)`, everything waiting routed to
  everyone with room, as a routing pass does; timed from the plain data in, index built
  inside.
- **per event**: one conversation arrives and is routed (`RoutingIndex.route`) on an
  index kept between events, as the simulator keeps it; between events one busy agent
  frees a slot (not timed), so the workforce neither fills up nor empties.
- **naive baseline**, in the same run: for each conversation, scan every agent for the
  eligible one with the lowest active/P, longest idle (with the index pass's two
  shortcuts: stop once nobody has room, skip the skills found full). Per event it is
  timed on the same events. Its full pass gets at most `--naive-pass-seconds`; if it
  runs out, the total is projected from the conversations it got through. Both are
  also measured on a tenth of the workforce, to show how each grows.

Every naive per-event decision is checked against the index's: they must agree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from threadline.core.routing import (
    AgentSlot,
    Assignment,
    RoutingIndex,
    WaitingConversation,
    order_waiting,
    plan_assignments,
)

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def workforce(n: int, skills: list[str], rng: random.Random) -> list[AgentSlot]:
    agents = []
    for i in range(n):
        preferred = rng.randint(2, 5)
        agents.append(
            AgentSlot(
                agent_id=uuid.UUID(int=rng.getrandbits(128)),
                # Most agents hold one to three skills, as in a blended center.
                skills=frozenset(rng.sample(skills, rng.randint(1, 3))),
                preferred=preferred,
                max_load=preferred + 2,
                active=rng.randint(0, preferred),
                idle_since=T0 - timedelta(seconds=rng.randint(0, 3600), microseconds=i),
            )
        )
    return agents


def backlog(n: int, skills: list[str], rng: random.Random) -> list[WaitingConversation]:
    waiting = []
    for _ in range(n):
        enqueued = T0 - timedelta(seconds=rng.randint(0, 7200))
        # Two thirds wait on the agent (a respond-by), the rest on the customer.
        respond_by = (
            enqueued + timedelta(seconds=rng.randint(60, 3600)) if rng.random() < 0.67 else None
        )
        waiting.append(
            WaitingConversation(
                uuid.UUID(int=rng.getrandbits(128)), rng.choice(skills), respond_by, enqueued
            )
        )
    return waiting


def naive_best(
    skill: str, agents: list[AgentSlot], active: dict[uuid.UUID, int]
) -> AgentSlot | None:
    best: AgentSlot | None = None
    best_key: tuple[Fraction, datetime, str] | None = None
    for a in agents:
        if skill in a.skills and active[a.agent_id] < a.preferred:
            key = (Fraction(active[a.agent_id], a.preferred), a.idle_since, str(a.agent_id))
            if best_key is None or key < best_key:
                best, best_key = a, key
    return best


def naive_pass(
    waiting: list[WaitingConversation], agents: list[AgentSlot], budget: float | None
) -> tuple[list[Assignment], int, float, bool]:
    """(assignments, conversations examined, seconds, finished)."""
    active = {a.agent_id: a.active for a in agents}
    start = time.perf_counter()
    ordered = order_waiting(waiting)
    plan: list[Assignment] = []
    # The same early stop as the index's pass: once nobody has room, nothing more can go.
    room = sum(max(0, a.preferred - a.active) for a in agents)
    full: set[str] = set()  # and the same skip of skills found full
    for n, conv in enumerate(ordered, start=1):
        if room == 0:
            return plan, n - 1, time.perf_counter() - start, True
        if conv.skill in full:
            continue
        best = naive_best(conv.skill, agents, active)
        if best is None:
            full.add(conv.skill)
        else:
            active[best.agent_id] += 1
            room -= 1
            plan.append(Assignment(conv.conversation_id, best.agent_id))
        if budget is not None and time.perf_counter() - start > budget:
            return plan, n, time.perf_counter() - start, False
    return plan, len(ordered), time.perf_counter() - start, True


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def per_event(
    agents: list[AgentSlot], skills: list[str], events: int, rng: random.Random
) -> dict[str, object]:
    index = RoutingIndex(agents)
    active = {a.agent_id: a.active for a in agents}
    busy: list[uuid.UUID] = [a.agent_id for a in agents for _ in range(a.active)]
    ours: list[float] = []
    naive: list[float] = []
    routed = 0
    for n in range(events):
        skill = rng.choice(skills)
        conv = WaitingConversation(uuid.UUID(int=n), skill, T0, T0)
        t = time.perf_counter()
        expected = naive_best(skill, agents, active)
        naive.append(time.perf_counter() - t)
        t = time.perf_counter()
        got = index.route(conv)
        ours.append(time.perf_counter() - t)
        if (got.agent_id if got else None) != (expected.agent_id if expected else None):
            raise AssertionError(f"event {n}: index chose {got}, the scan {expected}")
        if got is not None:
            routed += 1
            active[got.agent_id] += 1
            busy.append(got.agent_id)
        if busy:  # a conversation somewhere ends: its agent has a free slot again
            freed = busy.pop(rng.randrange(len(busy)))
            active[freed] -= 1
            index.release(freed)
    return {
        "events": events,
        "routed": routed,
        "index_us": {
            "p50": round(1e6 * statistics.median(ours), 1),
            "p99": round(1e6 * percentile(ours, 0.99), 1),
        },
        "naive_us": {
            "p50": round(1e6 * statistics.median(naive), 1),
            "p99": round(1e6 * percentile(naive, 0.99), 1),
        },
        "p99_ratio_naive_to_index": round(percentile(naive, 0.99) / percentile(ours, 0.99), 1),
        "decisions_agree": True,
    }


def full_pass(
    agents: list[AgentSlot], waiting: list[WaitingConversation], naive_budget: float | None
) -> dict[str, object]:
    t = time.perf_counter()
    plan = plan_assignments(waiting, agents)
    ours = time.perf_counter() - t
    naive_plan, examined, spent, finished = naive_pass(waiting, agents, naive_budget)
    result: dict[str, object] = {
        "agents": len(agents),
        "waiting": len(waiting),
        "assigned": len(plan),
        "index_s": round(ours, 3),
    }
    if finished:
        if naive_plan != plan:
            raise AssertionError("the naive pass and plan_assignments disagree")
        result.update(
            naive_s=round(spent, 3),
            ratio_naive_to_index=round(spent / ours, 1),
            naive_measured_whole=True,
        )
    else:
        # The naive pass spends its time scanning agents for each conversation until the
        # workforce is full, then for every remaining one finds none: scanning continues
        # for all of them, so the projection is linear in the conversations examined.
        projected = spent * len(waiting) / examined
        result.update(
            naive_examined=examined,
            naive_s_spent=round(spent, 1),
            naive_s_projected=round(projected, 1),
            ratio_naive_to_index_projected=round(projected / ours, 1),
            naive_measured_whole=False,
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--naive-pass-seconds", type=float, default=30.0)
    parser.add_argument("--small-agents", type=int, default=1_000)
    parser.add_argument("--small-waiting", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    skills = [f"skill-{i:02d}" for i in range(args.skills)]
    agents = workforce(args.agents, skills, rng)
    waiting = backlog(args.waiting, skills, rng)
    small_agents = workforce(args.small_agents, skills, rng)
    small_waiting = backlog(args.small_waiting, skills, rng)
    report = {
        "benchmark": "routing policy: full pass and per-event decision, index vs naive scan",
        "command": "python benchmarks/routing.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "skills": args.skills,
        "full_pass": full_pass(agents, waiting, args.naive_pass_seconds),
        "full_pass_small": full_pass(small_agents, small_waiting, None),
        "per_event": per_event(agents, skills, args.events, rng),
        # The same on a tenth of the workforce: the naive cost grows with it, the index's
        # hardly does.
        "per_event_small": per_event(small_agents, skills, args.events, rng),
        "targets": {},
    }
    fp = report["full_pass"]
    pe = report["per_event"]
    assert isinstance(fp, dict)
    assert isinstance(pe, dict)
    report["targets"] = {
        "per_event_p99_le_1ms": pe["index_us"]["p99"] <= 1000,  # type: ignore[index]
        "full_pass_le_2s": fp["index_s"] <= 2.0,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
