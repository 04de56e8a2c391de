"""How the fake misbehaves on demand: errors, outages, slowness and hangs.

A behaviour applies to message sends (never to the control API nor to RBM's token
endpoint, whose use is incidental to a send), either for one provider or for all of them;
one set for a provider wins over one set for all. With `times` it lasts for that many
requests and then the provider answers normally again.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from threadline.fakeprovider.state import Provider

Mode = Literal["ok", "error", "down", "delay", "hang"]


class Behaviour(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = "ok"
    status: int = Field(default=500, ge=400, le=599)
    """The HTTP status an "error" answers with, in the provider's own error shape."""
    times: int | None = Field(default=None, ge=1)
    """Only the next N requests; None: until changed."""
    delay_seconds: float = Field(default=1.0, ge=0, le=600)
    """How long "delay" waits before answering, and "hang" after accepting."""
    provider: Provider | None = None
    error: dict[str, Any] | None = None
    """A body to answer an "error" with instead of the provider's usual shape."""

    @model_validator(mode="after")
    def _error_only_fields(self) -> Behaviour:
        if self.error is not None and self.mode != "error":
            raise ValueError('"error" is only meaningful with mode "error"')
        return self


class Behaviours:
    """The behaviours in force: at most one per provider and one for every provider."""

    def __init__(self) -> None:
        self._by_provider: dict[Provider | None, Behaviour] = {}
        self._left: dict[Provider | None, int] = {}

    def set(self, behaviour: Behaviour) -> None:
        scope = behaviour.provider
        self._left.pop(scope, None)
        if behaviour.mode == "ok":
            self._by_provider.pop(scope, None)
            if scope is None:
                # "ok" for everyone means everything is healthy again.
                self.reset()
            return
        self._by_provider[scope] = behaviour
        if behaviour.times is not None:
            self._left[scope] = behaviour.times

    def take(self, provider: Provider) -> Behaviour | None:
        """The behaviour for this request, counting it against `times`."""
        for scope in (provider, None):
            behaviour = self._by_provider.get(scope)
            if behaviour is None:
                continue
            if scope in self._left:
                self._left[scope] -= 1
                if self._left[scope] == 0:
                    del self._left[scope]
                    del self._by_provider[scope]
            return behaviour
        return None

    def current(self) -> list[Behaviour]:
        return list(self._by_provider.values())

    def reset(self) -> None:
        self._by_provider.clear()
        self._left.clear()
