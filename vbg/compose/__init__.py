"""The picture: mask refinement (``refine``), backgrounds and blending (``compositing``), the FPS overlay
(``overlay``) and resizing (``resize``)."""
