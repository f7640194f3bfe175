"""Maps: the process drawn as readable, layered plotly figures.

:func:`process_map` draws activities as labelled boxes flowing from top
(start) to bottom (end), the way Disco or Celonis draw a map:

- **simplified by default** (:mod:`._simplify`): up to 25 activities are all
  kept; beyond that the most frequent ones covering at least 95% of the
  events (at most 25). Hidden activities are skipped over, so an arrow may
  pass through them. Paths are kept so that every activity stays connected
  (its strongest incoming and outgoing path, and a route from start and to
  end), then the most frequent others up to a budget. ``activities=`` and
  ``paths=`` (shares of events / transitions to cover, as Disco's sliders)
  override this; a caption says what was hidden.
- **layered** (:mod:`._layout`, :mod:`._routing`): cycles are broken by a
  greedy order that walks from the start, taking next the activity whose
  incoming flow comes most from activities already placed (so the heavier
  direction of a loop points down); activities are layered on the longest
  path (at most a few per layer) and then moved to shorten heavy paths;
  long paths get bend points between the boxes they pass; layers are
  ordered by weighted barycentres and neighbour swaps to reduce crossings;
  boxes are placed by an exact order-preserving least-squares fit, with
  chains of heaviest paths pulled into straight vertical lines (the main
  flow reads straight down). Back edges (rework) leave and enter boxes by
  their sides, so they read apart from the downward flow.
- **deterministic**: every choice breaks ties by frequency, then name.

:func:`stage_map` draws the same kind of map one level up: a case's events
are mapped to the design's stages, consecutive events of one stage collapse
into one visit, and every transition is marked allowed or not by the design.

The figure is sized in pixels (one data unit is one pixel), so labels fit
their boxes (:mod:`._text` measures them); ``fig.layout.meta["wfmine"]``
holds what was drawn (boxes, edges, hidden activities, the caption) for
programs and tests. Durations read as :func:`wfmine.units.human_duration`
writes them, as in the CLI and the report.

What the maps draw comes from :mod:`wfmine.discovery` (the directly-follows
graph, start and end activities) and from the design's stages; this package
only decides what to show and how. It sits above discovery and the stage
model and below findings and reports; importing it is light (plotly loads
when a map is drawn).

>>> fig = process_map(log, metric="wait")  # doctest: +SKIP
>>> fig.write_html("map.html", include_plotlyjs="cdn")  # doctest: +SKIP
>>> stage_map(log, load_design("design.yaml"))  # doctest: +SKIP
"""

from __future__ import annotations

from wfmine.maps.process import process_map
from wfmine.maps.stages import stage_map

__all__ = ["process_map", "stage_map"]
