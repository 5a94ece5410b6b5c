"""Media in and out: frame sources (``sources``), sinks (``sinks``), still images (``imageio``) and the frame
and stream types they share (``frames``)."""
