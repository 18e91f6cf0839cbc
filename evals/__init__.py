"""Running, grading, storing and reporting needle-in-a-haystack grids.

Split by job, in layers (each imports only those before it; docs/ARCHITECTURE.md, "evals: where a change
goes"):

* shared: :mod:`evals.config` (the run options, declared once), :mod:`evals.errors`, :mod:`evals.stats`;
* :mod:`evals.store`: the typed record and the run directory's files;
* :mod:`evals.grading`: an answer read and graded by its task, the LLM judge, agreement with a human;
* :mod:`evals.planning`: grid, cells, order, cost, identity (:func:`evals.planning.prepare`);
* :mod:`evals.execution`: the calls and their records (:func:`evals.execution.execute`);
* :mod:`evals.reporting`: leaderboard, dashboard, summary, export (:func:`evals.reporting.generate_reports`);
* the commands: ``python -m evals.run``, ``evals.report``, ``evals.agreement``, ``evals.models``.
"""

__version__ = "0.1.0"
