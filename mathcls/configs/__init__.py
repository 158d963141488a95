"""Configs shipped with mathcls, read with :func:`mathcls.config.builtin_config`: ``cpu.toml``
(what ``mathcls run`` trains without ``--config``) and ``demo.toml`` (``mathcls run --demo``)."""
