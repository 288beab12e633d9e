"""What the streamed preparation needs of a run configuration, as plain values.

The preparation runs in two places: the preprocessing Lambda, and a SageMaker Processing job on the
scikit-learn image for uploads above the stack's LambdaPrepareMaxBytes. That image has numpy and
pandas but not pydantic, which ``RunConfig`` is built on; so the preparation takes these options,
and the Lambda side resolves and validates the configuration (``resolve_run_config``) before
either route starts. The job receives them as ``options.json`` (:meth:`PrepareOptions.as_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PrepareOptions:
    label: str | None
    delimiter: str | None
    problem_type: str | None
    algorithm: str
    seed: int
    fractions: tuple[float, float, float]  # train, validation, test
    acknowledge: tuple[str, ...] = ()  # data_checks.acknowledge
    checks_enabled: bool = True  # data_checks.enabled
    objective: str | None = None  # hyperparameters.objective, when the run chose one (its labels' domain)

    @classmethod
    def of(cls, config: Any) -> PrepareOptions:
        """The options of a resolved ``RunConfig`` (read by attribute: this module must not import it)."""
        return cls(
            label=config.label,
            delimiter=config.delimiter,
            problem_type=None if config.problem_type is None else str(config.problem_type),
            algorithm=str(config.algorithm),
            seed=int(config.seed),
            fractions=(float(config.split.train), float(config.split.validation), float(config.split.test)),
            acknowledge=tuple(config.data_checks.acknowledge),
            checks_enabled=bool(config.data_checks.enabled),
            objective=(config.hyperparameters or {}).get("objective"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "delimiter": self.delimiter,
            "problem_type": self.problem_type,
            "algorithm": self.algorithm,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "acknowledge": list(self.acknowledge),
            "checks_enabled": self.checks_enabled,
            "objective": self.objective,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> PrepareOptions:
        train, validation, test = (float(value) for value in document["fractions"])
        return cls(
            label=document["label"],
            delimiter=document["delimiter"],
            problem_type=document["problem_type"],
            algorithm=document["algorithm"],
            seed=int(document["seed"]),
            fractions=(train, validation, test),
            acknowledge=tuple(document["acknowledge"]),
            checks_enabled=bool(document["checks_enabled"]),
            objective=document["objective"],
        )
