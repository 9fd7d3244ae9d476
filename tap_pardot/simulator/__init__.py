"""A local simulator of the Pardot (Account Engagement) API, for tests and users' CI.

    from tap_pardot.simulator import Simulator
    sim = Simulator(knobs={"visitor_activities": {"count": 500}}, seed=1)
    url = sim.start()   # http://127.0.0.1:PORT
    ...
    sim.stop()

It never imports the tap, and the tap never imports it. See docs/simulator.md.
"""

from .app import Simulator
from .knobs import DEFAULT_KNOBS

__all__ = ["DEFAULT_KNOBS", "Simulator"]
