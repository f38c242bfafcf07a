"""Raw md frame observers (the recorder, the chaos soak's invariants): every one added sees
every frame, in the order added, before the frame is decoded."""

from __future__ import annotations

from pathlib import Path

from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.simulator import Simulator


async def test_every_frame_observer_sees_every_md_frame_in_order(sim: Simulator,
                                                                 tmp_path: Path) -> None:
    strategy = Recorder()
    app = make_app(sim, make_settings(sim, tmp_path), strategy)
    seen: list[tuple[str, bytes]] = []
    app.add_frame_observer(lambda frame: seen.append(("first", bytes(frame))))
    app.add_frame_observer(lambda frame: seen.append(("second", bytes(frame))))
    async with running(app) as run:
        await strategy.until(lambda: len(strategy.of("quote")) >= 2)
        code = await run.stop()
    assert code == 0
    firsts = [frame for who, frame in seen if who == "first"]
    assert len(firsts) > 2
    assert [frame for who, frame in seen if who == "second"] == firsts
    assert [who for who, _ in seen[:4]] == ["first", "second", "first", "second"]
    assert any(b'"e":"md"' in frame for frame in firsts)
