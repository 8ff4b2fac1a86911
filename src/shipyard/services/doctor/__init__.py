"""Project upkeep. ``shipyard doctor``: check every object, reference, temporary file, the
database and the audit chain; collect what interrupted writes left behind. ``shipyard gc``
(``gc``): the retention policy. ``shipyard backup|restore`` (``backup``): whole-project
copies. They share one reference scan (``objects``)."""

from shipyard.services.doctor.service import DoctorService

__all__ = ["DoctorService"]
