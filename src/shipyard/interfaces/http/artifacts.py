"""Run artifacts streamed to HTTP clients, every chunk verified against its content id."""

from __future__ import annotations

import io
import re
from typing import Any

from fastapi.responses import StreamingResponse

__all__ = ["DOWNLOAD", "artifact_response", "stream_verified"]

# What a download route declares in the OpenAPI document: its 200 is bytes, not JSON.
DOWNLOAD: dict[str, Any] = {
    "response_class": StreamingResponse,
    "responses": {
        200: {"description": "The file's bytes", "content": {"application/octet-stream": {}}}
    },
}


def stream_verified(
    blobs: Any, digest: str, filename: str, *, verified: bytes | None = None
) -> StreamingResponse:
    """Stream one stored object as a download; verified before the first byte is sent, so a
    corrupted object is a clean 409 and never a truncated or altered download. ``verified``
    sends bytes the caller already checked against ``digest`` (a blob read from a pack)."""
    safe = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename)  # header values must be plain ASCII
    headers = {"Content-Disposition": f'attachment; filename="{safe}"', "ETag": digest}
    if verified is None:
        blobs.verify(digest)
        stream = blobs.open(digest)
    else:
        stream = io.BytesIO(verified)

    def chunks():  # type: ignore[no-untyped-def]
        with stream:
            while block := stream.read(1 << 20):
                yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


def artifact_response(tracking: Any, run_id: str, path: str) -> StreamingResponse:
    """Stream one artifact file of a run as a download."""
    info, stream = tracking.open_artifact(run_id, path)
    stream.close()  # resolves the path (404s) first; stream_verified opens its own
    return stream_verified(tracking.blobs, info.digest, info.path.rsplit("/", 1)[-1])
