"""Fine-tuning U2NETP on person masks: data synthesis, the deep-supervision loss, scoring and the training loop.

This is the only part of vbg that trains; it needs torch, which the runtime never imports. ``vbg train``
(``vbg.cli.train``) is the entry point; ``vbg.train.trainer.Trainer`` is the Python API.
"""
