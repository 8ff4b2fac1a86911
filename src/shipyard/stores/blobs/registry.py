"""``open_content_store``: pick a backend from a URL.

Configuration arrives as arguments only; this module reads no environment variables
(``shipyard.settings`` does that). Backends and fsspec are imported on demand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from shipyard.core.errors import StorageError, ValidationError
from shipyard.stores.blobs.cas import ContentStore
from shipyard.stores.blobs.digests import DEFAULT_ALGORITHM

__all__ = ["open_content_store"]


def _local_path(url: str) -> Path | None:
    """The directory a local URL names, or ``None`` if the URL is not local."""
    parts = urlsplit(url)
    if parts.scheme == "" or len(parts.scheme) == 1:  # a plain path, or C:\... on Windows
        return Path(url)
    if parts.scheme != "file":
        return None
    if parts.netloc not in {"", "localhost"}:
        raise ValidationError(f"file URL with a remote host is not supported: {url!r}", field="url")
    if parts.query or parts.fragment:
        raise ValidationError(f"file URL must not have a query or fragment: {url!r}", field="url")
    return Path(url2pathname(unquote(parts.path)))


def open_content_store(
    url: str,
    storage_options: Mapping[str, Any] | None = None,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
) -> ContentStore:
    """A ``ContentStore`` at ``url``.

    * a plain path or ``file://`` URL → ``LocalBackend`` (``~`` is *not* expanded);
    * anything else (``s3://bucket/prefix``, ``gs://...``, ``memory://...``) →
      ``FsspecBackend``, with ``storage_options`` passed to the fsspec filesystem,
      e.g. ``{"client_kwargs": {"endpoint_url": "http://127.0.0.1:5000"}}``.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(
            f"content store URL must be a non-empty string, got {url!r}", field="url"
        )
    options = dict(storage_options or {})
    local = _local_path(url)
    if local is not None:
        if options:
            raise ValidationError(
                f"storage_options are not supported for a local content store ({url!r}): "
                f"got {sorted(options)}",
                field="storage_options",
            )
        from shipyard.stores.blobs.local import LocalBackend

        return ContentStore(LocalBackend(local), algorithm=algorithm)

    from shipyard.stores.blobs.fsspec_backend import FsspecBackend

    scheme = urlsplit(url).scheme
    try:
        import fsspec.core

        fs, root = fsspec.core.url_to_fs(url, **options)
    except ImportError as e:
        extra = " (pip install 'shipyard[s3]')" if scheme in {"s3", "s3a"} else ""
        raise StorageError(f"no filesystem driver for {scheme}:// is installed{extra}: {e}") from e
    except ValueError as e:
        raise ValidationError(f"cannot open content store URL {url!r}: {e}", field="url") from e
    except Exception as e:
        raise StorageError(f"cannot open content store {url!r}: {type(e).__name__}: {e}") from e
    return ContentStore(FsspecBackend(fs, root), algorithm=algorithm)
