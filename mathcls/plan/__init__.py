"""Time budgets: ``mathcls run --time-limit 45m``.

- :mod:`~mathcls.plan.duration`: ``90s``/``45m``/``2h`` strings.
- :mod:`~mathcls.plan.spec`: ``[run] time_limit``, model ``priority`` and ``[models.<name>.budget]`` ranges.
- :mod:`~mathcls.plan.probe`: brief measurements of this machine, cached per machine and versions
  (the measurements themselves: :mod:`~mathcls.plan.measure`).
- :mod:`~mathcls.plan.costs`: seconds per fold, once and in the stack, for each family's settings.
- :mod:`~mathcls.plan.planner`: which models run with which settings; re-planning as the run goes.
- :mod:`~mathcls.plan.budget`: the deadline, the reserve for the stack, SIGTERM/Ctrl-C, the batch callback.
- :mod:`~mathcls.plan.runner`: the base-model training of a run under the budget; ``plan.json``.

Nothing here imports torch until a neural model is measured.
"""

from .budget import Budget, BudgetCallback, BudgetExhausted
from .duration import format_duration, parse_duration
from .spec import read_time_limit

__all__ = ["Budget", "BudgetCallback", "BudgetExhausted", "format_duration", "parse_duration", "read_time_limit"]
