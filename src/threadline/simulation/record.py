"""What the simulator writes down as the day runs: the records `core.wfm.figures` turns
into figures, the same records the live event log is reduced to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from threadline.core.wfm.figures import Holding, Presence, Report, Session, Wait, summarise
from threadline.simulation.agents import SimAgent, SimConversation
from threadline.simulation.scenario import Scenario


class Recorder:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.waits: list[Wait] = []
        self.sessions: list[Session] = []
        self.holdings: list[Holding] = []
        self.presences: list[Presence] = []
        # The behaviour model of each wait's customer, in step with `waits`.
        self.wait_kinds: list[int] = []
        # When each customer arrived, and when those who gave up had arrived.
        self.arrived_at: list[float] = []
        self.gave_up_at: list[float] = []
        self.reopened = 0
        self.messages = 0
        self.core_events = 0
        self.calendar_events = 0
        self.breaches = 0
        self.typing = 0.0
        self.ended = 0.0

    def answered(self, sc: SimConversation, now: float) -> None:
        if sc.asked is not None:
            self.waits.append(Wait(sc.asked, now, sc.first))
            self.wait_kinds.append(sc.kind)

    def session(self, sc: SimConversation, closed: float | None) -> None:
        if sc.asked is not None:
            self.waits.append(Wait(sc.asked, None, sc.first))
            self.wait_kinds.append(sc.kind)
            sc.asked = None
        self.sessions.append(
            Session(
                opened=sc.opened,
                assigned=sc.assigned,
                closed=closed,
                inactive_episodes=sc.inactive_episodes,
                reactivations=sc.reactivations,
                to_owner=sc.to_owner,
            )
        )

    def holding(self, agent: SimAgent, now: float) -> None:
        self.holdings.append(Holding(agent.key, now, len(agent.held)))

    def presence(self, agent: SimAgent, start: float, end: float) -> None:
        self.presences.append(Presence(agent.key, start, end))

    def finish(
        self, end: float, agents: Iterable[SimAgent], open_conversations: Iterable[SimConversation]
    ) -> None:
        """The day is over: close the books on who is still online and what is open."""
        self.ended = end
        for agent in agents:
            if agent.task is not None:
                agent.typing += end - agent.task_started
            if agent.present_since is not None:
                self.presence(agent, agent.present_since, end)
            self.typing += agent.typing
        for sc in open_conversations:
            self.session(sc, None)

    @property
    def customers(self) -> int:
        return len(self.arrived_at)

    @property
    def gave_up(self) -> int:
        return len(self.gave_up_at)

    def report(self) -> Report:
        s = self.scenario
        report = summarise(
            start=0.0,
            end=s.horizon,
            interval=s.interval,
            window=s.target.window_seconds,
            waits=self.waits,
            sessions=self.sessions,
            holdings=self.holdings,
            presence=self.presences,
            as_of=self.ended,
        )
        arrived = _per_interval(self.arrived_at, s.interval, s.intervals)
        gave_up = _per_interval(self.gave_up_at, s.interval, s.intervals)
        for figures, n, g in zip(report.intervals, arrived, gave_up, strict=True):
            figures.extra.update(customers=n, gave_up=g, gave_up_rate=g / n if n else None)
        online = sum(p.end - p.start for p in self.presences)
        report.total.extra.update(self.totals(online))
        report.total.extra.update(self.by_customer_model())
        return report

    def by_customer_model(self) -> dict[str, Any]:
        """Each behaviour model's own response figures: where the adaptive timer moves
        waiting from engaged customers to slower ones, the day's totals hide it."""
        s = self.scenario
        found: dict[str, Any] = {}
        for k, model in enumerate(s.customers):
            waits = [w for w, kind in zip(self.waits, self.wait_kinds, strict=True) if kind == k]
            total = summarise(
                start=0.0,
                end=s.horizon,
                interval=s.horizon,
                window=s.target.window_seconds,
                waits=waits,
                sessions=(),
                as_of=self.ended,
            ).total
            found[f"{model.name}_service_level"] = total.service_level
            found[f"{model.name}_first_response_p50"] = total.first_response.p50
            found[f"{model.name}_next_response_p50"] = total.next_response.p50
            found[f"{model.name}_next_response_p90"] = total.next_response.p90
        return found

    def totals(self, online: float) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "messages": self.messages,
            "gave_up": self.gave_up,
            "gave_up_rate": self.gave_up / self.customers if self.customers else None,
            "respond_by_breaches": self.breaches,
            # Time spent writing answers / time online (occupancy counts time holding
            # any conversation, which includes waiting on customers).
            "typing_utilisation": self.typing / online if online > 0 else None,
            "calendar_events": self.calendar_events,
            "core_events": self.core_events,
        }


def _per_interval(times: list[float], interval: float, count: int) -> list[int]:
    counts = [0] * count
    for t in times:
        i = int(t // interval)
        if 0 <= i < count:
            counts[i] += 1
    return counts
