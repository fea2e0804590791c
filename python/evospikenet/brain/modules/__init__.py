"""The module libraries the brain nodes run (issue 13).

- :mod:`evospikenet.brain.modules.visual`: digits (8×8 images, PNG files) rate-coded into
  a spiking network of the core and classified (:class:`VisualModule`);
- :mod:`evospikenet.brain.modules.motor`: motor goals run the evolved CartPole controller
  in the core's closed loop under a software safety monitor (:class:`MotorModule`).

The PFC (routing) is :mod:`evospikenet.brain.pfc` (torch extra).
"""

from __future__ import annotations
