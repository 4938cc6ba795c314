"""Root pytest configuration, loaded by every pytest run in this repository
(``make test``, or one notebook alone: ``pytest --nbval ... book/NB.ipynb``).

nbval fix: nbval runs cells with ``store_history=False``; IPython then decides
whether a trailing ``;`` silences a cell's result by looking at the last cell
IN HISTORY, i.e. a previous one, so ``ax.plot(x, y);`` shows
``[<matplotlib.lines.Line2D at 0x...>]`` under nbval but not in Jupyter, and
the stored outputs never match.  Cells are run with history here, as Jupyter
and ``jupyter execute`` run them.
"""


# --------------------------------------------------------------------------
# nbval: execute cells as Jupyter does (see the module docstring)
# --------------------------------------------------------------------------
def pytest_configure(config):
    try:
        from nbval.kernel import RunningKernel
    except ImportError:
        return
    if getattr(RunningKernel, "_annt_store_history", False):
        return

    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(
            cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False,
        )

    RunningKernel.execute_cell_input = execute_cell_input
    RunningKernel._annt_store_history = True
