"""``decode_frame`` takes exactly what picows hands a listener: the payload as a memoryview
over picows' reusable read buffer, or as bytes. A picows server on 127.0.0.1 sends the
reference's frames to a picows client, which decodes them inside ``on_ws_frame``."""

from __future__ import annotations

import asyncio

from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_connect,
    ws_create_server,
)
from protocol_golden import golden

from tradovate_api.protocol import Messages, Response, decode_frame

FRAMES = [golden(name) for name in (
    "frame_open.txt", "frame_authorize_ok.txt", "frame_response_clz6.txt",
    "frame_issue28_props.txt", "frame_clock.txt", "frame_heartbeat.txt", "frame_close.txt")]


class _Sender(WSListener):  # type: ignore[misc]
    """Sends one frame per client acknowledgement, so each arrives in its own read and
    picows refills the same buffer for the next one."""

    def __init__(self) -> None:
        self.next = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._send_next(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self._send_next(transport)

    def _send_next(self, transport: WSTransport) -> None:
        if self.next < len(FRAMES):
            transport.send(WSMsgType.TEXT, FRAMES[self.next])
            self.next += 1


class _Decoder(WSListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.from_view: list[object] = []
        self.from_bytes: list[object] = []
        self.done = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        self.from_view.append(decode_frame(frame.get_payload_as_memoryview()))
        self.from_bytes.append(decode_frame(frame.get_payload_as_bytes()))
        transport.send(WSMsgType.TEXT, b"ack")
        if len(self.from_view) == len(FRAMES) and not self.done.done():
            self.done.set_result(None)


async def test_decode_frame_accepts_picows_payloads():
    def factory(request: WSUpgradeRequest) -> _Sender:
        return _Sender()

    server = await ws_create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        transport, client = await ws_connect(_Decoder, f"ws://127.0.0.1:{port}/v1/websocket")
        try:
            await asyncio.wait_for(client.done, 5)
        finally:
            transport.disconnect()
    finally:
        server.close()
        await server.wait_closed()
    assert client.from_view == client.from_bytes == [decode_frame(f) for f in FRAMES]
    responses = [m for d in client.from_view if isinstance(d, Messages) for m in d.items
                 if isinstance(m, Response)]
    # Decoded from a buffer picows has since reused for later frames: still intact.
    assert [r.body for r in responses] == [
        None, b'{"id":65543,"name":"CLZ6","contractMaturityId":6727}']
