"""The control page of a live run (``vbg run ... --panel``): a preview, the backgrounds, the modes and the
run's rates in a browser on this computer, steering the run through ``Steering`` as ``vbg ctl`` does."""

from .server import PanelServer

__all__ = ["PanelServer"]
