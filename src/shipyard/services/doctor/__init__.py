"""``shipyard doctor``: check every object, reference, temporary file, the database and the
audit chain; collect what interrupted writes left behind."""

from shipyard.services.doctor.service import DoctorService

__all__ = ["DoctorService"]
