"""The threaded capture -> infer -> composite -> sinks pipeline (``core``) and its rate and latency meters
(``metrics``)."""
