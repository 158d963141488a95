"""One module per topic; importing this package registers every topic's templates with
:func:`mathcls.generate.engine.register` (label order: 0 Algebra .. 7 Abstract Algebra and Topology)."""

from . import (  # noqa: F401  (imported for their registrations)
    abstract_algebra,
    algebra,
    calculus,
    combinatorics,
    geometry,
    linear_algebra,
    number_theory,
    probability,
)
