"""The example notebook runs, top to bottom, in a real Jupyter kernel.

``notebooks/first_hour.ipynb`` is the documented notebook use (the
architect's first hour: the store, the stage map, the findings, one case, the
report). Executing it here keeps it from rotting.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "first_hour.ipynb"


@pytest.mark.slow
def test_the_first_hour_notebook_runs() -> None:
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs
    )
    assert "work items in scope of design 'Acme delivery'" in text
    assert "gate_violation" in text
    # the stage map is a plotly figure, rendered for the notebook
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
