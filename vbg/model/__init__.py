"""The model layer: U^2-Net in PyTorch (``u2net``), its weights (``weights``), conversion and the IR cache
(``convert``), INT8 (``quantize``), OpenVINO devices (``devices``) and the compiled ``Segmenter``."""
