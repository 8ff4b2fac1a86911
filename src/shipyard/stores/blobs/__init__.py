"""Content-addressed object store: the layer under run artifacts, datasets and models.

>>> store = open_content_store("/data/objects")  # or "s3://bucket/objects"
>>> digest = store.put_bytes(b"hello")             # "blake3:<64 hex>"
>>> store.get_bytes(digest)
b'hello'
"""

from shipyard.stores.blobs.base import ByteBackend
from shipyard.stores.blobs.cas import CAS_VERSION, ContentStore
from shipyard.stores.blobs.digests import ALGORITHMS, DEFAULT_ALGORITHM, object_key, parse_digest
from shipyard.stores.blobs.fsspec_backend import FsspecBackend
from shipyard.stores.blobs.local import LocalBackend
from shipyard.stores.blobs.reader import VerifyingReader
from shipyard.stores.blobs.registry import open_content_store

__all__ = [
    "ALGORITHMS",
    "CAS_VERSION",
    "DEFAULT_ALGORITHM",
    "ByteBackend",
    "ContentStore",
    "FsspecBackend",
    "LocalBackend",
    "VerifyingReader",
    "object_key",
    "open_content_store",
    "parse_digest",
]
