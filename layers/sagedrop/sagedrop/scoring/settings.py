"""What the starter knows about scoring: the state machine a ``score/`` upload starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sagedrop.errors import InvalidConfigError

SCORING_STATE_MACHINE_VARIABLE = "SCORING_STATE_MACHINE_ARN"


@dataclass(frozen=True)
class ScoringStarterSettings:
    #: None in a deployment without scoring: a ``score/`` upload then fails the starter (see ``require``).
    state_machine_arn: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ScoringStarterSettings:
        env = os.environ if environ is None else environ
        return cls(state_machine_arn=env.get(SCORING_STATE_MACHINE_VARIABLE, "").strip() or None)

    def require(self) -> str:
        """The ARN, or InvalidConfigError: an upload nobody can score must fail loudly, not vanish."""
        if self.state_machine_arn is None:
            raise InvalidConfigError(
                f"environment variable {SCORING_STATE_MACHINE_VARIABLE} is required to score score/ uploads but not set"
            )
        return self.state_machine_arn
