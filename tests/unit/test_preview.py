"""The preview page index.html, PUBLICATION.md section 6."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from nhv_pipeline.conditions import registered
from nhv_pipeline.publication import RESULT_COLUMNS, format_results, render_preview, suppress
from result_fixtures import row as result_row

NAN = math.nan
GENERATED = "2026-03-31 08:00 UTC"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "source", "wbr", "area", "base", "embed", "param", "track"}


UNIT_NAMES = {"akad": "Akademiska sjukhuset", "sus": "Skånes universitetssjukhus"}


def row(condition="sct_ssc", indicator="B1", measure="count", level="riket", unit="", breakdown="total",
        bvalue="total", label="Totalt", n=10, year=2025, **figures):
    return result_row(level, unit, breakdown, bvalue, n, indicator, measure, condition=condition, year=year,
                      unit_name=UNIT_NAMES.get(unit, unit), label=label, **figures)


def published(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    for c in ["n", "numerator", "denominator"]:
        df[c] = df[c].astype("Int64")
    return format_results(suppress(df))


def catalogue_entry(condition, condition_name, indicator, name, first_report_year=2024, **extra):
    entry = {
        "condition_id": condition,
        "condition_name": condition_name,
        "indicator_id": indicator,
        "name": name,
        "measure_text": f"Mått för {name.lower()}",
        "unit_of_measure": "Antal",
        "purpose": "Att följa utvecklingen.",
        "category": "Bakgrundsmått",
        "indicator_type": "Bakgrundsmått",
        "direction": "descriptive",
        "data_source": "Patientadministrativa system",
        "first_report_year": first_report_year,
        "cohort_lag_years": 0,
        "pooled_years": 1,
        "breakdowns": ["total"],
        "measures": ["count"],
        "spec_version": "1.0",
        "spec_date": "2023-01-03",
    }
    entry.update(extra)
    return entry


SCT = "Stamcellstransplantation vid systemisk skleros"
SKD = "Skelettdysplasier"
CATALOGUE = [
    catalogue_entry("sct_ssc", SCT, "B1", "Antal patienter", breakdowns=["total", "sex"]),
    catalogue_entry("sct_ssc", SCT, "T1", "Tid till beslut om stamcellstransplantation", measures=["distribution"],
                    direction="lower_is_better", unit_of_measure="Tid i antal dagar",
                    technical_description="Antal dagar från remiss.\n\nTäljare: <a> & b",
                    limitations="Olika former av remisshantering."),
    catalogue_entry("sct_ssc", SCT, "R2", "Sjukdomsfri överlevnad", first_report_year=2026, cohort_lag_years=3,
                    measures=["proportion"], direction="higher_is_better"),
    catalogue_entry("sct_ssc", SCT, "Ö1", "Individuell vårdplan", measures=["proportion"],
                    direction="higher_is_better", purpose="Vårdplan & <överföring>"),
    catalogue_entry("skeletal_dysplasia", SKD, "P1", "Patientrapporterad erfarenhet", first_report_year=2026,
                    measures=["positive_share", "response_rate"], spec_date="2025-05-27"),
]


def results_2025() -> pd.DataFrame:
    """sct_ssc 2025: B1 with a withheld unit and sex; T1 distribution; Ö1 proportion with a zero unit."""
    return published(
        [
            # B1: riket 20 = akad 17 + sus 3 -> sus small_n, akad complementary.
            row(n=20),
            row(breakdown="sex", bvalue="K", label="Kvinnor", n=12),
            row(breakdown="sex", bvalue="M", label="Män", n=8),
            row(level="enhet", unit="akad", n=17),
            row(level="enhet", unit="sus", n=3),
            # T1: days from referral to decision.
            row(indicator="T1", measure="distribution", n=14, value=42.5, mean=42.5, sd=10.25, p10=30.0,
                median=41.0, p90=55.5),
            row(indicator="T1", measure="distribution", level="enhet", unit="akad", n=14, value=42.5, mean=42.5,
                sd=10.25, p10=30.0, median=41.0, p90=55.5),
            row(indicator="T1", measure="distribution", level="enhet", unit="sus", n=0, value=NAN),
            # Ö1: 12 of 18; sus has nobody in the denominator (n = 0, shown).
            row(indicator="Ö1", measure="proportion", n=18, value=100 * 12 / 18, numerator=12, denominator=18,
                ci_low=43.7, ci_high=84.8),
            row(indicator="Ö1", measure="proportion", level="enhet", unit="akad", n=18, value=100 * 12 / 18,
                numerator=12, denominator=18, ci_low=43.7, ci_high=84.8),
            row(indicator="Ö1", measure="proportion", level="enhet", unit="sus", n=0, value=NAN, numerator=0,
                denominator=0),
        ]
    )


def history() -> dict[int, pd.DataFrame]:
    return {2024: published([row(n=15, year=2024), row(indicator="Ö1", measure="proportion", n=10, year=2024,
                                                       value=50.0, numerator=5, denominator=10)])}


def render(results=None, hist=None, catalogue=None) -> str:
    return render_preview(
        2025,
        results_2025() if results is None else results,
        history() if hist is None else hist,
        CATALOGUE if catalogue is None else catalogue,
        GENERATED,
        conditions=registered(),
    )


class Page(HTMLParser):
    """Collects sections, attributes and text; checks that every non-void element is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.sections: dict[str, dict[str, str]] = {}
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.current_section: str | None = None
        self.section_text: dict[str, list[str]] = {}
        self.supp_cells: list[dict[str, str]] = []
        self.html_lang = None
        self.section_depth = -1

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "html":
            self.html_lang = a.get("lang")
        for key in ("src", "href", "xlink:href", "action", "poster", "data"):
            if key in a:
                self.links.append(a[key] or "")
        if tag == "section" and "data-indicator" in a:
            self.sections[a["id"]] = a
            self.current_section = a["id"]
            self.section_text[a["id"]] = []
            self.section_depth = len(self.stack)
        if tag == "td" and "supp" in (a.get("class") or "").split():
            self.supp_cells.append(a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        for key in ("src", "href"):
            if key in dict(attrs):
                self.links.append(dict(attrs)[key] or "")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()
        if tag == "section" and len(self.stack) == self.section_depth:
            self.current_section = None

    def handle_data(self, data):
        if self.current_section:
            self.section_text[self.current_section].append(data)


def parse(html_text: str) -> Page:
    page = Page()
    page.feed(html_text)
    page.close()
    return page


def section_html(html_text: str, anchor: str) -> str:
    start = html_text.index(f'id="{anchor}"')
    end = html_text.find('<section class="indicator"', start + 1)
    return html_text[start : end if end != -1 else len(html_text)]


# --- structure ------------------------------------------------------------------


def test_page_is_well_formed_html5_in_swedish():
    text = render()
    assert text.startswith("<!DOCTYPE html>\n")
    page = parse(text)
    assert page.errors == []
    assert page.stack == []
    assert page.html_lang == "sv"
    assert '<meta charset="utf-8">' in text
    assert "Förhandsgranskning – ej publicerad" in text
    assert f"Genererad {GENERATED}" in text


def test_every_catalogue_indicator_has_its_own_section():
    page = parse(render())
    assert sorted(page.sections) == sorted(f"{e['condition_id']}-{e['indicator_id']}" for e in CATALOGUE)
    assert page.sections["sct_ssc-Ö1"]["data-indicator"] == "Ö1"
    assert page.sections["sct_ssc-Ö1"]["data-condition"] == "sct_ssc"


def test_indicator_without_rows_says_so():
    page = parse(render())
    r2 = "".join(page.section_text["sct_ssc-R2"])
    assert "Inga resultat för detta år" in r2
    assert "första gången rapportår 2026" in r2
    assert "Inga resultat för detta år" not in "".join(page.section_text["sct_ssc-B1"])


def test_headings_and_catalogue_text_in_swedish():
    text = render()
    assert "<h3>B1 – Antal patienter</h3>" in text
    assert f"<h2>{SCT}</h2>" in text and f"<h2>{SKD}</h2>" in text
    t1 = section_html(text, "sct_ssc-T1")
    for label in ("Mått", "Mätenhet", "Syfte", "Kategori", "Riktning", "Datakälla", "Period"):
        assert f"<dt>{label}</dt>" in t1
    assert "<dd>Lägre värde är bättre</dd>" in t1
    # PUBLICATION.md 4: the seed's Teknisk beskrivning (its paragraphs kept) and Felkällor och begränsningar.
    assert "<dt>Teknisk beskrivning</dt><dd>Antal dagar från remiss.\n\nTäljare: &lt;a&gt; &amp; b</dd>" in t1
    assert "<dt>Felkällor och begränsningar</dt><dd>Olika former av remisshantering.</dd>" in t1
    # Where the seed leaves them empty, no empty line is shown.
    assert "Teknisk beskrivning" not in section_html(text, "sct_ssc-B1")
    assert "<dd>2024-01-01 – 2024-12-31</dd>" in t1


def test_table_of_contents_links_to_every_section():
    page = parse(render())
    for anchor in page.sections:
        assert f"#{anchor}" in page.links


def test_no_external_url_and_no_script_or_external_resource():
    text = render()
    page = parse(text)
    assert page.links, "the table of contents has links"
    for link in page.links:
        assert link.startswith("#"), link
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", text)
    assert page.tags.isdisjoint({"script", "link", "img", "iframe", "object"})
    assert "url(" not in text and "@import" not in text


# --- figures ------------------------------------------------------------------


def test_suppressed_cells_carry_one_mark_whatever_the_reason():
    # Issue 14 / PUBLICATION.md section 3: one mark for every suppressed cell; the reason is never shown.
    text = render()
    page = parse(text)
    # B1: sus small_n, akad complementary; one "Antal" cell each in the unit table.
    b1 = section_html(text, "sct_ssc-B1")
    assert len(parse(b1).supp_cells) == 2
    marks = re.findall(r'<td class="num supp">(.*?)</td>', b1)
    assert len(marks) == 2 and marks[0] == marks[1]
    assert marks[0] == (
        '<span class="mark" aria-hidden="true">–</span>'
        '<span class="sr-only">undertryckt: färre än 5 personer eller skyddar en annan uppgift</span>'
    )
    assert all("data-reason" not in c for c in page.supp_cells)
    for word in ("small_n", "complementary", "för att skydda andra celler", "–*"):
        assert word not in text, word
    assert len(page.supp_cells) == 2


def test_tables_scroll_in_focusable_named_regions():
    text = render()
    wraps = re.findall(r'<div class="table-wrap"([^>]*)>', text)
    assert wraps
    for attrs in wraps:
        assert 'role="region"' in attrs and 'tabindex="0"' in attrs
        assert re.search(r'aria-label="[^"]+"', attrs), attrs
    assert 'aria-label="Antal efter kön"' in text


def test_every_chart_has_a_title_and_a_description_of_its_figures():
    text = render()
    svgs = re.findall(r"<svg [^>]*>.*?</svg>", text, flags=re.S)
    assert svgs
    for svg in svgs:
        head = svg[: svg.index(">")]
        assert 'role="img"' in head and "aria-labelledby=" in head and "aria-describedby=" in head
        assert "<title id=" in svg and "<desc id=" in svg
    bar = section_html(text, "sct_ssc-Ö1").split('<figure class="bars">')[1]
    desc = re.search(r"<desc [^>]*>(.*?)</desc>", bar).group(1)
    assert "Akademiska sjukhuset: 66,7\u00a0%" in desc and "Riket: 66,7\u00a0%" in desc


def o1_two_units(target=None):
    results = published(
        [
            row(indicator="Ö1", measure="proportion", n=60, value=50.0, numerator=30, denominator=60,
                ci_low=37.7, ci_high=62.3),
            row(indicator="Ö1", measure="proportion", level="enhet", unit="akad", n=40, value=70.0,
                numerator=28, denominator=40, ci_low=54.6, ci_high=81.9),
            row(indicator="Ö1", measure="proportion", level="enhet", unit="sus", n=20, value=10.0,
                numerator=2, denominator=20, ci_low=2.8, ci_high=30.1),
        ]
    )
    catalogue = [dict(e, target_level=target) if e["indicator_id"] == "Ö1" else e for e in CATALOGUE]
    return section_html(render(results=results, hist={}, catalogue=catalogue), "sct_ssc-Ö1")


def test_a_proportion_with_two_published_units_gets_a_funnel_plot():
    o1 = o1_two_units()
    assert '<figure class="funnel">' in o1
    funnel = o1.split('<figure class="funnel">')[1].split("</figure>")[0]
    assert funnel.count("<circle") == 2
    assert funnel.count('stroke-dasharray="6 3"') == 2 and funnel.count('stroke-dasharray="2 3"') == 2
    desc = re.search(r"<desc [^>]*>(.*?)</desc>", funnel).group(1)
    # p0 = 0.5: at n = 40 the 99.8 % limits are 50 ± 24.4 %, so 70 % is between the limits;
    # at n = 20 they are 50 ± 34.5 %, so 10 % is outside them.
    assert "Akademiska sjukhuset: 70,0\u00a0% (28 av 40), utanför 95 %-gränserna, inom 99,8 %" in desc
    assert "Skånes universitetssjukhus: 10,0\u00a0% (2 av 20), utanför 99,8 %-gränserna" in desc
    assert "Målnivå" not in o1  # the seeds set no target level
    # The default sample (one unit with a figure) has no funnel.
    assert '<figure class="funnel">' not in section_html(render(), "sct_ssc-Ö1")


def test_a_target_level_is_drawn_where_the_catalogue_sets_one():
    o1 = o1_two_units(target=90.0)
    assert "<dt>Målnivå</dt><dd>90,0</dd>" in o1
    bar = o1.split('<figure class="bars">')[1].split("</figure>")[0]
    assert ">Målnivå 90\u00a0%</text>" in bar and "#2e7d32" in bar
    funnel = o1.split('<figure class="funnel">')[1].split("</figure>")[0]
    assert "#2e7d32" in funnel and "Målnivå: 90,0\u00a0%" in funnel


def test_funnel_limits_follow_the_normal_approximation():
    from nhv_pipeline.publication.charts import Z95, Z998, funnel_limits

    lo, hi = funnel_limits(0.5, 100, Z95)
    assert (round(lo, 4), round(hi, 4)) == (0.402, 0.598)
    lo, hi = funnel_limits(0.9, 10, Z998)
    assert lo == pytest.approx(0.9 - 3.090232 * math.sqrt(0.09 / 10)) and hi == 1.0  # clipped
    assert funnel_limits(0.3, 0, Z95) == (0.0, 1.0)


def test_zero_is_shown_as_zero_not_as_suppressed():
    o1 = section_html(render(), "sct_ssc-Ö1")
    # sus: numerator 0, denominator 0 shown; the percent cannot be computed.
    sus_row = o1[o1.index("Skånes universitetssjukhus") :]
    sus_row = sus_row[: sus_row.index("</tr>")]
    assert sus_row.count('<td class="num">0</td>') == 2
    assert "supp" not in sus_row


def test_numbers_use_the_swedish_decimal_comma():
    text = render()
    o1 = section_html(text, "sct_ssc-Ö1")
    assert "66,7\u00a0%" in o1
    assert "43,7–84,8" in o1
    t1 = section_html(text, "sct_ssc-T1")
    assert ">42,5<" in t1 and ">10,3<" in t1  # 10.25 rounds half away from zero
    assert "42.5" not in re.sub(r"<svg.*?</svg>", "", t1, flags=re.S)


def test_charts_are_inline_svg_with_riket_reference_and_trend():
    o1 = section_html(render(), "sct_ssc-Ö1")
    assert o1.count("<svg") == 2
    assert "Riket 66,7\u00a0%" in o1  # reference line label in the bar chart
    trend = o1[o1.rindex("<svg") :]
    assert ">2024<" in trend and ">2025<" in trend
    assert "50,0\u00a0%" in trend and "66,7\u00a0%" in trend


def test_breakdown_table_shows_riket_and_units_side_by_side():
    b1 = section_html(render(), "sct_ssc-B1")
    assert "<h5>Antal efter kön</h5>" in b1
    table = b1[b1.index("<h5>Antal efter kön</h5>") :]
    assert '<th scope="row">Kvinnor</th><td class="num">12</td>' in table


def test_p1_shows_both_measures():
    results = published(
        [
            row("skeletal_dysplasia", "P1", "positive_share", n=20, year=2025, value=75.0, numerator=15,
                denominator=20, ci_low=53.1, ci_high=88.8),
            row("skeletal_dysplasia", "P1", "response_rate", n=40, year=2025, value=50.0, numerator=20,
                denominator=40, ci_low=35.2, ci_high=64.8),
        ]
    )
    p1 = section_html(render(results=results, hist={}), "skeletal_dysplasia-P1")
    assert "<h4>Andel positiva svar</h4>" in p1 and "<h4>Svarsfrekvens</h4>" in p1
    assert "75,0\u00a0%" in p1 and "50,0\u00a0%" in p1


# --- safety and determinism -------------------------------------------------------


def test_all_text_is_escaped():
    results = results_2025()
    results.loc[results["unit_id"] == "akad", "unit_name"] = "<script>alert(1)</script>"
    text = render(results=results)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Vårdplan &amp; &lt;överföring&gt;" in text
    assert parse(text).errors == []


def test_same_input_gives_the_same_page_whatever_the_row_order():
    first = render()
    shuffled = results_2025().sample(frac=1.0, random_state=7)
    assert render(results=shuffled) == first
    assert render() == first


@pytest.mark.parametrize("hist", [{}, None])
def test_trend_with_and_without_history(hist):
    text = render(hist=hist)
    b1 = section_html(text, "sct_ssc-B1")
    trend = b1[b1.rindex("<svg") :]
    assert (">2024<" in trend) is (hist is None)
    assert ">2025<" in trend


def test_a_year_without_any_results_still_lists_every_indicator():
    empty = pd.DataFrame(columns=RESULT_COLUMNS)
    page = parse(render(results=empty, hist={}))
    assert page.errors == []
    assert len(page.sections) == len(CATALOGUE)
    for anchor, texts in page.section_text.items():
        assert "Inga resultat för detta år" in "".join(texts), anchor


# --- trend years (report 4) -------------------------------------------------------


def trend_svg(section: str) -> str:
    start = section.index('<figure class="trend">')
    return section[start : section.index("</figure>", start)]


def test_trend_leaves_out_years_before_the_indicators_first_report_year():
    # T1 first reported 2025: the 2024 publication has no T1 row by design (INDICATORS.md
    # section 1), so 2024 is not a year of its trend, not even as a gap.
    catalogue = [dict(e, first_report_year=2025) if e["indicator_id"] == "T1" else e for e in CATALOGUE]
    t1 = section_html(render(catalogue=catalogue), "sct_ssc-T1")
    trend = trend_svg(t1)
    assert ">2024<" not in trend
    assert ">2025<" in trend
    assert "saknas" not in trend and ">.<" not in trend
    # The single point is drawn, with its value, and the caption says it is the first year.
    assert trend.count("<circle") == 1
    assert ">42,5<" in trend
    assert "Första året indikatorn redovisas" in trend


def test_trend_keeps_a_published_year_without_a_riket_row_as_a_gap():
    # T1 first reported 2024, but the 2024 history has no T1 row: a real gap, said in words.
    t1 = section_html(render(), "sct_ssc-T1")
    trend = trend_svg(t1)
    assert ">2024<" in trend and ">2025<" in trend
    assert "saknas</text>" in trend
    assert trend.count("<circle") == 1
    assert "per rapportår 2024–2025" in trend


def test_trend_without_earlier_publications_is_not_called_the_first_year():
    # B1 has been reported since 2024; with no history passed there is nothing before 2025 to show.
    trend = trend_svg(section_html(render(hist={}), "sct_ssc-B1"))
    assert "inga tidigare publiceringar" in trend
    assert "Första året" not in trend


# --- breakdown tables (report 6) --------------------------------------------------


def b1_by_sex() -> pd.DataFrame:
    """B1 by sex, nothing small: riket 25 = akad 10 + sus 15; K 18 = 10 + 8, M 7 = sus 7 only."""
    return published(
        [
            row(n=25),
            row(breakdown="sex", bvalue="K", label="Kvinnor", n=18),
            row(breakdown="sex", bvalue="M", label="Män", n=7),
            row(level="enhet", unit="akad", n=10),
            row(level="enhet", unit="akad", breakdown="sex", bvalue="K", label="Kvinnor", n=10),
            row(level="enhet", unit="sus", n=15),
            row(level="enhet", unit="sus", breakdown="sex", bvalue="K", label="Kvinnor", n=8),
            row(level="enhet", unit="sus", breakdown="sex", bvalue="M", label="Män", n=7),
        ]
    )


def table_row(section: str, heading: str, label: str) -> str:
    table = section[section.index(heading) :]
    start = table.index(f'<th scope="row">{label}</th>')
    return table[start : table.index("</tr>", start)]


def test_count_breakdown_shows_zero_where_a_counted_unit_has_no_row_for_the_value():
    # INDICATORS.md section 3: only values that occur get a row, and akad has a total row,
    # so akad had no men: 0, not "value missing".
    b1 = section_html(render(results=b1_by_sex()), "sct_ssc-B1")
    men = table_row(b1, "<h5>Antal efter kön</h5>", "Män")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", men)
    assert cells == ["7", "0", "7"]  # riket, akad, sus
    assert "missing" not in men
    women = table_row(b1, "<h5>Antal efter kön</h5>", "Kvinnor")
    assert re.findall(r"<td[^>]*>(.*?)</td>", women) == ["18", "10", "8"]


def test_distribution_breakdown_keeps_the_missing_mark_for_an_absent_value():
    # T1 by sct_offered: sus had nobody declined; a mean of nobody cannot be computed -> ".".
    t1 = dict(indicator="T1", measure="distribution")
    results = published(
        [
            row(**t1, n=20, value=40.0, mean=40.0),
            row(**t1, breakdown="sct_offered", bvalue="yes", label="Erbjuden SCT", n=14, value=38.0, mean=38.0),
            row(**t1, breakdown="sct_offered", bvalue="no", label="Ej erbjuden SCT", n=6, value=44.7, mean=44.7),
            row(**t1, level="enhet", unit="akad", n=12, value=41.0, mean=41.0),
            row(**t1, level="enhet", unit="akad", breakdown="sct_offered", bvalue="yes", label="Erbjuden SCT",
                n=6, value=37.5, mean=37.5),
            row(**t1, level="enhet", unit="akad", breakdown="sct_offered", bvalue="no", label="Ej erbjuden SCT",
                n=6, value=44.7, mean=44.7),
            row(**t1, level="enhet", unit="sus", n=8, value=38.5, mean=38.5),
            row(**t1, level="enhet", unit="sus", breakdown="sct_offered", bvalue="yes", label="Erbjuden SCT",
                n=8, value=38.5, mean=38.5),
        ]
    )
    t1_html = section_html(render(results=results), "sct_ssc-T1")
    declined = table_row(t1_html, "<h5>Fördelning efter erbjuden stamcellstransplantation</h5>", "Ej erbjuden SCT")
    cells = re.findall(r"<td([^>]*)>(.*?)</td>", declined)
    assert [text.split("<")[0] for _, text in cells] == ["44,7", "44,7", "."]
    assert 'class="num missing"' in cells[2][0]


# --- chart layout (report 1-3, 5) -------------------------------------------------


def svg_texts(svg: str) -> list[tuple[float, float, str]]:
    """(x, y, text) of the direct text elements of one SVG, titles left out."""
    out = []
    for attrs, body in re.findall(r"<text ([^>]*)>(.*?)</text>", svg):
        body = re.sub(r"<title>.*?</title>", "", body)
        out.append((float(re.search(r' ?x="([\d.]+)"', attrs).group(1)),
                    float(re.search(r'y="([\d.]+)"', attrs).group(1)), re.sub(r"<[^>]+>", "", body)))
    return out


def test_bar_chart_and_trend_share_a_row_of_the_chart_grid():
    o1 = section_html(render(), "sct_ssc-Ö1")
    assert '<div class="charts pair"><figure class="bars"><svg' in o1
    assert o1.index('<figure class="trend">') > o1.index('<figure class="bars">')
    assert ".charts.pair { grid-template-columns:" in render()


def test_bar_chart_names_are_shown_in_full():
    results = results_2025()
    long_name = "Karolinska Universitetssjukhuset"
    results.loc[results["unit_id"] == "akad", "unit_name"] = long_name
    bar = section_html(render(results=results), "sct_ssc-Ö1").split('<figure class="bars">')[1]
    assert f">{long_name}</text>" in bar
    assert "…" not in bar


def test_a_name_too_long_for_the_name_column_wraps_onto_more_lines():
    results = results_2025()
    results.loc[results["unit_id"] == "akad", "unit_name"] = (
        "Sahlgrenska Universitetssjukhuset, Drottning Silvias barn- och ungdomssjukhus"
    )
    bar = section_html(render(results=results), "sct_ssc-Ö1").split('<figure class="bars">')[1]
    assert "<tspan" in bar
    shown = re.sub(r"<title>.*?</title>", "", bar)
    assert "Sahlgrenska Universitetssjukhuset," in shown and "ungdomssjukhus</tspan>" in shown
    assert "…" not in shown


def test_riket_label_sits_above_the_bars_clear_of_every_value_label():
    o1 = section_html(render(), "sct_ssc-Ö1")
    bar = o1.split('<figure class="bars">')[1].split("</svg>")[0]
    texts = svg_texts(bar)
    riket_y = [y for _, y, t in texts if t.startswith("Riket")]
    assert len(riket_y) == 1
    first_bar_top = min(float(y) for y in re.findall(r'<rect [^>]*y="([\d.]+)"', bar))
    # The label's baseline is above the first bar, so its glyphs cannot reach a bar's value label.
    assert riket_y[0] < first_bar_top
    # The value label carries a white outline drawn under its glyphs: the dashed line never crosses figures.
    assert re.search(r'paint-order="stroke">66,7\u00a0%</text>', bar)


def test_trend_value_labels_stay_right_of_the_axis_tick_labels():
    trend = section_html(render(), "sct_ssc-Ö1").split('<figure class="trend">')[1].split("</svg>")[0]
    texts = svg_texts(trend)
    ticks = [(x, t) for x, _, t in texts if t.endswith("%") and t.split("\u00a0")[0] in {"0", "50", "100"}]
    values = [(x, t) for x, _, t in texts if "," in t]
    assert len(ticks) == 3 and len(values) == 2
    axis_right = max(x for x, _ in ticks)  # tick labels end at x (text-anchor end)
    for x, t in values:
        # Centred labels: 0.65 em per character at 11 units is more than any character of the font stack.
        assert x - len(t) * 0.65 * 11 / 2 > axis_right, t


def test_template_and_stylesheet_ship_with_the_package():
    """pyproject's package-data must name every template and stylesheet, or an installed wheel lacks them."""
    import fnmatch
    import tomllib
    from pathlib import Path

    import nhv_pipeline

    root = Path(nhv_pipeline.__file__).parent
    pyproject = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["nhv_pipeline"]
    files = [p.relative_to(root).as_posix() for d in ("publication/templates", "publication/static")
             for p in (root / d).iterdir() if p.is_file()]
    assert "publication/templates/preview.html" in files and "publication/static/preview.css" in files
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f


def test_the_stylesheet_is_inlined_and_the_page_uses_no_markup_from_data():
    text = render()
    assert "dl.catalogue" in text and "@media (max-width: 40rem)" in text
    assert '<style>:root {' in text
