"""Planning a run: nothing is called here, and nothing is written.

Entry: :func:`prepare` turns a validated :class:`~evals.config.RunConfig` into a :class:`PreparedRun`
(the model's entry, the resolved grid, every cell in request order, what the run directory already holds,
the cost estimate and the budget check); :func:`print_plan` shows it (``--dry-run``).

Modules, by job:

* :mod:`.grid`: the grid (:class:`Grid`, :func:`resolve_grid`, presets, the window check), its cells
  (:class:`Cell`, answer budgets) and their order for prefix caching;
* :mod:`.cost`: the cost estimate (:func:`estimate_cost`) with the door's cache rules and batch prices;
* :mod:`.identity`: the run identity, the default run directory, shards;
* :mod:`.prepare`: :func:`prepare` and :func:`print_plan`;
* :mod:`.sampler`: the adaptive sampler (which cells of the grid to ask next, from what was observed);
* :mod:`.adaptive_cost`: what an adaptive run is expected to cost, and at worst.
"""

from evals.planning.cost import CostEstimate, estimate_cost
from evals.planning.grid import Cell, Grid, resolve_grid
from evals.planning.prepare import PreparedRun, budget_bound, plan_estimate, prepare, print_plan
from evals.planning.sampler import AdaptiveSampler

__all__ = [
    "AdaptiveSampler",
    "Cell",
    "CostEstimate",
    "Grid",
    "PreparedRun",
    "budget_bound",
    "estimate_cost",
    "plan_estimate",
    "prepare",
    "print_plan",
    "resolve_grid",
]
