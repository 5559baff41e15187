"""Measuring success (issue 31): goals with a baseline and a target, whether the trend gets there
(checked against numpy's least-squares fit), values typed, imported from an open-data CSV, or read
from survey rounds and the engagement report; the partnership-health template; goals in the
report, the digest and on the public page; and the funder report, opened in Chromium."""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.goal_import import read_values
from bot.goals import MIN_VALUES, Point, standing
from tests.conftest import examples
from tests.harness import Harness, shown
from tests.messengers import MemoryPlatform
from tests.test_public_page import browser  # noqa: F401  (the fixture: headless Chromium)

BASE = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_AT = datetime(2027, 12, 31, tzinfo=UTC)


# On track: against numpy ------------------------------------------------------------------------


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 700), st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)),
        min_size=0,
        max_size=12,
        unique_by=lambda t: t[0],
    ),
    st.floats(-1000, 1000, allow_nan=False),
    st.floats(-1000, 1000, allow_nan=False),
    st.booleans(),
)
def test_on_track_agrees_with_numpy_polyfit(
    series: list[tuple[int, float]], baseline: float, target: float, lower: bool
) -> None:
    points = [Point(BASE + timedelta(days=d), v) for d, v in series]
    said = standing(points, baseline, BASE, target, TARGET_AT, lower)
    ordered = sorted(points, key=lambda p: p.at)
    met = (lambda v: v <= target) if lower else (lambda v: v >= target)
    if ordered and met(ordered[-1].value):
        assert said.status == "reached"
        return
    if len(points) < MIN_VALUES:
        assert said.status == "not-enough-data"
        return
    xs = numpy.array([(p.at - BASE).total_seconds() / 86400 for p in points])
    ys = numpy.array([p.value for p in points])
    slope, intercept = numpy.polyfit(xs, ys, 1)
    projected = intercept + slope * (TARGET_AT - BASE).total_seconds() / 86400
    assert said.projected == pytest.approx(projected, rel=1e-6, abs=1e-6)
    if abs(projected - target) > 1e-6:  # away from the knife's edge, the status agrees
        assert said.status == ("on-track" if met(projected) else "off-track")


def test_a_hand_worked_goal() -> None:
    """Youth arrests, 42 a month at the baseline, 30 wanted by the end of 2027: 40, 38, 36 in the
    first three months fall 2 a month, which reaches 30 by the target date (on track)."""
    months = [Point(datetime(2026, m, 1, tzinfo=UTC), v) for m, v in ((2, 40), (3, 38), (4, 36))]
    said = standing(months, 42, BASE, 30, TARGET_AT, True)
    assert said.status == "on-track" and said.change == -6 and said.projected is not None and said.projected < 0
    flat = [Point(datetime(2026, m, 1, tzinfo=UTC), 41) for m in (2, 3, 4)]
    assert standing(flat, 42, BASE, 30, TARGET_AT, True).status == "off-track"
    assert standing(months[:2], 42, BASE, 30, TARGET_AT, True).status == "not-enough-data"
    assert standing([Point(BASE, 29)], 42, BASE, 30, TARGET_AT, True).status == "reached"


# The CSV import ------------------------------------------------------------------------------------

OPEN_DATA = """\ufeffMonth,District,Burglaries,Source
2026-01,East,"1,204",City open data

02/01/2026,East,"1,150",City open data
2026-03-01,East,1098.5,City open data
4/1/26,East,"1,020",City open data
"""


def test_an_open_data_file_reads_with_its_thousands_separators_us_dates_and_blank_rows() -> None:
    read = read_values(OPEN_DATA, "month", "Burglaries")
    assert read.problems == [] and read.skipped == 1
    assert [(d.date().isoformat(), v) for d, v in read.values] == [
        ("2026-01-01", 1204.0),
        ("2026-02-01", 1150.0),
        ("2026-03-01", 1098.5),
        ("2026-04-01", 1020.0),
    ]
    by_number = read_values(OPEN_DATA, "1", "3")
    assert by_number.values == read.values


def test_a_broken_file_names_every_bad_line_and_reads_nothing() -> None:
    broken = "Month,Burglaries\n2026-01,1204\n2026-13-01,1100\nsoon,12\n2026-03,many\n2026-01,5\n2026-04\n"
    read = read_values(broken, "Month", "Burglaries")
    assert read.problems == [
        "line 3: '2026-13-01' is not a date (2027-01-31, 2027-01 or 01/31/2027)",
        "line 4: 'soon' is not a date (2027-01-31, 2027-01 or 01/31/2027)",
        "line 5: 'many' is not a number",
        "line 6: 2026-01-01 is given twice (first on line 2)",
        "line 7: too few columns",
    ]
    assert read_values("Month,Count\n", "When", "Count").problems == [
        "line 1: no column 'When' (the columns are: Month, Count)"
    ]


def test_the_import_on_the_command_line_writes_all_or_nothing(tmp_path: Path) -> None:
    from tests.test_console import console

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    made = console(
        tmp_path,
        '/goal add "Fewer burglaries" --measure "burglaries a month" --baseline 1250 --target 900 '
        "--by 2027-12-31 --baseline-date 2025-12-01 --lower-is-better\n",
        "console",
        env=env,
    )
    assert made.returncode == 0 and "Goal #1 is set" in made.stdout, made.stdout + made.stderr
    good, bad = tmp_path / "burglaries.csv", tmp_path / "broken.csv"
    good.write_text(OPEN_DATA)
    bad.write_text("Month,Burglaries\n2026-01,1204\n2026-02,lots\n")

    def imported(goal: str, file: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return console(
            tmp_path,
            "",
            "goals",
            "import",
            goal,
            file,
            "--date-column",
            "Month",
            "--value-column",
            "Burglaries",
            *extra,
            env=env,
        )

    refused = imported("1", str(bad))
    assert refused.returncode == 1 and "nothing was written" in refused.stdout and "line 3: 'lots'" in refused.stdout
    dry = imported("1", str(good), "--dry-run")
    assert dry.returncode == 0 and "Dry run, nothing written" in dry.stdout and "4 value(s) added" in dry.stdout
    shown_before = console(tmp_path, "/goal show 1\n", "console", env=env)
    assert "no value yet" in shown_before.stdout, shown_before.stdout
    done = imported("1", str(good))
    assert done.returncode == 0 and "4 value(s) added, 0 replaced" in done.stdout, done.stdout + done.stderr
    again = imported("1", str(good))
    assert "0 value(s) added, 4 replaced" in again.stdout  # a second import replaces, never doubles
    after = console(tmp_path, "/goal show 1\n/coalition audit\n", "console", env=env)
    assert "latest 1,020 (-230 since the baseline)" in after.stdout, after.stdout
    assert "on track" in after.stdout and "values imported from burglaries.csv" in after.stdout
    missing = imported("9", str(good))
    assert missing.returncode == 1 and "There is no goal #9" in missing.stdout


# The commands --------------------------------------------------------------------------------------


async def test_a_goal_from_setting_to_its_values_corrections_and_chart(bot: Harness) -> None:
    await bot.run("/coalition whoami", as_="maria")
    made = await bot.run(
        '/goal add "Fewer youth arrests" --measure "youth arrests a month" --baseline 42 --target 30 '
        '--by 2027-12-31 --baseline-date 2026-06-01 --lower-is-better --unit "a month" --owner @maria --public'
    )
    assert "Goal #1 is set: Fewer youth arrests" in shown(made), shown(made)
    for month, value in (("2026-08", "40"), ("2026-09", "38"), ("2026-10", "37")):
        assert not (await bot.run(f"/goal record 1 {value} --for {month}", as_="maria")).error
    corrected = shown(await bot.run('/goal record 1 36 --for 2026-10 --source "Police monthly report"', as_="maria"))
    assert "Corrected goal #1 for 2026-10-01: 37 is now 36" in corrected
    assert "on track" in corrected
    audit = shown(await bot.run("/coalition audit"))
    assert "2026-10-01 corrected from 37 to 36" in audit
    future = await bot.run("/goal record 1 20 --for 2027-03", as_="maria")
    assert future.error and "still to come" in shown(future)
    refused = await bot.run("/goal record 1 35", as_="jamal")
    assert refused.error and "Only coordinators and the goal's owner" in shown(refused)
    not_a_number = await bot.run("/goal record 1 lots", as_="maria")
    assert not_a_number.error and "'lots' is not a number" in shown(not_a_number) and "Usage" in shown(not_a_number)
    wrong_way = await bot.run('/goal add "More lights" --measure "lights on" --baseline 60 --target 40 --by 2027-06-30')
    assert wrong_way.error and "--lower-is-better" in shown(wrong_way)
    past = await bot.run('/goal add "Old" --measure "x" --baseline 1 --target 2 --by 2020-01-01')
    assert past.error
    show = await bot.run("/goal show 1")
    text = shown(show)
    assert "latest 36 a month (-6 since the baseline)" in text and "on track" in text
    [chart] = show.attachments
    assert chart.content.startswith(b"\x89PNG") and chart.mime_type == "image/png"
    for figure in ("baseline 42", "target 30", "2026-10-01: 36", "2026-08-01: 40"):
        assert figure in chart.description, chart.description
    listed = shown(await bot.run("/goal list", as_="jamal"))
    assert "#1 Fewer youth arrests: latest 36 a month" in listed
    closed = await bot.run('/goal close 1 --outcome "Met a year early"')
    assert "Goal #1 is closed: Met a year early" in shown(closed)
    assert (await bot.run("/goal record 1 30", as_="maria")).error


async def test_a_goal_reads_a_survey_statements_rounds_within_the_thresholds(bot: Harness) -> None:
    app = bot.dispatcher.app
    made = await bot.run("/poll survey --template partnership")
    assert not made.error, shown(made)
    card = shown(await bot.run("/poll show 1"))
    assert "Partnership health" in card and "I trust the other partners" in card
    added = await bot.run(
        '/goal add "Trust between partners" --measure "average answer, 1 to 5" --baseline 3 --target 4 '
        '--by 2027-12-31 --from-survey "Partnership health" --statement 1'
    )
    assert "Its values come from statement 1 of the survey 'Partnership health'" in shown(added)
    for n, answer in enumerate((3, 4, 4, 3, 4)):
        await bot.run(f"/poll respond 1 {answer} 3 3 3 3 3", as_=f"partner{n}")
    await bot.run("/poll close 1")
    await bot.run("/poll survey --template partnership")
    for n, answer in enumerate((4, 4, 5, 4, 4)):
        await bot.run(f"/poll respond 2 {answer} 3 3 3 3 3", as_=f"partner{n}")
    await bot.run("/poll close 2")
    await bot.run("/poll survey --template partnership")
    for n in range(2):  # too few answers: this round's average is not shown, so not counted
        await bot.run("/poll respond 3 5 5 5 5 5 5", as_=f"partner{n}")
    await bot.run("/poll close 3")
    await app.scheduler.run_due()
    text = shown(await bot.run("/goal show 1"))
    assert "Values: " in text and " 3.6, " in text and " 4.2" in text, text
    assert "5" not in text.split("Values: ")[1].split("\n")[0].replace("2025", "").replace("2026", "")
    spanish = await bot.run("/coalition language es", as_="rosa")
    assert not spanish.error
    await bot.run("/poll survey --template partnership", as_="admin")
    assert "Confío en que los demás socios" in shown(await bot.run("/poll show 4", as_="rosa"))


async def test_a_goal_reads_the_engagement_reports_monthly_attendance(bot: Harness) -> None:
    app = bot.dispatcher.app
    for name in ("maria", "jamal", "lee"):
        await bot.run("/coalition whoami", as_=name)
    made = await bot.run(
        '/goal add "Show up" --measure "attendance rate, %" --baseline 20 --target 60 --by 2027-12-31 '
        "--from-report attendance"
    )
    assert "the engagement report's attendance rate, per month" in shown(made)
    await bot.run('/meeting schedule "Walk" "in 1 hour"')
    await app.scheduler.advance_to(app.clock.now() + timedelta(hours=2))
    await bot.run("/meeting attended 1 @maria @lee")
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=40))
    text = shown(await bot.run("/goal show 1"))
    assert "Values: 2026-11-01 50" in text, text  # 2 of 4 members at the one meeting held in November


async def test_a_goal_reads_the_share_of_wanted_sectors_present(bot: Harness) -> None:
    app = bot.dispatcher.app
    await bot.run("/coalition sectors --wanted resident,youth,school,faith")
    await bot.run("/coalition profile --sector resident", as_="maria")
    made = await bot.run(
        '/goal add "Every sector at the table" --measure "wanted sectors with a member, %" --baseline 25 '
        "--target 100 --by 2027-12-31 --from-report sectors"
    )
    assert "share of wanted sectors present" in shown(made), shown(made)
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=10))
    await bot.run("/coalition profile --sector youth", as_="lee")
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=31))
    text = shown(await bot.run("/goal show 1"))
    assert "Values: 2026-11-01 25, 2026-12-01 50" in text, text  # 1 of 4 by the end of November, then 2


async def test_goals_in_the_report_the_digest_and_on_the_public_page(bot: Harness) -> None:
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    await bot.run(
        '/goal add "Fewer burglaries" --measure "burglaries" --baseline 50 --target 30 --by 2027-12-31 '
        "--lower-is-better --public"
    )
    await bot.run('/goal add "Internal target" --measure "x" --baseline 1 --target 2 --by 2027-12-31')
    await bot.run("/goal record 1 45")
    await bot.run('/meeting schedule "Walk" "in 1 hour"')
    report = shown(await bot.run("/coalition report --since 30d"))
    assert "Goals" in report and "Fewer burglaries: latest 45" in report
    await bot.run("/coalition digest on --day monday --hour 9")
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=8))
    digests = [shown(p.reply) for p in platform.posted if "digest" in p.key]
    assert digests and "Fewer burglaries: latest 45" in digests[0] and "Internal target" not in digests[0]
    async with app.unit_of_work() as services:
        coalition = (await services.coalitions.resolve(bot.where("general"))).coalition
        assert coalition is not None
        view = await services.pages.view(coalition)
    assert [g.goal.title for g in view.goals] == ["Fewer burglaries"]


async def test_the_funder_report_is_one_file_that_names_nobody(bot: Harness) -> None:
    for name in ("maria", "jamal", "lee"):
        await bot.run("/coalition profile --sector resident", as_=name)
    await bot.run(
        '/goal add "Fewer burglaries" --measure "burglaries" --baseline 50 --target 30 --by 2027-12-31 '
        "--lower-is-better"
    )
    for n, value in enumerate((48, 45, 41)):
        await bot.run(f"/goal record 1 {value} --for 2026-0{n + 7}")
    await bot.run('/decision propose "Walk on Fridays"')
    for name in ("maria", "jamal"):
        await bot.run("/decision position 1 consent", as_=name)
    await bot.run("/decision close 1")
    reply = await bot.run("/coalition report --period quarter --format html", as_="maria")
    assert not reply.error, shown(reply)
    [page] = reply.attachments
    html = page.content.decode()
    assert page.mime_type == "text/html" and page.filename.endswith(".html")
    assert "Fewer burglaries" in html and "Decisions made: 1 (passed 1" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    words = re.sub(r"data:image/png;base64,[^\"]+", "", html).lower()  # the text, not the pictures' bytes
    for name in ("maria", "jamal", "lee", "admin"):
        assert name not in words, name
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', html)
    assert len(images) == 2 and all(base64.b64decode(data).startswith(b"\x89PNG") for data, _alt in images)
    assert "2026-09-01: 41" in images[0][1]


async def test_the_funder_report_in_chromium_shows_every_chart_and_axe_finds_nothing_serious(
    bot: Harness,
    browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    from tests.test_public_page import AXE

    await bot.run(
        '/goal add "Fewer burglaries" --measure "burglaries" --baseline 50 --target 30 --by 2027-12-31 '
        "--lower-is-better"
    )
    for n, value in enumerate((48, 45, 41)):
        await bot.run(f"/goal record 1 {value} --for 2026-0{n + 7}")
    await bot.run("/coalition language es")
    reply = await bot.run("/coalition report --period year --format html")
    [page] = reply.attachments
    file = tmp_path / page.filename
    file.write_bytes(page.content)
    assert 'lang="es"' in page.content.decode() and "Metas" in page.content.decode()
    await asyncio.to_thread(browser.get, file.as_uri())
    drawn = await asyncio.to_thread(
        lambda: browser.execute_script(
            "return [...document.images].map(i => [i.complete && i.naturalWidth > 0, i.alt.length])"
        )
    )
    assert len(drawn) == 2 and all(ok and alt > 20 for ok, alt in drawn), drawn
    await asyncio.to_thread(browser.execute_script, AXE.read_text())
    found = await asyncio.to_thread(
        browser.execute_async_script,
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])));",
    )
    assert [v for v in found if v[1] in ("serious", "critical")] == [], found
    text = await asyncio.to_thread(lambda: browser.find_element(By.TAG_NAME, "main").text)
    assert "Fewer burglaries" in text
