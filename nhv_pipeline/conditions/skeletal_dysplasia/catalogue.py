"""The skeletal_dysplasia indicator catalogue, declared as data (INDICATORS.md section 3).

Texts are from seed 001_8699641104d83d35.txt (version 1.0, 2025-05-27): name, Mått
(measure_text), Mätenhet (unit_of_measure), Syfte (purpose), category, indicator type,
direction, data source and Teknisk beskrivning (technical_description). The seed leaves every
Felkällor och begränsningar empty, so `limitations` is empty; `n_counts` says in the seed's words
what N is ("Vid inrapportering anges också totalantalet (N) …").
"""

from __future__ import annotations

from nhv_pipeline.core.condition import Counts, Population, Specification
from nhv_pipeline.indicators.model import Indicator, current, paragraphs

from . import indicators

CONDITION_ID = "skeletal_dysplasia"

_PAS = "Patientadministrativa system"
#: Paragraphs every Teknisk beskrivning of the seed repeats.
_DEFINITION = "Definition av vården som ingår i tillståndsområdet redovisas i bilaga 1."
_ASSESSMENT = (
    "Med bedömning avses fysiskt besök, digitalt besök samt bedömning vid multidisciplinär konferens (MDK) "
    "med eller utan patient närvarande."
)


#: All indicators: first report year 2026 (period 2025-09-01..2025-12-31), then every year.
_COMMON = {
    "condition_id": CONDITION_ID,
    "first_report_year": 2026,
    "cohort_lag": 0,
    "pooled_years": 1,
    "rule_version": "1",
}

#: Version 1.0 of the follow-up document, 2025-05-27: the seven indicators.
VERSION_1_0 = (
    Indicator(
        **_COMMON,
        indicator_id="B1",
        name="Antal patienter",
        measures=("count",),
        breakdowns=("total", "home_region", "sex"),
        inputs=(current("contacts"), current("patients")),
        rule=indicators.b1_patients,
        counts=(Counts("assessed_patients"),),
        measure_text="Antal unika patienter som bedömts inom definitionen vid NHV-enhet.",
        unit_of_measure="Antal patienter",
        purpose=(
            "Att få en bild av det totala antalet patienter inom definitionen. Att kunna följa "
            "utveckling, remitteringsmönster och patientfördelning inom nationell högspecialiserad vård."
        ),
        # Seed: background measures have no desired direction.
        category="Bakgrundsmått", indicator_type="Nyckeltal", direction="descriptive", data_source=_PAS,
        technical_description=paragraphs(
            "Måttets population\n"
            "Samtliga unika patienter som bedömts (vid nybesök eller återbesök) inom definitionen vid "
            "NHV-enhet under året före inrapporteringsåret.",
            _ASSESSMENT,
            _DEFINITION,
            "För måttet redovisas totalt antal patienter samt fördelat enligt nedan.",
            "Fördelningar\n• Hemregion (enligt folkbokföring)\n• Ej folkbokförda i Sverige\n"
            "• Juridiskt kön vid bedömning",
        ),
        n_counts="unika patienter som bedömts under mätperioden",
    ),
    Indicator(
        **_COMMON,
        indicator_id="B2",
        name="Antal åtgärder",
        measures=("count",),
        breakdowns=("total", "contact_type"),
        inputs=(current("contacts"),),
        rule=indicators.b2_contacts,
        counts=(Counts("contacts"),),
        measure_text="Antal åtgärder inom definitionen som är utförda på NHV-enhet.",
        unit_of_measure="Antal besök eller bedömningar",
        purpose=(
            "Att kunna följa utveckling, vårdvolymer och patientfördelning inom nationell "
            "högspecialiserad vård."
        ),
        category="Bakgrundsmått", indicator_type="Nyckeltal", direction="descriptive", data_source=_PAS,
        technical_description=paragraphs(
            "Måttets population\n"
            "Samtliga patienter inom definitionen som fått en åtgärd på NHV-enhet under året före "
            "inrapporteringsåret.",
            _DEFINITION,
            "För måttet redovisas antal besök eller bedömningar fördelat enligt nedan. En patient kan "
            "förekomma i flera av kategorierna nedan under året.",
            "Fördelningar\n• Bedömningar på multidisciplinär konferens (MDK)\n"
            "• Nybesök på mottagning (inklusive utredning av oklar skelettdysplasi)\n"
            "• Behandlingskonferens med ställningstagande till avancerad behandling",
        ),
        n_counts="åtgärder (MDK, nybesök och behandlingskonferenser) under mätperioden",
    ),
    Indicator(
        **_COMMON,
        indicator_id="B3",
        name="Ålder",
        measures=("distribution",),
        breakdowns=("total", "age_group"),
        inputs=(current("contacts"), current("patients")),
        rule=indicators.b3_age,
        counts=(Counts("assessed_patients"),),
        measure_text="Ålder hos patienter inom definitionen som bedömts vid NHV-enhet.",
        unit_of_measure="Ålder i antal år",
        purpose=(
            "Att ge en bild av patienternas ålder vid NHV-enheten. Att kunna följa utveckling och "
            "patientfördelning inom nationell högspecialiserad vård."
        ),
        category="Bakgrundsmått", indicator_type="Nyckeltal", direction="descriptive", data_source=_PAS,
        technical_description=paragraphs(
            "Måttets population\n"
            "Samtliga unika patienter som bedömts (vid nybesök eller återbesök) inom definitionen (samma "
            "population som i mått B1) under året före inrapporteringsåret.",
            _ASSESSMENT,
            _DEFINITION,
            "Måttet redovisas i antal år med medelvärde och standardavvikelse, median och 10:e respektive "
            "90:e percentil. För barn <1 år inkluderas ålder i beräkningarna som decimaltal (barnets ålder "
            "i antal dagar dividerat med 365).",
            "Vid inrapportering anges också totalantalet (N) patienter data är baserade på.",
            "Måttet redovisas uppdelat på barn (≤17år) och vuxna (≥18 år).",
        ),
        n_counts="unika patienter som bedömts under mätperioden (samma som B1)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="T1",
        name="Tid från remiss till besök",
        measures=("distribution",),
        breakdowns=("total",),
        inputs=(current("contacts"), current("referrals")),
        rule=indicators.t1_referral_to_visit,
        counts=(Counts("answered_referrals"),),
        measure_text="Tid från remiss till besök på NHV-enhet.",
        unit_of_measure="Tid i antal dagar",
        purpose="Att följa utveckling av väntetid.",
        # Seed: "Riktning* Deskriptivt mått".
        category="Tillgänglighetsmått", indicator_type="Processmått", direction="descriptive",
        data_source=_PAS,
        technical_description=paragraphs(
            "Måttets population\n"
            "Samtliga patienter som haft ett fysiskt eller digitalt besök på NHV-enhet under året före "
            "inrapporteringsåret.",
            _DEFINITION,
            "Måttet beräknas genom att ta datum för fysiskt eller digitalt besök på NHV-enhet minus datum "
            "för inkommen, registrerad och godkänd remiss.",
            "Vid rapportering anges medelvärde och standardavvikelse, 10:e percentil, median samt 90:e "
            "percentil. Vid inrapportering anges också totalantalet (N) patienter data är baserade på.",
        ),
        n_counts="besök (nybesök och återbesök) under mätperioden efter en godkänd remiss",
    ),
    Indicator(
        **_COMMON,
        indicator_id="R1",
        name="Andel som fått diagnos",
        measures=("proportion",),
        breakdowns=("total",),
        inputs=(current("contacts"), current("patients")),
        rule=indicators.r1_specific_diagnosis,
        counts=(Counts("unclear_diagnosis_patients"),),
        measure_text="Andel patienter som fått en specifik skelettdysplasi-diagnos efter bedömning på NHV-enhet.",
        unit_of_measure="Andel i procent",
        purpose="Måttet avser att visa på resultatet av den vård som ges inom definitionen.",
        category="Resultatmått", indicator_type="Resultatmått", direction="higher_is_better",
        data_source=_PAS,
        technical_description=paragraphs(
            "Måttets population\n"
            "Samtliga patienter som har oklar/ingen skelettdysplasi-diagnos och som bedömts inom "
            "definitionen vid NHV-enhet under året före inrapporteringsåret.",
            _DEFINITION,
            "Täljare\n"
            "Antal patienter, enligt nämnaren, som fått en specifik skelettdysplasi-diagnos efter bedömning "
            "på NHV-enhet",
            "Nämnare\n"
            "Antal patienter som har oklar/ingen skelettdysplasi-diagnos och som bedömts inom definitionen "
            "vid NHV-enhet under året före inrapporteringsåret",
        ),
        n_counts="patienter med oklar eller ingen skelettdysplasi-diagnos som bedömts under mätperioden "
            "(nämnaren)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="P1",
        name="Patientrapporterad erfarenhet",
        measures=("positive_share", "response_rate"),
        breakdowns=("total", "respondent"),
        measure_breakdowns=(
            ("positive_share", ("total", "respondent")),
            ("response_rate", ("total",)),
        ),
        inputs=(current("survey"),),
        rule=indicators.p1_patient_experience,
        counts=(Counts("respondents", measure="positive_share"), Counts("survey_recipients", measure="response_rate")),
        measure_text="Andel närstående eller patienter som upplevt att de fått tillräcklig information om vården.",
        unit_of_measure="Andel i procent",
        purpose="Att följa upp närståendes/patientens upplevelse av information om vården.",
        category="Patientrapporterat mått", indicator_type="Resultatmått", direction="higher_is_better",
        data_source="Lokal patientenkät",
        technical_description=paragraphs(
            "Efter bedömning (fysisk eller digital) vid NHV-enhet skickas en PREM-enkät ut till närstående "
            "till barn eller till vuxna patienter.",
            "När vårdnadshavare/närstående svarar på enkäten tillfrågas de följande:\n"
            "”Fick du tillräcklig information om barnets sjukdom och vård?”\n"
            "Respondenterna får välja ett alternativ enligt nedan:\n- Aldrig\n- Sällan\n- Ibland\n- Ofta\n"
            "- Alltid\nDet finns även ett svarsalternativ för Ej aktuellt/Ingen uppfattning.",
            "När vuxna patienter svarar på enkäten finns följande fråga:\n"
            "”Fick du tillräcklig information om din vård och behandling?”\n"
            "Respondenterna får välja ett alternativ enligt nedan:\n- Nej, inte alls\n- Nej, knappast\n"
            "- I viss mån\n- Ja, i stort sett\n- Ja helt och hållet\n"
            "Det finns även ett svarsalternativ för Ingen uppfattning.",
            "Måttets population\n"
            "Samtliga patienter, eller närstående till barn (<10 år), som bedömts på NHV-enhet och som har "
            "besvarat enkäten minst en gång under året före inrapporteringsåret.",
            _DEFINITION,
            "Täljare\n"
            "Antal närstående eller vuxna patienter, enligt nämnaren, som har angett svarsalternativen "
            "”Ofta”, ”Alltid”, ”Ja, i stort sett” eller ”Ja, helt och hållet” på respektive fråga ovan.",
            "Nämnare\n"
            "Samtliga patienter eller närstående till barn <10 år som bedömts vid NHV-enhet och som har "
            "besvarat enkäten under året före inrapporteringsåret.",
            "För måttet redovisas även enkätens svarsfrekvens (antal respondenter som besvarat "
            "enkäten/antal patienter eller närstående som fått enkäten).",
        ),
        measure_n_counts=(
            ("positive_share", "respondenter: patienter eller närstående som besvarat enkäten under mätperioden (nämnaren)"),
            ("response_rate", "patienter som fått enkäten under mätperioden (nämnaren)"),
        ),
    ),
    Indicator(
        **_COMMON,
        indicator_id="Ö1",
        name="Andel som fått en individuell vårdplan",
        measures=("proportion",),
        breakdowns=("total",),
        inputs=(current("contacts"), current("patients")),
        rule=indicators.o1_care_plan,
        counts=(Counts("specific_diagnosis_patients"),),
        measure_text="Andel patienter som vid besök på NHV-enhet fått en individuell vårdplan.",
        unit_of_measure="Andel i procent",
        purpose=(
            "Måttet avser att visa på resultatet av den vård som ges inom definitionen. Att säkerställa "
            "att information från vårdtillfället kommer patienten till handa genom att patienten får en "
            "skriftlig individuell vårdplan efter bedömning vid NHV-enheten."
        ),
        # Seed table 1 and the section heading say Överrapporteringsmått; the
        # indicator's own "Kategori" line says Resultatmått. Table 1 wins.
        category="Överrapporteringsmått", indicator_type="Resultatmått", direction="higher_is_better",
        data_source=_PAS,
        technical_description=paragraphs(
            "Måttets population\n"
            "Samtliga patienter som har en skelettdysplasi-diagnos inom definitionen och som bedömts på "
            "NHV-enhet under året före inrapporteringsåret.",
            _DEFINITION,
            "En individuell diagnosspecifik vårdplan kan exempelvis innehålla information om diagnos, "
            "behandlingsplan, uppföljningsplan, ansvarsfördelning, planerade återbesök och "
            "kontaktinformation.",
            "Täljare\n"
            "Antal patienter, enligt nämnaren, som fått en diagnosspecifik individuell vårdplan av NHV-enhet",
            "Nämnare\n"
            "Antal patienter som har en skelettdysplasi-diagnos inom definitionen och som bedömts på "
            "NHV-enhet under året före inrapporteringsåret",
        ),
        n_counts="patienter med specifik skelettdysplasi-diagnos som bedömts under mätperioden (nämnaren)",
    ),
)


SPECIFICATIONS = (Specification(version="1.0", date="2025-05-27", from_report_year=2026, indicators=VERSION_1_0),)

#: The populations the indicators count (INDICATORS.md section 3), each declared once; the
#: disclosure audit's equal populations are derived from the indicators' `counts`.
POPULATIONS = (
    Population("assessed_patients", "the B1 population: distinct patients with an assessment in P(R)"),
    Population("contacts", "MDK assessments, new visits and treatment conferences in P(R)"),
    Population("answered_referrals", "approved referrals answered by a visit in P(R)"),
    Population("unclear_diagnosis_patients", "the B1 patients with an unclear or no diagnosis at referral"),
    Population("respondents", "respondents with an answer in P(R), each once"),
    Population("survey_recipients", "patients sent the survey in P(R)"),
    Population("specific_diagnosis_patients", "the B1 patients with a specific diagnosis by the end of P(R)"),
)
