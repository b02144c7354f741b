"""Chart geometry: bars and points scale to a round axis maximum; nothing is drawn for nothing."""

from __future__ import annotations

from moderation.web.charts import BOTTOM, HEIGHT, TOP, count_bars, day_bars, day_line, share_bars

PLOT = HEIGHT - TOP - BOTTOM


def test_day_bars_scale_to_a_round_axis_maximum() -> None:
    chart = day_bars("f", "flagged", [("01-05", 3), ("01-06", 1), ("01-07", 0)])
    heights = [r.height for r in chart.rects]
    assert heights == [round(PLOT * 3 / 5, 2), round(PLOT / 5, 2), 0]  # axis up to 5
    assert [t.text for t in chart.texts if t.anchor == "end"] == ["0", "2", "5"]
    assert chart.rects[0].y + chart.rects[0].height == TOP + PLOT


def test_no_data_draws_empty_bars_without_dividing_by_zero() -> None:
    chart = day_bars("f", "flagged", [("01-05", 0), ("01-06", 0)])
    assert [r.height for r in chart.rects] == [0, 0]
    assert day_line("b", "backlog", [("01-05", 0)]).line.count(",") == 1


def test_line_points_carry_their_values() -> None:
    chart = day_line("b", "backlog", [("01-05", 1), ("01-06", 20)])
    assert [d.value for d in chart.dots] == ["1", "20"]
    first, last = (tuple(map(float, p.split(","))) for p in chart.line.split())
    assert last[1] == TOP and first[1] > last[1]  # 20 is the axis maximum


def test_share_bars_leave_out_the_bar_of_a_label_without_decisions() -> None:
    chart = share_bars("p", "precision", [("insult", 0.5, "1/2 rejected"), ("threat", None, "no decisions")])
    bars = [r for r in chart.rects if r.css == "bar"]
    tracks = [r for r in chart.rects if r.css == "track"]
    assert len(bars) == 1 and bars[0].width == tracks[0].width / 2


def test_count_bars_scale_to_the_largest_count() -> None:
    chart = count_bars("d", "decisions", [("approved", 2, "a"), ("rejected", 4, "r")])
    assert chart.rects[0].width * 2 == chart.rects[1].width
    assert chart.rects[1].css == "bar r"
